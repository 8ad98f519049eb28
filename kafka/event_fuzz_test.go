package kafka

import (
	"bytes"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/sinks"
)

// FuzzDecodeEvent: any VPN topic message decodes to an event with a time and its value
// unchanged, or to an error (dead-lettered); never a panic.
func FuzzDecodeEvent(f *testing.F) {
	f.Add(sinks.EventVPNBGP, "vpn-1234abcd_1.2.3.4", []byte(`{"resource_id":"vpn-1234abcd_1.2.3.4","event_timestamp":1762580429641,"timestamp":"2025-11-08 05:40:29.641Z","type":"BGPStatus","status":"UP","message":{"details":"x"}}`))
	f.Add(sinks.EventVPNBGP, "", []byte(`{"resource_id":"vpn-1_1.2.3.4","timestamp":"2025-11-08 05:26:13.243Z","type":"RouteStatus","status":"UPDATED","message":{"prefix":"172.31.0.0/16","asPath":"64512","localPref":100}}`))
	f.Add(sinks.EventVPNTunnel, "vpn-1_1.2.3.4", []byte(`{"event_timestamp":1762580429,"dpd_enabled":"True","nat_t_detected":false,"ike_phase1_state":"established","details":"AWS tunnel DPD timed out after 3 retransmits"}`))
	f.Add(sinks.EventClientVPN, "cvpn-endpoint-1", []byte(`{"connection-log-type":"connection-reset","connection-start-time":"2020-03-26 20:37:15","connection-last-update-time":"NA","port":"50096"}`))
	f.Add(sinks.EventClientVPN, "cvpn-endpoint-1", []byte(`{"connection-log-type":"connection-attempt"}`))
	f.Add("vpn-flow", "k", []byte(`{}`))
	f.Add(sinks.EventVPNTunnel, "k", []byte(`{"event_timestamp":1e400}`))
	f.Fuzz(func(t *testing.T, kind, key string, value []byte) {
		m := kafkago.Message{Topic: "flowtap.vpn", Key: []byte(key), Value: value,
			Headers: []kafkago.Header{{Key: HeaderKind, Value: []byte(kind)}}}
		ev, err := decodeEvent(&m)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error: the dead-letter reason would be blank")
			}
			return
		}
		if ev.Time.IsZero() || ev.Kind != kind || !bytes.Equal(ev.Data, value) {
			t.Fatalf("decoded %+v from kind %q value %q", ev, kind, value)
		}
		if key != "" && ev.Stream != key {
			t.Fatalf("stream %q, key %q", ev.Stream, key)
		}
	})
}
