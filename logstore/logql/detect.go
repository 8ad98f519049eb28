package logql

// DetectedField is one field that field detection (Logs Drilldown's detected_fields)
// found in a line: its label name and value, and for JSON its key path.
type DetectedField struct {
	Name, Value string
	JSONPath    []string
}

// DetectFields parses a line as Loki's field detection does: as a JSON object with the
// json stage, else with the (lenient) logfmt stage, against the stream's labels (so that a
// field named like a stream label becomes NAME_extracted). A line that neither parses
// cleanly has no fields; parser is "json", "logfmt" or "".
func DetectFields(line string, stream Labels) (fields []DetectedField, parser string) {
	var b labelsBuilder
	b.reset(stream)
	js := JSONStage{paths: map[string][]string{}}
	js.process(0, line, &b)
	parser = "json"
	if b.hasErr() {
		b.reset(stream)
		var lf LogfmtStage
		lf.process(0, line, &b)
		if b.hasErr() {
			return nil, ""
		}
		parser, js.paths = "logfmt", nil
	}
	for _, l := range b.add {
		if l.Name == ErrorLabel || l.Name == ErrorDetailsLabel || l.Name == "" {
			continue // an empty JSON key names no field
		}
		fields = append(fields, DetectedField{Name: l.Name, Value: l.Value, JSONPath: js.paths[l.Name]})
	}
	return fields, parser
}
