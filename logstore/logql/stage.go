package logql

// Stage is one step of a log pipeline: a line filter, parser, label filter or formatter.
// Stages keep per-query scratch state: an Expr is evaluated by one query at a time.
type Stage interface {
	String() string
	// process returns the (possibly rewritten) line and whether it is kept.
	process(ts int64, line string, b *labelsBuilder) (string, bool)
}
