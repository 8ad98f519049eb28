// Command mkdemo writes testdata/demo.pcap (see package demo). Run it with
// `go generate ./replay`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/flowtap/flowtap/replay/internal/demo"
)

func main() {
	out := flag.String("o", "testdata/demo.pcap", "output file")
	flag.Parse()
	data, err := demo.Build()
	if err == nil {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkdemo:", err)
		os.Exit(1)
	}
}
