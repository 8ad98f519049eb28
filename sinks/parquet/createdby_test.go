package parquet

import (
	"bytes"
	"strings"
	"testing"

	pq "github.com/parquet-go/parquet-go"

	"github.com/flowtap/flowtap/internal/version"
)

// TestCreatedByNamesTheBuild: every file's created_by names flowtap and this build's
// version, so a file in the lake says which release wrote it.
func TestCreatedByNamesTheBuild(t *testing.T) {
	for name, c := range testCases(t) {
		data := encode(t, c.format, c.recs)
		f, err := pq.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		got := f.Metadata().CreatedBy
		if !strings.HasPrefix(got, "flowtap version "+version.String()) {
			t.Fatalf("%s: created_by %q, want it to start with %q", name, got, "flowtap version "+version.String())
		}
		return // one case is enough: the footer template is shared by all
	}
}
