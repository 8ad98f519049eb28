package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/flowtap/flowtap/kafka"
)

// TestComposeFilesMatchTheSpec validates every compose file in deployments/compose against
// the Compose Specification's JSON schema (testdata/compose-spec, see SOURCE.md there).
func TestComposeFilesMatchTheSpec(t *testing.T) {
	f, err := os.Open("testdata/compose-spec/compose-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("compose_spec.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("compose_spec.json")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../deployments/compose/*.yaml")
	if len(files) < 2 {
		t.Fatalf("found %d compose files, want the embedded and the distributed one", len(files))
	}
	for _, path := range files {
		if err := schema.Validate(composeJSON(t, path)); err != nil {
			t.Errorf("%s does not follow the compose specification: %v", path, err)
		}
	}
	// The schema does reject a broken file (a service key that does not exist).
	bad := map[string]any{"services": map[string]any{"x": map[string]any{"image": "a", "portz": []any{"1:1"}}}}
	if schema.Validate(bad) == nil {
		t.Error("the schema accepted a service with an unknown key")
	}
}

// composeJSON reads a YAML file as the JSON value a compose implementation sees (merge
// keys resolved).
func composeJSON(t *testing.T, path string) any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// composeService is what the checks below read of a service.
type composeService struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Environment map[string]string `yaml:"environment"`
}

// TestDistributedCompose checks the distributed compose file against the binary and
// itself: every flowtap service's command is a subcommand with flags it has; two
// collectors behind the load balancer, whose upstreams are their --listen ports; two sinks
// in one consumer group; Kafka, S3 and Loki addresses name services of the file on the
// ports those listen on; the topics created are flowtap's; Grafana gets the dashboards and
// a data source with the uid they use, pointing at Loki; mounted files exist.
func TestDistributedCompose(t *testing.T) {
	const path = "../../deployments/compose/distributed.yaml"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	svcs := file.Services
	byCmd := map[string][]string{}
	flagsOf := map[string]map[string]string{}
	for name, s := range svcs {
		if s.Image != "ghcr.io/flowtap/flowtap:latest" {
			continue
		}
		root := newRootCmd() // a fresh flag set per service
		sub, args, err := root.Find(s.Command)
		if err != nil || sub == root {
			t.Errorf("%s: command %v is not a flowtap subcommand", name, s.Command)
			continue
		}
		flagsOf[name] = parseFlags(t, name, sub, args)
		byCmd[sub.Name()] = append(byCmd[sub.Name()], name)
	}
	slices.Sort(byCmd["collect"])
	slices.Sort(byCmd["sink"])
	if len(byCmd["collect"]) != 2 || len(byCmd["sink"]) != 2 {
		t.Fatalf("collectors %v, sinks %v; want two of each", byCmd["collect"], byCmd["sink"])
	}

	// Kafka: the advertised listener, and the topics.
	adv := svcs["kafka"].Environment["KAFKA_ADVERTISED_LISTENERS"]
	broker := strings.TrimPrefix(adv, "PLAINTEXT://")
	if broker == adv || !strings.HasPrefix(broker, "kafka:") {
		t.Fatalf("kafka advertises %q", adv)
	}
	topics := regexp.MustCompile(`for t in ([a-z. ]+);`).FindStringSubmatch(strings.Join(svcs["kafka-topics"].Command, " "))
	if topics == nil || strings.Join(strings.Fields(topics[1]), ",") != strings.Join(kafka.AllTopics(), ",") {
		t.Errorf("kafka-topics creates %v, flowtap uses %v", topics, kafka.AllTopics())
	}

	// Collectors behind the load balancer.
	nginx, err := os.ReadFile("../../deployments/compose/distributed/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	var upstreams []string
	for _, m := range regexp.MustCompile(`server (\S+):(\d+);`).FindAllStringSubmatch(string(nginx), -1) {
		upstreams = append(upstreams, m[1]+":"+m[2])
	}
	var want []string
	for _, name := range byCmd["collect"] {
		f := flagsOf[name]
		_, port, _ := strings.Cut(f["listen"], ":")
		want = append(want, name+":"+port)
		if f["kafka-brokers"] != broker || f["output"] != "kafka" {
			t.Errorf("%s: --output %q --kafka-brokers %q, want kafka to %s", name, f["output"], f["kafka-brokers"], broker)
		}
	}
	if strings.Join(upstreams, ",") != strings.Join(want, ",") {
		t.Errorf("nginx upstreams %v, collectors listen on %v", upstreams, want)
	}
	if !regexp.MustCompile(`listen 4789 udp;`).Match(nginx) || !slices.Contains(svcs["lb"].Ports, "4789:4789/udp") {
		t.Errorf("the load balancer does not take UDP 4789 on the host: ports %v", svcs["lb"].Ports)
	}

	// Sinks: one group, the file's Kafka, S3 and Loki.
	for _, name := range byCmd["sink"] {
		f := flagsOf[name]
		if f["group"] != flagsOf[byCmd["sink"][0]]["group"] || f["group"] == "" {
			t.Errorf("%s: --group %q; both sinks must share one group", name, f["group"])
		}
		if f["kafka-brokers"] != broker {
			t.Errorf("%s: --kafka-brokers %q, Kafka advertises %s", name, f["kafka-brokers"], broker)
		}
		for flag, svc := range map[string]string{"s3-endpoint": "minio", "loki-url": "loki"} {
			u, err := url.Parse(f[flag])
			if err != nil || svcs[svc].Image == "" || u.Hostname() != svc {
				t.Errorf("%s: --%s %q does not name the %s service", name, flag, f[flag], svc)
			}
		}
		if !strings.HasPrefix(f["parquet"], "s3://") {
			t.Errorf("%s: --parquet %q is not the S3 store", name, f["parquet"])
		}
		if !strings.Contains(strings.Join(svcs["minio-bucket"].Command, " "), "lake/"+strings.Split(strings.TrimPrefix(f["parquet"], "s3://"), "/")[0]) {
			t.Errorf("%s: the bucket of --parquet %q is not created", name, f["parquet"])
		}
		if e := svcs[name].Environment; e["AWS_ACCESS_KEY_ID"] != svcs["minio"].Environment["MINIO_ROOT_USER"] || e["AWS_SECRET_ACCESS_KEY"] != svcs["minio"].Environment["MINIO_ROOT_PASSWORD"] {
			t.Errorf("%s: S3 credentials differ from MinIO's", name)
		}
	}

	// Grafana: dashboards and a Loki data source under their uid.
	var ds struct {
		Datasources []struct {
			UID, Type, URL string
		} `yaml:"datasources"`
	}
	dsRaw, err := os.ReadFile("../../deployments/compose/distributed/grafana-datasources.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(dsRaw, &ds); err != nil {
		t.Fatal(err)
	}
	dash, _ := filepath.Glob("../../deployments/grafana/provisioning/dashboards/*.json")
	if len(dash) == 0 {
		t.Fatal("no dashboards in deployments/grafana/provisioning/dashboards")
	}
	for _, d := range dash {
		body, _ := os.ReadFile(d)
		if !bytes.Contains(body, []byte(`"flowtap"`)) {
			t.Errorf("%s does not use the flowtap data source uid", d)
		}
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID != "flowtap" || ds.Datasources[0].Type != "loki" || ds.Datasources[0].URL != "http://loki:3100" {
		t.Errorf("grafana data sources %+v; want uid flowtap, type loki, http://loki:3100", ds.Datasources)
	}
	// Every bind-mounted file or directory exists.
	for name, s := range svcs {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join("../../deployments/compose", src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			}
		}
	}
	if !slices.ContainsFunc(svcs["grafana"].Volumes, func(v string) bool {
		return strings.HasPrefix(v, "../grafana/provisioning/dashboards:")
	}) {
		t.Error("grafana does not mount the flow dashboards")
	}
}

// parseFlags parses a compose command's arguments with the subcommand's own flag set and
// returns the flags given (name → value).
func parseFlags(t *testing.T, service string, sub *cobra.Command, args []string) map[string]string {
	t.Helper()
	fs := sub.Flags()
	fs.AddFlagSet(sub.InheritedFlags())
	if err := fs.Parse(args); err != nil {
		t.Errorf("%s: %v", service, err)
		return nil
	}
	out := map[string]string{}
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if f := fs.Lookup(name); f != nil {
			v := f.Value.String()
			if f.Value.Type() == "stringSlice" {
				v = strings.Trim(v, "[]")
			}
			out[name] = v
		}
	}
	return out
}
