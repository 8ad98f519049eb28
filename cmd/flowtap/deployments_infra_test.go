package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"gopkg.in/yaml.v3"
)

// TestTerraform checks deployments/terraform without a Terraform binary: every .tf file
// parses as HCL and is in canonical format (hclwrite.Format is the formatter `terraform
// fmt` applies), the health-check ingress admits the NLB's subnets (not the mirror
// sources) on the port the collector unit serves /healthz on, and user_data installs a
// pinned, checksummed release with the repository's unit, its template variables matching
// what main.tf passes.
func TestTerraform(t *testing.T) {
	files, _ := filepath.Glob("../../deployments/terraform/*.tf")
	if len(files) < 2 {
		t.Fatalf("found %d .tf files", len(files))
	}
	bodies := map[string]*hclsyntax.Body{}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
		if diags.HasErrors() {
			t.Errorf("%s: %v", path, diags)
			continue
		}
		bodies[filepath.Base(path)] = f.Body.(*hclsyntax.Body)
		if formatted := hclwrite.Format(src); !bytes.Equal(formatted, src) {
			t.Errorf("%s is not canonically formatted (terraform fmt); formatted it reads:\n%s", path, formatted)
		}
	}
	main := bodies["main.tf"]
	if main == nil {
		t.Fatal("no main.tf")
	}

	// The collector unit's health port.
	unit, err := parseUnit("../../deployments/systemd/flowtap-collect.service")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`--health \S*:(\d+)`).FindStringSubmatch(unit.get("Service", "ExecStart"))
	if m == nil {
		t.Fatal("the collect unit has no --health HOST:PORT")
	}
	healthPort := m[1]

	var sawHealthIngress, sawTargetGroupCheck bool
	for _, b := range main.Blocks {
		if b.Type != "resource" || len(b.Labels) != 2 {
			continue
		}
		switch b.Labels[0] {
		case "aws_security_group":
			for _, in := range b.Body.Blocks {
				if in.Type != "ingress" || literal(t, in.Body, "from_port") != healthPort {
					continue
				}
				sawHealthIngress = true
				refs := references(in.Body.Attributes["cidr_blocks"])
				if refs["var.mirror_source_cidrs"] || !refs["data.aws_subnet.nlb"] {
					t.Errorf("health-check ingress on %s admits %v; want the NLB subnets' CIDRs (data.aws_subnet.nlb)", healthPort, keys(refs))
				}
			}
		case "aws_lb_target_group":
			for _, hc := range b.Body.Blocks {
				if hc.Type == "health_check" {
					sawTargetGroupCheck = true
					if p := literal(t, hc.Body, "port"); p != healthPort {
						t.Errorf("target group health check on port %s, the collector serves /healthz on %s", p, healthPort)
					}
				}
			}
		}
	}
	if !sawHealthIngress || !sawTargetGroupCheck {
		t.Errorf("health ingress found: %v, target group health check found: %v", sawHealthIngress, sawTargetGroupCheck)
	}

	// user_data: pinned and checksummed, its variables exactly those main.tf passes.
	tpl, err := os.ReadFile("../../deployments/terraform/user_data.sh.tftpl")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(tpl, []byte("raw.githubusercontent.com")) || bytes.Contains(tpl, []byte("/main/")) {
		t.Error("user_data downloads from a branch")
	}
	if !bytes.Contains(tpl, []byte("sha256sum -c")) || !bytes.Contains(tpl, []byte("${flowtap_sha256}")) {
		t.Error("user_data does not verify the binary's SHA-256")
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([a-z0-9_]+)\}`).FindAllSubmatch(tpl, -1) {
		used[string(m[1])] = true
	}
	passed := map[string]bool{}
	mainSrc, _ := os.ReadFile("../../deployments/terraform/main.tf")
	call := regexp.MustCompile(`(?s)templatefile\([^{]*\{(.*?)\}\)\)`).FindSubmatch(mainSrc)
	if call == nil {
		t.Fatal("main.tf has no templatefile(…, {…}) call")
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*([a-z0-9_]+)\s*=`).FindAllSubmatch(call[1], -1) {
		passed[string(m[1])] = true
	}
	if strings.Join(keys(used), ",") != strings.Join(keys(passed), ",") {
		t.Errorf("user_data uses %v, main.tf passes %v", keys(used), keys(passed))
	}
	for _, v := range []string{"flowtap_version", "flowtap_sha256"} {
		if !strings.Contains(string(mainSrc), "var."+v) {
			t.Errorf("main.tf does not use var.%s", v)
		}
	}
}

// literal is the value of a literal attribute (number or string) as text, "" otherwise.
func literal(t *testing.T, b *hclsyntax.Body, name string) string {
	a := b.Attributes[name]
	if a == nil {
		return ""
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return ""
	}
	if v.Type().FriendlyName() == "number" {
		return v.AsBigFloat().Text('f', -1)
	}
	return v.AsString()
}

// references lists the roots of what an attribute refers to: "var.x", "data.type.name".
func references(a *hclsyntax.Attribute) map[string]bool {
	out := map[string]bool{}
	if a == nil {
		return out
	}
	for _, tr := range a.Expr.Variables() {
		parts := []string{tr.RootName()}
		for _, step := range tr[1:] {
			if s, ok := step.(hcl.TraverseAttr); ok && len(parts) < 3 {
				parts = append(parts, s.Name)
			}
		}
		if parts[0] == "var" {
			parts = parts[:2]
		}
		out[strings.Join(parts, ".")] = true
	}
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestKubernetesPorts: in every Deployment, each probe's named port and the Prometheus
// annotation's port are container ports, and each container port named health or metrics
// is the port its --health/--metrics flag serves; containers run as non-root.
func TestKubernetesPorts(t *testing.T) {
	files, _ := filepath.Glob("../../deployments/kubernetes/*.yaml")
	deployments := 0
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var doc struct {
				Kind string `yaml:"kind"`
				Spec struct {
					Template struct {
						Metadata struct {
							Annotations map[string]string `yaml:"annotations"`
						} `yaml:"metadata"`
						Spec struct {
							Containers []struct {
								Name  string   `yaml:"name"`
								Args  []string `yaml:"args"`
								Ports []struct {
									Name          string `yaml:"name"`
									ContainerPort int    `yaml:"containerPort"`
								} `yaml:"ports"`
								ReadinessProbe  map[string]any `yaml:"readinessProbe"`
								LivenessProbe   map[string]any `yaml:"livenessProbe"`
								SecurityContext struct {
									RunAsNonRoot bool `yaml:"runAsNonRoot"`
								} `yaml:"securityContext"`
							} `yaml:"containers"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			}
			if err := dec.Decode(&doc); err != nil {
				if err.Error() != "EOF" {
					t.Errorf("%s: %v", path, err)
				}
				break
			}
			if doc.Kind != "Deployment" {
				continue
			}
			deployments++
			for _, c := range doc.Spec.Template.Spec.Containers {
				ports := map[string]string{}
				all := map[string]bool{}
				for _, p := range c.Ports {
					ports[p.Name] = strconv.Itoa(p.ContainerPort)
					all[strconv.Itoa(p.ContainerPort)] = true
				}
				flagPort := map[string]string{}
				for _, a := range c.Args {
					if m := regexp.MustCompile(`^--(health|metrics)=\S*:(\d+)$`).FindStringSubmatch(a); m != nil {
						flagPort[m[1]] = m[2]
					}
				}
				for _, name := range []string{"health", "metrics"} {
					if p, ok := ports[name]; ok && flagPort[name] != p {
						t.Errorf("%s %s: port %s is %s, --%s serves %q", path, c.Name, name, p, name, flagPort[name])
					}
				}
				for _, probe := range []map[string]any{c.ReadinessProbe, c.LivenessProbe} {
					for _, h := range probe {
						handler, _ := h.(map[string]any)
						if p, ok := handler["port"].(string); ok && ports[p] == "" {
							t.Errorf("%s %s: probe port %q is not a container port", path, c.Name, p)
						}
					}
				}
				if p := doc.Spec.Template.Metadata.Annotations["prometheus.io/port"]; p != "" && (!all[p] || flagPort["metrics"] != p) {
					t.Errorf("%s %s: prometheus.io/port %s, --metrics serves %q", path, c.Name, p, flagPort["metrics"])
				}
				if !c.SecurityContext.RunAsNonRoot {
					t.Errorf("%s %s: runAsNonRoot not set", path, c.Name)
				}
			}
		}
	}
	if deployments < 2 {
		t.Fatalf("checked %d Deployments, want the collector and the sink", deployments)
	}
}
