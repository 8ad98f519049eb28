// Command flowtap is the single flowtap binary: mirror collector, log generator, Kafka
// broker and sinks, embedded log store, query front ends and pcap replay.
//
// This package only wires flags and configuration to the packages that do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		fmt.Fprintln(os.Stderr, "flowtap:", err)
		os.Exit(1)
	}
}

// exitCode is returned by commands that have already reported their failure and only need
// the process to exit with a given status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
