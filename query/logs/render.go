package logs

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Output is how Write prints a result.
type Output string

// The outputs of `flowtap query logs --output`.
const (
	// OutputTable prints log lines as "time {labels} line" like logcli's default output,
	// and metric results as an aligned table with one column per label.
	OutputTable Output = "table"
	// OutputRaw prints only the log lines (metric results: "{labels} time value").
	OutputRaw Output = "raw"
	// OutputJSON prints JSON lines: one object per log entry or per sample.
	OutputJSON Output = "json"
)

// ParseOutput checks an --output value.
func ParseOutput(s string) (Output, error) {
	switch o := Output(s); o {
	case OutputTable, OutputRaw, OutputJSON:
		return o, nil
	}
	return "", fmt.Errorf("unknown output %q (want raw, table or json)", s)
}

// timeLayout is how times are printed: RFC 3339 in UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Write prints res. Log entries of all streams are merged in time order: newest first
// unless forward is set, as the server sorted them.
func Write(w io.Writer, res *Result, out Output, forward bool) error {
	bw := bufio.NewWriter(w)
	var err error
	switch res.Type {
	case "streams":
		err = writeStreams(bw, res.Streams, out, forward)
	case "matrix", "vector":
		err = writeSeries(bw, res.Series, out)
	case "scalar":
		err = writeSeries(bw, []Series{{Metric: Labels{}, Samples: []Sample{res.Scalar}}}, out)
	default:
		err = fmt.Errorf("logs: cannot print result type %q", res.Type)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

type labeledEntry struct {
	labels string
	lmap   Labels
	Entry
}

func writeStreams(w *bufio.Writer, streams []Stream, out Output, forward bool) error {
	var all []labeledEntry
	width := 0
	for _, s := range streams {
		ls := s.Labels.String()
		width = max(width, utf8.RuneCountInString(ls))
		for _, e := range s.Entries {
			all = append(all, labeledEntry{labels: ls, lmap: s.Labels, Entry: e})
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if forward {
			return all[i].Time.Before(all[j].Time)
		}
		return all[i].Time.After(all[j].Time)
	})
	for _, e := range all {
		switch out {
		case OutputRaw:
			w.WriteString(e.Line)
		case OutputJSON:
			b, err := json.Marshal(struct {
				Timestamp string            `json:"timestamp"`
				Labels    Labels            `json:"labels"`
				Line      string            `json:"line"`
				Metadata  map[string]string `json:"metadata,omitempty"`
			}{e.Time.Format(time.RFC3339Nano), e.lmap, e.Line, e.Metadata})
			if err != nil {
				return err
			}
			w.Write(b)
		default:
			w.WriteString(e.Time.Format(timeLayout))
			w.WriteByte(' ')
			w.WriteString(e.labels)
			w.WriteString(strings.Repeat(" ", width-utf8.RuneCountInString(e.labels)))
			w.WriteByte(' ')
			w.WriteString(e.Line)
		}
		w.WriteByte('\n')
	}
	return nil
}

func writeSeries(w *bufio.Writer, series []Series, out Output) error {
	series = append([]Series(nil), series...)
	// Sorted by label set, the empty one first.
	sort.SliceStable(series, func(i, j int) bool {
		a, b := series[i].Metric, series[j].Metric
		if (len(a) == 0) != (len(b) == 0) {
			return len(a) == 0
		}
		return a.String() < b.String()
	})
	switch out {
	case OutputRaw:
		for _, s := range series {
			for _, p := range s.Samples {
				fmt.Fprintf(w, "%s %s %s\n", s.Metric, p.Time.Format(timeLayout), p.Value)
			}
		}
		return nil
	case OutputJSON:
		for _, s := range series {
			for _, p := range s.Samples {
				b, err := json.Marshal(struct {
					Metric    Labels `json:"metric"`
					Timestamp string `json:"timestamp"`
					Value     string `json:"value"`
				}{s.Metric, p.Time.Format(time.RFC3339Nano), p.Value})
				if err != nil {
					return err
				}
				w.Write(b)
				w.WriteByte('\n')
			}
		}
		return nil
	}
	// Table: one column per label name, then time and value.
	names := map[string]bool{}
	for _, s := range series {
		for k := range s.Metric {
			names[k] = true
		}
	}
	cols := make([]string, 0, len(names)+2)
	for k := range names {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	nLabels := len(cols)
	cols = append(cols, "time", "value")
	rows := [][]string{}
	for _, s := range series {
		for _, p := range s.Samples {
			row := make([]string, 0, len(cols))
			for _, k := range cols[:nLabels] {
				row = append(row, s.Metric[k])
			}
			rows = append(rows, append(row, p.Time.Format(timeLayout), p.Value))
		}
	}
	width := make([]int, len(cols))
	for i, c := range cols {
		width[i] = utf8.RuneCountInString(c)
	}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(r []string) {
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			switch {
			case i > 0:
				w.WriteString("  ")
			}
			if i == len(r)-1 {
				w.WriteString(pad + c) // values right-aligned
			} else {
				w.WriteString(c + pad)
			}
		}
		w.WriteByte('\n')
	}
	line(cols)
	rule := make([]string, len(cols))
	for i := range cols {
		rule[i] = strings.Repeat("-", width[i])
	}
	line(rule)
	for _, r := range rows {
		line(r)
	}
	fmt.Fprintf(w, "(%d series, %d samples)\n", len(series), len(rows))
	return nil
}
