package flowlog

import "unsafe"

// ParseJSONCopyGeneric is ParseJSONCopy without its fast path for the values of known keys:
// the decoder as it was before that path, kept as the baseline of BenchmarkSinkParse and
// as the reference it is checked against.
func ParseJSONCopyGeneric(data []byte, r *Record, a *Strings) error {
	return parseJSONTo(data, unsafe.String(unsafe.SliceData(data), len(data)), r, a, false)
}
