package logql

import (
	"errors"
	"fmt"
	"time"
)

// Direction is the order in which a log query returns entries.
type Direction uint8

const (
	// Backward returns the newest entries first (Loki's default).
	Backward Direction = iota
	// Forward returns the oldest entries first.
	Forward
)

// String renders the direction as Loki's API spells it.
func (d Direction) String() string {
	if d == Forward {
		return "forward"
	}
	return "backward"
}

// Limits bound what one query may cost. Zero means unlimited for every field.
type Limits struct {
	// MaxSeries caps the series of a metric query result, as Loki counts them; the
	// series before an aggregation may be 100 times as many (at least 100 000).
	MaxSeries int
	// MaxLines caps the limit a log query may ask for (Loki's max_entries_limit_per_query).
	MaxLines int
	// MaxQueryRange caps End-Start (Loki's max_query_length).
	MaxQueryRange time.Duration
	// Timeout bounds one Exec; the context's own deadline applies too.
	Timeout time.Duration
}

// Params is one query request, in the shape of Loki's query and query_range parameters.
type Params struct {
	Query string
	// Start and End bound the query. Log queries select Start <= t < End; metric queries
	// evaluate at Start, Start+Step, ... <= End. Instant queries evaluate at End.
	Start, End time.Time
	// Step is the metric evaluation step; zero means Loki's default for the range.
	Step time.Duration
	// Interval, for log queries, keeps at most one entry per Interval of each stream.
	Interval time.Duration
	// Limit caps the entries a log query returns; zero means 100, as in Loki.
	Limit     int
	Direction Direction
	// Instant asks for a vector at End instead of a matrix over [Start, End].
	Instant bool
}

// Result types, as in Loki's resultType field.
const (
	ResultStreams = "streams"
	ResultMatrix  = "matrix"
	ResultVector  = "vector"
	ResultScalar  = "scalar"
)

// Result is the answer to one query. Exactly one of Streams, Matrix, Vector and Scalar is
// set, as Type says.
type Result struct {
	Type    string
	Streams []Stream
	Matrix  []Series
	Vector  []Sample
	Scalar  *Point
	Stats   Stats
}

// Stream is the entries of one label set, in the query's direction.
type Stream struct {
	Labels  Labels
	Entries []Entry
}

// Series is the points of one label set over a range query, in time order.
type Series struct {
	Labels Labels
	Points []Point
}

// Point is one value at a time in Unix milliseconds.
type Point struct {
	T int64
	V float64
}

// Sample is one value of an instant vector.
type Sample struct {
	Labels Labels
	T      int64
	V      float64
}

// Stats is the summary Loki reports in its stats object.
type Stats struct {
	// TotalBytesProcessed and TotalLinesProcessed count what the Querier returned.
	TotalBytesProcessed int64
	TotalLinesProcessed int64
	// TotalPostFilterLines counts lines that passed the whole pipeline.
	TotalPostFilterLines int64
	// TotalEntriesReturned counts entries of a log query result (or samples of a metric one).
	TotalEntriesReturned int64
	// Streams counts streams the Querier returned.
	Streams int64
	// ExecTime is the wall time of Exec.
	ExecTime time.Duration
}

// BytesProcessedPerSecond is Loki's summary.bytesProcessedPerSecond.
func (s Stats) BytesProcessedPerSecond() int64 { return perSecond(s.TotalBytesProcessed, s.ExecTime) }

// LinesProcessedPerSecond is Loki's summary.linesProcessedPerSecond.
func (s Stats) LinesProcessedPerSecond() int64 { return perSecond(s.TotalLinesProcessed, s.ExecTime) }

func perSecond(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

// ParseError is a malformed query, with Loki's message format. Line and Col are 1-based;
// both are zero when the error has no position (a semantic error).
type ParseError struct {
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	if e.Line == 0 && e.Col == 0 {
		return "parse error : " + e.Msg
	}
	return fmt.Sprintf("parse error at line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

// ErrLimit is matched (errors.Is) by every *LimitError.
var ErrLimit = errors.New("query limit exceeded")

// LimitError is a query refused or stopped by Limits; the API maps it to 400.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// PipelineError is a metric query whose result still carries an __error__ label, which
// Loki refuses so that errors are not silently aggregated; the API maps it to 400.
type PipelineError struct {
	Err    string
	Series Labels
}

func (e *PipelineError) Error() string {
	return fmt.Sprintf("pipeline error: '%s' for series: '%s'.\n"+
		"Use a label filter to intentionally skip this error. (e.g | __error__!=\"%s\").\n"+
		"To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n"+
		"The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n",
		e.Err, e.Series.String(), e.Err)
}

// IsClientError reports whether err is the caller's fault (bad query, limit, pipeline
// error, ambiguous matching): the API answers 400 for these.
func IsClientError(err error) bool {
	var pe *ParseError
	var le *LimitError
	var pl *PipelineError
	var qe *QueryError
	return errors.As(err, &pe) || errors.As(err, &le) || errors.As(err, &pl) || errors.As(err, &qe)
}
