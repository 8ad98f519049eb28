package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// testCmd builds a root with one subcommand "demo" that records its flag values.
func testCmd(t *testing.T) (*cobra.Command, *cobra.Command, *string, *int) {
	t.Helper()
	root := &cobra.Command{Use: "flowtap"}
	root.PersistentFlags().String("log-level", "info", "")
	var listen string
	var n int
	demo := &cobra.Command{Use: "demo", RunE: func(*cobra.Command, []string) error { return nil }}
	demo.Flags().StringVar(&listen, "listen", "127.0.0.1:1", "")
	demo.Flags().IntVar(&n, "sockets", 1, "")
	root.AddCommand(demo)
	return root, demo, &listen, &n
}

func writeConfig(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "flowtap.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigPrecedence(t *testing.T) {
	file := writeConfig(t, "sockets: 3\ndemo:\n  listen: 0.0.0.0:4789\n  sockets: 4\n")
	_, demo, listen, n := testCmd(t)
	if err := demo.Flags().Parse([]string{}); err != nil {
		t.Fatal(err)
	}
	if err := loadConfig(demo, file, nil); err != nil {
		t.Fatal(err)
	}
	if *listen != "0.0.0.0:4789" || *n != 4 {
		t.Fatalf("file: listen=%s sockets=%d", *listen, *n)
	}
	// The environment beats the file; a flag beats both.
	_, demo, listen, n = testCmd(t)
	if err := demo.Flags().Parse([]string{"--sockets", "9"}); err != nil {
		t.Fatal(err)
	}
	if err := loadConfig(demo, file, []string{"FLOWTAP_LISTEN=127.0.0.1:5", "FLOWTAP_SOCKETS=7"}); err != nil {
		t.Fatal(err)
	}
	if *listen != "127.0.0.1:5" || *n != 9 {
		t.Fatalf("env/flag: listen=%s sockets=%d", *listen, *n)
	}
}

func TestConfigNestedSections(t *testing.T) {
	root := newRootCmd()
	var sqlCmd *cobra.Command
	for _, c := range root.Commands() {
		if c.Name() == "query" {
			for _, sc := range c.Commands() {
				if sc.Name() == "sql" {
					sqlCmd = sc
				}
			}
		}
	}
	if sqlCmd == nil {
		t.Fatal("no query sql command")
	}
	file := writeConfig(t, "log-level: debug\nquery:\n  sql:\n    lake: /srv/lake\n    format: csv\n")
	if err := loadConfig(sqlCmd, file, nil); err != nil {
		t.Fatal(err)
	}
	if v := sqlCmd.Flags().Lookup("lake").Value.String(); v != "/srv/lake" {
		t.Fatalf("lake = %q", v)
	}
	if v := root.PersistentFlags().Lookup("log-level").Value.String(); v != "debug" {
		t.Fatalf("log-level = %q", v)
	}
	bad := writeConfig(t, "query:\n  sql:\n    lakes: x\n")
	if err := loadConfig(sqlCmd, bad, nil); err == nil || !strings.Contains(err.Error(), `"query.sql.lakes"`) {
		t.Fatalf("want an error naming query.sql.lakes, got %v", err)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := map[string]string{
		"demo:\n  listne: x\n":     `unknown key "demo.listne"`,
		"sokets: 2\n":              `unknown key "sokets"`,
		"demo: 3\n":                `key "demo" must be a map`,
		"demo:\n  sockets: many\n": "sockets",
	}
	for body, want := range cases {
		_, demo, _, _ := testCmd(t)
		err := loadConfig(demo, writeConfig(t, body), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: got %v, want %q", body, err, want)
		}
	}
	_, demo, _, _ := testCmd(t)
	if err := loadConfig(demo, "", []string{"FLOWTAP_SOCKETS=lots"}); err == nil || !strings.Contains(err.Error(), "FLOWTAP_SOCKETS") {
		t.Fatalf("bad env value: %v", err)
	}
}
