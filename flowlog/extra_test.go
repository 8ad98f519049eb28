package flowlog

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// A header naming two columns this build does not know: the values survive text, both
// JSON shapes and the header, under their own names.
func TestUnknownColumnsCarriedThrough(t *testing.T) {
	header := "version srcaddr dstaddr some-new-field pkt-dstaddr other.field"
	lines := []string{
		"5 10.0.0.1 10.0.0.2 alpha 10.0.0.2 42",
		"5 10.0.0.3 10.0.0.4 - 10.0.0.4 -",
	}
	rd, err := NewReader(strings.NewReader(header+"\n"+strings.Join(lines, "\n")+"\n"), "in", nil)
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	for i, want := range lines {
		if err := rd.Read(&r); err != nil {
			t.Fatal(err)
		}
		f := rd.Format()
		if f.Header() != header || f.Extras() != 2 {
			t.Fatalf("header %q (%d extras), want %q", f.Header(), f.Extras(), header)
		}
		if got := string(f.AppendText(nil, &r)); got != want {
			t.Fatalf("text %q, want %q", got, want)
		}
		if got := string(rd.Text()); got != want {
			t.Fatalf("Text %q, want %q", got, want)
		}
		// Per-format JSON: one key per column, distinct, unknown ones by name.
		obj := f.AppendJSON(nil, &r)
		var m map[string]any
		if err := json.Unmarshal(obj, &m); err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		if len(m) != 6 || bytes.Count(obj, []byte(`":`)) != 6 {
			t.Fatalf("JSON %s: want 6 distinct keys, got %d", obj, len(m))
		}
		wantNew := map[int]any{0: "alpha", 1: nil}[i]
		wantOther := map[int]any{0: "42", 1: nil}[i]
		if m["some-new-field"] != wantNew || m["other.field"] != wantOther {
			t.Fatalf("JSON %s: unknown columns %v %v", obj, m["some-new-field"], m["other.field"])
		}
		// Per-format JSON reads back to the same text.
		var back Record
		if err := ParseJSON(obj, &back); err != nil {
			t.Fatal(err)
		}
		if got := string(f.AppendText(nil, &back)); got != want {
			t.Fatalf("format JSON round trip %q, want %q", got, want)
		}
		// Lossless JSON (the Kafka encoding) keeps present unknown values.
		msg := AppendJSON(nil, &r)
		if err := ParseJSON(msg, &back); err != nil {
			t.Fatal(err)
		}
		if got := string(f.AppendText(nil, &back)); got != want {
			t.Fatalf("lossless JSON %s round trip %q, want %q", msg, got, want)
		}
		// A sink's fixed format widened by the record's unknown columns keeps them too.
		w := DefaultVPC.WithExtras(back.ExtraNames()...)
		if i == 0 && (w.Extras() != 2 || !strings.HasSuffix(w.Header(), " some-new-field other.field")) {
			t.Fatalf("widened header %q", w.Header())
		}
		if i == 0 && !strings.HasSuffix(string(w.AppendText(nil, &back)), " alpha 42") {
			t.Fatalf("widened text %q", w.AppendText(nil, &back))
		}
	}
	if _, err := FormatFromHeader("version new-one new-one"); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Fatalf("duplicate unknown column: %v", err)
	}
	if _, err := FormatFromHeader("version srcaddr {json"); err == nil {
		t.Fatal("a header with a non-name token was accepted")
	}
}

func TestFormatEqual(t *testing.T) {
	a, _ := FormatFromHeader(DefaultVPC.Header())
	if !a.Equal(DefaultVPC) || DefaultVPC.Equal(AllVPC) {
		t.Fatal("Equal compares columns")
	}
	b, _ := FormatFromHeader("version x-one")
	c, _ := FormatFromHeader("version x-two")
	if b.Equal(c) || !b.Equal(b) {
		t.Fatal("Equal compares unknown column names")
	}
}

// TestUnknownColumnsProperty: random formats with random unknown columns inserted round-trip
// through text, per-format JSON and lossless JSON.
func TestUnknownColumnsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 1000; i++ {
		base := randomFormat(rng)
		names := strings.Fields(base.Header())
		nx := 1 + rng.IntN(3)
		var extra []string
		for j := 0; j < nx; j++ {
			n := "future-" + string(rune('a'+j)) + "_" + randomToken(rng)[:1]
			if !ValidExtraName(n) {
				n = "future-" + string(rune('a'+j))
			}
			pos := rng.IntN(len(names) + 1)
			names = append(names[:pos], append([]string{n}, names[pos:]...)...)
			extra = append(extra, n)
		}
		f, err := NewFormatNamed(names)
		if err != nil {
			t.Fatalf("%v: %v", names, err)
		}
		r := randomRecord(rng, base)
		for _, n := range extra {
			v := "-"
			if rng.IntN(3) > 0 {
				v = randomToken(rng)
			}
			r.SetExtra(n, v)
		}
		line := string(f.AppendText(nil, &r))
		var back Record
		if err := f.Parse(&back, line); err != nil {
			t.Fatalf("%s\n%s: %v", f.Header(), line, err)
		}
		if again := string(f.AppendText(nil, &back)); again != line {
			t.Fatalf("text: %q then %q", line, again)
		}
		for _, enc := range [][]byte{AppendJSON(nil, &back), f.AppendJSON(nil, &back)} {
			var viaJSON Record
			if err := ParseJSON(enc, &viaJSON); err != nil {
				t.Fatalf("%s: %v", enc, err)
			}
			if got := string(f.AppendText(nil, &viaJSON)); got != line {
				t.Fatalf("JSON %s:\n got %q\nwant %q", enc, got, line)
			}
		}
	}
}

// `convert` with the input format as output keeps lines byte for byte: Text is the raw line.
func TestReaderTextIsRaw(t *testing.T) {
	in := DefaultVPC.Header() + "\n" +
		"2 123456789010 eni-1 2001:DB8:0:0::1 10.0.0.2 1 2 6 3 4 1418530010000 1418530070000 ACCEPT OK\r\n"
	rd, _ := NewReader(strings.NewReader(in), "in", nil)
	var r Record
	if err := rd.Read(&r); err != nil {
		t.Fatal(err)
	}
	if want := strings.Split(in, "\n")[1]; string(rd.Text()) != want {
		t.Fatalf("Text %q, want %q", rd.Text(), want)
	}
	if r.Start != 1418530010 {
		t.Fatalf("start %d", r.Start)
	}
	if err := rd.Read(&r); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}
