package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "81aa8e9abcdef0123456789"}, {Key: "vcs.modified", Value: "true"}}
	cases := []struct {
		name, stamp string
		bi          *debug.BuildInfo
		ver, rev    string
	}{
		{"stamped wins", "v1.4.0", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-x"}, Settings: vcs}, "v1.4.0", "81aa8e9abcde"},
		{"module version", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.1"}}, "v0.3.1", ""},
		{"devel with revision", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "devel-81aa8e9abcde+dirty", "81aa8e9abcde"},
		{"clean revision", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs[:1]}, "devel-81aa8e9abcde", "81aa8e9abcde"},
		{"nothing known", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel", ""},
		{"no build info", " ", nil, "devel", ""},
	}
	for _, c := range cases {
		ver, rev := fromBuildInfo(c.stamp, c.bi)
		if ver != c.ver || rev != c.rev {
			t.Errorf("%s: got (%q, %q), want (%q, %q)", c.name, ver, rev, c.ver, c.rev)
		}
	}
	if String() == "" {
		t.Error("String() is empty")
	}
}
