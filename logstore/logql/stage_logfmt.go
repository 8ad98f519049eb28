package logql

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// LogfmtStage is | logfmt [--strict] [--keep-empty] [params].
type LogfmtStage struct {
	Strict, KeepEmpty bool
	Params            []ExtractParam
}

func (s *LogfmtStage) process(_ int64, line string, b *labelsBuilder) (string, bool) {
	if len(s.Params) > 0 {
		// every requested label exists (empty) even when the line lacks its key
		for _, p := range s.Params {
			if !b.baseHas(p.Name) {
				b.setExtracted(p.Name, "")
			}
		}
	}
	var sc logfmtScanner
	sc.line = line
	for !sc.eol() {
		if !sc.scan() {
			if s.Strict {
				break
			}
			continue
		}
		key := sanitizeName(sc.key)
		if key == "" {
			continue
		}
		val := sc.value
		if !utf8.ValidString(val) {
			val = strings.ToValidUTF8(val, "")
			if len(s.Params) > 0 {
				val = ""
			}
		}
		if len(s.Params) > 0 {
			for _, p := range s.Params {
				if p.Expr == key || p.Name == key && p.Expr == p.Name {
					name := p.Name
					if b.baseHas(name) {
						name += "_extracted"
					}
					b.set(name, val)
				}
			}
			continue
		}
		if val == "" && !s.KeepEmpty {
			continue
		}
		b.setExtracted(key, val)
	}
	if s.Strict && sc.err != "" {
		b.setErr(errLogfmt, sc.err)
	}
	return line, true
}

// logfmtScanner reads key=value pairs with Loki's rules: a key ends at '=' or blank
// (a bare key has an empty value); a quote in a key, or '=' or a quote inside an
// unquoted value, is a syntax error that skips the pair; quoted values use JSON
// escapes. err keeps the last error, reported only by --strict.
type logfmtScanner struct {
	line, key, value string
	pos              int
	err              string
}

func (d *logfmtScanner) eol() bool { return d.pos >= len(d.line) }

func (d *logfmtScanner) fail(msg string) {
	d.err = fmt.Sprintf("logfmt syntax error at pos %d : %s", d.pos+1, msg)
}

func (d *logfmtScanner) skipValue() bool {
	for d.pos < len(d.line) && d.line[d.pos] > ' ' {
		d.pos++
	}
	return false
}

// scan reads the next pair; false means a syntax error (or nothing left).
func (d *logfmtScanner) scan() bool {
	d.key, d.value = "", ""
	line := d.line
	for d.pos < len(line) && line[d.pos] <= ' ' {
		d.pos++
	}
	if d.pos >= len(line) {
		return false
	}
	start := d.pos
	for ; d.pos < len(line); d.pos++ {
		c := line[d.pos]
		switch {
		case c == '=':
			if d.pos == start {
				d.fail("unexpected '='")
				return d.skipValue()
			}
			d.key = line[start:d.pos]
			if !utf8.ValidString(d.key) {
				d.fail("invalid key")
				return d.skipValue()
			}
			return d.scanValue()
		case c == '"':
			d.fail(`unexpected '"'`)
			return d.skipValue()
		case c <= ' ':
			d.key = line[start:d.pos]
			if !utf8.ValidString(d.key) {
				d.fail("invalid key")
				return false
			}
			return true
		}
	}
	d.key = line[start:]
	if !utf8.ValidString(d.key) {
		d.fail("invalid key")
		return false
	}
	return true
}

func (d *logfmtScanner) scanValue() bool {
	line := d.line
	d.pos++ // past '='
	if d.pos >= len(line) || line[d.pos] <= ' ' {
		return true
	}
	if line[d.pos] == '"' {
		start := d.pos
		esc, hasEsc := false, false
		for i := d.pos + 1; i < len(line); i++ {
			c := line[i]
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc, hasEsc = true, true
			case c == '"':
				d.pos = i + 1
				if !hasEsc {
					d.value = line[start+1 : i]
					return true
				}
				var v string
				if err := json.Unmarshal([]byte(line[start:d.pos]), &v); err != nil {
					d.fail("invalid quoted value")
					return false
				}
				d.value = v
				return true
			}
		}
		d.pos = len(line)
		d.fail("unterminated quoted value")
		return false
	}
	start := d.pos
	for ; d.pos < len(line); d.pos++ {
		switch c := line[d.pos]; {
		case c == '=' || c == '"':
			d.fail(fmt.Sprintf("unexpected %q", c))
			return d.skipValue()
		case c <= ' ':
			d.value = line[start:d.pos]
			return true
		}
	}
	d.value = line[start:]
	return true
}

func (s *LogfmtStage) String() string {
	out := "| logfmt"
	if s.Strict {
		out += " --strict"
	}
	if s.KeepEmpty {
		out += " --keep-empty"
	}
	return out + paramsString(s.Params)
}
