package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

// compatStream is one stream of the compatibility data set: labels and lines with
// timestamps in nanoseconds after the data set's base time.
type compatStream struct {
	Labels  map[string]string
	Offsets []int64
	Lines   []string
}

// compatSpan is how much log time the compatibility data covers after its base.
const compatSpan = 3600 // seconds

// compatData builds the compatibility data set: a few hundred lines in the formats the
// corpus exercises (logfmt, JSON, VPC flow logs, access logs, ANSI colours, Promtail-packed
// JSON), every line at its own timestamp so that limits and directions have one answer.
// It is the same for every call, so golden answers recorded from Loki can be checked
// again later against flowtap alone.
func compatData() []compatStream {
	r := rand.New(rand.NewPCG(42, 7))
	used := map[int64]bool{}
	// ts returns a fresh offset in [0, span) with millisecond detail.
	ts := func() int64 {
		for {
			ms := r.Int64N(compatSpan * 1000)
			ns := ms*1e6 + r.Int64N(1000)*1000
			if !used[ns] {
				used[ns] = true
				return ns
			}
		}
	}
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	var out []compatStream
	add := func(labels map[string]string, n int, gen func(i int) string) {
		s := compatStream{Labels: labels}
		for i := 0; i < n; i++ {
			s.Offsets = append(s.Offsets, ts())
			s.Lines = append(s.Lines, gen(i))
		}
		// lines in time order, as a shipper sends them
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return s.Offsets[idx[a]] < s.Offsets[idx[b]] })
		sorted := compatStream{Labels: labels}
		for _, i := range idx {
			sorted.Offsets = append(sorted.Offsets, s.Offsets[i])
			sorted.Lines = append(sorted.Lines, s.Lines[i])
		}
		out = append(out, sorted)
	}

	users := []string{"alice", "bob", "carol", "dave"}
	paths := []string{"/api/v1/users", "/api/v1/orders", "/healthz", "/api/v2/items/42", "/login"}
	for _, env := range []string{"prod", "dev"} {
		add(map[string]string{"app": "api", "env": env, "cluster": "c1"}, 70, func(i int) string {
			status := pick("200", "200", "200", "201", "404", "500", "503")
			level := "info"
			if status[0] == '5' {
				level = "error"
			} else if status[0] == '4' {
				level = "warn"
			}
			lat := fmt.Sprintf("%dms", 5+r.IntN(900))
			if r.IntN(6) == 0 {
				lat = fmt.Sprintf("%.1fs", 1+r.Float64()*3)
			}
			size := pick("512B", "1KB", "2.5KB", "1MB", "120kB", "3KiB")
			line := fmt.Sprintf(`ts=2026-12-06T10:%02d:%02dZ level=%s method=%s path=%s status=%s latency=%s size=%s user=%s bytes=%d`,
				i%60, (i*7)%60, level, pick("GET", "GET", "POST", "PUT", "DELETE"), pick(paths...), status, lat, size, pick(users...), 100+r.IntN(5000))
			switch i % 9 {
			case 0:
				line += ` msg="request served"`
			case 1:
				line += ` msg="quoted \"inner\" text" empty=`
			case 2:
				line += ` query=a=b trace_id=abc123` // a value with '=' (Loki drops that pair)
			case 3:
				line += ` standalone flag=true`
			case 4:
				line += ` 1digit=x dash-key=y`
			case 5:
				line += ` unterminated="oops`
			case 6:
				line += ` counter=` + fmt.Sprint(i*10)
			}
			return line
		})
	}

	for _, env := range []string{"prod", "dev"} {
		add(map[string]string{"app": "web", "env": env}, 60, func(i int) string {
			if i%13 == 5 {
				return pick("not json at all", "GET / 200", "[1,2,3]", `"just a string"`, `{"truncated": `)
			}
			m := map[string]any{
				"level":  pick("info", "info", "debug", "error", "warn"),
				"req":    map[string]any{"method": pick("GET", "POST"), "path": pick(paths...), "headers": map[string]any{"user-agent": pick("curl/8.0", "Mozilla/5.0"), "x_id": r.IntN(100)}},
				"status": []int{200, 200, 301, 404, 500}[r.IntN(5)],
				"dur":    fmt.Sprintf("%dms", 1+r.IntN(2000)),
				"size":   pick("10KB", "300B", "2MB"),
				"user":   pick(users...),
				"bytes":  r.IntN(100000),
				"ratio":  float64(r.IntN(1000)) / 1000,
			}
			if i%3 == 0 {
				m["tags"] = []string{"a", pick("b", "c")}
			}
			if i%4 == 0 {
				m["user"] = nil
			}
			if i%5 == 0 {
				m["error"] = map[string]any{"code": r.IntN(10), "msg": "boom: " + pick("disk", "net")}
			}
			if i%7 == 0 {
				m["env"] = "shadow" // clashes with a stream label
			}
			if i%11 == 0 {
				m["nested"] = map[string]any{"deep": map[string]any{"deeper": "x" + fmt.Sprint(i)}}
			}
			b, _ := json.Marshal(m)
			return string(b)
		})
	}

	add(map[string]string{"app": "vpc", "region": "us-east-1", "account": "123456789012"}, 80, func(i int) string {
		src := fmt.Sprintf("10.0.%d.%d", r.IntN(3), 1+r.IntN(20))
		dst := pick("52.95.128.179", "172.16.0.4", "10.0.1.5", "192.168.1.10")
		action := pick("ACCEPT", "ACCEPT", "ACCEPT", "REJECT")
		return fmt.Sprintf("2 123456789012 eni-0a1b2c3d%d %s %s %d %s %s %d %d 1733479200 1733479260 %s OK",
			i%4, src, dst, 1024+r.IntN(60000), pick("443", "80", "22", "53"), pick("6", "6", "17"), 1+r.IntN(50), 40+r.IntN(90000), action)
	})

	add(map[string]string{"app": "nginx", "host": "edge-1"}, 50, func(i int) string {
		return fmt.Sprintf(`%s - %s [06/Dec/2026:10:%02d:%02d +0000] "%s %s HTTP/1.1" %s %d "-" "%s"`,
			pick("10.1.1.1", "10.1.1.2", "192.168.0.7", "2001:db8::1"), pick("-", "frank"), i%60, (i*3)%60,
			pick("GET", "GET", "POST", "HEAD"), pick(paths...), pick("200", "200", "304", "404", "502"), r.IntN(20000), pick("curl/8.0", "Go-http-client/1.1"))
	})

	add(map[string]string{"app": "color"}, 20, func(i int) string {
		c := pick("31", "32", "33", "1;34")
		return fmt.Sprintf("\x1b[%sm%s\x1b[0m worker=%d done in %dms", c, pick("ERROR", "INFO", "WARN"), i%3, r.IntN(500))
	})

	add(map[string]string{"app": "packed", "job": "promtail"}, 20, func(i int) string {
		m := map[string]any{"_entry": fmt.Sprintf("level=%s msg=\"packed %d\"", pick("info", "error"), i), "pod": pick("p-1", "p-2"), "container": "main"}
		if i%5 == 0 {
			m["restarts"] = 3 // non-string: ignored by unpack
		}
		if i%6 == 0 {
			delete(m, "_entry")
		}
		b, _ := json.Marshal(m)
		return string(b)
	})

	add(map[string]string{"app": "mixed", "team": "core"}, 30, func(i int) string {
		switch i % 5 {
		case 0:
			return fmt.Sprintf("user %s logged in from %s", pick(users...), pick("10.0.0.1", "192.168.5.5", "::1"))
		case 1:
			return fmt.Sprintf("GET /files/%s.tar.gz 200 %d", pick("a", "b"), r.IntN(100000))
		case 2:
			return strings.Repeat("x", 1+r.IntN(40))
		case 3:
			return fmt.Sprintf("payment id=%d amount=%d.%02d currency=%s", i, r.IntN(100), r.IntN(100), pick("EUR", "USD"))
		}
		return fmt.Sprintf(`level=debug caller=main.go:%d msg="tick"`, 10+i)
	})
	return out
}

// pushJSON is the Loki JSON push body of streams with timestamps after base (Unix ns).
func pushJSON(streams []compatStream, base int64) []byte {
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	var body struct {
		Streams []stream `json:"streams"`
	}
	for _, s := range streams {
		st := stream{Stream: s.Labels}
		for i, off := range s.Offsets {
			st.Values = append(st.Values, [2]string{fmt.Sprint(base + off), s.Lines[i]})
		}
		body.Streams = append(body.Streams, st)
	}
	b, _ := json.Marshal(body)
	return b
}
