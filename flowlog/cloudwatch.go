package flowlog

import "strconv"

// CloudWatchEvent is a flow record as CloudWatch Logs holds it: one headerless record per
// event in the ENI's stream ("{eni}-all", or the TGW id), timestamped at start × 1000.
type CloudWatchEvent struct {
	LogStream string
	Timestamp int64 // ms
	Message   string
}

// NewCloudWatchEvent renders r in format f as a CloudWatch Logs event.
func NewCloudWatchEvent(f *Format, r *Record) CloudWatchEvent {
	return CloudWatchEvent{LogStream: r.StreamName(), Timestamp: r.Start * 1000, Message: string(f.AppendText(nil, r))}
}

// AppendJSON appends the event as in a decoded subscription payload's logEvents entry,
// with the stream name: {"logStream":…,"timestamp":…,"message":…}.
func (e *CloudWatchEvent) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"logStream":`...)
	dst = appendJSONString(dst, e.LogStream)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, e.Timestamp, 10)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, e.Message)
	return append(dst, '}')
}
