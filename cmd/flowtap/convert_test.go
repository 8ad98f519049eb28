package main

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowtap/flowtap/flowlog"
)

// TestConvertKeepsBytesAndUnknownColumns: --to-format equal to the input keeps every byte
// (a version above the format's, milliseconds, non-canonical IPv6, an unknown column), and
// JSON output carries unknown columns under their own names with no duplicate keys.
func TestConvertKeepsBytesAndUnknownColumns(t *testing.T) {
	header := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status some-new-field another-one"
	lines := []string{
		"7 123456789010 eni-1 2001:DB8:0:0::1 10.0.0.2 1 2 6 3 4 1418530010000 1418530070000 ACCEPT OK alpha -",
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 1418530010 1418530070 REJECT OK - beta",
	}
	in := filepath.Join(t.TempDir(), "in.log")
	if err := os.WriteFile(in, []byte(header+"\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"convert", in}, {"convert", "--header", in}} {
		out, err := runCLI(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Join(lines, "\n") + "\n"
		if args[1] == "--header" {
			want = header + "\n" + want // the header keeps the unknown names
		}
		if out != want {
			t.Fatalf("%v:\n got %q\nwant %q", args, out, want)
		}
	}
	known := strings.Replace(header, " some-new-field another-one", "", 1)
	plain := filepath.Join(t.TempDir(), "plain.log")
	os.WriteFile(plain, []byte(known+"\n"+"7 123456789010 eni-1 2001:DB8:0:0::1 10.0.0.2 1 2 6 3 4 1418530010000 1418530070000 ACCEPT OK\n"), 0o600)
	out, err := runCLI(t, "convert", "--to-format", known, plain)
	if err != nil || out != "7 123456789010 eni-1 2001:DB8:0:0::1 10.0.0.2 1 2 6 3 4 1418530010000 1418530070000 ACCEPT OK\n" {
		t.Fatalf("identical --to-format rewrote the line: %q %v", out, err)
	}
	out, err = runCLI(t, "convert", "--to-format", "${srcaddr} ${start}", plain)
	if err != nil || out != "2001:db8::1 1418530010\n" {
		t.Fatalf("a new format is re-rendered: %q %v", out, err)
	}

	out, err = runCLI(t, "convert", "--json", in)
	if err != nil {
		t.Fatal(err)
	}
	objs := strings.Split(strings.TrimSpace(out), "\n")
	if len(objs) != 2 {
		t.Fatalf("JSON output %q", out)
	}
	for i, want := range [][2]any{{"alpha", nil}, {nil, "beta"}} {
		var m map[string]any
		if err := json.Unmarshal([]byte(objs[i]), &m); err != nil {
			t.Fatal(err)
		}
		if len(m) != 16 || m["some-new-field"] != want[0] || m["another-one"] != want[1] {
			t.Fatalf("JSON %s: want 16 keys, some-new-field=%v another-one=%v", objs[i], want[0], want[1])
		}
	}
}

// TestConvertCloudWatchShapes: export lines and a gzip'd subscription payload of a VPC log
// group convert like S3 text.
func TestConvertCloudWatchShapes(t *testing.T) {
	const line = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	dir := t.TempDir()
	export := filepath.Join(dir, "000000.gz")
	writeGzip(t, export, "2018-09-22T20:28:14.000Z "+line+"\n")
	p := flowlog.SubscriptionPayload{MessageType: flowlog.MessageData, Owner: "123456789010", LogGroup: "vpc-flow-logs",
		LogStream: "eni-1235b8ca123456789-all", LogEvents: []flowlog.LogEvent{{ID: "1", Timestamp: 1418530010000, Message: line}}}
	b, _ := json.Marshal(p)
	sub := filepath.Join(dir, "firehose-object")
	writeGzip(t, sub, `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`+string(b))
	out, err := runCLI(t, "convert", "--to-format", "${srcaddr} ${dstport} ${action}", export, sub)
	if err != nil {
		t.Fatal(err)
	}
	if out != "172.31.16.139 22 ACCEPT\n172.31.16.139 22 ACCEPT\n" {
		t.Fatalf("got %q", out)
	}
}

func writeGzip(t *testing.T, path, body string) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(fh)
	zw.Write([]byte(body))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	fh.Close()
}
