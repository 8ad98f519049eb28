package flowlog

import (
	"strings"
	"testing"
	"time"
)

func TestBGPSamplesRoundTrip(t *testing.T) {
	samples := []string{
		`{"resource_id":"vpn-1234abcd_1.2.3.4","event_timestamp":1762580429641,"timestamp":"2025-11-08 05:40:29.641Z","type":"BGPStatus","status":"UP","message":{"details":"AWS-side peer BGP session state has changed from OpenConfirm to Established with neighbor 169.254.50.85"}}`,
		`{"resource_id":"vpn-1234abcd_1.2.3.4","event_timestamp":1762579573243,"timestamp":"2025-11-08 05:26:13.243Z","type":"RouteStatus","status":"UPDATED","message":{"prefix":"172.31.0.0/16","asPath":"64512","localPref":100,"med":100,"nextHopIp":"169.254.50.85","weight":32768,"details":"DENIED due to: as-path contains our own AS"}}`,
	}
	for _, s := range samples {
		b, err := ParseBGPLog([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b.AppendJSON(nil)); got != s {
			t.Fatalf("got  %s\nwant %s", got, s)
		}
	}
	if _, err := ParseBGPLog([]byte(`{"type":"Other","event_timestamp":1}`)); err == nil || !strings.Contains(err.Error(), "BGPStatus") {
		t.Fatalf("want type error, got %v", err)
	}
}

func TestClientVPNSampleRoundTrip(t *testing.T) {
	s := `{"connection-log-type":"connection-attempt","connection-attempt-status":"successful","connection-reset-status":"NA","connection-attempt-failure-reason":"NA","connection-id":"cvpn-connection-abc123abc123abc12","client-vpn-endpoint-id":"cvpn-endpoint-aaa111bbb222ccc33","transport-protocol":"udp","connection-start-time":"2020-03-26 20:37:15","connection-last-update-time":"2020-03-26 20:37:15","client-ip":"10.0.1.2","common-name":"client1","device-type":"mac","device-ip":"98.247.202.82","port":"50096","ingress-bytes":"0","egress-bytes":"0","ingress-packets":"0","egress-packets":"0","connection-end-time":"NA"}`
	c, err := ParseClientVPNLog([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(c.AppendJSON(nil)); got != s {
		t.Fatalf("got  %s\nwant %s", got, s)
	}
	if c.Port != 50096 || c.StartTime != time.Date(2020, 3, 26, 20, 37, 15, 0, time.UTC) || !c.EndTime.IsZero() {
		t.Fatalf("parsed %+v", c)
	}
	if _, err := ParseClientVPNLog([]byte(`{"connection-log-type":"connection-attempt","ingress-bytes":"lots"}`)); err == nil || !strings.Contains(err.Error(), "ingress-bytes") {
		t.Fatalf("want a counter error naming the key, got %v", err)
	}
}

func TestTunnelLogTolerance(t *testing.T) {
	tl := TunnelLog{EventTime: time.UnixMilli(1762580429641).UTC(), DPDEnabled: true, IKEPhase1State: "Established", IKEPhase2State: "Established", Details: "AWS tunnel DPD timed out after 3 retransmits"}
	back, err := ParseTunnelLog(tl.AppendJSON(nil))
	if err != nil || back != tl {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, back, tl)
	}
	// String flags, lowercase states and seconds timestamps, as seen in the wild.
	in := `{"event_timestamp":1762580429,"dpd_enabled":"True","nat_t_detected":"false","ike_phase1_state":"established","details":"x"}`
	got, err := ParseTunnelLog([]byte(in))
	if err != nil || !got.DPDEnabled || got.NATTDetected || got.EventTime.Unix() != 1762580429 {
		t.Fatalf("%v %+v", err, got)
	}
	if _, err := ParseTunnelLog([]byte(`{"dpd_enabled":"maybe","event_timestamp":1}`)); err == nil {
		t.Fatal("want error for a non-boolean flag")
	}
}
