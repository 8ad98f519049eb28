// Command report turns `go test -bench -benchmem` output into a table: one row per
// benchmark with ns/op, allocations and every custom metric (rec/s, ratios), so that a
// whole run can be read at a glance and compared with the budgets in DESIGN.md.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

func main() {
	rows, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	render(os.Stdout, rows)
}

// row is one benchmark result line.
type row struct {
	pkg, name string
	metrics   map[string]string
	order     []string
}

// parse reads benchmark output; "pkg:" lines name the package of the rows after them.
func parse(r io.Reader) ([]row, error) {
	var rows []row
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/flowtap/flowtap/")
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 {
			continue
		}
		rw := row{pkg: pkg, name: fields[0], metrics: map[string]string{}}
		// fields[1] is the iteration count; then value/unit pairs.
		for i := 2; i+1 < len(fields); i += 2 {
			rw.metrics[fields[i+1]] = fields[i]
			rw.order = append(rw.order, fields[i+1])
		}
		rows = append(rows, rw)
	}
	return rows, sc.Err()
}

func render(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "package\tbenchmark\tns/op\tallocs/op\tother metrics")
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].pkg < rows[j].pkg })
	for _, r := range rows {
		var extra []string
		for _, unit := range r.order {
			if unit == "ns/op" || unit == "allocs/op" || unit == "B/op" {
				continue
			}
			extra = append(extra, r.metrics[unit]+" "+unit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.pkg, r.name, r.metrics["ns/op"], r.metrics["allocs/op"], strings.Join(extra, ", "))
	}
	tw.Flush()
}
