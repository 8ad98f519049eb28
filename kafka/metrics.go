package kafka

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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
	collectors   []prometheus.Collector
}

func newProducerMetrics() *producerMetrics {
	m := &producerMetrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowtap_producer_records_total",
			Help: "Messages acknowledged by Kafka."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowtap_producer_bytes_total",
			Help: "Key and value bytes acknowledged by Kafka (before compression)."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowtap_producer_errors_total",
			Help: "Produce calls that failed for some or all of their messages."}),
		spilled: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowtap_producer_spilled_records_total",
			Help: "Messages written to the disk spill."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowtap_producer_dropped_records_total",
			Help: "Messages lost, by reason (spill_full, spill_error, spill_corrupt, too_large, closed, canceled)."}, []string{"reason"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowtap_producer_deadlettered_records_total",
			Help: "Messages that can never be produced (unknown_topic: the brokers kept answering that the topic does not exist; refused: a non-retriable error), written to the spill's dead-letter directory."}, []string{"reason"}),
		spillRecs: prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowtap_producer_spill_records",
			Help: "Messages waiting in the disk spill."}),
		spillBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowtap_producer_spill_bytes",
			Help: "Bytes of the disk spill."}),
		queueBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowtap_producer_queue_bytes",
			Help: "Encoded bytes waiting in the memory queue."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "flowtap_producer_latency_seconds",
			Help: "Duration of one produce call (a chunk of messages).", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
	m.collectors = []prometheus.Collector{m.records, m.bytes, m.errors, m.spilled, m.dropped, m.deadLettered, m.spillRecs, m.spillBytes, m.queueBytes, m.latency}
	return m
}

func (m *producerMetrics) register(reg prometheus.Registerer) error {
	return registerAll(reg, m.collectors)
}

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
	collectors   []prometheus.Collector
}

func newConsumerMetrics() *consumerMetrics {
	m := &consumerMetrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowtap_consumer_records_total",
			Help: "Records and events decoded from Kafka and made durable by the sinks, by topic."}, []string{"topic"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowtap_consumer_deadlettered_total",
			Help: "Messages sent to the dead-letter topic, by source topic and reason (undecodable, or refused:<sink> for a batch a sink refused for good)."},
			[]string{"topic", "reason"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowtap_consumer_duplicates_total",
			Help: "Messages dropped as copies of one earlier in their partition (same flowtap-id header: a producer re-sent them after the broker had stored them), by topic."},
			[]string{"topic"}),
		sinkErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowtap_consumer_sink_errors_total",
			Help: "Failed batch writes, by sink (retried, or dead-lettered when permanent)."}, []string{"sink"}),
		sinkLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "flowtap_consumer_sink_latency_seconds",
			Help: "Duration of one successful sink write of a batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"sink"}),
		batchLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "flowtap_consumer_batch_latency_seconds",
			Help: "From a batch's first message fetched to its offsets committed.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 16)}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flowtap_consumer_lag",
			Help: "Messages behind the partition's high watermark, as of the last fetch."}, []string{"topic", "partition"}),
		committed: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowtap_consumer_batches_committed_total",
			Help: "Batches whose offsets were committed after every sink made them durable."}),
	}
	m.collectors = []prometheus.Collector{m.consumed, m.deadLettered, m.duplicates, m.sinkErrors, m.sinkLatency, m.batchLatency, m.lag, m.committed}
	return m
}

func (m *consumerMetrics) register(reg prometheus.Registerer) error {
	return registerAll(reg, m.collectors)
}

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

// registerAll registers every collector, stopping at the first error.
func registerAll(reg prometheus.Registerer, cs []prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
