package flowlog

import "unsafe"

// ParseJSONCopyGeneric is ParseJSONCopy without its fast path (fastMembers): the generic
// decoder the fast path leaves anything unusual to, and the one ParseJSONCopy was before
// it. It is the baseline of BenchmarkSinkParse and a reference the fast path is checked
// against.
func ParseJSONCopyGeneric(data []byte, r *Record, a *Strings) error {
	_, err := parseJSONTo(data, unsafe.String(unsafe.SliceData(data), len(data)), r, a, false, AllGroups)
	return err
}
