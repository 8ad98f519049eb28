package kafka

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/flowtap/flowtap/internal/component"
)

type producerMetrics struct {
	records      prometheus.Counter
	bytes        prometheus.Counter
	errors       prometheus.Counter
	spilled      prometheus.Counter
	dropped      *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	spillRecs    prometheus.Gauge
	spillBytes   prometheus.Gauge
	queueBytes   prometheus.Gauge
	latency      prometheus.Histogram
	all          *component.Metrics // every metric above, for register
}

func newProducerMetrics() *producerMetrics {
	f := component.NewMetrics("producer")
	return &producerMetrics{
		records: f.Counter("records_total", "Messages acknowledged by Kafka."),
		bytes:   f.Counter("bytes_total", "Key and value bytes acknowledged by Kafka (before compression)."),
		errors:  f.Counter("errors_total", "Produce calls that failed for some or all of their messages."),
		spilled: f.Counter("spilled_records_total", "Messages written to the disk spill."),
		dropped: f.CounterVec("dropped_records_total",
			"Messages lost, by reason (spill_full, spill_error, spill_corrupt, too_large, closed, canceled).", "reason"),
		deadLettered: f.CounterVec("deadlettered_records_total",
			"Messages that can never be produced (unknown_topic: the brokers kept answering that the topic does not exist; refused: a non-retriable error), written to the spill's dead-letter directory.", "reason"),
		spillRecs:  f.Gauge("spill_records", "Messages waiting in the disk spill."),
		spillBytes: f.Gauge("spill_bytes", "Bytes of the disk spill."),
		queueBytes: f.Gauge("queue_bytes", "Encoded bytes waiting in the memory queue."),
		latency: f.Histogram("latency_seconds", "Duration of one produce call (a chunk of messages).",
			prometheus.ExponentialBuckets(0.001, 2, 14)),
		all: f,
	}
}

func (m *producerMetrics) register(reg prometheus.Registerer) error { return m.all.Register(reg) }

func (m *producerMetrics) setSpill(records, bytes int64) {
	m.spillRecs.Set(float64(records))
	m.spillBytes.Set(float64(bytes))
}

type consumerMetrics struct {
	consumed     *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	duplicates   *prometheus.CounterVec
	sinkErrors   *prometheus.CounterVec
	sinkLatency  *prometheus.HistogramVec
	batchLatency prometheus.Histogram
	lag          *prometheus.GaugeVec
	committed    prometheus.Counter
	all          *component.Metrics // every metric above, for register
}

func newConsumerMetrics() *consumerMetrics {
	f := component.NewMetrics("consumer")
	return &consumerMetrics{
		consumed: f.CounterVec("records_total", "Records and events decoded from Kafka and made durable by the sinks, by topic.", "topic"),
		deadLettered: f.CounterVec("deadlettered_total",
			"Messages sent to the dead-letter topic, by source topic and reason (undecodable, or refused:<sink> for a batch a sink refused for good).",
			"topic", "reason"),
		duplicates: f.CounterVec("duplicates_total",
			"Messages dropped as copies of one earlier in their partition (same flowtap-id header: a producer re-sent them after the broker had stored them), by topic.",
			"topic"),
		sinkErrors: f.CounterVec("sink_errors_total", "Failed batch writes, by sink (retried, or dead-lettered when permanent).", "sink"),
		sinkLatency: f.HistogramVec("sink_latency_seconds", "Duration of one successful sink write of a batch.",
			prometheus.ExponentialBuckets(0.001, 2, 16), "sink"),
		batchLatency: f.Histogram("batch_latency_seconds", "From a batch's first message fetched to its offsets committed.",
			prometheus.ExponentialBuckets(0.01, 2, 16)),
		lag:       f.GaugeVec("lag", "Messages behind the partition's high watermark, as of the last fetch.", "topic", "partition"),
		committed: f.Counter("batches_committed_total", "Batches whose offsets were committed after every sink made them durable."),
		all:       f,
	}
}

func (m *consumerMetrics) register(reg prometheus.Registerer) error { return m.all.Register(reg) }

func counterValue(c prometheus.Counter) float64 {
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		return 0
	}
	return d.GetCounter().GetValue()
}

func counterVecSum(v *prometheus.CounterVec) float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() { v.Collect(ch); close(ch) }()
	var sum float64
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) == nil {
			sum += d.GetCounter().GetValue()
		}
	}
	return sum
}
