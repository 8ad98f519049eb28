package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/vxlan"
)

// metrics are the collector's Prometheus series. Receivers add per recvmmsg batch and shards
// per window, so the hot path touches no shared counter per packet.
type metrics struct {
	packets, bytes prometheus.Counter
	drops          [vxlan.NumReasons]prometheus.Counter // by vxlan.Reason; [0] = other
	kernelDrops    *prometheus.CounterVec
	readErrors     prometheus.Counter
	records        *prometheus.CounterVec
	recordsLost    prometheus.Counter
	writeErrors    prometheus.Counter
	cuts           prometheus.Counter
	unknownVNIs    prometheus.Counter
	unknownRecords prometheus.Counter
	unknownPackets prometheus.Counter
	fragsUnmatched prometheus.Counter
	fragsNoRoom    prometheus.Counter
	windowLag      prometheus.Gauge
	rcvbuf         prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, activeFlows func() float64) (*metrics, error) {
	f := component.NewMetrics("ingest")
	c := f.Counter
	m := &metrics{
		packets:        c("packets_total", "Datagrams received on the mirror sockets."),
		bytes:          c("bytes_total", "UDP payload bytes received on the mirror sockets."),
		readErrors:     c("read_errors_total", "Failed recvmmsg calls."),
		kernelDrops:    f.CounterVec("kernel_drops_total", "Datagrams the kernel dropped because a socket's receive buffer was full (SO_RXQ_OVFL).", "socket"),
		records:        f.CounterVec("records_total", "Flow records emitted, by log-status (OK, NODATA, SKIPDATA).", "log_status"),
		recordsLost:    c("records_lost_total", "Records the writer refused (see write_errors_total)."),
		writeErrors:    c("write_errors_total", "Failed calls to the record writer."),
		cuts:           c("flow_table_cuts_total", "Times a shard's flow table reached max-flows and emitted its records before the window closed."),
		unknownVNIs:    c("unknown_vnis_total", "Distinct VNIs seen that the sessions file does not list."),
		unknownRecords: c("unknown_vni_records_total", "Records emitted for VNIs missing from the sessions file."),
		unknownPackets: c("unknown_vni_packets_total", "Packets counted in records of VNIs missing from the sessions file."),
		fragsUnmatched: c("fragments_unmatched_total", "Later IP fragments whose first fragment was not seen; counted under ports 0."),
		fragsNoRoom:    c("fragments_untracked_total", "First IP fragments not remembered because the fragment map was full."),
		windowLag:      f.Gauge("window_lag_seconds", "Seconds between the end of the last closed window and the emission of its records."),
		rcvbuf:         f.Gauge("receive_buffer_bytes", "Receive buffer the kernel granted each socket."),
	}
	drops := f.CounterVec("drops_total", "Datagrams that could not be decoded, by reason.", "reason")
	m.drops[0] = drops.WithLabelValues("other")
	for _, r := range vxlan.Reasons() {
		m.drops[r] = drops.WithLabelValues(r.Label())
	}
	for _, s := range []string{"OK", "NODATA", "SKIPDATA"} {
		m.records.WithLabelValues(s)
	}
	f.GaugeFunc("flows_active", "Flows open in the current windows of all shards.", activeFlows)
	if err := f.Register(reg); err != nil {
		return nil, err
	}
	return m, nil
}
