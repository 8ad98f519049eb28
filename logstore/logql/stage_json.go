package logql

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ExtractParam is a name="expression" argument of json or logfmt.
type ExtractParam struct {
	Name, Expr string
	path       []any // string keys and int indexes, for json
}

// JSONStage is | json [params]: extracts every scalar of a JSON object (nested keys joined
// with _) or only the given paths.
type JSONStage struct {
	Params []ExtractParam
	prefix []byte
	// paths, when not nil, receives each extracted label's key path (field detection).
	paths map[string][]string
	keys  []string
}

func (s *JSONStage) init(params []ExtractParam) error {
	for i := range params {
		path, err := parseJSONPath(params[i].Expr)
		if err != nil {
			return fmt.Errorf("syntax error: invalid json path %q: %v", params[i].Expr, err)
		}
		params[i].path = path
	}
	s.Params = params
	return nil
}

// parseJSONPath reads a.b[0]["c d"].
func parseJSONPath(s string) ([]any, error) {
	var out []any
	i := 0
	for i < len(s) {
		switch {
		case s[i] == '.':
			i++
		case s[i] == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, errors.New("unclosed [")
			}
			in := strings.TrimSpace(s[i+1 : i+end])
			i += end + 1
			if strings.HasPrefix(in, `"`) {
				k, err := strconv.Unquote(in)
				if err != nil {
					return nil, err
				}
				out = append(out, k)
				continue
			}
			n, err := strconv.Atoi(in)
			if err != nil {
				return nil, fmt.Errorf("bad index %q", in)
			}
			out = append(out, n)
		default:
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty path")
	}
	return out, nil
}

// errMalformedObject is the error detail Loki gives for a line that is not a JSON object.
const errMalformedObject = "Value looks like object, but can't find closing '}' symbol"

func (s *JSONStage) process(_ int64, line string, b *labelsBuilder) (string, bool) {
	if len(s.Params) > 0 {
		return s.extractPaths(line, b)
	}
	if t := strings.TrimLeft(line, " \t\r\n"); t == "" || t[0] != '{' {
		b.setErr(errJSON, errMalformedObject)
		return line, true
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		b.setErr(errJSON, "Malformed JSON error")
		return line, true
	}
	obj, ok := v.(map[string]any)
	if !ok {
		b.setErr(errJSON, errMalformedObject)
		return line, true
	}
	s.prefix = s.prefix[:0]
	s.flatten(obj, b)
	return line, true
}

func (s *JSONStage) flatten(obj map[string]any, b *labelsBuilder) {
	for k, v := range obj {
		n := len(s.prefix)
		if n > 0 {
			s.prefix = append(s.prefix, '_')
		}
		s.prefix = appendSanitized(s.prefix, k)
		if s.paths != nil {
			s.keys = append(s.keys, k)
		}
		switch v := v.(type) {
		case map[string]any:
			s.flatten(v, b)
		case []any:
			// arrays are not extracted, as in Loki
		default:
			if str, ok := jsonScalar(v); ok {
				if s.paths != nil {
					name := string(s.prefix)
					if b.baseHas(name) {
						name += "_extracted"
					}
					s.paths[name] = append([]string(nil), s.keys...)
				}
				b.setExtracted(string(s.prefix), str)
			}
		}
		if s.paths != nil {
			s.keys = s.keys[:len(s.keys)-1]
		}
		s.prefix = s.prefix[:n]
	}
}

func jsonScalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	case nil:
		return "", false
	}
	out, err := json.Marshal(v)
	return string(out), err == nil
}

// extractPaths is json with parameters: each path's value becomes its label, as the raw
// JSON text for objects and arrays, empty for null or a missing path (as in Loki).
func (s *JSONStage) extractPaths(line string, b *labelsBuilder) (string, bool) {
	if line == "" {
		return line, true
	}
	if c := line[0]; c != '{' && c != '[' && c != '"' {
		b.setErr(errJSON, "")
		return line, true
	}
	for _, p := range s.Params {
		val, _ := jsonPathRaw(line, p.path)
		b.setExtracted(p.Name, val)
	}
	return line, true
}

// jsonPathRaw follows path (string keys and int indexes) through the JSON text doc.
func jsonPathRaw(doc string, path []any) (string, bool) {
	raw := json.RawMessage(doc)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil {
				return "", false
			}
			v, ok := m[k]
			if !ok {
				return "", false
			}
			raw = v
		case int:
			var a []json.RawMessage
			if json.Unmarshal(raw, &a) != nil || k < 0 || k >= len(a) {
				return "", false
			}
			raw = a[k]
		}
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", true
	case raw[0] == '"':
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return "", false
		}
		return str, true
	}
	return string(raw), true
}

// appendSanitized appends a label name made of s: invalid characters become _, and a
// leading digit gets a _ prefix, as Loki does.
func appendSanitized(dst []byte, s string) []byte {
	s = strings.TrimSpace(s)
	if s != "" && isDigit(s[0]) {
		dst = append(dst, '_')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isIdentChar(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '_')
		}
	}
	return dst
}

func sanitizeName(s string) string {
	for i := 0; i < len(s); i++ {
		if !isIdentChar(s[i]) || i == 0 && isDigit(s[0]) {
			return string(appendSanitized(nil, s))
		}
	}
	return strings.TrimSpace(s)
}

func (s *JSONStage) String() string { return "| json" + paramsString(s.Params) }

func paramsString(ps []ExtractParam) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(" " + p.Name + "=" + strconv.Quote(p.Expr))
	}
	return b.String()
}
