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
