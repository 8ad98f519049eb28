package logql

import (
	"errors"
	"testing"
)

func TestParseValid(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{app="foo"}`, `{app="foo"}`},
		{`{app="foo", env!="dev", job=~"a.*", x!~"b"}`, `{app="foo", env!="dev", job=~"a.*", x!~"b"}`},
		{"{app=`raw\\d`}", `{app="raw\\d"}`},
		{`{app="foo"} |= "a" != "b" |~ "c.*" !~ "d"`, `{app="foo"} |= "a" != "b" |~ "c.*" !~ "d"`},
		{`{app="foo"} |= "a" or "b"`, `{app="foo"} |= "a" or "b"`},
		{`{app="foo"} |= ip("10.0.0.0/8")`, `{app="foo"} |= ip("10.0.0.0/8")`},
		{`{app="foo"} | json`, `{app="foo"} | json`},
		{`{app="foo"} | json a="x.y", b="arr[0]"`, `{app="foo"} | json a="x.y", b="arr[0]"`},
		{`{app="foo"} | logfmt --strict`, `{app="foo"} | logfmt --strict`},
		{`{app="foo"} | pattern "<a> <_> <b>"`, `{app="foo"} | pattern "<a> <_> <b>"`},
		{`{app="foo"} | regexp "(?P<a>\\w+)"`, `{app="foo"} | regexp "(?P<a>\\w+)"`},
		{`{app="foo"} | logfmt | a > 1 and b <= 10s or c != "x"`, `{app="foo"} | logfmt | (a>1 and b<=10s or c!="x")`},
		{`{app="foo"} | logfmt | a >= 5KB, b == -2`, `{app="foo"} | logfmt | a>=5KB and b==-2`},
		{`{app="foo"} | logfmt | (a = 1 or b = 2) and c =~ "x"`, `{app="foo"} | logfmt | (a==1 or b==2) and c=~"x"`},
		{`{app="foo"} | line_format "{{.a}}" | label_format x=y, z="{{.w}}"`, `{app="foo"} | line_format "{{.a}}" | label_format x=y, z="{{.w}}"`},
		{`{app="foo"} | json | addr = ip("10.0.0.0/8") or addr != ip("192.168.0.1-192.168.0.9")`, `{app="foo"} | json | (addr=ip("10.0.0.0/8") or addr!=ip("192.168.0.1-192.168.0.9"))`},
		{`{app="foo"} | keep a,b="c" | drop d`, `{app="foo"} | keep a,b="c" | drop d`},
		{`count_over_time({app="foo"}[5m])`, `count_over_time({app="foo"}[5m])`},
		{`count_over_time({app="foo"}[1h30m] offset 5m)`, `count_over_time({app="foo"}[1h30m] offset 5m0s)`},
		{`rate({app="foo"} |= "x"[1m])`, `rate({app="foo"} |= "x"[1m])`},
		{`count_over_time({app="foo"}[5m] | json)`, `count_over_time({app="foo"} | json[5m])`},
		{`quantile_over_time(0.9, {app="foo"} | json | unwrap duration(latency) | __error__="" [1m]) by (x)`, `quantile_over_time(0.9,{app="foo"} | json | unwrap duration(latency) | __error__=""[1m]) by (x)`},
		{`sum_over_time({app="foo"} | logfmt | unwrap bytes[1m])`, `sum_over_time({app="foo"} | logfmt | unwrap bytes[1m])`},
		{`sum by (a, b) (rate({app="foo"}[1m]))`, `sum by (a,b)(rate({app="foo"}[1m]))`},
		{`sum(rate({app="foo"}[1m])) without (a)`, `sum without (a)(rate({app="foo"}[1m]))`},
		{`topk(5, sum by (a) (rate({app="foo"}[1m])))`, `topk(5,sum by (a)(rate({app="foo"}[1m])))`},
		{`sum(rate({a="b"}[1m])) / sum(rate({a="c"}[1m])) * 100`, `((sum(rate({a="b"}[1m])) / sum(rate({a="c"}[1m]))) * 100)`},
		{`1 + 2 * 3`, `7`},
		{`2 ^ 3 ^ 2`, `512`},
		{`1 > bool 2`, `0`},
		{`-rate({a="b"}[1m])`, `(-1 * rate({a="b"}[1m]))`},
		{`rate({a="b"}[1m]) > bool on (x) rate({a="c"}[1m])`, `(rate({a="b"}[1m]) > bool on (x) rate({a="c"}[1m]))`},
		{`rate({a="b"}[1m]) + ignoring (x) rate({a="c"}[1m])`, `(rate({a="b"}[1m]) + ignoring (x) rate({a="c"}[1m]))`},
		{"{a=\"b\"} # a comment\n |= \"x\"", `{a="b"} |= "x"`},
	} {
		e, err := ParseExpr(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := e.String(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
		// The rendering parses back to the same tree.
		if e2, err := ParseExpr(e.String()); err != nil || e2.String() != e.String() {
			t.Errorf("%s: round trip %v %v", c.in, e2, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, c := range []struct {
		in        string
		line, col int
		msg       string
	}{
		{`{app="foo"`, 1, 11, "syntax error: unexpected $end, expecting } or ,"},
		{`{}`, 0, 0, emptyMatcherMsg},
		{`{app}`, 1, 5, "syntax error: unexpected }, expecting = or =~ or !~ or !="},
		{`{app="foo"} |= `, 1, 16, "syntax error: unexpected $end, expecting STRING or ip"},
		{`sum({job="mysql"})`, 1, 18, "syntax error: unexpected )"},
		{`{app="foo"} | json | status >`, 1, 30, "syntax error: unexpected $end"},
		{`count_over_time({app="foo"})`, 1, 28, "syntax error: unexpected )"},
		{`{a="b"} @`, 1, 9, "syntax error: unexpected character: '@'"},
		{"{a=\"b\"}\n | json | x =~ 5", 2, 16, "syntax error: unexpected NUMBER, expecting STRING"},
		{`{a="b} `, 1, 4, "syntax error: literal not terminated"},
		{`count_over_time({a="b"}[5x])`, 0, 24, `unknown unit "x" in duration "5x"`},
		{`{a="b"} | pattern "<a><b>"`, 0, 0, "invalid pattern parser: found consecutive capture '<a><b>': invalid expression"},
		{`{a="b"} | pattern "foo"`, 0, 0, "invalid pattern parser: at least one capture is required"},
		{`{a="b"} | regexp "(a)"`, 0, 0, "invalid regexp parser: at least one named capture must be supplied"},
		{`{a="b"} |~ "("`, 0, 0, "stage '|~ \"(\"' : error parsing regexp: missing closing ): `(`"},
		{`topk(1.5, rate({a="b"}[1m]))`, 0, 0, `invalid parameter topk(1.5,`},
		{`topk(0, rate({a="b"}[1m]))`, 0, 0, `invalid parameter (must be greater than 0) topk(0`},
		{`{a="b"} | unwrap x`, 1, 11, "syntax error: unexpected unwrap"},
		{`rate({a="b"}[1m]) + {a="b"}`, 1, 19, "syntax error: unexpected +"},
		{`{a="b"} | line_format "{{.a"`, 0, 0, "stage '| line_format \"{{.a\"' : invalid line template: template: line:1: unclosed action"},
		{`{app=~".*"}`, 0, 0, emptyMatcherMsg},
		{`sum_over_time({a="b"}[5m])`, 0, 0, "invalid aggregation sum_over_time without unwrap"},
		{`count_over_time({a="b"} | unwrap x [5m])`, 0, 0, "invalid aggregation count_over_time with unwrap"},
		{`rate({a="b"}[5m]) by (x)`, 0, 0, "grouping not allowed for rate aggregation"},
		{`sum(1)`, 0, 0, emptyMatcherMsg},
		{`sum_over_time({a="b"} | unwrap x [1m]) by (a)`, 0, 0, "grouping not allowed for sum_over_time aggregation"},
	} {
		_, err := ParseExpr(c.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: want ParseError, got %v", c.in, err)
			continue
		}
		if pe.Line != c.line || pe.Col != c.col || pe.Msg != c.msg {
			t.Errorf("%q: got %d:%d %q, want %d:%d %q", c.in, pe.Line, pe.Col, pe.Msg, c.line, c.col, c.msg)
		}
	}
}

func TestParseErrorFormat(t *testing.T) {
	_, err := ParseExpr(`{app="foo"} |= `)
	if got, want := err.Error(), "parse error at line 1, col 16: syntax error: unexpected $end, expecting STRING or ip"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	_, err = ParseExpr(`{app=""}`)
	if got, want := err.Error(), "parse error : "+emptyMatcherMsg; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestParseMatchers(t *testing.T) {
	ms, err := ParseMatchers(`{a="b", c=~"d.*", e!="f", g!~"h|i"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		t    MatchType
		n, v string
	}{{MatchEqual, "a", "b"}, {MatchRegexp, "c", "d.*"}, {MatchNotEqual, "e", "f"}, {MatchNotRegexp, "g", "h|i"}}
	if len(ms) != len(want) {
		t.Fatalf("got %v", ms)
	}
	for i, w := range want {
		if ms[i].Type != w.t || ms[i].Name != w.n || ms[i].Value != w.v {
			t.Errorf("matcher %d: %v", i, ms[i])
		}
	}
	if !ms[1].Matches("dx") || ms[1].Matches("xd") || ms[3].Matches("h") || !ms[3].Matches("hi") {
		t.Error("regexp matchers are not anchored")
	}
	for _, bad := range []string{`{a="b"} |= "x"`, `{a=~"("}`, `a="b"`, ``} {
		if _, err := ParseMatchers(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		`{app="foo"} |= "a" != "b" |~ "c.*" !~ "d"`,
		`{app="foo"} | json a="x.y" | logfmt --strict | pattern "<a> <_>" | regexp "(?P<x>.)"`,
		`{app="foo"} | a > 1 and b <= 10s or c != "x" , d = ip("10.0.0.0/8")`,
		`{app="foo"} | line_format "{{.a}}" | label_format x=y, z="{{.w}}" | keep a | drop b="c"`,
		`quantile_over_time(0.9, {app="foo"} | json | unwrap duration(latency) | __error__="" [1m] offset 5m) by (x)`,
		`topk(5, sum by (a) (rate({app="foo"}[1m]))) / on (a) sum without (b) (bytes_rate({x="y"}[5m])) > bool 2`,
		topRejected,
		`1 + 2 ^ -3 % 4`,
		"{a=`b`}\n# c\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		e, err := ParseExpr(q)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%q: error is not a ParseError: %v", q, err)
			}
			return
		}
		// What parses renders to a query that parses to the same rendering.
		e2, err := ParseExpr(e.String())
		if err != nil || e2.String() != e.String() {
			t.Fatalf("%q renders as %q, which reparses as %v, %v", q, e.String(), e2, err)
		}
	})
}

// FuzzPipeline runs the parsers and filters on arbitrary lines: never a panic, and a
// line is either kept or dropped.
func FuzzPipeline(f *testing.F) {
	for _, s := range []string{
		`{"a":{"b":[1,2]},"c":"d\\u00e9","e":1.5e3,"f":null,"g":true}`,
		`level=info msg="hello \\"world\\"" a= b c=1 =x "q"`,
		"2 123456789012 eni-0a1b2c3d4e5f67890 10.0.1.5 52.95.128.179 443 34210 6 10 5120 1620000000 1620000060 ACCEPT OK",
		"", "<>", `a="unterminated`, "\xff\xfe=\x00",
		`{"_entry":"x=1 y=2","p":"q"}`, "\x1b[31mred\x1b[0m a=b=c", `{"a":[1,{"b":2}]`,
	} {
		f.Add(s)
	}
	var stages [][]Stage
	for _, q := range []string{
		`{a="b"} | json | x > 1 | line_format "{{.a_b}} {{__line__}}"`,
		`{a="b"} | json x="a.b[1]", y="c" | label_format z="{{.x}}{{.y}}"`,
		`{a="b"} | logfmt | level =~ "i.*" or c >= 1s, d < 1KB`,
		`{a="b"} | logfmt --strict --keep-empty | keep level | drop msg`,
		`{a="b"} | pattern "<_> <_> <_> <src> <_> <_> <_> <_> <_> <bytes> <_> <_> <action> <_>" | src = ip("10.0.0.0/8") | bytes > 10`,
		`{a="b"} | pattern "<a>=<b> <c>" |= ip("10.0.0.1-10.0.0.9")`,
		`{a="b"} | regexp "(?P<x>\\d+)(?P<y>.*)" | x != 3`,
		`{a="b"} | unpack | decolorize |> "<_> x <_>" !> "<_>y" | logfmt x, y="z"`,
		`{a="b"} | line_format "{{ trunc 3 __line__ }}{{ substr 1 4 __line__ }}{{ (fromJson __line__).a }}{{ div (len __line__) 3 }}{{ b64enc __line__ | b64dec }}"`,
		`{a="b"} | logfmt | label_format t="{{ regexReplaceAll \"[0-9]+\" __line__ \"N\" }}", u="{{ addf .x .y }}{{ round .x 2 }}"`,
	} {
		e, err := ParseExpr(q)
		if err != nil {
			f.Fatal(err)
		}
		stages = append(stages, e.(*LogExpr).Stages)
	}
	base := Labels{{"a", "b"}}
	f.Fuzz(func(t *testing.T, line string) {
		var b labelsBuilder
		for _, st := range stages {
			b.reset(base)
			runStages(st, 1, line, &b)
			ls := b.labels()
			for i := 1; i < len(ls); i++ {
				if ls[i-1].Name >= ls[i].Name {
					t.Fatalf("labels not sorted and unique: %v", ls)
				}
			}
		}
	})
}

func TestParseDurationOverflow(t *testing.T) {
	if _, err := ParseExpr(`count_over_time({a="b"}[999999999999y])`); err == nil {
		t.Error("overflowing range accepted")
	}
	if e, err := ParseExpr(`count_over_time({a="b"}[1y2w3d] offset 1d12h)`); err != nil || e.String() != `count_over_time({a="b"}[1y2w3d] offset 36h0m0s)` {
		t.Errorf("got %v, %v", e, err)
	}
}
