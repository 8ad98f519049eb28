package logstore

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"time"

	"golang.org/x/net/websocket"

	"github.com/flowtap/flowtap/logstore/logql"
)

// tailPoll is how often a tail looks for new lines: well within the second Grafana's
// live mode and logcli --tail expect.
const tailPoll = 200 * time.Millisecond

// tailLateness is how far behind the newest poll a tail keeps looking when it found
// nothing, for lines that arrive a little late.
const tailLateness = 5 * time.Second

// As in Loki, a tail sends at most tailFrameEntries lines per frame and queues at most
// tailQueuedFrames frames for a client that reads slowly; the lines of a frame that does
// not fit are dropped, and up to tailMaxDropped of them are named in the next frame's
// dropped_entries, so a slow client costs bounded memory and still learns what it missed.
const (
	tailFrameEntries = 100
	tailQueuedFrames = 10
	tailMaxDropped   = 1000
)

// handleTail is /loki/api/v1/tail: a websocket that first sends the newest limit lines of
// the query since start (default an hour ago), oldest first, then every new line as it arrives,
// delay_for seconds (0..5) behind now, as JSON messages {"streams":[...]} in Loki's shape,
// with "dropped_entries" when lines were dropped for a slow client.
func (s *Store) handleTail(w http.ResponseWriter, r *http.Request, tenantID string) error {
	if err := r.ParseForm(); err != nil {
		return badRequest("%v", err)
	}
	q := r.Form.Get("query")
	expr, err := logql.ParseExpr(q)
	if err != nil {
		return err
	}
	if logql.IsMetric(expr) {
		return badRequest("tail only supports log queries")
	}
	delay := 0
	if v := r.Form.Get("delay_for"); v != "" {
		if delay, err = strconv.Atoi(v); err != nil || delay < 0 {
			return badRequest("invalid delay_for %q", v)
		}
		if delay > 5 {
			return badRequest("delay_for can't be greater than %d", 5)
		}
	}
	limit, err := parseLimit(r.Form.Get("limit"))
	if err != nil {
		return err
	}
	if s.cfg.MaxEntriesLimit > 0 && limit > s.cfg.MaxEntriesLimit {
		return badRequest("max entries limit per query exceeded, limit > max_entries_limit_per_query (%d > %d)", limit, s.cfg.MaxEntriesLimit)
	}
	now := time.Now()
	start, err := ParseTimestamp(r.Form.Get("start"), now.Add(-time.Hour))
	if err != nil {
		return badRequest("%v", err)
	}
	t := &tailer{s: s, tenant: tenantID, query: q, limit: limit, delay: time.Duration(delay) * time.Second, cursor: start.UnixNano()}
	srv := websocket.Server{
		// logcli and Grafana send no Origin; the API has no cookies to protect.
		Handshake: func(*websocket.Config, *http.Request) error { return nil },
		Handler:   t.run,
	}
	srv.ServeHTTP(w, r)
	return nil
}

// tailer follows one tail query.
type tailer struct {
	s       *Store
	tenant  string
	query   string
	limit   int
	delay   time.Duration
	cursor  int64           // newest timestamp sent (or looked at)
	seen    map[string]bool // entries at cursor already sent: labels \x00 line
	dropped []tailEntry     // dropped for a slow client, not yet reported
}

// tailEntry is one line of a tail.
type tailEntry struct {
	labels logql.Labels
	key    string // labels.String()
	ts     int64
	line   string
}

func (t *tailer) run(ws *websocket.Conn) {
	defer ws.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // the client closing (or any frame error) ends the tail
		var msg string
		for websocket.Message.Receive(ws, &msg) == nil {
		}
		cancel()
	}()
	// The writer sends queued frames; the poll loop never waits for a slow client.
	frames := make(chan []byte, tailQueuedFrames)
	defer close(frames)
	go func() {
		for msg := range frames {
			ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := ws.Write(msg); err != nil {
				cancel()
				for range frames { // let the loop end without blocking
				}
				return
			}
		}
	}()
	if err := t.history(ctx, frames); err != nil {
		if ctx.Err() == nil {
			t.s.log.Warn("tail query", "query", t.query, "err", err)
		}
		return
	}
	tick := time.NewTicker(tailPoll)
	defer tick.Stop()
	for {
		entries, caughtUp, err := t.poll(ctx)
		if err != nil {
			if ctx.Err() == nil {
				t.s.log.Warn("tail query", "query", t.query, "err", err)
			}
			return
		}
		if len(entries) == 0 && len(t.dropped) > 0 {
			// Loki names dropped lines only along with new ones; a tail whose flood has
			// ended would never learn of them, so they go alone once there is room.
			t.send(frames, nil)
		}
		for len(entries) > 0 {
			n := min(len(entries), tailFrameEntries)
			t.send(frames, entries[:n])
			entries = entries[n:]
		}
		if !caughtUp {
			continue // an old start: read on, one window of max_query_length at a time
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if t.s.closed.Load() {
			return
		}
	}
}

// send queues a frame of entries, with the dropped entries not yet reported; when the
// queue is full the entries join the dropped ones instead.
func (t *tailer) send(frames chan<- []byte, entries []tailEntry) {
	select {
	case frames <- t.frame(entries):
		t.dropped = nil
	default:
		for _, e := range entries {
			if len(t.dropped) >= tailMaxDropped {
				break
			}
			t.dropped = append(t.dropped, e)
		}
	}
}

// frame renders entries (grouped by stream, in order) and the dropped entries as Loki's
// tail message: {"streams":[...],"dropped_entries":[{"timestamp":"ns","labels":{...}}]}.
func (t *tailer) frame(entries []tailEntry) []byte {
	b := []byte(`{"streams":[`)
	for i, e := range entries {
		if i == 0 || e.key != entries[i-1].key {
			if i > 0 {
				b = append(b, "]},"...)
			}
			b = appendSeriesStart(b, "stream", e.labels)
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = appendEntryJSON(b, e.ts, e.line)
	}
	if len(entries) > 0 {
		b = append(b, "]}"...)
	}
	b = append(b, ']')
	if len(t.dropped) > 0 {
		b = append(b, `,"dropped_entries":[`...)
		for i, e := range t.dropped {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"timestamp":"`...)
			b = strconv.AppendInt(b, e.ts, 10)
			b = append(b, `","labels":`...)
			b = appendLabelsObject(b, e.labels)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// history sends, as Loki does, the newest limit lines from the cursor (the start) to now,
// oldest first; polling then goes on from the newest of them.
func (t *tailer) history(ctx context.Context, frames chan<- []byte) error {
	now := time.Now()
	start := time.Unix(0, t.cursor)
	var out []tailEntry
	// newest first, one window of max_query_length at a time for an old start
	for end := now; end.After(start) && len(out) < t.limit; {
		from := start
		if ml := t.s.cfg.MaxQueryLength; ml > 0 && end.Sub(from) > ml {
			from = end.Add(-ml)
		}
		res, err := t.s.engine(t.tenant).Exec(ctx, logql.Params{Query: t.query, Start: from, End: end,
			Limit: t.limit - len(out), Direction: logql.Backward})
		if err != nil {
			return err
		}
		for _, st := range res.Streams {
			key := st.Labels.String()
			for _, e := range st.Entries {
				out = append(out, tailEntry{labels: st.Labels, key: key, ts: e.Timestamp, line: e.Line})
			}
		}
		end = from
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ts < out[j].ts })
	if len(out) == 0 {
		// nothing up to now: later polls look back a little for lines that arrive late
		t.cursor = max(start.UnixNano(), now.Add(-tailLateness).UnixNano())
		return nil
	}
	newest := out[len(out)-1].ts
	t.cursor, t.seen = newest, map[string]bool{}
	for _, e := range out {
		if e.ts == newest {
			t.seen[e.key+"\x00"+e.line] = true
		}
	}
	for len(out) > 0 {
		n := min(len(out), tailFrameEntries)
		t.send(frames, out[:n])
		out = out[n:]
	}
	return nil
}

// poll returns the lines newer than the cursor and whether it looked up to now.
func (t *tailer) poll(ctx context.Context) ([]tailEntry, bool, error) {
	end := time.Now().Add(-t.delay)
	if end.UnixNano() <= t.cursor {
		return nil, true, nil
	}
	caughtUp := true
	if ml := t.s.cfg.MaxQueryLength; ml > 0 && end.Sub(time.Unix(0, t.cursor)) > ml {
		end, caughtUp = time.Unix(0, t.cursor).Add(ml), false
	}
	res, err := t.s.engine(t.tenant).Exec(ctx, logql.Params{Query: t.query, Start: time.Unix(0, t.cursor), End: end,
		Limit: t.limit, Direction: logql.Forward})
	if err != nil {
		return nil, false, err
	}
	newest := t.cursor
	var out []tailEntry
	var newSeen map[string]bool
	read := 0 // entries the query returned, sent before or not: a full limit means more wait
	for _, st := range res.Streams {
		key := st.Labels.String()
		read += len(st.Entries)
		for _, e := range st.Entries {
			if e.Timestamp < t.cursor || (e.Timestamp == t.cursor && t.seen[key+"\x00"+e.Line]) {
				continue
			}
			out = append(out, tailEntry{labels: st.Labels, key: key, ts: e.Timestamp, line: e.Line})
			if e.Timestamp > newest {
				newest, newSeen = e.Timestamp, map[string]bool{}
			}
			if e.Timestamp == newest {
				if newSeen == nil {
					newSeen = map[string]bool{}
				}
				newSeen[key+"\x00"+e.Line] = true
			}
		}
	}
	if len(out) == 0 {
		// Nothing new: stop re-reading old data, but keep a margin for late lines.
		c := end.Add(-tailLateness).UnixNano()
		if !caughtUp {
			c = end.UnixNano()
		}
		if c > t.cursor {
			t.cursor, t.seen = c, nil
		}
		return nil, caughtUp, nil
	}
	// in time order across streams, as lines arrive
	sort.SliceStable(out, func(i, j int) bool { return out[i].ts < out[j].ts })
	if newest == t.cursor {
		for k := range t.seen {
			newSeen[k] = true
		}
	}
	t.cursor, t.seen = newest, newSeen
	return out, caughtUp && read < t.limit, nil
}
