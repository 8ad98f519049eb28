package flowlog

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// The CloudWatch shapes, built as AWS documents them: "Validate the flow of log events"
// (the subscription payload: owner, logGroup, logStream, subscriptionFilters, messageType,
// logEvents of id/timestamp/message, gzip then base64 on the wire), the CONTROL_MESSAGE
// CloudWatch Logs sends to check a destination, and the export-to-S3 line ("timestamp
// message").

const (
	docVPCLine1 = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	docVPCLine2 = "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK"
	docTGWLine  = "6 TransitGateway 123456789010 tgw-0123456789abcdef0 tgw-attach-0a1b2c3d4e5f60708 123456789010 123456789010 vpc-0a1b2c3d4e5f60708 vpc-0f1e2d3c4b5a69788 subnet-0a1b2c3d4e5f60708 subnet-0f1e2d3c4b5a69788 eni-0a1b2c3d4e5f60708 eni-0f1e2d3c4b5a69788 use1-az1 use1-az2 tgw-attach-0f1e2d3c4b5a69788 10.0.1.10 10.1.2.20 49152 443 6 10 840 1667858930 1667858990 OK IPv4 0 0 0 0 3 us-east-1 ingress - -"
	docTunnel   = `{"event_timestamp":1762580429,"details":"Tunnel is up","dpd_enabled":true,"nat_t_detected":false,"ike_phase1_state":"established","ike_phase2_state":"established"}`
	docClient   = `{"connection-log-type":"connection-attempt","connection-attempt-status":"successful","connection-reset-status":"NA","connection-attempt-failure-reason":"NA","connection-id":"cvpn-connection-abc123abc123abc12","client-vpn-endpoint-id":"cvpn-endpoint-aaa111bbb222ccc33","transport-protocol":"udp","connection-start-time":"2020-03-26 20:37:15","connection-last-update-time":"2020-03-26 20:37:15","client-ip":"10.0.1.2","common-name":"client1","device-type":"mac","device-ip":"98.247.202.82","port":"50096","ingress-bytes":"0","egress-bytes":"0","ingress-packets":"0","egress-packets":"0","connection-end-time":"NA","connection-duration-seconds":"0"}`
	docControl  = `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`
)

func payload(t *testing.T, group, stream string, msgs ...string) []byte {
	t.Helper()
	p := SubscriptionPayload{Owner: "123456789010", LogGroup: group, LogStream: stream,
		SubscriptionFilters: []string{"Destination"}, MessageType: MessageData}
	for i, m := range msgs {
		p.LogEvents = append(p.LogEvents, LogEvent{ID: "3195310660696698337880902507980421114328961542429EXAMPL" + string(rune('A'+i)),
			Timestamp: 1432826855000 + int64(i), Message: m})
	}
	b, err := json.MarshalIndent(p, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

type readItem struct {
	event, text, group, stream string
}

func readAll(t *testing.T, in []byte, format *Format) ([]readItem, *Reader) {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(in), "in", format)
	if err != nil {
		t.Fatal(err)
	}
	var out []readItem
	var r Record
	for {
		it, err := rd.Next(&r)
		if err == io.EOF {
			return out, rd
		}
		if err != nil {
			t.Fatal(err)
		}
		ri := readItem{event: it.Event, group: it.LogGroup, stream: it.LogStream}
		if it.Event == "" {
			ri.text = string(it.Format.AppendText(nil, &r))
		} else {
			ri.text = string(it.Data)
		}
		out = append(out, ri)
	}
}

func TestCloudWatchExportLines(t *testing.T) {
	in := "2018-09-22T20:28:14.000Z " + docVPCLine1 + "\n2018-09-22T20:28:15.000Z " + docVPCLine2 + "\n" +
		"2023-11-08T05:40:29.000Z " + docTGWLine + "\n" +
		"2025-11-08T05:40:29.123Z " + docTunnel + "\n"
	for _, data := range [][]byte{[]byte(in), gz([]byte(in))} {
		got, _ := readAll(t, data, nil)
		want := []readItem{{text: docVPCLine1}, {text: docVPCLine2}, {text: docTGWLine}, {event: VPNTunnel, text: docTunnel}}
		if len(got) != len(want) {
			t.Fatalf("got %d items: %+v", len(got), got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("item %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
	}
	ts, msg, ok := CutExportTimestamp("2018-09-22T20:28:14.000Z 2 x")
	if !ok || msg != "2 x" || ts.UnixMilli() != 1537648094000 {
		t.Fatalf("CutExportTimestamp: %v %q %v", ts, msg, ok)
	}
	if _, _, ok := CutExportTimestamp(docVPCLine1); ok {
		t.Fatal("a flow line was taken for an export line")
	}
}

func TestCloudWatchSubscriptionPayloads(t *testing.T) {
	vpc := payload(t, "vpc-flow-logs", "eni-1235b8ca123456789-all", docVPCLine1, docVPCLine2)
	tgw := payload(t, "tgw-flow-logs", "tgw-0123456789abcdef0", docTGWLine)
	vpn := payload(t, "vpn-logs", "vpn-0123456789abcdef0_203.0.113.1", docTunnel)
	cvpn := payload(t, "client-vpn-logs", "cvpn-endpoint-aaa111bbb222ccc33-us-east-1-2020/03/26-abc", docClient)
	want := []readItem{
		{text: docVPCLine1, group: "vpc-flow-logs", stream: "eni-1235b8ca123456789-all"},
		{text: docVPCLine2, group: "vpc-flow-logs", stream: "eni-1235b8ca123456789-all"},
		{text: docTGWLine, group: "tgw-flow-logs", stream: "tgw-0123456789abcdef0"},
		{event: VPNTunnel, text: docTunnel, group: "vpn-logs", stream: "vpn-0123456789abcdef0_203.0.113.1"},
		{event: ClientVPN, text: docClient, group: "client-vpn-logs", stream: "cvpn-endpoint-aaa111bbb222ccc33-us-east-1-2020/03/26-abc"},
	}
	// Concatenated without separators, as Firehose writes them to S3; gzip or not; a
	// CONTROL_MESSAGE among them.
	all := bytes.Join([][]byte{[]byte(docControl), vpc, tgw, vpn, cvpn}, nil)
	for _, data := range [][]byte{all, gz(all)} {
		got, rd := readAll(t, data, nil)
		if len(got) != len(want) {
			t.Fatalf("got %d items: %+v", len(got), got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("item %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
		if rd.ControlMessages() != 1 {
			t.Fatalf("control messages %d", rd.ControlMessages())
		}
	}
	// DecodeSubscription reads one gzip'd record as Kinesis or Firehose carry it.
	ps, err := DecodeSubscription(gz(vpc))
	if err != nil || len(ps) != 1 || len(ps[0].LogEvents) != 2 || ps[0].LogEvents[1].Message != docVPCLine2 {
		t.Fatalf("DecodeSubscription: %v %+v", err, ps)
	}
	ps, err = DecodeSubscription([]byte(docControl))
	if err != nil || ps[0].MessageType != MessageControl {
		t.Fatalf("control: %v %+v", err, ps)
	}
	for _, bad := range []string{`{"messageType":"OTHER"}`, `{"logEvents":[]}`, `{"messageType":"DATA_MESSAGE","logEvents":[]}`, `[1]`, ``, "\x1f\x8b garbage"} {
		if _, err := DecodeSubscription([]byte(bad)); !errors.Is(err, ErrSubscription) {
			t.Errorf("DecodeSubscription(%q) = %v, want ErrSubscription", bad, err)
		}
	}
	// A custom format needs --format; with it, lines parse.
	custom := payload(t, "g", "s", "10.0.0.1 10.0.0.2 443")
	if _, err := NewReader(bytes.NewReader(custom), "in", nil); err != nil {
		t.Fatal(err)
	}
	rd, _ := NewReader(bytes.NewReader(custom), "in", nil)
	var r Record
	if _, err := rd.Next(&r); err == nil || !strings.Contains(err.Error(), "give --format") {
		t.Fatalf("custom format without --format: %v", err)
	}
	got, _ := readAll(t, custom, MustParseFormat("${srcaddr} ${dstaddr} ${dstport}"))
	if len(got) != 1 || got[0].text != "10.0.0.1 10.0.0.2 443" {
		t.Fatalf("custom format: %+v", got)
	}
}
