package logql

import (
	"encoding/json"
	"testing"
	"time"
)

// TestTemplateFunctions runs each documented template function through line_format over
// the labels below, with the answers Loki's documentation gives for its examples.
func TestTemplateFunctions(t *testing.T) {
	labels := Labels{{"app", "Api Server"}, {"n", "7"}, {"m", "2"}, {"f", "1.25"}, {"z", "0"}, {"path", "/api/v1/users"},
		{"size", "2KB"}, {"dur", "1m30s"}, {"js", `{"a":{"b":"c"},"n":3}`}, {"ts", "1673798889"}, {"b64", "aGVsbG8="}}
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC).UnixNano()
	cases := []struct{ tmpl, want string }{
		{`{{ trunc 3 .app }}`, "Api"},
		{`{{ trunc -6 .app }}`, "Server"},
		{`{{ trunc 99 .app }}`, "Api Server"},
		{`{{ substr 0 3 .path }}`, "/ap"},
		{`{{ substr 5 99 .path }}`, "v1/users"},
		{`{{ regexReplaceAll "/v[0-9]+/(.*)" .path "-${1}" }}`, "/api-users"},
		{`{{ regexReplaceAllLiteral "v[0-9]" .path "$1" }}`, "/api/$1/users"},
		{`{{ count "/" .path }}`, "3"},
		{`{{ .app | lower }} {{ .app | upper }} {{ "hello world" | title }}`, "api server API SERVER Hello World"},
		{`{{ ToLower .app }} {{ ToUpper .app }} {{ Replace .app "e" "E" 1 }}`, "api server API SERVER Api SErver"},
		{`{{ Trim "xxhixx" "x" }} {{ TrimLeft "xxhi" "x" }} {{ TrimRight "hixx" "x" }} {{ TrimPrefix .path "/api" }} {{ TrimSuffix .path "/users" }} [{{ TrimSpace "  a  " }}]`, "hi hi hi /v1/users /api/v1 [a]"},
		{`{{ trimAll "/" .path }} {{ trimPrefix "/api" .path }} {{ trimSuffix "users" .path }} [{{ trim " x " }}]`, "api/v1/users /v1/users /api/v1/ [x]"},
		{`{{ contains "Server" .app }} {{ hasPrefix "Api" .app }} {{ hasSuffix "x" .app }}`, "true true false"},
		{`{{ replace " " "_" .app }} {{ repeat 3 "ab" }}`, "Api_Server ababab"},
		{`{{ indent 2 "a\nb" }}|{{ nindent 1 "c" }}`, "  a\n  b|\n c"},
		{`{{ add .n .m 1 }} {{ sub .n .m }} {{ mul .n .m 2 }} {{ div .n .m }} {{ mod .n .m }}`, "10 5 28 3 1"},
		{`{{ addf .f 1.5 }} {{ subf .f 0.25 }} {{ mulf .f 4 }} {{ divf .n 2 }} {{ addf 0.1 0.2 }}`, "2.75 1 5 3.5 0.3"},
		{`{{ max .n .m 9 }} {{ min .n .m }} {{ maxf .f 1 }} {{ minf .f 1 }}`, "9 2 1.25 1"},
		{`{{ ceil .f }} {{ floor .f }} {{ round 3.14159 2 }} {{ round 2.5 0 }}`, "2 1 3.14 3"},
		{`{{ int "12.00" }} {{ int "0x10" }} {{ int "abc" }} {{ float64 .f }}`, "12 16 0 1.25"},
		{`{{ .size | bytes }} {{ .dur | duration }} {{ .dur | duration_seconds }}`, "2000 90 90"},
		{`{{ b64enc .app }} {{ b64dec .b64 }}`, "QXBpIFNlcnZlcg== hello"},
		{`{{ (fromJson .js).a.b }} {{ (fromJson .js).n }}`, "c 3"},
		{`{{ __timestamp__ | unixEpoch }} {{ __timestamp__ | unixEpochMillis }} {{ __timestamp__ | unixEpochNanos }}`, "1704164645 1704164645006 1704164645006000000"},
		{`{{ date "2006-01-02" (unixToTime .ts) }} {{ (unixToTime "19373").Unix }}`, "2023-01-15 1673827200"},
		{`{{ (toDateInZone "2006-01-02" "UTC" "2024-03-01").Unix }} {{ (toDate "2006-01-02" "2024-03-01").Year }}`, "1709251200 2024"},
		{`[{{ alignLeft 5 "ab" }}] [{{ alignRight 5 "ab" }}] [{{ alignLeft 2 .app }}] [{{ alignRight 3 .app }}]`, "[ab   ] [   ab] [Ap] [ver]"},
		{`{{ urlencode "a b&c" }} {{ urldecode "a%20b" }}`, "a+b%26c a b"},
		{`{{ default "none" .missing }} {{ default "none" .app }} {{ .z | default "d" }}`, "none Api Server 0"},
		{`{{ __line__ | len }}`, "4"},
	}
	for _, c := range cases {
		st, err := newLineFormatStage(c.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", c.tmpl, err)
		}
		var b labelsBuilder
		b.reset(labels)
		got, ok := st.process(ts, "line", &b)
		if !ok || b.hasErr() {
			t.Errorf("%s: error %v", c.tmpl, b.current())
			continue
		}
		if got != c.want {
			t.Errorf("%s\n got %q\nwant %q", c.tmpl, got, c.want)
		}
	}
}

// TestTemplateErrors: functions that fail set __error__=TemplateFormatErr and keep the line.
func TestTemplateErrors(t *testing.T) {
	for _, tmpl := range []string{`{{ div .n .z }}`, `{{ mod .n .z }}`, `{{ substr 5 2 "abc" }}`, `{{ regexReplaceAll "(" "a" "b" }}`, `{{ .size | bytes }}`} {
		st, err := newLineFormatStage(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		var b labelsBuilder
		b.reset(Labels{{"n", "7"}, {"z", "0"}, {"size", "lots"}})
		line, ok := st.process(0, "orig", &b)
		if v, _ := b.get(ErrorLabel); !ok || line != "orig" || v != errTemplateFormat {
			t.Errorf("%s: line %q kept %v error %q", tmpl, line, ok, v)
		}
	}
}

// TestTemplateNumbers: the template functions' numeric arguments convert from every Go
// number type, bools, numeric strings and json.Number; anything else is 0.
func TestTemplateNumbers(t *testing.T) {
	cases := []struct {
		in    any
		int   int64
		float float64
	}{
		{int(-3), -3, -3}, {int8(-8), -8, -8}, {int32(32), 32, 32}, {int64(1 << 40), 1 << 40, 1 << 40},
		{uint8(200), 200, 200}, {uint64(7), 7, 7}, {float32(2.5), 2, 2.5}, {-7.75, -7, -7.75},
		{true, 1, 1}, {false, 0, 0}, {"12", 12, 12}, {"12.000", 12, 12}, {"0x10", 16, 0}, {"2.5", 0, 2.5},
		{json.Number("42"), 42, 42}, {"abc", 0, 0}, {nil, 0, 0}, {[]int{1}, 0, 0},
	}
	for _, c := range cases {
		if got := toInt64(c.in); got != c.int {
			t.Errorf("toInt64(%T %v) = %d, want %d", c.in, c.in, got, c.int)
		}
		if got := toFloat64(c.in); got != c.float {
			t.Errorf("toFloat64(%T %v) = %v, want %v", c.in, c.in, got, c.float)
		}
	}
}
