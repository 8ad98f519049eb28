package logstore

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flowtap/flowtap/internal/timegrammar"
	"github.com/flowtap/flowtap/logstore/logql"
)

// ParseTimestamp reads a Loki timestamp parameter: Unix seconds with a fraction
// ("1700000000.5"), an integer (Unix seconds when at most 10 digits, else nanoseconds),
// or RFC3339 with optional nanoseconds. Empty gives def.
func ParseTimestamp(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if strings.Contains(v, ".") {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			sec, frac := math.Modf(f)
			return time.Unix(int64(sec), int64(math.Round(frac*1e9))), nil
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", v)
	}
	if len(strings.TrimPrefix(v, "-")) <= 10 {
		return time.Unix(n, 0), nil
	}
	return time.Unix(0, n), nil
}

// ParseDuration reads a Prometheus-style duration ("1h30m", "5m", "2d", "1w", "1y") or
// a number of seconds ("15", "0.5"): flowtap's one grammar (internal/timegrammar).
func ParseDuration(v string) (time.Duration, error) { return timegrammar.ParseDuration(v) }

// defaultStep is Loki's default range-query step: the range over 250, in whole seconds,
// at least one second.
func defaultStep(start, end time.Time) time.Duration {
	return time.Duration(max(int64(end.Sub(start).Seconds()/250), 1)) * time.Second
}

// maxPoints is Loki's (and Prometheus's) cap on points per series of a range query.
const maxPoints = 11000

func badRequest(format string, args ...any) error {
	return errorf(http.StatusBadRequest, format, args...)
}

// parseRangeParams reads query_range parameters as Loki does.
func parseRangeParams(r *http.Request, now time.Time) (logql.Params, error) {
	p := logql.Params{Query: r.Form.Get("query")}
	var err error
	if p.End, err = ParseTimestamp(r.Form.Get("end"), now); err != nil {
		return p, badRequest("%v", err)
	}
	since := time.Hour
	if v := r.Form.Get("since"); v != "" {
		if since, err = ParseDuration(v); err != nil {
			return p, badRequest("%v", err)
		}
	}
	if p.Start, err = ParseTimestamp(r.Form.Get("start"), p.End.Add(-since)); err != nil {
		return p, badRequest("%v", err)
	}
	if p.End.Before(p.Start) {
		return p, badRequest("end timestamp must not be before or equal to start time")
	}
	if p.Limit, err = parseLimit(r.Form.Get("limit")); err != nil {
		return p, err
	}
	if p.Direction, err = parseDirection(r.Form.Get("direction")); err != nil {
		return p, err
	}
	p.Step = defaultStep(p.Start, p.End)
	if v := r.Form.Get("step"); v != "" {
		if p.Step, err = ParseDuration(v); err != nil {
			return p, badRequest("%v", err)
		}
	}
	if p.Step <= 0 {
		return p, badRequest("zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	if p.End.Sub(p.Start)/p.Step > maxPoints {
		return p, badRequest("exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter")
	}
	if v := r.Form.Get("interval"); v != "" {
		if p.Interval, err = ParseDuration(v); err != nil {
			return p, badRequest("%v", err)
		}
		if p.Interval < 0 {
			return p, badRequest("negative interval")
		}
	}
	return p, nil
}

// parseInstantParams reads /query parameters: time (default now), limit, direction.
func parseInstantParams(r *http.Request, now time.Time) (logql.Params, error) {
	p := logql.Params{Query: r.Form.Get("query"), Instant: true}
	var err error
	if p.End, err = ParseTimestamp(r.Form.Get("time"), now); err != nil {
		return p, badRequest("%v", err)
	}
	p.Start = p.End
	if p.Limit, err = parseLimit(r.Form.Get("limit")); err != nil {
		return p, err
	}
	if p.Direction, err = parseDirection(r.Form.Get("direction")); err != nil {
		return p, err
	}
	return p, nil
}

func parseLimit(v string) (int, error) {
	if v == "" {
		return 100, nil
	}
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil {
		return 0, badRequest("invalid limit %q: %v", v, err)
	}
	if n == 0 {
		return 0, badRequest("limit must be a positive value")
	}
	return int(n), nil
}

func parseDirection(v string) (logql.Direction, error) {
	switch strings.ToLower(v) {
	case "", "backward":
		return logql.Backward, nil
	case "forward":
		return logql.Forward, nil
	}
	return 0, badRequest("invalid direction %q: must be forward or backward", v)
}

// parseSpan reads start/end for the metadata endpoints (labels, series, index stats):
// end defaults to now and start to end - since (default 6h, as Loki's labels API).
func parseSpan(r *http.Request, now time.Time) (int64, int64, error) {
	end, err := ParseTimestamp(r.Form.Get("end"), now)
	if err != nil {
		return 0, 0, badRequest("%v", err)
	}
	since := 6 * time.Hour
	if v := r.Form.Get("since"); v != "" {
		if since, err = ParseDuration(v); err != nil {
			return 0, 0, badRequest("%v", err)
		}
	}
	start, err := ParseTimestamp(r.Form.Get("start"), end.Add(-since))
	if err != nil {
		return 0, 0, badRequest("%v", err)
	}
	if end.Before(start) {
		return 0, 0, badRequest("end timestamp must not be before or equal to start time")
	}
	// Loki includes the end instant in metadata queries.
	return start.UnixNano(), end.UnixNano() + 1, nil
}
