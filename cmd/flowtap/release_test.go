package main

import (
	"bufio"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka"
)

// maxGLIBC is the newest glibc symbol version a release binary may need: Amazon Linux 2023
// ships glibc 2.34 (Debian 12 ships 2.36). maxGCC is the newest libgcc_s.so.1 symbol
// version: libgcc stays shared (see the Makefile) and GCC_4.2.0 is in every libgcc_s since
// GCC 4.2 (Amazon Linux 2023 ships GCC 11's).
const (
	maxGLIBC = "2.34"
	maxGCC   = "4.2.0"
)

// TestReleaseBinary builds the binary operators install with `make release` (static
// libstdc++, version stamped) and checks (1) the symbols it needs from shared libraries:
// nothing from libstdc++, glibc at most 2.34, libgcc_s at most GCC_4.2.0; (2) that --version and
// `version` print the stamped version; (3) that every systemd unit's ExecStart runs as an
// unprivileged user with the unit's directories and stays up.
func TestReleaseBinary(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dir := t.TempDir()
	const stamp = "v0.0.0-releasetest"
	build := exec.Command("make", "-s", "-C", "../..", "release", "RELEASE_DIR="+dir, "VERSION="+stamp)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	bins, _ := filepath.Glob(filepath.Join(dir, "flowtap-linux-*"))
	var bin string
	for _, b := range bins {
		if !strings.HasSuffix(b, ".sha256") {
			bin = b
		}
	}
	if bin == "" {
		t.Fatalf("make release wrote no flowtap-linux-* into %s (%v)", dir, bins)
	}
	if sum, err := os.ReadFile(bin + ".sha256"); err != nil || !strings.Contains(string(sum), filepath.Base(bin)) {
		t.Errorf("checksum file: %q, %v", sum, err)
	}

	t.Run("symbol versions", func(t *testing.T) { checkSymbolVersions(t, bin) })
	t.Run("version", func(t *testing.T) {
		for _, args := range [][]string{{"--version"}, {"version"}} {
			out, err := exec.Command(bin, args...).Output()
			if err != nil {
				t.Fatalf("flowtap %s: %v", args[0], err)
			}
			if got := strings.TrimSpace(string(out)); got != "flowtap "+stamp {
				t.Errorf("flowtap %s printed %q, want %q", args[0], got, "flowtap "+stamp)
			}
		}
	})
	t.Run("systemd units", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("running the units as an unprivileged user needs root to switch users; run the tests as root")
		}
		units, _ := filepath.Glob("../../deployments/systemd/*.service")
		if len(units) < 2 {
			t.Fatalf("found %d unit files, want the collect and sink units", len(units))
		}
		for _, u := range units {
			t.Run(filepath.Base(u), func(t *testing.T) { runUnit(t, bin, u) })
		}
	})
}

// checkSymbolVersions reads the ELF dynamic symbol table the way the dynamic loader does.
func checkSymbolVersions(t *testing.T, bin string) {
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		if strings.HasPrefix(l, "libstdc++") {
			t.Errorf("needs shared %s; release builds link it statically", l)
		}
	}
	syms, err := f.ImportedSymbols()
	if err != nil {
		t.Fatal(err)
	}
	newest, newestSym := "", ""
	for _, s := range syms {
		switch {
		case strings.HasPrefix(s.Version, "GLIBCXX_"), strings.HasPrefix(s.Version, "CXXABI_"):
			t.Errorf("symbol %s@%s from %s: the binary must not need the system's libstdc++", s.Name, s.Version, s.Library)
		case strings.HasPrefix(s.Version, "GCC_"):
			if versionLess(maxGCC, strings.TrimPrefix(s.Version, "GCC_")) {
				t.Errorf("symbol %s@%s: newer than %s from libgcc_s", s.Name, s.Version, maxGCC)
			}
		case strings.HasPrefix(s.Version, "GLIBC_"):
			v := strings.TrimPrefix(s.Version, "GLIBC_")
			if versionLess(newest, v) {
				newest, newestSym = v, s.Name
			}
		}
	}
	if newest == "" {
		t.Fatalf("no GLIBC_ symbol versions among %d imported symbols; is this a dynamic glibc binary?", len(syms))
	}
	if versionLess(maxGLIBC, newest) {
		t.Errorf("needs GLIBC_%s (symbol %s); Amazon Linux 2023 has glibc %s", newest, newestSym, maxGLIBC)
	}
	t.Logf("newest glibc symbol version: GLIBC_%s (%s), %d imported symbols, libraries %v", newest, newestSym, len(syms), libs)
}

// versionLess compares dotted decimal versions ("" is the smallest).
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	if a == "" {
		return b != ""
	}
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"2.34", "2.35", true}, {"2.9", "2.10", true}, {"2.34", "2.34", false}, {"2.3.4", "2.34", true}, {"", "2.2.5", true}, {"2.2.5", "", false}} {
		if got := versionLess(c.a, c.b); got != c.less {
			t.Errorf("versionLess(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// unitFile is a systemd unit: section -> key -> values in order.
type unitFile map[string]map[string][]string

// parseUnit reads a unit file: comments, sections, key=value, backslash continuations.
func parseUnit(path string) (unitFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(string(raw), "\\\n", " ")))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				return nil, fmt.Errorf("%s: line %q is not key=value inside a section", path, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.Join(strings.Fields(v), " "))
		}
	}
	return u, nil
}

func (u unitFile) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// nobody is the unprivileged user the units run as in the test (the units say flowtap,
// which need not exist here; what matters is that it is not root and owns only the
// unit's own directories).
const nobody = 65534

// runUnit runs a unit's ExecStart the way systemd would: as an unprivileged user, in the
// unit's WorkingDirectory (systemd's default is /), with its StateDirectory created and
// owned by that user and its EnvironmentFile loaded. Absolute paths are moved under a
// scratch root, listen addresses to free loopback ports, Kafka to an embedded broker and
// the Loki URL to the embedded log store. The process must stay up for a few seconds,
// answer on its health or metrics address, and stop cleanly on SIGTERM.
func runUnit(t *testing.T, bin, path string) {
	u, err := parseUnit(path)
	if err != nil {
		t.Fatal(err)
	}
	svc := u["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}
	if user := u.get("Service", "User"); user == "" || user == "root" {
		t.Fatalf("User=%q: the unit must run as an unprivileged user", user)
	}
	exec0 := u.get("Service", "ExecStart")
	if exec0 == "" {
		t.Fatal("no ExecStart")
	}

	// Scratch root readable by the unprivileged user.
	root := t.TempDir()
	for d := root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	under := func(p string) string { return filepath.Join(root, p) }
	mustWrite := func(p string, data []byte) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	binData, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(under("/usr/local/bin/flowtap"), binData)
	if err := os.Chmod(under("/usr/local/bin/flowtap"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile("../../deployments/systemd/flowtap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(under("/etc/flowtap/flowtap.yaml"), cfg)
	sessions, err := os.ReadFile("../../testdata/demo-sessions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(under("/etc/flowtap/sessions.yaml"), sessions)

	// StateDirectory=NAME is /var/lib/NAME, created owned by User= with StateDirectoryMode.
	for _, sd := range strings.Fields(u.get("Service", "StateDirectory")) {
		d := under("/var/lib/" + sd)
		mode := uint64(0o755)
		if m := u.get("Service", "StateDirectoryMode"); m != "" {
			if mode, err = strconv.ParseUint(m, 8, 32); err != nil {
				t.Fatalf("StateDirectoryMode=%q: %v", m, err)
			}
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, os.FileMode(mode)); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}

	// The services the units talk to: Kafka and the log store.
	b := testenv.Broker(t, testenv.BrokerConfig(kafka.AllTopics()...))
	_, lokiURL := testenv.Logstore(t, testenv.LogstoreConfig(t))

	// EnvironmentFile=-PATH: the leading '-' makes it optional; the test provides it with
	// the broker's address, as an operator would.
	var env []string
	for _, ef := range svc["EnvironmentFile"] {
		p := under(strings.TrimPrefix(ef, "-"))
		mustWrite(p, []byte("FLOWTAP_KAFKA_BROKERS="+b.Addr()+"\n"))
		data, _ := os.ReadFile(p)
		for _, line := range strings.Split(string(data), "\n") {
			if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
				env = append(env, strings.TrimSpace(line))
			}
		}
	}
	env = append(env, "PATH=/usr/bin:/bin", "HOME=/nonexistent")

	// Rewrite the command line.
	addrRe := regexp.MustCompile(`^(https?://)?(\d+\.\d+\.\d+\.\d+):(\d+)/?$`)
	var args []string
	var probes []string // HTTP addresses to probe
	fields := strings.Fields(exec0)
	for i, a := range fields {
		prev := ""
		if i > 0 {
			prev = fields[i-1]
		}
		switch m := addrRe.FindStringSubmatch(a); {
		case m != nil && prev == "--loki-url":
			a = lokiURL
		case m != nil && prev == "--listen":
			a = testenv.FreeUDP(t)
		case m != nil:
			a = m[1] + testenv.FreeTCP(t)
			if prev == "--health" || prev == "--metrics" {
				probes = append(probes, a)
			}
		case strings.HasPrefix(a, "/"):
			a = under(a)
		}
		args = append(args, a)
	}
	if len(probes) == 0 {
		t.Logf("ExecStart has no --health or --metrics address to probe; checking only that it stays up")
	}
	cwd := "/"
	if wd := u.get("Service", "WorkingDirectory"); wd != "" {
		cwd = under(wd)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = cwd
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var stderr strings.Builder
	cmd.Stderr, cmd.Stdout = &stderr, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Up for 3 s, and answering 200 on every probed address by then.
	healthPath := map[string]string{}
	for i, a := range args {
		if i > 0 && args[i-1] == "--health" {
			healthPath[a] = "/healthz"
		}
	}
	answered := map[string]bool{}
	upUntil := time.Now().Add(3 * time.Second)
	for time.Now().Before(upUntil) || len(answered) < len(probes) {
		select {
		case err := <-exited:
			t.Fatalf("exited while it should stay up: %v\nstderr:\n%s", err, stderr.String())
		case <-ctx.Done():
			t.Fatalf("no 200 from all of %v (got %v) in time; stderr:\n%s", probes, answered, stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
		for _, p := range probes {
			path := healthPath[p]
			if path == "" {
				path = "/metrics"
			}
			if resp, err := http.Get("http://" + p + path); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					answered[p] = true
				}
			}
		}
	}
	for i, a := range args {
		if i > 0 && args[i-1] == "--state" {
			if fi, err := os.Stat(a); err != nil || !fi.IsDir() {
				t.Errorf("--state %s was not created: %v", a, err)
			}
		}
	}
	// Everything it wrote is inside the state directory and owned by the unit's user.
	if sd := u.get("Service", "StateDirectory"); sd != "" {
		err := filepath.Walk(under("/var/lib/"+sd), func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != nobody {
				return fmt.Errorf("%s is owned by uid %d, not the unit's user", p, st.Uid)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Errorf("still running 15 s after SIGTERM; stderr:\n%s", stderr.String())
	}
}
