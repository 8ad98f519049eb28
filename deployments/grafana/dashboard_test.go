// Package grafana_test checks the Grafana dashboards of deployments/grafana against the
// embedded log store filled the way `flowtap up` fills it.
package grafana_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/logstore"
	"github.com/flowtap/flowtap/sinks"
	lokisink "github.com/flowtap/flowtap/sinks/loki"
)

// recordSink hands generated flow records to the Loki sink, as the sink runner does.
type recordSink struct{ s *lokisink.Sink }

func (r recordSink) WriteRecords(ctx context.Context, recs []flowlog.Record) error {
	return r.s.Write(ctx, &sinks.Batch{Records: recs})
}

// eventSink hands generated VPN events to the Loki sink with the kinds `flowtap up` uses.
type eventSink struct{ s *lokisink.Sink }

var vpnKinds = map[string]string{generate.LogTunnel: sinks.EventVPNTunnel, generate.LogBGP: sinks.EventVPNBGP, generate.LogClient: sinks.EventClientVPN}

func (e eventSink) WriteVPNEvents(ctx context.Context, evs []generate.VPNEvent) error {
	b := &sinks.EventBatch{}
	for i := range evs {
		b.Events = append(b.Events, sinks.Event{Kind: vpnKinds[evs[i].Log], Stream: evs[i].Stream, Time: evs[i].Time, Data: evs[i].AppendJSON(nil)})
	}
	return e.s.WriteEvents(ctx, b)
}

// fillStore runs a log store with Loki's default limits and pushes half an hour of
// generated VPC, TGW, Site-to-Site and Client VPN logs ending now through the Loki sink.
func fillStore(t *testing.T) (*logstore.Store, string, time.Time, time.Time) {
	t.Helper()
	st, url := testenv.Logstore(t, testenv.LogstoreConfig(t))
	scfg := lokisink.DefaultConfig()
	scfg.URL = url
	sink, err := lokisink.New(scfg, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	topo, err := topology.Build(topology.DefaultSpec(), 7)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Truncate(time.Minute)
	start := end.Add(-30 * time.Minute)
	for _, k := range []generate.Kind{generate.KindVPC, generate.KindTGW, generate.KindVPNS2S, generate.KindVPNClient} {
		gcfg := generate.DefaultConfig()
		gcfg.Kind, gcfg.Start, gcfg.End, gcfg.Rate, gcfg.Seed = k, start, end, 5, 3
		if k == generate.KindTGW {
			gcfg.TrafficType = "ALL"
		}
		g, err := generate.New(gcfg, topo, recordSink{sink}, eventSink{sink}, component.Deps{})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if err := g.Run(context.Background()); err != nil {
			t.Fatalf("generate %s: %v", k, err)
		}
	}
	return st, url, start, end
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Title      string `json:"title"`
	Type       string `json:"type"`
	Datasource struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID     string `json:"refId"`
		Expr      string `json:"expr"`
		QueryType string `json:"queryType"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a row
}

// grafanaVars are the values Grafana gives its built-in variables for a 30-minute range.
var grafanaVars = strings.NewReplacer("$__auto", "1m", "$__interval", "1m", "$__rate_interval", "2m", "$__range", "30m")

// Every panel query of every provisioned dashboard returns data from a log store filled
// with generated VPC, TGW and VPN logs the way `flowtap up` pushes them; each panel uses
// the provisioned data source.
func TestDashboardPanelsReturnData(t *testing.T) {
	ds, err := os.ReadFile("provisioning/datasources/flowtap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var dsCfg struct {
		Datasources []struct{ UID, Type string } `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(ds, &dsCfg); err != nil || len(dsCfg.Datasources) != 1 {
		t.Fatalf("datasource provisioning: %v %+v", err, dsCfg)
	}
	uid := dsCfg.Datasources[0].UID
	files, _ := filepath.Glob("provisioning/dashboards/*.json")
	if len(files) == 0 {
		t.Fatal("no dashboards provisioned")
	}
	_, base, start, end := fillStore(t)
	queries := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var all []panel
		for _, p := range d.Panels {
			all = append(all, p)
			all = append(all, p.Panels...)
		}
		for _, p := range all {
			if p.Type == "row" {
				continue
			}
			if p.Datasource.Type != "loki" || p.Datasource.UID != uid {
				t.Errorf("%s: panel %q uses data source %+v, not the provisioned %q", f, p.Title, p.Datasource, uid)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", f, p.Title)
			}
			for _, tg := range p.Targets {
				queries++
				expr := grafanaVars.Replace(tg.Expr)
				v := url.Values{"query": {expr}}
				path := "/loki/api/v1/query_range"
				if tg.QueryType == "instant" {
					path = "/loki/api/v1/query"
					v.Set("time", fmt.Sprint(end.UnixNano()))
				} else {
					v.Set("start", fmt.Sprint(start.UnixNano()))
					v.Set("end", fmt.Sprint(end.UnixNano()))
					v.Set("step", "60")
					v.Set("limit", "100")
				}
				resp, err := http.Get(base + path + "?" + v.Encode())
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var r struct {
					Data struct {
						Result []json.RawMessage `json:"result"`
					} `json:"data"`
				}
				if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &r) != nil {
					t.Errorf("%s: panel %q query %s: %d %.300s", f, p.Title, tg.RefID, resp.StatusCode, body)
					continue
				}
				if len(r.Data.Result) == 0 {
					t.Errorf("%s: panel %q query %s returned no data: %s", f, p.Title, tg.RefID, expr)
				}
			}
		}
	}
	if queries < 10 {
		t.Fatalf("only %d panel queries", queries)
	}
}
