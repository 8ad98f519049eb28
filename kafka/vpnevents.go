package kafka

import (
	"context"
	"fmt"

	"github.com/flowtap/flowtap/flowlog/generate"
)

// VPNSender takes VPN events of one kind and CloudWatch stream: a Producer or an Output.
type VPNSender interface {
	WriteVPN(ctx context.Context, kind, stream string, events [][]byte) error
}

// vpnKinds maps a generated VPN log to the flowtap-kind header of its events.
var vpnKinds = map[string]string{
	generate.LogTunnel: KindVPNTunnel,
	generate.LogBGP:    KindVPNBGP,
	generate.LogClient: KindClientVPN,
}

// WriteVPNEvents sends generated VPN events to w as AWS's JSON, keyed by their CloudWatch
// stream, with the event kind in the flowtap-kind header. One WriteVPN call per run of
// events of the same kind and stream keeps them in order.
func WriteVPNEvents(ctx context.Context, w VPNSender, events []generate.VPNEvent) error {
	var buf [][]byte
	for i := 0; i < len(events); {
		kind, ok := vpnKinds[events[i].Log]
		if !ok {
			return fmt.Errorf("kafka: unknown VPN log %q", events[i].Log)
		}
		j := i
		buf = buf[:0]
		for ; j < len(events) && events[j].Log == events[i].Log && events[j].Stream == events[i].Stream; j++ {
			buf = append(buf, events[j].AppendJSON(nil))
		}
		if err := w.WriteVPN(ctx, kind, events[i].Stream, buf); err != nil {
			return err
		}
		i = j
	}
	return nil
}
