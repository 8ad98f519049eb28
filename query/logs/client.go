// Package logs is a client of Grafana Loki's query API (/loki/api/v1/query_range and
// /loki/api/v1/query), used by `flowtap query logs` against the embedded log store or any
// Loki. It decodes the four result types (streams, matrix, vector, scalar) and prints them
// like logcli: log lines with their time and labels, or a table of series for metric
// queries.
package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config says which Loki to ask and as whom.
type Config struct {
	// URL is the base URL of the Loki HTTP API, e.g. http://127.0.0.1:3100.
	URL string
	// Tenant is sent as X-Scope-OrgID when set.
	Tenant string
	// Timeout bounds one request; 0 means one minute.
	Timeout time.Duration
}

// DefaultConfig points at the embedded log store of `flowtap up`.
func DefaultConfig() Config {
	return Config{URL: "http://127.0.0.1:3100", Timeout: time.Minute}
}

// Client queries one Loki.
type Client struct {
	base   *url.URL
	cfg    Config
	client *http.Client
}

// New checks the configuration; it does no I/O.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("logs: bad Loki URL %q (want http://host:port)", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	return &Client{base: u, cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}}, nil
}

// Request is one LogQL query.
type Request struct {
	Query string
	// Instant asks /query at End instead of /query_range over [Start, End].
	Instant    bool
	Start, End time.Time
	// Limit caps the log lines returned (0: the server's default).
	Limit int
	// Forward returns the oldest lines first; the default is newest first.
	Forward bool
	// Step is the resolution of a metric range query (0: the server's default).
	Step time.Duration
}

// HTTPError is a response other than 200 OK; Body is the server's message, verbatim (for
// LogQL errors Loki puts the position and the reason there).
type HTTPError struct {
	URL    string
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("logs: %s answered %d %s: %s", e.URL, e.Status, http.StatusText(e.Status), strings.TrimSpace(e.Body))
}

// ErrUnreachable is wrapped by errors for a Loki that cannot be reached at all.
var ErrUnreachable = errors.New("Loki unreachable")

// maxResponseBytes bounds the response body a query may return.
const maxResponseBytes = 256 << 20

// Query runs req and decodes the result.
func (c *Client) Query(ctx context.Context, req Request) (*Result, error) {
	if strings.TrimSpace(req.Query) == "" {
		return nil, errors.New("logs: empty LogQL query")
	}
	v := url.Values{}
	v.Set("query", req.Query)
	if req.Limit > 0 {
		v.Set("limit", strconv.Itoa(req.Limit))
	}
	v.Set("direction", "backward")
	if req.Forward {
		v.Set("direction", "forward")
	}
	path := "/loki/api/v1/query_range"
	if req.Instant {
		path = "/loki/api/v1/query"
		if !req.End.IsZero() {
			v.Set("time", strconv.FormatInt(req.End.UnixNano(), 10))
		}
	} else {
		if !req.Start.IsZero() {
			v.Set("start", strconv.FormatInt(req.Start.UnixNano(), 10))
		}
		if !req.End.IsZero() {
			v.Set("end", strconv.FormatInt(req.End.UnixNano(), 10))
		}
		if req.Step > 0 {
			v.Set("step", strconv.FormatFloat(req.Step.Seconds(), 'f', -1, 64))
		}
	}
	u := *c.base
	u.Path += path
	u.RawQuery = v.Encode()
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	if c.cfg.Tenant != "" {
		hr.Header.Set("X-Scope-OrgID", c.cfg.Tenant)
	}
	resp, err := c.client.Do(hr)
	if err != nil {
		var ne net.Error
		var oe *net.OpError
		switch {
		case errors.As(err, &oe):
			return nil, fmt.Errorf("logs: %w at %s (is `flowtap up` or `flowtap logstore` running, or --loki-url wrong?): %v", ErrUnreachable, c.base, oe)
		case errors.As(err, &ne) && ne.Timeout():
			return nil, fmt.Errorf("logs: %w at %s: no answer within %s", ErrUnreachable, c.base, c.cfg.Timeout)
		}
		return nil, fmt.Errorf("logs: query %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("logs: read response of %s: %w", c.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &HTTPError{URL: c.base.String() + path, Status: resp.StatusCode, Body: string(body)}
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("logs: response of %s larger than %d MiB; lower --limit or narrow the range", c.base, maxResponseBytes>>20)
	}
	return Decode(bytes.NewReader(body))
}

// Result is a decoded query response.
type Result struct {
	Type    string   // "streams", "matrix", "vector" or "scalar"
	Streams []Stream // streams
	Series  []Series // matrix and vector (one sample per series)
	Scalar  Sample   // scalar
}

// Stream is one log stream and its entries.
type Stream struct {
	Labels  Labels
	Entries []Entry
}

// Entry is one log line.
type Entry struct {
	Time time.Time
	Line string
	// Metadata is the entry's structured metadata, when the server sends it.
	Metadata map[string]string
}

// Series is one metric series.
type Series struct {
	Metric  Labels
	Samples []Sample
}

// Sample is one metric point; Value keeps Loki's text ("12", "0.5", "NaN").
type Sample struct {
	Time  time.Time
	Value string
}

// Labels is a label set.
type Labels map[string]string

// String renders labels as {a="1", b="2"} with sorted names.
func (l Labels) String() string {
	names := make([]string, 0, len(l))
	for k := range l {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// wire types of Loki's JSON response.
type response struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

type wireStream struct {
	Stream Labels              `json:"stream"`
	Values [][]json.RawMessage `json:"values"`
}

type wireSeries struct {
	Metric Labels              `json:"metric"`
	Values [][]json.RawMessage `json:"values"`
	Value  []json.RawMessage   `json:"value"`
}

// Decode parses a Loki query response body.
func Decode(r io.Reader) (*Result, error) {
	var resp response
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(&resp); err != nil {
		return nil, fmt.Errorf("logs: decode response: %w", err)
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("logs: query failed: status %q: %s", resp.Status, resp.Error)
	}
	res := &Result{Type: resp.Data.ResultType}
	raw := resp.Data.Result
	switch res.Type {
	case "streams":
		var ss []wireStream
		if err := json.Unmarshal(raw, &ss); err != nil {
			return nil, fmt.Errorf("logs: decode streams: %w", err)
		}
		for _, s := range ss {
			st := Stream{Labels: s.Stream}
			for i, v := range s.Values {
				e, err := decodeEntry(v)
				if err != nil {
					return nil, fmt.Errorf("logs: stream %s entry %d: %w", s.Stream, i, err)
				}
				st.Entries = append(st.Entries, e)
			}
			res.Streams = append(res.Streams, st)
		}
	case "matrix", "vector":
		var ss []wireSeries
		if err := json.Unmarshal(raw, &ss); err != nil {
			return nil, fmt.Errorf("logs: decode %s: %w", res.Type, err)
		}
		for _, s := range ss {
			se := Series{Metric: s.Metric}
			points := s.Values
			if res.Type == "vector" {
				points = [][]json.RawMessage{s.Value}
			}
			for i, p := range points {
				smp, err := decodeSample(p)
				if err != nil {
					return nil, fmt.Errorf("logs: series %s point %d: %w", s.Metric, i, err)
				}
				se.Samples = append(se.Samples, smp)
			}
			res.Series = append(res.Series, se)
		}
	case "scalar":
		var p []json.RawMessage
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("logs: decode scalar: %w", err)
		}
		smp, err := decodeSample(p)
		if err != nil {
			return nil, fmt.Errorf("logs: scalar: %w", err)
		}
		res.Scalar = smp
	default:
		return nil, fmt.Errorf("logs: unknown result type %q", res.Type)
	}
	return res, nil
}

// decodeEntry reads ["<unix ns>", "<line>"] or ["<unix ns>", "<line>", {metadata}].
func decodeEntry(v []json.RawMessage) (Entry, error) {
	if len(v) != 2 && len(v) != 3 {
		return Entry{}, fmt.Errorf("want [time, line], got %d elements", len(v))
	}
	var ts, line string
	if err := json.Unmarshal(v[0], &ts); err != nil {
		return Entry{}, fmt.Errorf("time: %w", err)
	}
	ns, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Entry{}, fmt.Errorf("time %q is not Unix nanoseconds", ts)
	}
	if err := json.Unmarshal(v[1], &line); err != nil {
		return Entry{}, fmt.Errorf("line: %w", err)
	}
	e := Entry{Time: time.Unix(0, ns).UTC(), Line: line}
	if len(v) == 3 {
		// Loki sends either a flat map or {"structuredMetadata": {...}, "parsed": {...}}.
		var flat map[string]any
		if err := json.Unmarshal(v[2], &flat); err != nil {
			return Entry{}, fmt.Errorf("metadata: %w", err)
		}
		e.Metadata = map[string]string{}
		for k, x := range flat {
			switch y := x.(type) {
			case string:
				e.Metadata[k] = y
			case map[string]any:
				for k2, z := range y {
					e.Metadata[k2] = fmt.Sprint(z)
				}
			}
		}
	}
	return e, nil
}

// decodeSample reads [<unix seconds, maybe fractional>, "<value>"].
func decodeSample(v []json.RawMessage) (Sample, error) {
	if len(v) != 2 {
		return Sample{}, fmt.Errorf("want [time, value], got %d elements", len(v))
	}
	var num json.Number
	if err := json.Unmarshal(v[0], &num); err != nil {
		return Sample{}, fmt.Errorf("time: %w", err)
	}
	sec, err := strconv.ParseFloat(string(num), 64)
	if err != nil || sec < 0 || sec > 1e11 {
		return Sample{}, fmt.Errorf("time %q is not Unix seconds", num)
	}
	var val string
	if err := json.Unmarshal(v[1], &val); err != nil {
		return Sample{}, fmt.Errorf("value: %w", err)
	}
	// Loki writes sample times with millisecond precision.
	return Sample{Time: time.UnixMilli(int64(math.Round(sec * 1000))).UTC(), Value: val}, nil
}
