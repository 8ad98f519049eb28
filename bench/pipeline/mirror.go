package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/flowtap/flowtap/bench/loopback"
	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/kafka"
)

// mirrorOptions shape the mirror path: flows one-packet UDP flows replayed loops times (each
// loop new flows, --unique-loops) at pps.
type mirrorOptions struct {
	flows, loops int
	pps          float64
}

// hop is what one stage of the mirror path saw: packets and, from the collector on, the
// flow records carrying them (their packets fields summed).
type hop struct {
	name             string
	packets, records int64
}

// runMirror runs the mirror path as processes on its own broker: `flowtap replay` at a
// fixed rate → `flowtap collect --output kafka` → the broker → `flowtap sink --parquet`,
// then counts packets at every hop: sent, received by the collector (and its kernel
// drops), summed over the records in Kafka, and summed over the lake's rows with `flowtap
// query sql`. Any difference is loss (or duplication) at that hop.
func runMirror(ctx context.Context, dir, ft string, o mirrorOptions) error {
	dir = filepath.Join(dir, "mirror")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	brokerAddr, collectAddr, collectMetrics, sinkMetrics := freeAddr(), freeAddr(), freeAddr(), freeAddr()
	if brokerAddr == "" || collectAddr == "" || collectMetrics == "" || sinkMetrics == "" {
		return errors.New("no free port on 127.0.0.1")
	}
	broker, err := startChild(ctx, dir, "mirror-broker", ft, "broker", "--listen", brokerAddr, "--data", filepath.Join(dir, "kafka"))
	if err != nil {
		return err
	}
	defer broker.Stop(stopGrace)
	if err := waitTCP(ctx, brokerAddr, 30*time.Second); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	pcap := filepath.Join(dir, "flows.pcap")
	if err := writeFlows(pcap, o.flows); err != nil {
		return err
	}
	collect, err := startChild(ctx, dir, "collect", ft, "collect", "--listen", collectAddr, "--output", "kafka",
		"--kafka-brokers", brokerAddr, "--spill-dir", filepath.Join(dir, "spill"), "--metrics", collectMetrics)
	if err != nil {
		return err
	}
	defer collect.Stop(stopGrace)
	if err := waitHTTP(ctx, "http://"+collectMetrics+"/metrics", 30*time.Second); err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	sent := int64(o.flows) * int64(o.loops)
	fmt.Printf("\nmirror path: replay %d packets (%d flows × %d loops, each loop new flows) at %.0f pps → collect → Kafka → sink --parquet\n",
		sent, o.flows, o.loops, o.pps)
	rep, err := runToEnd(ctx, dir, "replay", nil, ft, "replay", "--target", collectAddr, "--pps", strconv.FormatFloat(o.pps, 'f', -1, 64),
		"--loop", strconv.Itoa(o.loops), "--unique-loops", pcap)
	if err != nil {
		return err
	}
	rep.records = sent
	metric := func(name string) float64 {
		v, _ := scrape(ctx, "http://"+collectMetrics+"/metrics", name)
		return v
	}
	// The receive side is done when the packet count stops moving.
	received, last := metric("flowtap_ingest_packets_total"), time.Now()
	for time.Since(last) < time.Second && int64(received) < sent {
		time.Sleep(50 * time.Millisecond)
		if n := metric("flowtap_ingest_packets_total"); n != received {
			received, last = n, time.Now()
		}
	}
	kernelDrops, undecodable := metric("flowtap_ingest_kernel_drops_total"), metric("flowtap_ingest_drops_total")
	// SIGTERM: the collector flushes its open windows into the producer, which sends them
	// before the process exits.
	collect.Stop(stopGrace)
	col := figure{name: "flowtap collect --output kafka", records: int64(received), wall: time.Since(collect.Started)}
	if ru, ok := collect.Cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		col.cpu, col.rssKB = time.Duration(ru.Utime.Nano()+ru.Stime.Nano()), ru.Maxrss
	}
	if !collect.Cmd.ProcessState.Success() {
		return fmt.Errorf("collect exited with %v (see %s)", collect.Cmd.ProcessState, collect.LogPath)
	}

	ends, err := highWatermarks(ctx, brokerAddr, kafka.TopicVPC)
	if err != nil {
		return err
	}
	records := messages(ends)
	inKafka, err := sumPackets(brokerAddr)
	if err != nil {
		return err
	}
	if inKafka.records != records {
		return fmt.Errorf("read %d records from Kafka, its partitions end at %d", inKafka.records, records)
	}

	sinkFig, err := runToCount(ctx, dir, ft, sinkMetrics, records, "sink", "--kafka-brokers", brokerAddr,
		"--parquet", filepath.Join(dir, "lake"), "--state", filepath.Join(dir, "sink-state"), "--metrics", sinkMetrics, "--batch-age", "2s")
	if err != nil {
		return err
	}
	rows, err := checkLake(filepath.Join(dir, "lake"), ends)
	if err != nil {
		return fmt.Errorf("mirror lake: %w", err)
	}
	inLake, err := queryLake(ctx, ft, filepath.Join(dir, "lake"))
	if err != nil {
		return err
	}

	fmt.Printf("%-40s %12s %12s %12s\n", "hop", "packets", "records", "lost")
	hops := []hop{
		{"replay sent", sent, 0},
		{"collector received", int64(received), 0},
		{"in Kafka (Σ packets of the records)", inKafka.packets, inKafka.records},
		{"in the lake (flowtap query sql)", inLake.packets, inLake.records},
	}
	for i, h := range hops {
		lost := "—"
		if i > 0 {
			lost = strconv.FormatInt(hops[i-1].packets-h.packets, 10)
		}
		recs := "—"
		if i > 1 {
			recs = strconv.FormatInt(h.records, 10)
		}
		fmt.Printf("%-40s %12d %12s %12s\n", h.name, h.packets, recs, lost)
	}
	fmt.Printf("replay %.0f pps; collector kernel drops %.0f, undecodable %.0f; collector CPU over its life %.2fs (%.2f µs/packet), peak RSS %d MB; sink %.0f records/s, lake rows %d\n",
		float64(sent)/rep.wall.Seconds(), kernelDrops, undecodable, col.cpu.Seconds(), float64(col.cpu.Microseconds())/float64(max(received, 1)),
		col.rssKB>>10, sinkFig.rate(), rows)
	if int64(received) != sent || inKafka.packets != sent || inLake.packets != sent || rows != records || inLake.records != records {
		return fmt.Errorf("mirror path lost or duplicated packets: sent %d, received %d, in Kafka %d, in the lake %d (rows %d of %d records)",
			sent, int64(received), inKafka.packets, inLake.packets, rows, records)
	}
	return nil
}

// writeFlows writes loopback.FlowCapture(flows) as an Ethernet pcap for `flowtap replay`.
func writeFlows(path string, flows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	for _, p := range loopback.FlowCapture(flows).Packets {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Frame), Length: len(p.Frame)}, p.Frame); err != nil {
			return err
		}
	}
	return f.Close()
}

// sumPackets reads every VPC record in Kafka and sums their packets fields.
func sumPackets(brokers string) (hop, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(rawConsume(brokers, kafka.TopicVPC, pw)) }()
	var h hop
	var r flowlog.Record
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if err := flowlog.ParseJSON(sc.Bytes(), &r); err != nil {
			pr.CloseWithError(err)
			return h, err
		}
		h.records++
		h.packets += int64(r.Packets)
	}
	return h, sc.Err()
}

// queryLake counts the lake's VPC records and sums their packets with `flowtap query sql`.
func queryLake(ctx context.Context, ft, lake string) (hop, error) {
	var out []byte
	keep := func(r io.Reader) (err error) { out, err = io.ReadAll(r); return err }
	if _, err := runToEnd(ctx, filepath.Dir(lake), "query", keep, ft, "query", "sql", "--lake", lake, "--format", "csv",
		"SELECT count(*), coalesce(sum(packets), 0) FROM vpc_flow_logs"); err != nil {
		return hop{}, err
	}
	rows, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(rows) < 2 || len(rows[len(rows)-1]) != 2 {
		return hop{}, fmt.Errorf("query sql answered %q", out)
	}
	last := rows[len(rows)-1]
	var h hop
	h.records, _ = strconv.ParseInt(last[0], 10, 64)
	h.packets, err = strconv.ParseInt(last[1], 10, 64)
	return h, err
}

// runToCount runs a flowtap sink until its metrics say want records were committed, then
// stops it.
func runToCount(ctx context.Context, dir, ft, metricsAddr string, want int64, name string, args ...string) (figure, error) {
	f := figure{name: "flowtap " + name, records: want}
	c, err := startChild(ctx, dir, name, ft, append([]string{name}, args...)...)
	if err != nil {
		return f, err
	}
	defer c.Stop(stopGrace)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		n, _ := scrape(ctx, "http://"+metricsAddr+"/metrics", "flowtap_consumer_records_total")
		if int64(n) >= want {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil || c.Exited() {
			return f, fmt.Errorf("%s committed %.0f of %d records (see %s)", name, n, want, c.LogPath)
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.wall = time.Since(c.Started)
	f.cpu, f.rssKB = procUsage(c)
	return f, nil
}
