package logstore

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/net/websocket"

	"github.com/flowtap/flowtap/internal/jsonstr"
	"github.com/flowtap/flowtap/logstore/logql"
)

// tailPoll is how often a tail looks for new lines: well within the second Grafana's
// live mode and logcli --tail expect.
const tailPoll = 200 * time.Millisecond

// tailLateness is how far behind the newest poll a tail keeps looking when it found
// nothing, for lines that arrive a little late.
const tailLateness = 5 * time.Second

// handleTail is /loki/api/v1/tail: a websocket that first sends the lines of the query
// from start (default an hour ago, at most limit), then every new line as it arrives,
// delay_for seconds (0..5) behind now, as JSON messages {"streams":[...]} in Loki's shape.
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
	s      *Store
	tenant string
	query  string
	limit  int
	delay  time.Duration
	cursor int64           // newest timestamp sent (or looked at)
	seen   map[string]bool // entries at cursor already sent: labels \x00 line
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
	tick := time.NewTicker(tailPoll)
	defer tick.Stop()
	for {
		msg, caughtUp, err := t.poll(ctx)
		if err != nil {
			if ctx.Err() == nil {
				t.s.log.Warn("tail query", "query", t.query, "err", err)
			}
			return
		}
		if msg != nil {
			ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := ws.Write(msg); err != nil {
				return
			}
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

// poll returns the message of the lines newer than the cursor (nil if none) and whether
// it looked up to now.
func (t *tailer) poll(ctx context.Context) ([]byte, bool, error) {
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
	b := []byte(`{"streams":[`)
	sent := 0
	var newSeen map[string]bool
	for _, st := range res.Streams {
		key := st.Labels.String()
		n := 0
		for _, e := range st.Entries {
			if e.Timestamp < t.cursor || (e.Timestamp == t.cursor && t.seen[key+"\x00"+e.Line]) {
				continue
			}
			if n == 0 {
				if sent > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"stream":`...)
				b = appendLabelsObject(b, st.Labels)
				b = append(b, `,"values":[`...)
			} else {
				b = append(b, ',')
			}
			b = append(b, `["`...)
			b = strconv.AppendInt(b, e.Timestamp, 10)
			b = append(b, `",`...)
			b = jsonstr.Append(b, e.Line)
			b = append(b, ']')
			n++
			sent++
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
		if n > 0 {
			b = append(b, "]}"...)
		}
	}
	if sent == 0 {
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
	if newest == t.cursor {
		for k := range t.seen {
			newSeen[k] = true
		}
	}
	t.cursor, t.seen = newest, newSeen
	return append(b, "]}"...), caughtUp && sent < t.limit, nil
}
