// Package logql parses and evaluates LogQL, Grafana Loki's query language, over any
// storage that implements Querier.
package logql
