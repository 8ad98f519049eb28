package testenv

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// Running is a component that Run runs in the background.
type Running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's error, once done is closed
	once   sync.Once
	stop   error
}

// Run runs c until Stop is called or the test ends; a test that cares about Run's error
// checks what Stop returns.
func Run(tb testing.TB, c interface{ Run(context.Context) error }) *Running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = c.Run(ctx)
	}()
	tb.Cleanup(func() { r.Stop() })
	return r
}

// Done is closed once Run has returned.
func (r *Running) Done() <-chan struct{} { return r.done }

// Err is Run's error; valid once Done is closed.
func (r *Running) Err() error { return r.err }

// Cancel ends Run's context without waiting for it to return.
func (r *Running) Cancel() { r.cancel() }

// Stop ends Run's context and returns its error once it has returned, or an error when it
// has not within 20 s. Calling it again returns the same.
func (r *Running) Stop() error {
	r.once.Do(func() {
		r.cancel()
		select {
		case <-r.done:
			r.stop = r.err
		case <-time.After(20 * time.Second):
			r.stop = errors.New("Run did not return within 20 s of its context's end")
		}
	})
	return r.stop
}
