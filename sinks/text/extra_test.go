package text

import (
	"context"
	"strings"
	"testing"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks"
)

// extraRecords parses sampleLines under a header that adds two columns this build does not
// know, with other values per line; the last line keeps only the known columns.
func extraRecords(t *testing.T) []flowlog.Record {
	f, err := flowlog.FormatFromHeader(v5.Header() + " some-new-field other.field")
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]flowlog.Record, len(sampleLines))
	for i, l := range sampleLines {
		if i == len(sampleLines)-1 {
			err = v5.Parse(&recs[i], l)
		} else {
			err = f.Parse(&recs[i], l+" v"+strings.Repeat("x", i)+" -")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return recs
}

// checkExtras reads every file of store back and checks that each record's unknown columns
// came back under their names with their values, and that no record is lost.
func checkExtras(t *testing.T, store objstore.Store, want []flowlog.Record) {
	t.Helper()
	objs, err := store.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]int{}
	for i := range want {
		left[string(flowlog.AppendJSON(nil, &want[i]))]++
	}
	for _, o := range objs {
		f, got := readFile(t, store, o.Key)
		for i := range got {
			if got[i].Extra != "" && !strings.HasSuffix(f.Header(), " some-new-field other.field") {
				t.Fatalf("%s: header %q lacks the unknown columns", o.Key, f.Header())
			}
			j := string(flowlog.AppendJSON(nil, &got[i]))
			if left[j] == 0 {
				t.Fatalf("%s: record read back that was not written (unknown columns lost?):\n%s", o.Key, j)
			}
			left[j]--
		}
	}
	for j, n := range left {
		if n > 0 {
			t.Fatalf("record not found in the files: %s", j)
		}
	}
}

// TestSinkKeepsUnknownColumns: the text sink writes a record's unknown columns under their
// own names in the file header; reading the files back gives the same records.
func TestSinkKeepsUnknownColumns(t *testing.T) {
	store, _ := objstore.NewDir(t.TempDir())
	cfg := DefaultConfig()
	cfg.VPCFormat = v5.String()
	s, err := New(cfg, store, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	recs := extraRecords(t)
	if err := s.Write(context.Background(), &sinks.Batch{Topic: "vpc", FirstOffset: 1, LastOffset: 4, Records: recs}); err != nil {
		t.Fatal(err)
	}
	checkExtras(t, store, recs)
}

// TestRotatorKeepsUnknownColumns: the same through the rotator, where records with unknown
// columns get files of their own.
func TestRotatorKeepsUnknownColumns(t *testing.T) {
	ctx := context.Background()
	store, _ := objstore.NewDir(t.TempDir())
	cfg := DefaultRotatorConfig()
	cfg.VPCFormat = v5
	rot, err := NewRotator(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	recs := extraRecords(t)
	if err := rot.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := rot.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rot.Files()) < 2 {
		t.Fatalf("files %q: want one for the records with unknown columns and one for the other", rot.Files())
	}
	checkExtras(t, store, recs)
}
