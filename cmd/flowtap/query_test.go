package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/query/querytest"
)

func runQueryCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func queryFixtureLake(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	lines := []string{
		"2 111111111111 eni-1 10.0.0.1 10.0.0.2 40000 443 6 10 5000 1714557600 1714557630 ACCEPT OK",
		"2 111111111111 eni-1 10.0.0.3 10.0.0.2 40001 22 6 2 120 1714557600 1714557630 REJECT OK",
		"2 111111111111 eni-1 10.0.0.3 10.0.0.2 40002 22 6 1 60 1714644000 1714644030 REJECT OK",
	}
	recs := make([]flowlog.Record, len(lines))
	for i, l := range lines {
		if err := flowlog.DefaultVPC.Parse(&recs[i], l); err != nil {
			t.Fatal(err)
		}
		recs[i].Region = "us-east-1"
	}
	if err := querytest.WriteLake(dir, lake.Hive, flowlog.AllVPC, recs); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestQuerySQLCommand(t *testing.T) {
	lake := queryFixtureLake(t)
	out, err := runQueryCLI(t, "query", "sql", "--lake", lake, "--saved", "rejected")
	want := `srcaddr   dstaddr   dstport  protocol  flows  packets
--------  --------  -------  --------  -----  -------
10.0.0.3  10.0.0.2       22         6      2        3
(1 rows)
`
	if err != nil || out != want {
		t.Fatalf("saved rejected: %v\n%s\nwant\n%s", err, out, want)
	}
	// --from/--to keep the first day only.
	out, err = runQueryCLI(t, "query", "sql", "--lake", lake, "--from", "2024-05-01", "--to", "2024-05-02", "--format", "csv",
		`SELECT count(*) AS n, sum(bytes) AS b FROM vpc_flow_logs`)
	if err != nil || out != "n,b\n2,5120\n" {
		t.Fatalf("range: %v %q", err, out)
	}
	arrowFile := filepath.Join(t.TempDir(), "r.arrow")
	out, err = runQueryCLI(t, "query", "sql", "--lake", lake, "--format", "arrow", "--out", arrowFile, `SELECT srcaddr, bytes FROM vpc_flow_logs ORDER BY bytes`)
	if err != nil || !strings.Contains(out, "wrote 3 rows to "+arrowFile) {
		t.Fatalf("arrow: %v %q", err, out)
	}
	f, err := os.Open(arrowFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.RecordBatch(0)
	if err != nil || rec.NumRows() != 3 || rec.Column(1).ValueStr(2) != "5000" {
		t.Fatalf("arrow read back: %v %v", err, rec)
	}
	r.Close()

	out, err = runQueryCLI(t, "query", "sql", "--list")
	if err != nil || strings.Count(out, "\n") != 4 || !strings.Contains(out, "tgw-drops") {
		t.Fatalf("list: %v %q", err, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"SELECT srcaddr FRM vpc_flow_logs"}, "LINE 1: SELECT srcaddr FRM vpc_flow_logs\n" + strings.Repeat(" ", len("LINE 1: SELECT srcaddr FRM ")) + "^"},
		{[]string{"--saved", "nope"}, `no saved query "nope"`},
		{[]string{"--saved", "rejected", "SELECT 1"}, "not both"},
		{[]string{}, "no query"},
		{[]string{"--format", "xml", "SELECT 1"}, "unknown output format"},
		{[]string{"--since", "1h", "--from", "2024-01-01", "SELECT 1"}, "cannot be combined"},
		{[]string{"--from", "2030-01-01", "SELECT 1"}, "has no flow log files from 2030-01-01T00:00:00Z"},
	} {
		_, err := runQueryCLI(t, append([]string{"query", "sql", "--lake", lake}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
	_, err = runQueryCLI(t, "query", "sql", "--lake", t.TempDir(), "SELECT 1")
	if err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty lake: %v", err)
	}
}

func TestAthenaDDLCommand(t *testing.T) {
	out, err := runQueryCLI(t, "athena-ddl", "--lake", "s3://b/p", "--layout", "plain", "--account", "111111111111", "--format", "version srcaddr end region")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "(\n  `version` int,\n  `srcaddr` string,\n  `end` bigint\n)\nPARTITIONED BY (\n  `region` string,\n  `day` string\n)") ||
		!strings.Contains(out, "'storage.location.template' = 's3://b/p/AWSLogs/111111111111/vpcflowlogs/${region}/${day}'") {
		t.Fatalf("plain ddl:\n%s", out)
	}
	_, err = runQueryCLI(t, "athena-ddl", "--kind", "tgw", "--format", "version srcaddr action")
	if err == nil {
		t.Fatal("a VPC-only field in a TGW format must be refused")
	}
	if _, err := runQueryCLI(t, "athena-ddl", "--layout", "weekly"); err == nil || !strings.Contains(err.Error(), "--layout") {
		t.Fatalf("bad layout: %v", err)
	}
}
