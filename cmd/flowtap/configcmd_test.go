package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/config/*.golden from the current code")

// configEnv is the environment of the golden tests: one FLOWTAP_ variable, and fixed
// locations for defaults that depend on the user's directories.
var configEnv = []string{"FLOWTAP_LOG_LEVEL=debug"}

func goldenRoot(t *testing.T) *cobra.Command {
	t.Setenv("XDG_STATE_HOME", "/state")
	t.Setenv("HOME", "/home/flowtap")
	return newRootCmd()
}

// configCommands lists every command that takes configuration, as testdata names
// ("query_sql" for flowtap query sql) and argument paths.
func configCommands(root *cobra.Command) map[string][]string {
	out := map[string][]string{}
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			switch sub.Name() {
			case "config", "help", "completion", "version":
				continue
			}
			p := append(append([]string(nil), path...), sub.Name())
			if sub.HasSubCommands() {
				walk(sub, p)
				continue
			}
			out[strings.Join(p, "_")] = p
		}
	}
	walk(root, nil)
	return out
}

// TestConfigGolden: for every command, testdata/config/<command>.yaml through
// `flowtap config dump` gives testdata/config/<command>.golden (go test -run
// TestConfigGolden -update rewrites them), and the dump read back as --config gives the
// same values.
func TestConfigGolden(t *testing.T) {
	for name, path := range configCommands(goldenRoot(t)) {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join("testdata", "config", name+".yaml")
			if _, err := os.Stat(in); err != nil {
				t.Fatalf("no %s: every command needs a config golden input (write one, then go test -run TestConfigGolden -update)", in)
			}
			var got bytes.Buffer
			if err := configAction(goldenRoot(t), &got, "dump", append(append([]string(nil), path...), "--config", in), configEnv); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "config", name+".golden")
			if *updateGolden {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("config dump %s differs from %s (go test -run TestConfigGolden -update if intended):\n%s", name, golden, got.String())
			}
			// The dump is a valid --config file that reproduces the same values.
			again := filepath.Join(t.TempDir(), "dump.yaml")
			if err := os.WriteFile(again, got.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			var round bytes.Buffer
			if err := configAction(goldenRoot(t), &round, "dump", append(append([]string(nil), path...), "--config", again), nil); err != nil {
				t.Fatalf("the dump does not load as --config: %v", err)
			}
			if a, b := values(got.String()), values(round.String()); a != b {
				t.Errorf("round trip changed values:\nfirst:\n%s\nagain:\n%s", a, b)
			}
		})
	}
}

var comment = regexp.MustCompile(`(?m)\s*#.*$`)

// values strips comments (sources, header) from a dump.
func values(dump string) string { return strings.TrimSpace(comment.ReplaceAllString(dump, "")) }

func TestConfigDumpSources(t *testing.T) {
	file := writeConfig(t, "up:\n  rate: 7\n  seed: 3\n")
	var out bytes.Buffer
	err := configAction(goldenRoot(t), &out, "dump", []string{"up", "--config", file, "--seed", "9"}, []string{"FLOWTAP_RATE=8", "FLOWTAP_INTERVAL=600"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rate: 8 # env FLOWTAP_RATE", "seed: 9 # flag", "interval: 600 # env FLOWTAP_INTERVAL", "listen: 127.0.0.1:4789 # default"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dump lacks %q:\n%s", want, out.String())
		}
	}
}

func TestConfigCheck(t *testing.T) {
	cases := []struct {
		args []string
		want string // "" = ok
	}{
		{[]string{"sink", "--parquet", "/lake"}, ""},
		{[]string{"sink"}, "no destination"},
		{[]string{"up", "--interval", "30"}, "--interval 30"},
		{[]string{"collect", "--output", "kafka"}, "--kafka-brokers is required"},
		{[]string{"up", "--no-such-flag"}, "unknown flag"},
		{[]string{"nonsense"}, "name a command"},
		{[]string{"up", "--config", writeConfig(t, "up:\n  rat: 5\n")}, `unknown key "up.rat"`},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := configAction(goldenRoot(t), &out, "check", c.args, nil)
		switch {
		case c.want == "" && (err != nil || out.String() != "ok\n"):
			t.Errorf("check %v = %v %q, want ok", c.args, err, out.String())
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("check %v = %v, want an error with %q", c.args, err, c.want)
		}
	}
}
