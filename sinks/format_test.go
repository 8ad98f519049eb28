package sinks

import (
	"strings"
	"testing"

	"github.com/flowtap/flowtap/flowlog"
)

// TestParseFormats: each setting gives its default when empty, a format of its kind when
// given one, and an error naming the setting and both kinds otherwise.
func TestParseFormats(t *testing.T) {
	const vpcSpec = "${version} ${srcaddr} ${dstaddr} ${action}"
	cases := []struct {
		vpc, tgw string
		wantErr  string // "" for success
	}{
		{"", "", ""},
		{vpcSpec, flowlog.DefaultTGW.String(), ""},
		{flowlog.DefaultTGW.String(), "", `vpc_format: format "` + flowlog.DefaultTGW.String() + `" is a tgw format, want vpc`},
		{"", vpcSpec, `tgw_format: format "` + vpcSpec + `" is a vpc format, want tgw`},
		{"${no-such-field}", "", "vpc_format: "},
	}
	for _, c := range cases {
		vpc, tgw, err := ParseFormats(c.vpc, c.tgw)
		if c.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
				t.Errorf("ParseFormats(%q, %q): error %v, want one starting %q", c.vpc, c.tgw, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseFormats(%q, %q): %v", c.vpc, c.tgw, err)
		}
		if vpc.Kind() != flowlog.KindVPC || tgw.Kind() != flowlog.KindTGW {
			t.Fatalf("ParseFormats(%q, %q) gave a %s and a %s format", c.vpc, c.tgw, vpc.Kind(), tgw.Kind())
		}
		if c.vpc == "" && vpc != flowlog.DefaultVPC || c.vpc != "" && vpc.String() != c.vpc {
			t.Errorf("vpc format %q from %q", vpc.String(), c.vpc)
		}
	}
}
