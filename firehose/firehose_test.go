package firehose

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/flowmsg"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/broker"
)

func quiet() *slog.Logger { return testenv.Quiet() }

func startBroker(t testing.TB) *broker.Broker {
	t.Helper()
	return testenv.Broker(t, testenv.BrokerConfig(kafka.AllTopics()...))
}

const (
	vpcLine1 = "2 123456789012 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	vpcLine2 = "2 123456789012 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK"
	tgwLine  = "6 TransitGateway 123456789012 tgw-0123456789abcdef0 tgw-attach-0a1b2c3d4e5f60708 123456789012 123456789012 vpc-0a1b2c3d4e5f60708 vpc-0f1e2d3c4b5a69788 subnet-0a1b2c3d4e5f60708 subnet-0f1e2d3c4b5a69788 eni-0a1b2c3d4e5f60708 eni-0f1e2d3c4b5a69788 use1-az1 use1-az2 tgw-attach-0f1e2d3c4b5a69788 10.0.1.10 10.1.2.20 49152 443 6 10 840 1667858930 1667858990 OK IPv4 0 0 0 0 3 us-east-1 ingress - -"
	tunnel   = `{"event_timestamp":1762580429,"details":"Tunnel is up","dpd_enabled":true,"nat_t_detected":false,"ike_phase1_state":"established","ike_phase2_state":"established"}`
	control  = `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1578090901599,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`
)

// record is one Firehose record as a CloudWatch Logs subscription delivers it: the
// subscription payload, gzip'd, then base64 in the request's JSON.
func record(t testing.TB, payload string) Record {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(payload))
	zw.Close()
	return Record{Data: base64.StdEncoding.EncodeToString(buf.Bytes())}
}

func payload(group, stream string, msgs ...string) string {
	p := flowlog.SubscriptionPayload{MessageType: flowlog.MessageData, Owner: "123456789012", LogGroup: group,
		LogStream: stream, SubscriptionFilters: []string{"Destination"}}
	for i, m := range msgs {
		p.LogEvents = append(p.LogEvents, flowlog.LogEvent{ID: "3195310660696698337880902507980421114328961542429EXAMPLE" + string(rune('0'+i)), Timestamp: 1432826855000, Message: m})
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// post sends a delivery request with the headers Firehose documents.
func post(t testing.TB, url, key, id string, req Request, gzipBody bool) (int, Response, http.Header) {
	t.Helper()
	body, _ := json.Marshal(req)
	hreq, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if gzipBody {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		hreq, _ = http.NewRequest(http.MethodPost, url, &buf)
		hreq.Header.Set("Content-Encoding", "gzip")
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("X-Amz-Firehose-Protocol-Version", "1.0")
	hreq.Header.Set(HeaderRequestID, id)
	hreq.Header.Set(HeaderSourceARN, "arn:aws:firehose:us-east-1:123456789012:deliverystream/testStream")
	hreq.Header.Set("X-Amz-Firehose-Common-Attributes", `{"commonAttributes":{}}`)
	if key != "" {
		hreq.Header.Set(HeaderAccessKey, key)
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r Response
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("response %q is not Firehose's JSON: %v", raw, err)
	}
	var keys map[string]any
	json.Unmarshal(raw, &keys)
	if _, has := keys["errorMessage"]; has != (resp.StatusCode != http.StatusOK) {
		t.Fatalf("status %d with body %s: errorMessage only on failure", resp.StatusCode, raw)
	}
	return resp.StatusCode, r, resp.Header
}

// consume reads every message flowtap's topics hold.
func consume(t testing.TB, addr string) []testenv.Message {
	t.Helper()
	return testenv.Messages(t, addr, kafka.TopicVPC, kafka.TopicTGW, kafka.TopicVPN)
}

// serveHandler serves the handler of a new receiver of cfg (not Run) on an httptest server
// until the test ends.
func serveHandler(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	s, err := New(cfg, component.Deps{Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func TestFirehoseDelivery(t *testing.T) {
	br := startBroker(t)
	cfg := DefaultConfig()
	cfg.Brokers, cfg.AccessKeys = []string{br.Addr()}, []string{"my-access-key"}
	// A spill too small for any request: with Kafka gone the receiver must refuse.
	cfg.SpillDir, cfg.SpillMaxBytes = t.TempDir(), 1
	srv := serveHandler(t, cfg)

	req := Request{RequestID: "ed4acda5-034f-9f42-bba1-f29aea6d7d8f", Timestamp: 1578090901599, Records: []Record{
		record(t, control),
		record(t, payload("vpc-flow-logs", "eni-1235b8ca123456789-all", vpcLine1, vpcLine2)),
		record(t, payload("tgw-flow-logs", "tgw-0123456789abcdef0", tgwLine)),
		record(t, payload("vpn-logs", "vpn-0123456789abcdef0_203.0.113.1", tunnel)),
		{Data: "not base64!"},
	}}
	// A wrong or missing key is refused in Firehose's error shape, and nothing is stored.
	for _, key := range []string{"", "wrong"} {
		code, resp, _ := post(t, srv.URL, key, req.RequestID, req, false)
		if code != http.StatusUnauthorized || resp.RequestID != req.RequestID || resp.ErrorMessage == "" {
			t.Fatalf("key %q: %d %+v", key, code, resp)
		}
	}
	if got := consume(t, br.Addr()); len(got) != 0 {
		t.Fatalf("refused requests stored %d messages", len(got))
	}
	code, resp, hdr := post(t, srv.URL, "my-access-key", req.RequestID, req, false)
	if code != http.StatusOK || resp.RequestID != req.RequestID || resp.Timestamp < time.Now().Add(-time.Minute).UnixMilli() ||
		hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("delivery: %d %+v", code, resp)
	}
	// Firehose retries with the same request id; the body may be gzip'd.
	code, resp, _ = post(t, srv.URL, "my-access-key", "second", Request{RequestID: "second", Records: []Record{
		record(t, payload("vpc-flow-logs", "eni-1235b8ca123456789-all", vpcLine1))}}, true)
	if code != http.StatusOK || resp.RequestID != "second" {
		t.Fatalf("gzip delivery: %d %+v", code, resp)
	}

	got := consume(t, br.Addr())
	var vpc, tgw, vpn []testenv.Message
	for _, m := range got {
		switch m.Topic {
		case kafka.TopicVPC:
			vpc = append(vpc, m)
		case kafka.TopicTGW:
			tgw = append(tgw, m)
		case kafka.TopicVPN:
			vpn = append(vpn, m)
		}
	}
	if len(vpc) != 3 || len(tgw) != 1 || len(vpn) != 1 {
		t.Fatalf("stored %d VPC, %d TGW, %d VPN messages; want 3, 1, 1", len(vpc), len(tgw), len(vpn))
	}
	for _, m := range vpc {
		var r flowlog.Record
		if err := flowlog.ParseJSON([]byte(m.Value), &r); err != nil {
			t.Fatal(err)
		}
		// The line, with the region of the delivery stream filled in.
		if text := string(flowlog.DefaultVPC.AppendText(nil, &r)); (text != vpcLine1 && text != vpcLine2) || r.Region != "us-east-1" ||
			m.Key != "eni-1235b8ca123456789" || m.Headers[kafka.HeaderKind] != "vpc" {
			t.Fatalf("VPC message %+v", m)
		}
	}
	var r flowlog.Record
	flowlog.ParseJSON([]byte(tgw[0].Value), &r)
	if string(flowlog.DefaultTGW.AppendText(nil, &r)) != tgwLine || tgw[0].Headers[kafka.HeaderKind] != "tgw" {
		t.Fatalf("TGW message %+v", tgw[0])
	}
	if vpn[0].Value != tunnel || vpn[0].Key != "vpn-0123456789abcdef0_203.0.113.1" || vpn[0].Headers[kafka.HeaderKind] != flowlog.VPNTunnel ||
		vpn[0].Headers[kafka.HeaderAccount] != "123456789012" || vpn[0].Headers[kafka.HeaderRegion] != "us-east-1" {
		t.Fatalf("VPN message %+v", vpn[0])
	}

	// Not a Firehose body: 400 with the error shape.
	hreq, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"records": 5}`))
	hreq.Header.Set(HeaderAccessKey, "my-access-key")
	hreq.Header.Set(HeaderRequestID, "bad-body")
	hresp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	var bad Response
	json.NewDecoder(hresp.Body).Decode(&bad)
	hresp.Body.Close()
	if hresp.StatusCode != http.StatusBadRequest || bad.RequestID != "bad-body" || bad.ErrorMessage == "" {
		t.Fatalf("bad body: %d %+v", hresp.StatusCode, bad)
	}

	// Kafka gone and the spill full: no acknowledgement, Firehose's error shape, so that
	// Firehose retries.
	br.Close()
	code, resp, _ = post(t, srv.URL, "my-access-key", "third", Request{RequestID: "third", Records: []Record{
		record(t, payload("vpc-flow-logs", "eni-1235b8ca123456789-all", vpcLine2))}}, false)
	if code != http.StatusServiceUnavailable || resp.RequestID != "third" || !strings.Contains(resp.ErrorMessage, "storing records failed") {
		t.Fatalf("with Kafka down: %d %+v", code, resp)
	}
}

// FuzzDecode: any body is refused by ParseRequest or decodes without panicking; every
// message produced is a flow record that reads back, or a VPN event of a known kind.
func FuzzDecode(f *testing.F) {
	body, _ := json.Marshal(Request{RequestID: "x", Records: []Record{record(f, control), record(f, payload("g", "s", vpcLine1, tunnel))}})
	f.Add(body)
	f.Add([]byte(`{"requestId":"x","records":[{"data":"e30="}]}`))
	s, err := New(DefaultConfig(), component.Deps{Log: quiet()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseRequest(data)
		if err != nil {
			return
		}
		var b flowmsg.Batch
		s.Decode(req, "123456789012", "us-east-1", &b, func(int, error) {})
		for _, m := range b.Msgs {
			switch m.Topic {
			case kafka.TopicVPC, kafka.TopicTGW:
				var r flowlog.Record
				if err := flowlog.ParseJSON(m.Value, &r); err != nil {
					t.Fatalf("message %s does not read back: %v", m.Value, err)
				}
			case kafka.TopicVPN:
				if _, err := flowlog.ClassifyVPNEvent(m.Value); err != nil {
					t.Fatalf("VPN message %s: %v", m.Value, err)
				}
			default:
				t.Fatalf("topic %q", m.Topic)
			}
		}
	})
}
