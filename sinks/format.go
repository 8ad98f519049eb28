package sinks

import (
	"fmt"

	"github.com/flowtap/flowtap/flowlog"
)

// ParseFormat parses spec, the LogFormat string a sink's configuration gives for the
// records of def's kind, and checks that it is a format of that kind; "" gives def.
func ParseFormat(spec string, def *flowlog.Format) (*flowlog.Format, error) {
	if spec == "" {
		return def, nil
	}
	f, err := flowlog.ParseFormat(spec)
	if err != nil {
		return nil, err
	}
	if f.Kind() != def.Kind() {
		return nil, fmt.Errorf("format %q is a %s format, want %s", spec, f.Kind(), def.Kind())
	}
	return f, nil
}

// ParseFormats is ParseFormat of a sink's vpc_format and tgw_format, "" giving AWS's
// default formats; an error names the setting.
func ParseFormats(vpcSpec, tgwSpec string) (vpc, tgw *flowlog.Format, err error) {
	if vpc, err = ParseFormat(vpcSpec, flowlog.DefaultVPC); err != nil {
		return nil, nil, fmt.Errorf("vpc_format: %w", err)
	}
	if tgw, err = ParseFormat(tgwSpec, flowlog.DefaultTGW); err != nil {
		return nil, nil, fmt.Errorf("tgw_format: %w", err)
	}
	return vpc, tgw, nil
}
