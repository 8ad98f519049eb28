// Package version names the flowtap build: the release version stamped by the linker
// (go build -ldflags "-X github.com/flowtap/flowtap/internal/version.stamped=v1.2.3", as the
// Makefile's build and release targets do), else what the Go toolchain recorded in the
// binary's build info (a module version, or the VCS revision of a source build).
//
// The binary's `--version` flag, its `version` command and the created_by field of every
// Parquet file it writes all use String, so a file in the lake names the build that wrote it.
package version

import (
	"runtime/debug"
	"strings"
	"sync"
)

// stamped is set by the linker in release builds; it stays empty in `go run` and `go test`.
var stamped string

var computed = sync.OnceValues(func() (string, string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fromBuildInfo(stamped, nil)
	}
	return fromBuildInfo(stamped, bi)
})

// String returns the build's version, never empty: the stamped release version, else the
// module version the toolchain recorded, else "devel-<revision>" (with "+dirty" when the
// working tree had uncommitted changes), else "devel".
func String() string { v, _ := computed(); return v }

// Revision returns the VCS revision the binary was built from (12 hex digits), or "" when the
// toolchain recorded none (go test, builds outside a repository, -buildvcs=false).
func Revision() string { _, r := computed(); return r }

// fromBuildInfo is String and Revision for given inputs, separated out to be testable.
func fromBuildInfo(stamp string, bi *debug.BuildInfo) (ver, rev string) {
	dirty := false
	if bi != nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	switch {
	case strings.TrimSpace(stamp) != "":
		return strings.TrimSpace(stamp), rev
	case bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)":
		return bi.Main.Version, rev
	case rev != "":
		v := "devel-" + rev
		if dirty {
			v += "+dirty"
		}
		return v, rev
	}
	return "devel", rev
}
