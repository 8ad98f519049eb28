package main

// knownDifferences are the corpus queries (compatQuery.key) on which flowtap answers
// differently from Grafana Loki 3.5 on purpose, each with the reason: Loki's answer
// contradicts its own documentation. compat_test.go fails on any other difference.
var knownDifferences = map[string]string{}
