package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/broker"
	"github.com/flowtap/flowtap/pipeline"
)

// outage is what each outage test starts from: the flowtap binary, a work directory, and
// the address and data directory of the broker the test stops and restarts.
type outage struct {
	bin, dir             string
	brokerAddr, kafkaDir string
}

func newOutage(t *testing.T) outage {
	dir := t.TempDir()
	return outage{bin: buildBinary(t), dir: dir, brokerAddr: testenv.FreeTCP(t), kafkaDir: filepath.Join(dir, "kafka")}
}

// startBroker starts the broker on the outage's address and data directory.
func (o outage) startBroker(t *testing.T) *broker.Broker {
	return startOutageBroker(t, o.brokerAddr, o.kafkaDir)
}

// startOutageBroker starts the embedded broker on addr with its data in dir; the test stops
// it (Close) and starts it again on the same address and directory to make an outage.
func startOutageBroker(t *testing.T, addr, dir string) *broker.Broker {
	t.Helper()
	cfg := testenv.BrokerConfig(kafka.AllTopics()...)
	cfg.Listen, cfg.DataDir = addr, dir
	return testenv.Broker(t, cfg)
}

// getHealth reads /healthz: its status code and document.
func getHealth(t *testing.T, url string) (int, pipeline.Health) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var h pipeline.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("GET %s: not the health document: %v", url, err)
	}
	return resp.StatusCode, h
}

// metricValue reads one unlabelled sample from /metrics (0 when absent).
func metricValue(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var total float64
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			total += v
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return total
}

// alive fails the test if the process has exited.
func alive(t *testing.T, p *upProcess, what string) {
	t.Helper()
	select {
	case err := <-p.done:
		t.Fatalf("%s exited during the broker outage: %v\n%s", what, err, p.log.String())
	default:
	}
}

// lakeCount is the number of VPC records in the lake that match where (-1 while the lake
// is empty).
func lakeCount(t *testing.T, bin, dir, lake, where string) int {
	row := sqlRow(t, bin, dir, lake, "SELECT count(*) FROM vpc_flow_logs WHERE "+where)
	if row == nil {
		return -1
	}
	n, err := strconv.Atoi(row[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUpSurvivesBrokerOutage runs `flowtap up --kafka-brokers X` against a broker the test
// stops for 15 s across a window boundary of the live generator and then restarts on the
// same address and data directory. The demo capture is mirrored to the collector as the
// broker stops, so its window closes during the outage. up must keep running, /healthz
// must stay 200 (the collector receives) while naming the degraded part, and every
// generated record — including the window written during the outage — must reach the lake
// exactly once, as must every mirrored packet.
func TestUpSurvivesBrokerOutage(t *testing.T) {
	t.Parallel()
	o := newOutage(t)
	bin, dir, brokerAddr := o.bin, o.dir, o.brokerAddr
	o.startBroker(t).Close() // bound once, to know the port is usable
	b := o.startBroker(t)

	repo, _ := filepath.Abs("../..")
	pcap := filepath.Join(repo, "testdata", "demo.pcap")
	const demoENI = "eni-0d3e0000000000001" // testdata/demo-sessions.yaml's VNI 1
	generated, mirrored := "interface_id <> '"+demoENI+"'", "interface_id = '"+demoENI+"'"
	wantPkts, _ := demoTotals(t, pcap)

	httpAddr, udpAddr := testenv.FreeTCP(t), testenv.FreeUDP(t)
	healthURL, metricsURL := "http://"+httpAddr+"/healthz", "http://"+httpAddr+"/metrics"
	lake := filepath.Join(dir, "data", "lake")
	up := startUp(t, bin, dir, []string{"up", "--kafka-brokers", brokerAddr, "--data", filepath.Join(dir, "data"),
		"--listen", udpAddr, "--sessions", filepath.Join(repo, "testdata", "demo-sessions.yaml"),
		"--logstore-listen", testenv.FreeTCP(t), "--http", httpAddr,
		"--rate", "40", "--seed", "5", "--batch-age", "1s", "--restart-backoff-max", "2s"})
	defer stopUp(t, up)
	waitHealthy(t, healthURL, up)

	// The live generator writes the last closed window at once: wait for it in the lake.
	waitLake := func(what string, limit time.Duration) int {
		deadline := time.Now().Add(limit)
		for {
			gen := int(metricValue(t, metricsURL, "flowtap_generator_records_total"))
			n := lakeCount(t, bin, dir, lake, generated)
			if gen > 0 && n == gen && int(metricValue(t, metricsURL, "flowtap_generator_records_total")) == gen {
				return n
			}
			if n > gen && int(metricValue(t, metricsURL, "flowtap_generator_records_total")) == gen {
				t.Fatalf("%s: the lake holds %d records, more than the %d generated", what, n, gen)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the lake holds %d records, the generator wrote %d\n%s", what, n, gen, up.log.String())
			}
			alive(t, up, "flowtap up")
			time.Sleep(500 * time.Millisecond)
		}
	}
	before := waitLake("first window", 60*time.Second)

	// Stop the broker 4 s before the next window boundary (the generator then writes a
	// window into the outage) and keep it down for 15 s.
	next := time.Now().Truncate(time.Minute).Add(time.Minute)
	if time.Until(next) < 6*time.Second {
		next = next.Add(time.Minute)
	}
	time.Sleep(time.Until(next.Add(-4 * time.Second)))
	genAtStop := int(metricValue(t, metricsURL, "flowtap_generator_records_total"))
	b.Close()
	outage := time.Now()
	// Mirrored traffic in the window that closes during the outage.
	run(t, bin, dir, "replay", "--target", udpAddr, "--pps", "5000", pcap)
	var named []string
	for time.Since(outage) < 15*time.Second {
		alive(t, up, "flowtap up")
		code, h := getHealth(t, healthURL)
		if code != http.StatusOK {
			t.Fatalf("/healthz answered %d during the outage (the collector still receives): %+v", code, h)
		}
		for _, c := range h.Degraded {
			if !slices.Contains(named, c) {
				named = append(named, c)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	genInOutage := int(metricValue(t, metricsURL, "flowtap_generator_records_total")) - genAtStop
	if len(named) == 0 {
		t.Fatalf("/healthz never named a degraded component during the outage\n%s", up.log.String())
	}
	if genInOutage <= 0 {
		t.Fatalf("the generator wrote no window during the outage (%d records before it)", genAtStop)
	}
	t.Logf("outage: /healthz named %v degraded; %d records generated during it, %d before", named, genInOutage, before)

	o.startBroker(t)
	total := waitLake("after the outage", 90*time.Second)
	if total < genAtStop+genInOutage {
		t.Fatalf("lake %d < %d records generated up to the end of the outage", total, genAtStop+genInOutage)
	}
	t.Logf("lake holds all %d generated records (restarts of sinks: %v)", total,
		metricValue(t, metricsURL, `flowtap_component_restarts_total{component="sinks"}`))
	// Every packet mirrored as the broker stopped: its records went through the spill.
	mirrorDeadline := time.Now().Add(60 * time.Second)
	for {
		row := sqlRow(t, bin, dir, lake, "SELECT coalesce(sum(packets),0) FROM vpc_flow_logs WHERE "+mirrored)
		if row != nil && row[0] == strconv.FormatInt(wantPkts, 10) {
			break
		}
		if time.Now().After(mirrorDeadline) {
			t.Fatalf("lake: %v mirrored packets, want the %d replayed during the outage\n%s", row, wantPkts, up.log.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("lake holds all %d packets mirrored during the outage", wantPkts)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, h := getHealth(t, healthURL)
		if code == http.StatusOK && h.Status == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still degraded after the broker came back: %d %+v", code, h)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestSinkSurvivesBrokerOutage runs `flowtap sink` while the test stops its broker for 8 s:
// the sink must not exit, /healthz must name the consumer ("sinks") as degraded, and after
// the broker is back every record produced before and after the outage reaches the lake
// exactly once.
func TestSinkSurvivesBrokerOutage(t *testing.T) {
	t.Parallel()
	o := newOutage(t)
	bin, dir, brokerAddr := o.bin, o.dir, o.brokerAddr
	b := o.startBroker(t)
	httpAddr := testenv.FreeTCP(t)
	healthURL := "http://" + httpAddr + "/healthz"
	lake := filepath.Join(dir, "lake")
	sink := startUp(t, bin, dir, []string{"sink", "--kafka-brokers", brokerAddr, "--parquet", lake,
		"--state", filepath.Join(dir, "state"), "--batch-age", "1s", "--metrics", httpAddr, "--restart-backoff-max", "1s"})
	defer stopUp(t, sink)
	waitHealthy(t, healthURL, sink)

	end := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	backfill := func(from, to time.Time) int {
		args := []string{"generate", "--start", from.Format(time.RFC3339), "--end", to.Format(time.RFC3339), "--rate", "20", "--seed", "9"}
		run(t, bin, dir, append(args, "--kafka-brokers", brokerAddr)...)
		n, _, _ := sumText(t, run(t, bin, dir, args...))
		return n
	}
	waitLake := func(want int) {
		deadline := time.Now().Add(90 * time.Second)
		for {
			n := lakeCount(t, bin, dir, lake, "true")
			if n == want {
				return
			}
			if n > want {
				t.Fatalf("the lake holds %d records, more than the %d produced", n, want)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the lake holds %d records, want %d\n%s", n, want, sink.log.String())
			}
			alive(t, sink, "flowtap sink")
			time.Sleep(500 * time.Millisecond)
		}
	}
	first := backfill(end.Add(-20*time.Minute), end.Add(-10*time.Minute))
	waitLake(first)

	b.Close()
	outage := time.Now()
	sawSinks := false
	for time.Since(outage) < 8*time.Second {
		alive(t, sink, "flowtap sink")
		_, h := getHealth(t, healthURL)
		sawSinks = sawSinks || slices.Contains(h.Degraded, "sinks")
		time.Sleep(250 * time.Millisecond)
	}
	if !sawSinks {
		t.Fatalf("/healthz never named the consumer degraded during the outage\n%s", sink.log.String())
	}
	o.startBroker(t)
	second := backfill(end.Add(-10*time.Minute), end)
	waitLake(first + second)
	t.Logf("lake holds %d + %d records; sink restarts %v", first, second,
		metricValue(t, "http://"+httpAddr+"/metrics", `flowtap_component_restarts_total{component="sinks"}`))
}
