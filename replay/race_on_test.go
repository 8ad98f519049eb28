//go:build race

package replay

// raceEnabled: the race detector instruments x/net's sendmmsg path with allocations.
const raceEnabled = true
