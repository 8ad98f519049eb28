package main

import (
	"encoding/json"
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
		if filepath.Base(path) == "Dockerfile" || filepath.Base(path) == "distributed.yaml" {
			continue // TestDockerfile; TestDistributedCompose parses each command with its flag set
		}
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

// TestDockerfile lints the runtime image's Dockerfile without a Docker engine: every line
// is a known instruction, base images are pinned, COPY --from names a stage, the build
// stage uses the Makefile's release target (static libstdc++/libgcc), and the runtime
// stage has CA certificates, a non-root user and an entrypoint that is the copied binary.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../../deployments/compose/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"FROM": true, "RUN": true, "CMD": true, "LABEL": true, "EXPOSE": true, "ENV": true,
		"ADD": true, "COPY": true, "ENTRYPOINT": true, "VOLUME": true, "USER": true, "WORKDIR": true, "ARG": true,
		"ONBUILD": true, "STOPSIGNAL": true, "HEALTHCHECK": true, "SHELL": true}
	type stage struct {
		name  string
		instr [][2]string // keyword, arguments
	}
	var stages []*stage
	text := strings.ReplaceAll(string(raw), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kw, rest, _ := strings.Cut(line, " ")
		kw = strings.ToUpper(kw)
		if !known[kw] {
			t.Errorf("unknown instruction %q", line)
			continue
		}
		if kw == "FROM" {
			f := strings.Fields(rest)
			s := &stage{}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			if img := f[0]; !strings.Contains(img, ":") || strings.HasSuffix(img, ":latest") {
				t.Errorf("FROM %s: pin the base image's tag", img)
			}
			stages = append(stages, s)
		}
		if len(stages) == 0 {
			if kw != "ARG" {
				t.Errorf("%s before the first FROM", kw)
			}
			continue
		}
		cur := stages[len(stages)-1]
		cur.instr = append(cur.instr, [2]string{kw, strings.TrimSpace(rest)})
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages; want a build stage and a runtime stage", len(stages))
	}
	names := map[string]bool{}
	for _, s := range stages {
		for _, in := range s.instr {
			if in[0] == "COPY" && strings.HasPrefix(in[1], "--from=") {
				from := strings.Fields(strings.TrimPrefix(in[1], "--from="))[0]
				if !names[from] {
					t.Errorf("COPY --from=%s: no earlier stage of that name", from)
				}
			}
		}
		names[s.name] = true
	}
	has := func(s *stage, kw, sub string) bool {
		for _, in := range s.instr {
			if in[0] == kw && strings.Contains(in[1], sub) {
				return true
			}
		}
		return false
	}
	if !has(stages[0], "RUN", "make release") {
		t.Error("the build stage does not use `make release`")
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^release:`).Match(mk) || !strings.Contains(string(mk), "-static-libstdc++") {
		t.Error("the Makefile has no release target linking libstdc++ statically")
	}
	final := stages[len(stages)-1]
	if !has(final, "RUN", "ca-certificates") {
		t.Error("the runtime image installs no CA certificates (HTTPS to S3 or Loki fails)")
	}
	user := ""
	var entry []string
	var cmd []string
	for _, in := range final.instr {
		switch in[0] {
		case "USER":
			user = in[1]
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in[1]), &entry); err != nil {
				t.Errorf("ENTRYPOINT %s: use the JSON (exec) form: %v", in[1], err)
			}
		case "CMD":
			if err := json.Unmarshal([]byte(in[1]), &cmd); err != nil {
				t.Errorf("CMD %s: use the JSON (exec) form: %v", in[1], err)
			}
		}
	}
	if user == "" || user == "root" || user == "0" {
		t.Errorf("USER %q: the runtime image must not run as root", user)
	}
	if len(entry) == 0 || !has(final, "COPY", entry[0]) {
		t.Errorf("ENTRYPOINT %v is not the binary copied into the runtime stage", entry)
	}
	if len(cmd) > 0 {
		root := newRootCmd()
		if c, _, err := root.Find(cmd); err != nil || c == root {
			t.Errorf("CMD %v is not a flowtap subcommand", cmd)
		}
	}
}
