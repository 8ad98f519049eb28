package flowlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// VPN logs are events, not flows (AWS has no VPN flow log): Site-to-Site tunnel activity,
// Site-to-Site BGP, and Client VPN connection logs. Each type renders AWS's JSON with
// AppendJSON, in AWS's key order, and parses tolerantly (reference §7, consumer rules 11–12).

const (
	vpnTimeLayout       = "2006-01-02 15:04:05.000Z" // S2S "timestamp"
	clientVPNTimeLayout = "2006-01-02 15:04:05"      // Client VPN times, UTC, no zone
)

// TunnelLog is one Site-to-Site VPN tunnel activity event.
type TunnelLog struct {
	VPNConnectionID string // carried by the stream name, not the JSON
	TunnelOutsideIP string // carried by the stream name, not the JSON
	EventTime       time.Time
	DPDEnabled      bool
	NATTDetected    bool
	IKEPhase1State  string // Established, Rekeying, Negotiating, Down
	IKEPhase2State  string
	Details         string
}

// StreamName is the CloudWatch stream of the tunnel: {vpn-id}_{outside-ip}.
func (t *TunnelLog) StreamName() string { return t.VPNConnectionID + "_" + t.TunnelOutsideIP }

// AppendJSON appends the event as AWS's JSON object.
func (t *TunnelLog) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"event_timestamp":`...)
	dst = strconv.AppendInt(dst, t.EventTime.UnixMilli(), 10)
	dst = append(dst, `,"timestamp":"`...)
	dst = t.EventTime.UTC().AppendFormat(dst, vpnTimeLayout)
	dst = append(dst, `","dpd_enabled":`...)
	dst = strconv.AppendBool(dst, t.DPDEnabled)
	dst = append(dst, `,"nat_t_detected":`...)
	dst = strconv.AppendBool(dst, t.NATTDetected)
	dst = append(dst, `,"ike_phase1_state":`...)
	dst = appendJSONString(dst, t.IKEPhase1State)
	dst = append(dst, `,"ike_phase2_state":`...)
	dst = appendJSONString(dst, t.IKEPhase2State)
	dst = append(dst, `,"details":`...)
	dst = appendJSONString(dst, t.Details)
	return append(dst, '}')
}

// ParseTunnelLog reads a tunnel event. Keys are optional; flags may be booleans or
// "True"/"False"; event_timestamp may be seconds or milliseconds.
func ParseTunnelLog(data []byte) (TunnelLog, error) {
	var raw struct {
		EventTimestamp json.Number `json:"event_timestamp"`
		Timestamp      string      `json:"timestamp"`
		DPDEnabled     looseBool   `json:"dpd_enabled"`
		NATTDetected   looseBool   `json:"nat_t_detected"`
		Phase1         string      `json:"ike_phase1_state"`
		Phase2         string      `json:"ike_phase2_state"`
		Details        string      `json:"details"`
	}
	if err := decodeStrict(data, &raw); err != nil {
		return TunnelLog{}, fmt.Errorf("flowlog: tunnel log: %w", err)
	}
	t := TunnelLog{DPDEnabled: bool(raw.DPDEnabled), NATTDetected: bool(raw.NATTDetected),
		IKEPhase1State: raw.Phase1, IKEPhase2State: raw.Phase2, Details: raw.Details}
	var err error
	if t.EventTime, err = eventTime(raw.EventTimestamp, raw.Timestamp); err != nil {
		return TunnelLog{}, fmt.Errorf("flowlog: tunnel log: %w", err)
	}
	return t, nil
}

// BGPMessage is the "message" object of a BGP log; route fields are set for RouteStatus.
type BGPMessage struct {
	Prefix    string
	ASPath    string
	LocalPref int
	MED       int
	NextHopIP string
	Weight    int
	Details   string
}

// BGPLog is one Site-to-Site VPN BGP event (BGPStatus or RouteStatus).
type BGPLog struct {
	ResourceID string // {vpn-id}_{outside-ip}
	EventTime  time.Time
	Type       string // BGPStatus or RouteStatus
	Status     string // UP/DOWN, or ADVERTISED/UPDATED/WITHDRAWN
	Message    BGPMessage
}

// AppendJSON appends the event as AWS's JSON object, in the key order of AWS's samples.
func (b *BGPLog) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"resource_id":`...)
	dst = appendJSONString(dst, b.ResourceID)
	dst = append(dst, `,"event_timestamp":`...)
	dst = strconv.AppendInt(dst, b.EventTime.UnixMilli(), 10)
	dst = append(dst, `,"timestamp":"`...)
	dst = b.EventTime.UTC().AppendFormat(dst, vpnTimeLayout)
	dst = append(dst, `","type":`...)
	dst = appendJSONString(dst, b.Type)
	dst = append(dst, `,"status":`...)
	dst = appendJSONString(dst, b.Status)
	dst = append(dst, `,"message":{`...)
	m := &b.Message
	if b.Type == "RouteStatus" {
		dst = append(dst, `"prefix":`...)
		dst = appendJSONString(dst, m.Prefix)
		dst = append(dst, `,"asPath":`...)
		dst = appendJSONString(dst, m.ASPath)
		dst = append(dst, `,"localPref":`...)
		dst = strconv.AppendInt(dst, int64(m.LocalPref), 10)
		dst = append(dst, `,"med":`...)
		dst = strconv.AppendInt(dst, int64(m.MED), 10)
		dst = append(dst, `,"nextHopIp":`...)
		dst = appendJSONString(dst, m.NextHopIP)
		dst = append(dst, `,"weight":`...)
		dst = strconv.AppendInt(dst, int64(m.Weight), 10)
		if m.Details != "" {
			dst = append(dst, `,"details":`...)
			dst = appendJSONString(dst, m.Details)
		}
	} else {
		dst = append(dst, `"details":`...)
		dst = appendJSONString(dst, m.Details)
	}
	return append(dst, "}}"...)
}

// ParseBGPLog reads a BGP event; event_timestamp may be seconds or milliseconds.
func ParseBGPLog(data []byte) (BGPLog, error) {
	var raw struct {
		ResourceID     string      `json:"resource_id"`
		EventTimestamp json.Number `json:"event_timestamp"`
		Timestamp      string      `json:"timestamp"`
		Type           string      `json:"type"`
		Status         string      `json:"status"`
		Message        struct {
			Prefix    string `json:"prefix"`
			ASPath    string `json:"asPath"`
			LocalPref int    `json:"localPref"`
			MED       int    `json:"med"`
			NextHopIP string `json:"nextHopIp"`
			Weight    int    `json:"weight"`
			Details   string `json:"details"`
		} `json:"message"`
	}
	if err := decodeStrict(data, &raw); err != nil {
		return BGPLog{}, fmt.Errorf("flowlog: BGP log: %w", err)
	}
	if raw.Type != "BGPStatus" && raw.Type != "RouteStatus" {
		return BGPLog{}, fmt.Errorf("flowlog: BGP log: type %q is not BGPStatus or RouteStatus", raw.Type)
	}
	b := BGPLog{ResourceID: raw.ResourceID, Type: raw.Type, Status: raw.Status, Message: BGPMessage(raw.Message)}
	var err error
	if b.EventTime, err = eventTime(raw.EventTimestamp, raw.Timestamp); err != nil {
		return BGPLog{}, fmt.Errorf("flowlog: BGP log: %w", err)
	}
	return b, nil
}

// ClientVPNLog is one Client VPN connection log event. Absent values render as "NA":
// empty strings, zero times, and a negative DurationSeconds.
type ClientVPNLog struct {
	LogType                string // connection-attempt or connection-reset
	AttemptStatus          string // successful, failed, waiting-for-assertion, NA
	ResetStatus            string // NA, assertion-received
	AttemptFailureReason   string
	ConnectionID           string
	EndpointID             string
	TransportProtocol      string // udp or tcp
	StartTime              time.Time
	LastUpdateTime         time.Time
	ClientIP               string
	ClientIPv6             string
	CommonName             string
	Username               string
	DeviceType             string
	DeviceIP               string
	Port                   int
	IngressBytes           uint64
	EgressBytes            uint64
	IngressPackets         uint64
	EgressPackets          uint64
	EndTime                time.Time
	DurationSeconds        int64 // < 0 means NA
	PostureComplianceState string
}

// AppendJSON appends the event as AWS's JSON object: every value a string, "NA" when absent.
func (c *ClientVPNLog) AppendJSON(dst []byte) []byte {
	kv := func(dst []byte, key, val string, first bool) []byte {
		if !first {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, key)
		dst = append(dst, ':')
		if val == "" {
			val = "NA"
		}
		return appendJSONString(dst, val)
	}
	tm := func(t time.Time) string {
		if t.IsZero() {
			return "NA"
		}
		return t.UTC().Format(clientVPNTimeLayout)
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	dst = append(dst, '{')
	dst = kv(dst, "connection-log-type", c.LogType, true)
	dst = kv(dst, "connection-attempt-status", c.AttemptStatus, false)
	dst = kv(dst, "connection-reset-status", c.ResetStatus, false)
	dst = kv(dst, "connection-attempt-failure-reason", c.AttemptFailureReason, false)
	dst = kv(dst, "connection-id", c.ConnectionID, false)
	dst = kv(dst, "client-vpn-endpoint-id", c.EndpointID, false)
	dst = kv(dst, "transport-protocol", c.TransportProtocol, false)
	dst = kv(dst, "connection-start-time", tm(c.StartTime), false)
	dst = kv(dst, "connection-last-update-time", tm(c.LastUpdateTime), false)
	dst = kv(dst, "client-ip", c.ClientIP, false)
	if c.ClientIPv6 != "" {
		dst = kv(dst, "client-ip-v6", c.ClientIPv6, false)
	}
	dst = kv(dst, "common-name", c.CommonName, false)
	if c.Username != "" {
		dst = kv(dst, "username", c.Username, false)
	}
	dst = kv(dst, "device-type", c.DeviceType, false)
	dst = kv(dst, "device-ip", c.DeviceIP, false)
	port := ""
	if c.Port > 0 {
		port = strconv.Itoa(c.Port)
	}
	dst = kv(dst, "port", port, false)
	dst = kv(dst, "ingress-bytes", u(c.IngressBytes), false)
	dst = kv(dst, "egress-bytes", u(c.EgressBytes), false)
	dst = kv(dst, "ingress-packets", u(c.IngressPackets), false)
	dst = kv(dst, "egress-packets", u(c.EgressPackets), false)
	dst = kv(dst, "connection-end-time", tm(c.EndTime), false)
	if c.DurationSeconds >= 0 && !c.EndTime.IsZero() {
		dst = kv(dst, "connection-duration-seconds", strconv.FormatInt(c.DurationSeconds, 10), false)
	}
	if c.PostureComplianceState != "" {
		dst = kv(dst, "posture-compliance-statuses", c.PostureComplianceState, false)
	}
	return append(dst, '}')
}

// ParseClientVPNLog reads a Client VPN event: key order is free, unknown keys are ignored,
// numbers may be strings, "NA" means absent, times are UTC.
func ParseClientVPNLog(data []byte) (ClientVPNLog, error) {
	var raw map[string]json.RawMessage
	if err := decodeStrict(data, &raw); err != nil {
		return ClientVPNLog{}, fmt.Errorf("flowlog: client VPN log: %w", err)
	}
	str := func(k string) string {
		v, ok := raw[k]
		if !ok {
			return ""
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = strings.Trim(string(v), `"`)
		}
		if s == "NA" {
			return ""
		}
		return s
	}
	var firstErr error
	num := func(k string) uint64 {
		s := str(k)
		if s == "" {
			return 0
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("flowlog: client VPN log: %s: %q is not a number", k, s)
		}
		return v
	}
	tm := func(k string) time.Time {
		s := str(k)
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(clientVPNTimeLayout, s)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("flowlog: client VPN log: %s: %q is not YYYY-MM-DD hh:mm:ss", k, s)
		}
		return t
	}
	c := ClientVPNLog{
		LogType: str("connection-log-type"), AttemptStatus: str("connection-attempt-status"),
		ResetStatus: str("connection-reset-status"), AttemptFailureReason: str("connection-attempt-failure-reason"),
		ConnectionID: str("connection-id"), EndpointID: str("client-vpn-endpoint-id"),
		TransportProtocol: str("transport-protocol"), StartTime: tm("connection-start-time"),
		LastUpdateTime: tm("connection-last-update-time"), ClientIP: str("client-ip"),
		ClientIPv6: str("client-ip-v6"), CommonName: str("common-name"), Username: str("username"),
		DeviceType: str("device-type"), DeviceIP: str("device-ip"), Port: int(num("port")),
		IngressBytes: num("ingress-bytes"), EgressBytes: num("egress-bytes"),
		IngressPackets: num("ingress-packets"), EgressPackets: num("egress-packets"),
		EndTime: tm("connection-end-time"), DurationSeconds: -1,
		PostureComplianceState: str("posture-compliance-statuses"),
	}
	if s := str("connection-duration-seconds"); s != "" {
		c.DurationSeconds = int64(num("connection-duration-seconds"))
	}
	if c.LogType != "connection-attempt" && c.LogType != "connection-reset" && firstErr == nil {
		firstErr = fmt.Errorf("flowlog: client VPN log: connection-log-type %q is not connection-attempt or connection-reset", c.LogType)
	}
	return c, firstErr
}

// looseBool accepts true/false and "True"/"False" in any case.
type looseBool bool

func (b *looseBool) UnmarshalJSON(data []byte) error {
	s := strings.ToLower(strings.Trim(string(data), `"`))
	switch s {
	case "true":
		*b = true
	case "false", "null", "":
		*b = false
	default:
		return fmt.Errorf("%q is not a boolean", string(data))
	}
	return nil
}

// eventTime reads event_timestamp (ms above 1e11, else seconds), falling back to the
// readable timestamp.
func eventTime(n json.Number, readable string) (time.Time, error) {
	if n != "" {
		v, err := n.Int64()
		if err != nil {
			return time.Time{}, fmt.Errorf("event_timestamp %q: %w", n, err)
		}
		if v > 1e11 {
			return time.UnixMilli(v).UTC(), nil
		}
		return time.Unix(v, 0).UTC(), nil
	}
	if readable != "" {
		t, err := time.Parse(vpnTimeLayout, readable)
		if err != nil {
			return time.Time{}, fmt.Errorf("timestamp %q: %w", readable, err)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("no event_timestamp or timestamp")
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after object")
	}
	return nil
}
