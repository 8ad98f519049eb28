package logql

import (
	"context"
	"errors"
)

// Engine evaluates LogQL queries over a Querier.
type Engine struct {
	q      Querier
	limits Limits
}

// NewEngine returns an engine reading from q, bounded by limits.
func NewEngine(q Querier, limits Limits) *Engine { return &Engine{q: q, limits: limits} }

// Exec runs one query.
func (e *Engine) Exec(ctx context.Context, p Params) (*Result, error) {
	return nil, errors.New("logql: not implemented")
}
