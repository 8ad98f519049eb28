package logql

// Stage is one step of a log pipeline: a line filter, parser, label filter or formatter.
type Stage interface {
	String() string
	stage()
}

// LabelFilterStage is a label filter such as | status >= 400 and method="GET".
type LabelFilterStage struct {
	Pred LabelPredicate
}

// LabelPredicate is one node of a label filter expression.
type LabelPredicate interface {
	String() string
}

func (s *LabelFilterStage) String() string { return "| " + s.Pred.String() }
func (*LabelFilterStage) stage()           {}
