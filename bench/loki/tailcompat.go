package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// tailCase is one live tail (/loki/api/v1/tail over a websocket). Live lines are pushed
// once the socket is open, timestamped at the push, to a stream of their own; Start
// (seconds after the data set's base, 0: Loki's default of an hour ago) asks for history.
type tailCase struct {
	Name     string `json:"name"`
	Query    string `json:"query"`
	DelayFor int    `json:"delay_for,omitempty"`
	Limit    int    `json:"limit,omitempty"`
	Start    int64  `json:"start,omitempty"`
	Live     int    `json:"live"` // lines pushed after the socket opens
	// expect is how many live lines pass the query (default Live): the tail is done once
	// they arrived. Not recorded: the suite's value counts.
	expect int
}

func tailCases() []tailCase {
	return []tailCase{
		{Name: "live", Query: `{app="tail", case="live"}`, Live: 5},
		{Name: "live filtered", Query: `{app="tail", case="filtered"} |= "keep" | logfmt | n > 1`, Live: 6, expect: 2},
		{Name: "delay_for=2", Query: `{app="tail", case="delay"}`, DelayFor: 2, Live: 3},
		{Name: "start and limit", Query: `{app="api", env="prod"} |= "POST"`, Start: 1, Limit: 5},
		{Name: "start, no limit", Query: `{app="color"}`, Start: 1},
		{Name: "delay_for=6", Query: `{app="tail"}`, DelayFor: 6},
		{Name: "metric query", Query: `count_over_time({app="tail"}[1m])`},
		{Name: "bad query", Query: `{app="tail"`},
	}
}

// tailResult is what one tail saw: its canonical form and the slowest live line's delay
// from its push being acknowledged to its frame arriving.
type tailResult struct {
	canonical string
	slowest   time.Duration
}

// runTail opens c's tail on baseURL, pushes its live lines, and collects frames until
// every live line arrived or wait passed. Pushing goes through push (the same body to
// the same server), so a server under test sees the lines only once.
func runTail(ctx context.Context, client *http.Client, baseURL string, c tailCase, base int64, settle, quiet, wait time.Duration) (tailResult, error) {
	v := url.Values{"query": {c.Query}}
	if c.DelayFor > 0 {
		v.Set("delay_for", strconv.Itoa(c.DelayFor))
	}
	if c.Limit > 0 {
		v.Set("limit", strconv.Itoa(c.Limit))
	}
	if c.Start != 0 {
		v.Set("start", strconv.FormatInt((base+c.Start)*1e9, 10))
	}
	wsURL := "ws" + strings.TrimPrefix(baseURL, "http") + "/loki/api/v1/tail?" + v.Encode()
	cfg, err := websocket.NewConfig(wsURL, baseURL)
	if err != nil {
		return tailResult{}, err
	}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ws, err := cfg.DialContext(dialCtx)
	cancel()
	if err != nil {
		// a refused handshake: Loki answers errors before upgrading, with the status
		var de *websocket.DialError
		if errors.As(err, &de) {
			return tailResult{canonical: "refused: " + tailRefusal(ctx, client, baseURL, v)}, nil
		}
		return tailResult{}, err
	}
	defer ws.Close()

	type frame struct {
		at   time.Time
		body []byte
	}
	var mu sync.Mutex
	var frames []frame
	readDone := make(chan error, 1)
	go func() {
		for {
			var msg []byte
			if err := websocket.Message.Receive(ws, &msg); err != nil {
				readDone <- err
				return
			}
			mu.Lock()
			frames = append(frames, frame{time.Now(), msg})
			mu.Unlock()
		}
	}()
	// Loki connects the tail to its ingesters after the upgrade: give it a moment, as a
	// user would, so that the first live line is not pushed before anyone listens.
	time.Sleep(settle)
	opened := time.Now()

	acked := map[string]time.Time{}
	for i := 0; i < c.Live; i++ {
		line := fmt.Sprintf("tail %s line %d n=%d %s", c.Name, i, i, map[bool]string{true: "keep", false: "skip"}[i%2 == 0])
		now := time.Now()
		body := pushJSON([]compatStream{{Labels: map[string]string{"app": "tail", "case": tailLabel(c.Query)},
			Offsets: []int64{0}, Lines: []string{line}}}, now.UnixNano())
		if err := pushBody(ctx, client, baseURL, body); err != nil {
			return tailResult{}, err
		}
		acked[line] = time.Now()
		time.Sleep(100 * time.Millisecond)
	}
	deadline := time.Now().Add(wait)
	closed := ""
	for time.Now().Before(deadline) {
		select {
		case err := <-readDone:
			closed = "closed: " + err.Error()
			deadline = time.Now()
		case <-time.After(100 * time.Millisecond):
		}
		mu.Lock()
		n := 0
		last := opened
		for _, f := range frames {
			n += strings.Count(string(f.body), `"tail `)
			last = f.at
		}
		mu.Unlock()
		// done: every expected live line arrived, or nothing came for quiet (plus
		// delay_for) after the last push or frame
		expect := c.Live
		if c.expect > 0 {
			expect = c.expect
		}
		if expect > 0 && n >= expect {
			break
		}
		if l := acked[lastKey(acked)]; l.After(last) {
			last = l
		}
		if time.Since(last) > quiet+time.Duration(c.DelayFor)*time.Second {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// canonical: the union of frame shapes and every line received, with the time of
	// history lines relative to base
	seenShape := map[string]bool{}
	var shapes, lines []string
	var slowest time.Duration
	dropped := 0
	for _, f := range frames {
		var x any
		if err := json.Unmarshal(f.body, &x); err != nil {
			lines = append(lines, "undecodable frame: "+err.Error())
			continue
		}
		if s := jsonShape(x); !seenShape[s] {
			seenShape[s] = true
			shapes = append(shapes, s)
		}
		var r struct {
			Streams []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"streams"`
			Dropped []json.RawMessage `json:"dropped_entries"`
		}
		_ = json.Unmarshal(f.body, &r)
		dropped += len(r.Dropped)
		for _, s := range r.Streams {
			for _, e := range s.Values {
				if t, ok := acked[e[1]]; ok {
					slowest = max(slowest, f.at.Sub(t))
					lines = append(lines, canonicalLabels(s.Stream)+" "+strconv.Quote(e[1]))
					continue
				}
				ns, _ := strconv.ParseInt(e[0], 10, 64)
				lines = append(lines, canonicalLabels(s.Stream)+" "+strconv.FormatInt(ns-base*1e9, 10)+" "+strconv.Quote(e[1]))
			}
		}
	}
	sort.Strings(shapes)
	sort.Strings(lines)
	got := 0
	for l := range acked {
		for _, x := range lines {
			if strings.HasSuffix(x, " "+strconv.Quote(l)) {
				got++
				break
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "frames %s\n", strings.Join(shapes, " | "))
	if c.DelayFor > 0 && c.Live > 0 {
		fmt.Fprintf(&b, "held for delay_for: %v\n", slowest >= time.Duration(c.DelayFor)*time.Second-200*time.Millisecond)
	}
	if dropped > 0 {
		fmt.Fprintf(&b, "dropped %d\n", dropped)
	}
	if closed != "" && c.Live == 0 && len(lines) == 0 {
		b.WriteString(closed + "\n")
	}
	b.WriteString(strings.Join(lines, "\n"))
	return tailResult{canonical: strings.TrimSpace(b.String()), slowest: slowest}, nil
}

// tailLabel is the case label of the live lines of a tail query: its case="…" matcher.
func tailLabel(q string) string {
	i := strings.Index(q, `case="`)
	if i < 0 {
		return "none"
	}
	rest := q[i+len(`case="`):]
	return rest[:strings.IndexByte(rest, '"')]
}

func lastKey(m map[string]time.Time) string {
	best, bt := "", time.Time{}
	for k, t := range m {
		if t.After(bt) {
			best, bt = k, t
		}
	}
	return best
}

// tailRefusal is the status and message of a refused tail, fetched as a plain GET.
func tailRefusal(ctx context.Context, client *http.Client, baseURL string, v url.Values) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/loki/api/v1/tail?"+v.Encode(), nil)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	buf := make([]byte, 2048)
	n, _ := resp.Body.Read(buf)
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(buf[:n])))
}

func canonicalLabels(m map[string]string) string {
	names := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + strconv.Quote(m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
