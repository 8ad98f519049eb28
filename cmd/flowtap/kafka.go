package main

import (
	"path/filepath"

	"github.com/flowtap/flowtap/kafka/spill"
)

// defaultSpillDir is the spill root of a command: spill.DefaultDir()/<command>.
func defaultSpillDir(command string) string { return filepath.Join(spill.DefaultDir(), command) }
