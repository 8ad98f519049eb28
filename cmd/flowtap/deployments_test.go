package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flowtap/flowtap/ingest"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// TestDeploymentsMatchTheCLI keeps deployments/ honest: every flag a unit file, manifest or
// compose file passes to flowtap must exist on a subcommand that file runs, every YAML
// document must parse, the sessions file in the Kubernetes ConfigMap must load, and the
// systemd config file must pass the config loader.
func TestDeploymentsMatchTheCLI(t *testing.T) {
	root := newRootCmd()
	subs := map[string]*cobra.Command{}
	for _, c := range root.Commands() {
		subs[c.Name()] = c
	}
	flagRe := regexp.MustCompile(`(?:^|[\s"'\[,-])--([a-z][a-z0-9-]*)`)
	cmdRe := regexp.MustCompile(`(?:flowtap|- |\[")\s*"?(collect|sink|up|generate|replay|broker|logstore|query)\b`)
	files, _ := filepath.Glob("../../deployments/*/*")
	more, _ := filepath.Glob("../../deployments/*/*/*/*")
	files = append(files, more...)
	checked := 0
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue // a directory
		}
		text := string(raw)
		if strings.HasSuffix(path, ".yaml") {
			dec := yaml.NewDecoder(strings.NewReader(text))
			for {
				var doc any
				if err := dec.Decode(&doc); err != nil {
					if err.Error() != "EOF" {
						t.Errorf("%s: %v", path, err)
					}
					break
				}
			}
		}
		var used []*cobra.Command
		for _, m := range cmdRe.FindAllStringSubmatch(text, -1) {
			used = append(used, subs[m[1]])
		}
		if len(used) == 0 {
			continue
		}
		for _, m := range flagRe.FindAllStringSubmatch(text, -1) {
			name := m[1]
			found := root.PersistentFlags().Lookup(name) != nil
			for _, c := range used {
				found = found || c.Flags().Lookup(name) != nil
			}
			if !found {
				t.Errorf("%s: flag --%s is not a flag of the flowtap commands it runs", path, name)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d flags; did the deployments move?", checked)
	}

	// The sessions file inside the ConfigMap.
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	raw, err := os.ReadFile("../../deployments/kubernetes/collector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.NewDecoder(strings.NewReader(string(raw))).Decode(&cm); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.ParseSessions([]byte(cm.Data["sessions.yaml"])); err != nil {
		t.Errorf("kubernetes sessions.yaml: %v", err)
	}
	if _, err := ingest.LoadSessions("../../testdata/demo-sessions.yaml"); err != nil {
		t.Errorf("testdata/demo-sessions.yaml: %v", err)
	}
	// The systemd config file goes through the one config loader.
	collect := subs["collect"]
	if err := loadConfig(collect, "../../deployments/systemd/flowtap.yaml", nil); err != nil {
		t.Errorf("deployments/systemd/flowtap.yaml: %v", err)
	}
}
