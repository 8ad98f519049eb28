package logql

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
)

// UnpackStage is | unpack: the line is a JSON object written by Promtail's pack stage;
// when it has an "_entry" string, that string becomes the line and the object's other
// string values become labels (non-string values are ignored). A line that is not a
// JSON object sets __error__=JSONParserErr.
type UnpackStage struct {
	kv []string
}

const packedEntryKey = "_entry"

var errNotObject = errors.New("expecting json object(6), but it is not")

func (s *UnpackStage) process(_ int64, line string, b *labelsBuilder) (string, bool) {
	if line == "" {
		return line, true
	}
	if line[0] != '{' {
		b.setErr(errJSON, errNotObject.Error())
		return line, true
	}
	s.kv = s.kv[:0]
	entry, packed := "", false
	dec := json.NewDecoder(strings.NewReader(line))
	err := walkObject(dec, func(key string, raw json.RawMessage) error {
		if len(raw) == 0 || raw[0] != '"' {
			return nil
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if key == packedEntryKey {
			entry, packed = v, true
			return nil
		}
		s.kv = append(s.kv, key, v)
		return nil
	})
	if err != nil {
		if errors.Is(err, errNotObject) {
			b.setErr(errJSON, err.Error())
		} else {
			b.setErr(errJSON, "Malformed JSON error")
		}
		return line, true
	}
	if !packed {
		return line, true
	}
	for i := 0; i < len(s.kv); i += 2 {
		b.setExtracted(sanitizeName(s.kv[i]), s.kv[i+1])
	}
	return entry, true
}

// walkObject calls fn for each member of the JSON object dec reads, in order.
func walkObject(dec *json.Decoder, fn func(key string, raw json.RawMessage) error) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return errNotObject
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := fn(key, bytes.TrimSpace(raw)); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

func (s *UnpackStage) String() string { return "| unpack" }

// DecolorizeStage is | decolorize: removes ANSI color and cursor escape sequences.
type DecolorizeStage struct{}

// ansiSequence matches ESC or CSI, optional intermediate bytes, then either an OSC-style
// string ended by BEL or a CSI parameter list ended by its final byte.
var ansiSequence = regexp.MustCompile("[\u001b\u009b][[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\u0007)|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))")

func (DecolorizeStage) process(_ int64, line string, _ *labelsBuilder) (string, bool) {
	if !strings.ContainsAny(line, "\u001b\u009b") {
		return line, true
	}
	return ansiSequence.ReplaceAllString(line, ""), true
}

func (DecolorizeStage) String() string { return "| decolorize" }
