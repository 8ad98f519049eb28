package main

// knownDifferences are the corpus queries (compatQuery.key) on which flowtap answers
// differently from Grafana Loki 3.5 on purpose, each with the reason: Loki's answer
// contradicts its own documentation. compat_test.go fails on any other difference.
var knownDifferences = map[string]string{
	logKey(`{app="api"} | logfmt | user=~"a.*|b.*"`): unanchoredRegex,
	logKey(`{app="api"} | logfmt | user!~"a.*"`):     unanchoredRegex,
	instKey(`1 + 1`): scalarTime,
	instKey(`1 / 0`): scalarTime,
}

const (
	unanchoredRegex = "Loki's optimiser turns the label filter regex into substring tests " +
		"(a.* becomes 'contains a'), so user=\"dave\" matches =~\"a.*|b.*\"; LogQL's documentation " +
		"defines =~ and !~ on labels as Prometheus regex matches, anchored at both ends, as flowtap does"
	scalarTime = "Loki stamps every instant scalar with the same time, 7245824850173 s, whatever the " +
		"query time (a nanosecond overflow); the HTTP API documentation gives the evaluation time, as flowtap does"
)

func logKey(q string) string  { return compatQuery{Q: q, End: compatSpan, Limit: 1000}.key() }
func instKey(q string) string { return compatQuery{Q: q, Instant: true, End: compatSpan}.key() }
