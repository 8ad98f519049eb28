package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestGenerateFilesParseBack writes AWS-layout files and reads every one back with the
// header-driven parser, checking each record sits under the key of its account, region and
// 5-minute end bucket.
func TestGenerateFilesParseBack(t *testing.T) {
	for _, c := range []struct{ kind, style string }{{"vpc", "hive-hourly"}, {"tgw", "plain"}} {
		dir := t.TempDir()
		_, err := runCLI(t, "generate", "--kind", c.kind, "--start", "2024-05-01T00:00:00Z", "--end", "2024-05-01T00:12:00Z",
			"--rate", "50", "--out", dir, "--layout", c.style, "--format", map[string]string{"vpc": flowlog.AllVPC.String(), "tgw": ""}[c.kind])
		if err != nil {
			t.Fatal(err)
		}
		style, _ := lake.ParseStyle(c.style)
		files, records := 0, 0
		err = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			files++
			key := filepath.ToSlash(strings.TrimPrefix(path, dir+string(filepath.Separator)))
			fh, err := os.Open(path)
			if err != nil {
				return err
			}
			defer fh.Close()
			zr, err := gzip.NewReader(fh)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			sc := bufio.NewScanner(zr)
			sc.Buffer(nil, 1<<20)
			if !sc.Scan() || !flowlog.IsHeader(sc.Text()) {
				t.Fatalf("%s: no header line", key)
			}
			format, err := flowlog.FormatFromHeader(sc.Text())
			if err != nil {
				t.Fatal(err)
			}
			for sc.Scan() {
				var r flowlog.Record
				if err := format.Parse(&r, sc.Text()); err != nil {
					t.Fatalf("%s: %v: %q", key, err, sc.Text())
				}
				b := lake.Bucket(r.End)
				want := lake.Prefix("", style, r.AccountID, r.Region, b)
				if !strings.HasPrefix(key, want) || !strings.Contains(key, b.Format("20060102T1504Z")) {
					t.Fatalf("record ending %d (account %s region %s) in %s, want under %s", r.End, r.AccountID, r.Region, key, want)
				}
				records++
			}
			return sc.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if files < 3 || records < 100 {
			t.Fatalf("%s: %d files, %d records", c.kind, files, records)
		}
	}
}

func TestGenerateStdoutAndErrors(t *testing.T) {
	out, err := runCLI(t, "generate", "--start", "2024-05-01T00:00:00Z", "--end", "2024-05-01T00:01:00Z", "--rate", "5", "--seed", "3")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != flowlog.DefaultVPC.Header() || len(lines) < 100 {
		t.Fatalf("%d lines, header %q", len(lines), lines[0])
	}
	again, _ := runCLI(t, "generate", "--start", "2024-05-01T00:00:00Z", "--end", "2024-05-01T00:01:00Z", "--rate", "5", "--seed", "3")
	if again != out {
		t.Fatal("same seed, different output")
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--interval", "300"}, "60 or 600"},
		{[]string{"--kind", "tgw", "--interval", "600"}, "fixed at 60"},
		{[]string{"--kind", "tgw", "--traffic-type", "REJECT"}, "no traffic type"},
		{[]string{"--format", "${version} ${srcaddr} ${bogus}"}, `"${bogus}": unknown field`},
		{[]string{"--kind", "tgw", "--format", "${version} ${interface-id}"}, "interface-id"},
		{[]string{"--kind", "netflow"}, `kind "netflow"`},
		{[]string{"--regions", "us-east-7"}, `unknown region "us-east-7"`},
		{[]string{"--subnets", "300", "--enis", "300"}, "do not fit"},
	}
	for _, c := range cases {
		args := append([]string{"generate", "--start", "2024-05-01T00:00:00Z", "--end", "2024-05-01T00:01:00Z"}, c.args...)
		if _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
}
