package testenv

import (
	"slices"
	"testing"
)

// SameMultiset fails tb unless got and want hold the same strings the same number of times,
// in any order; what names them in the message. It sorts both slices in place.
func SameMultiset(tb testing.TB, what string, got, want []string) {
	tb.Helper()
	slices.Sort(got)
	slices.Sort(want)
	if len(got) != len(want) {
		tb.Fatalf("%s: %d, want exactly %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			tb.Fatalf("%s: element %d of the sorted lists differs:\n got %s\nwant %s", what, i, got[i], want[i])
		}
	}
}
