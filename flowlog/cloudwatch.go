package flowlog

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

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

// The messageType values of a CloudWatch Logs subscription payload. A CONTROL_MESSAGE is
// sent when a subscription is created, to check the destination; it carries no log data.
const (
	MessageData    = "DATA_MESSAGE"
	MessageControl = "CONTROL_MESSAGE"
)

// SubscriptionPayload is what a CloudWatch Logs subscription filter delivers (to Kinesis,
// Firehose or Lambda), once gunzipped: one log stream's events.
type SubscriptionPayload struct {
	MessageType         string     `json:"messageType"`
	Owner               string     `json:"owner"`
	LogGroup            string     `json:"logGroup"`
	LogStream           string     `json:"logStream"`
	SubscriptionFilters []string   `json:"subscriptionFilters"`
	LogEvents           []LogEvent `json:"logEvents"`
}

// LogEvent is one entry of a payload's logEvents: a flow log line without header, or a VPN
// log's JSON object.
type LogEvent struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"` // ms
	Message   string `json:"message"`
}

// ErrSubscription is wrapped by every DecodeSubscription error.
var ErrSubscription = errors.New("flowlog: bad CloudWatch Logs subscription payload")

// MaxPayload bounds a decoded (gunzipped) subscription payload. CloudWatch Logs sends at
// most about 1 MB per put; the margin only guards against gzip bombs.
const MaxPayload = 64 << 20

// DecodeSubscription reads one or more subscription payloads from data: gzip or plain JSON,
// objects one after another with or without whitespace between them (as Firehose writes
// them to S3). messageType must be DATA_MESSAGE or CONTROL_MESSAGE.
func DecodeSubscription(data []byte) ([]SubscriptionPayload, error) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		plain, err := gunzip(data, MaxPayload)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSubscription, err)
		}
		data = plain
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []SubscriptionPayload
	for {
		var p SubscriptionPayload
		err := dec.Decode(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, fmt.Errorf("%w: payload %d: %v", ErrSubscription, len(out)+1, err)
		}
		if err := p.check(); err != nil {
			return out, fmt.Errorf("%w: payload %d: %v", ErrSubscription, len(out)+1, err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no payload", ErrSubscription)
	}
	return out, nil
}

func (p *SubscriptionPayload) check() error {
	switch p.MessageType {
	case MessageData:
		if p.LogGroup == "" || p.LogStream == "" {
			return errors.New("DATA_MESSAGE without logGroup or logStream")
		}
	case MessageControl:
	case "":
		return errors.New("no messageType (not a subscription payload)")
	default:
		return fmt.Errorf("unknown messageType %q", p.MessageType)
	}
	return nil
}

func gunzip(data []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("more than %d bytes once decompressed", limit)
	}
	return out, nil
}

// CutExportTimestamp splits a line of a CloudWatch Logs export to S3 ("2018-09-22T20:28:14.000Z
// 2 123456789010 eni-… OK") into the event time and the message. ok is false when the
// line does not start with an RFC 3339 UTC timestamp and a space.
func CutExportTimestamp(line string) (ts time.Time, msg string, ok bool) {
	first, rest, found := strings.Cut(line, " ")
	// Cheap shape check first: "YYYY-MM-DDThh:mm:ss…Z".
	if !found || len(first) < 20 || len(first) > 35 || first[4] != '-' || first[10] != 'T' || first[len(first)-1] != 'Z' {
		return time.Time{}, line, false
	}
	t, err := time.Parse(time.RFC3339Nano, first)
	if err != nil {
		return time.Time{}, line, false
	}
	return t, rest, true
}

// VPN log kinds, as ClassifyVPNEvent names them (the same strings as sinks' event kinds).
const (
	VPNTunnel = "vpn-tunnel" // Site-to-Site tunnel activity (ParseTunnelLog)
	VPNBGP    = "vpn-bgp"    // Site-to-Site BGP (ParseBGPLog)
	ClientVPN = "client-vpn" // Client VPN connections (ParseClientVPNLog)
)

// ClassifyVPNEvent names the VPN log kind of a JSON message by the keys only that kind has,
// and checks that it parses as that kind. It returns "" and an error for anything else.
func ClassifyVPNEvent(msg []byte) (string, error) {
	var err error
	switch {
	case bytes.Contains(msg, []byte(`"ike_phase1_state"`)) || bytes.Contains(msg, []byte(`"dpd_enabled"`)):
		_, err = ParseTunnelLog(msg)
		return kindOrNone(VPNTunnel, err)
	case bytes.Contains(msg, []byte(`"resource_id"`)) || bytes.Contains(msg, []byte(`"BGPStatus"`)) || bytes.Contains(msg, []byte(`"RouteStatus"`)):
		_, err = ParseBGPLog(msg)
		return kindOrNone(VPNBGP, err)
	case bytes.Contains(msg, []byte(`"client-vpn-endpoint-id"`)) || bytes.Contains(msg, []byte(`"connection-log-type"`)):
		_, err = ParseClientVPNLog(msg)
		return kindOrNone(ClientVPN, err)
	}
	return "", errors.New("flowlog: JSON message is neither a Site-to-Site VPN nor a Client VPN log")
}

func kindOrNone(kind string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return kind, nil
}

// GuessFormat picks the format of a headerless flow log line from its field count: AWS's
// default VPC format (14 fields) or default TGW format. It returns nil for other counts;
// those need an explicit format.
func GuessFormat(line string) *Format {
	switch strings.Count(strings.TrimSpace(line), " ") + 1 {
	case len(DefaultVPC.fields):
		return DefaultVPC
	case len(DefaultTGW.fields):
		return DefaultTGW
	}
	return nil
}
