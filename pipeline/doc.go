// Package pipeline assembles flowtap's components into the processes the commands run
// (`up`, `collect`, `sink`) and supervises them.
//
// Every component has one shape: a Config (decoded straight from YAML, keys = the flag
// names), DefaultConfig(), a constructor that does no I/O and takes Deps (logger, metrics
// registry, health reporter), and Run(ctx) that works until ctx ends and then drains.
//
// The Supervisor runs each component in its own goroutine (with a pprof label naming it).
// A component whose Run fails is restarted after a capped exponential backoff; the failure
// of one never stops another, so the collector keeps receiving (and its producer spills to
// disk) while Kafka is away and the sinks wait for it. /healthz names every component that
// is restarting, failed or degraded; its HTTP status follows only the serving component
// (the collector, for an NLB health check) so that a Kafka outage does not take the
// collector out of its target group. Stop drains in reverse order of start, each component
// after the ones that feed it.
//
// Server is the one HTTP server of a process: /healthz, /metrics (with the Go and process
// collectors registered once) and /debug/pprof; its handlers recover panics and count them.
package pipeline
