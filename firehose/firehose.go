// Package firehose is an Amazon Data Firehose HTTP endpoint: the destination third-party
// tools offer for a CloudWatch Logs subscription → Firehose → HTTP endpoint delivery. It
// speaks Firehose's documented request and response format (protocol version 1.0):
//
//   - request: POST, JSON body {requestId, timestamp, records: [{data: base64}]}, optionally
//     Content-Encoding: gzip; headers X-Amz-Firehose-Request-Id, X-Amz-Firehose-Access-Key
//     (checked against the configured keys), X-Amz-Firehose-Source-Arn;
//   - response: JSON {requestId, timestamp} with status 200 once the records are stored;
//     otherwise a 4xx/5xx status with {requestId, timestamp, errorMessage}, which Firehose
//     retries (and finally backs up to S3).
//
// Each record's data is a CloudWatch Logs subscription payload (gzip JSON with logGroup,
// logStream and logEvents). Events of VPC and Transit Gateway flow log groups become flow
// records on the flow-log topics; events of Site-to-Site and Client VPN log groups become
// VPN events on the VPN topic, in the same encoding kafka.Producer uses, so they reach the
// lake and the log store like every other record. CONTROL_MESSAGEs are accepted and
// counted. A request is acknowledged (200) only once its messages are stored: after Kafka
// acknowledged every one (acks=all), or, when Kafka fails, after they are in the receiver's
// disk spill, fsynced; a sender drains the spill into Kafka, oldest first, when Kafka is
// back, and while the spill holds anything new requests queue behind it, so that the order
// holds. Only when neither takes them (the spill full or unwritable) is the reply a 503 in
// Firehose's error shape, and Firehose delivers the request again.
//
// Why the spill acknowledges: Firehose retries a failed delivery only for its retry
// duration (300 s by default, at most 2 hours) and then writes the records to its S3 error
// bucket, from where nothing brings them back by itself; a Kafka outage longer than that
// would take them out of the pipeline. The spill keeps them on the receiver's disk instead,
// as the collector's producer does (kafka.Producer). The price: until sent, acknowledged
// records live on one host's disk. The spill is SpillDir/<cluster key>/firehose (see
// kafka.ClusterKey), bounded by SpillMaxBytes and locked by one receiver at a time. A
// spilled message the brokers refuse for good (a non-retriable error, or a topic they keep
// answering does not exist for UndeliverableAfter) goes to a file in SpillDir/deadletter
// instead of holding the head of the spill, counted in
// flowtap_firehose_deadlettered_messages_total{reason} and logged: kafka.DeadLetter, the
// producer's own mechanism.
//
// # Retried requests
//
// Firehose sends a request again when it timed out or got any answer but 200, so a request
// stored in Kafka whose 200 was lost (a timeout, a connection reset, the receiver killed
// between the acknowledgement by Kafka and the reply) arrives twice. AWS documents that
// "the request ID is kept the same between multiple attempts of the same request" (HTTP
// endpoint delivery request and response specifications, X-Amz-Firehose-Request-Id), and an
// attempt carries the same records. So a message's flowtap-id (kafka.HeaderID) is derived
// from the delivery stream's ARN, the request id and the message's index in the request
// (kafka.SourceMessageIDs), not drawn afresh: both attempts' messages have the same ids and
// keys, land in the same partitions, and the runner drops the second copy of each within
// its dedupe window (kafka.RunnerConfig.DedupeWindow offsets, 65 536 by default; a retry
// that comes after more messages than that in its partition is kept, a duplicate). The
// header's id is used, else the body's; a request with neither gets fresh ids.
//
// A record that cannot be decoded is dropped, counted and logged with the request id and
// its index: retrying it would not help.
package firehose

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/flowmsg"
	"github.com/flowtap/flowtap/internal/fsx"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/spill"
)

// Config configures the receiver.
type Config struct {
	// Listen is the HTTP address. Firehose only delivers to https on port 443: run it behind
	// a TLS-terminating proxy, or give TLSCert and TLSKey.
	Listen  string
	TLSCert string
	TLSKey  string
	// AccessKeys are the accepted X-Amz-Firehose-Access-Key values; with none, every
	// request is accepted (only sensible behind an authenticating proxy).
	AccessKeys []string

	Brokers     []string
	Topics      kafka.Topics
	Compression string

	// Format is the flow log format of lines that match no AWS default ("" for defaults).
	Format string
	// MaxBodyBytes bounds a request body, decompressed (Firehose buffers at most 64 MiB).
	MaxBodyBytes int64

	// SpillDir holds the disk spill, under <cluster key>/firehose ("": spill.DefaultDir());
	// SpillMaxBytes bounds it (a request that does not fit is answered 503).
	SpillDir      string
	SpillMaxBytes int64
	// UndeliverableAfter is how long the brokers may keep answering that a spilled
	// message's topic does not exist before it goes to the dead-letter file (DeadLetterDir);
	// a message refused with a non-retriable error goes there at once.
	UndeliverableAfter time.Duration
	// SendChunk is the most messages of the spill one produce call sends (0:
	// kafka.ProducerConfig's default, as the producer sends its own spill).
	SendChunk int
}

// DefaultConfig listens on 127.0.0.1:8089 and produces to the embedded broker.
func DefaultConfig() Config {
	return Config{
		Listen:        "127.0.0.1:8089",
		Brokers:       []string{"127.0.0.1:9092"},
		Topics:        kafka.DefaultTopics(),
		Compression:   "zstd",
		MaxBodyBytes:  64 << 20,
		SpillMaxBytes: 1 << 30,

		UndeliverableAfter: 30 * time.Second,
	}
}

// Header names of Firehose's protocol.
const (
	HeaderRequestID = "X-Amz-Firehose-Request-Id"
	HeaderAccessKey = "X-Amz-Firehose-Access-Key"
	HeaderSourceARN = "X-Amz-Firehose-Source-Arn"
)

// Request is the body Firehose POSTs.
type Request struct {
	RequestID string   `json:"requestId"`
	Timestamp int64    `json:"timestamp"`
	Records   []Record `json:"records"`
}

// Record is one Firehose record: base64 data.
type Record struct {
	Data string `json:"data"`
}

// Response is the body Firehose expects back; ErrorMessage is set on failure only.
type Response struct {
	RequestID    string `json:"requestId"`
	Timestamp    int64  `json:"timestamp"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// Server receives Firehose deliveries.
type Server struct {
	cfg    Config
	log    *slog.Logger
	format *flowlog.Format
	writer *kafkago.Writer
	m      metrics
	addr   string
	ready  chan struct{}
	pool   sync.Pool // of *flowmsg.Batch

	spillOnce sync.Once
	queue     atomic.Pointer[spill.Queue] // the spill once open; nil if it cannot be (spillErr)
	spillErr  error
	spillLock *fsx.Lock
	poke      chan struct{} // wakes the spill sender
	sendHook  func(n int)   // called with the size of every produce call of the spill (tests)
}

type metrics struct {
	requests *prometheus.CounterVec // by result
	records  *prometheus.CounterVec // by kind: vpc, tgw, vpn event kinds, control, bad
	spilled  prometheus.Counter
	drained  prometheus.Counter

	deadLettered *prometheus.CounterVec // by reason, as the producer's
}

// New checks cfg; it does no I/O. Metrics go to d.Registry, logs to d.Log (defaults when nil).
func New(cfg Config, d component.Deps) (*Server, error) {
	d = d.WithDefaults()
	reg, log := d.Registry, d.Log
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("firehose: no Kafka brokers")
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("firehose: tls_cert and tls_key go together")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultConfig().MaxBodyBytes
	}
	codec, err := kafka.ParseCompression(cfg.Compression)
	if err != nil {
		return nil, fmt.Errorf("firehose: %w", err)
	}
	if cfg.SpillMaxBytes <= 0 {
		cfg.SpillMaxBytes = DefaultConfig().SpillMaxBytes
	}
	if cfg.UndeliverableAfter <= 0 {
		cfg.UndeliverableAfter = DefaultConfig().UndeliverableAfter
	}
	if cfg.SendChunk <= 0 {
		cfg.SendChunk = kafka.DefaultProducerConfig().SendChunk
	}
	s := &Server{cfg: cfg, log: log.With("component", "firehose"), ready: make(chan struct{}), poke: make(chan struct{}, 1)}
	if cfg.Format != "" {
		if s.format, err = flowlog.ParseFormat(cfg.Format); err != nil {
			return nil, fmt.Errorf("firehose: format: %w", err)
		}
	}
	s.m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowtap_firehose_requests_total",
		Help: "Firehose delivery requests by result (ok, spilled: acknowledged from the disk spill, unauthorized, bad_request, kafka_error)."}, []string{"result"})
	s.m.spilled = prometheus.NewCounter(prometheus.CounterOpts{Name: "flowtap_firehose_spilled_messages_total",
		Help: "Messages written to the Firehose receiver's disk spill (Kafka failed, or the spill held older ones)."})
	s.m.drained = prometheus.NewCounter(prometheus.CounterOpts{Name: "flowtap_firehose_spill_sent_messages_total",
		Help: "Messages sent from the Firehose receiver's disk spill to Kafka."})
	s.m.deadLettered = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowtap_firehose_deadlettered_messages_total",
		Help: "Spilled messages that can never be produced (unknown_topic: the brokers kept answering that the topic does not exist; refused: a non-retriable error), written to the spill's dead-letter directory."}, []string{"reason"})
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "flowtap_firehose_spill_messages",
		Help: "Messages waiting in the Firehose receiver's disk spill."}, func() float64 {
		return float64(s.SpillDepth())
	})
	s.m.records = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowtap_firehose_records_total",
		Help: "Decoded log events by kind (vpc, tgw, vpn-tunnel, vpn-bgp, client-vpn), control messages (control) and undecodable ones (bad)."}, []string{"kind"})
	for _, c := range []prometheus.Collector{s.m.requests, s.m.records, s.m.spilled, s.m.drained, s.m.deadLettered, depth} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("firehose: metrics: %w", err)
		}
	}
	s.writer = &kafkago.Writer{
		Addr:         kafkago.TCP(cfg.Brokers...),
		Balancer:     &kafkago.Hash{}, // kafka.Producer's partition per key
		BatchSize:    4096,
		BatchBytes:   1 << 20,
		BatchTimeout: time.Millisecond,
		RequiredAcks: kafkago.RequireAll,
		Compression:  codec,
		MaxAttempts:  3,
		WriteTimeout: 20 * time.Second,
		ReadTimeout:  20 * time.Second,
		Transport:    &kafkago.Transport{DialTimeout: 3 * time.Second, ClientID: "flowtap-firehose"},
	}
	return s, nil
}

// Addr is the address listened on, once Ready.
func (s *Server) Addr() string { return s.addr }

// Ready is closed once the listener is open.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Run serves until ctx ends, then finishes the requests in flight.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("firehose: %w", err)
	}
	s.addr = ln.Addr().String()
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute}
	close(s.ready)
	s.log.Info("listening", "addr", s.addr, "tls", s.cfg.TLSCert != "", "access_keys", len(s.cfg.AccessKeys))
	dctx, stopDrain := context.WithCancel(context.Background())
	drained := make(chan struct{})
	go func() { defer close(drained); s.drain(dctx) }()
	// The spill sender stops before the writer closes, after the requests in flight.
	closeAll := func() {
		stopDrain()
		<-drained
		s.writer.Close()
		s.closeSpill()
	}
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		closeAll()
		return fmt.Errorf("firehose: %w", err)
	case <-ctx.Done():
	}
	// Firehose waits up to 3 minutes for an answer; a request in flight gets some of that.
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	closeAll()
	return err
}

// Handler serves Firehose delivery requests on any path.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(HeaderRequestID)
	if r.Method != http.MethodPost {
		s.reply(w, http.StatusMethodNotAllowed, id, "method not allowed: Firehose delivers with POST", "bad_request")
		return
	}
	if !s.authorized(r.Header.Get(HeaderAccessKey)) {
		s.reply(w, http.StatusUnauthorized, id, "access key missing or not accepted", "unauthorized")
		return
	}
	req, err := s.readRequest(r)
	if err != nil {
		s.reply(w, http.StatusBadRequest, id, err.Error(), "bad_request")
		return
	}
	if id == "" {
		id = req.RequestID
	}
	b, _ := s.pool.Get().(*flowmsg.Batch)
	if b == nil {
		b = &flowmsg.Batch{}
	}
	defer func() { b.Reset(); s.pool.Put(b) }()
	arn := r.Header.Get(HeaderSourceARN)
	account, region := sourceAccountRegion(arn)
	if id != "" {
		// Firehose keeps the request id across the attempts of a request: each attempt's
		// messages get the same ids, and the runner keeps the first copy only.
		b.IDs = kafka.SourceMessageIDs("firehose\n" + arn + "\n" + id)
	}
	s.Decode(req, account, region, b, func(i int, err error) {
		s.m.records.WithLabelValues("bad").Inc()
		s.log.Warn("undecodable record dropped", "request_id", id, "record", i, "err", err)
	})
	result := "ok"
	if len(b.Msgs) > 0 {
		spilled, err := s.store(id, b.Msgs)
		if err != nil {
			s.log.Warn("storing records failed; Firehose will retry", "request_id", id, "err", err)
			s.reply(w, http.StatusServiceUnavailable, id, "storing records failed: "+err.Error(), "kafka_error")
			return
		}
		if spilled {
			result = "spilled"
		}
	}
	s.reply(w, http.StatusOK, id, "", result)
}

// Decode turns a request's records into messages on b: flow records, VPN events. account
// and region (the delivery stream's, which a CloudWatch Logs subscription shares) fill in
// what a record or event lacks. bad is called for each record that cannot be decoded.
func (s *Server) Decode(req *Request, account, region string, b *flowmsg.Batch, bad func(i int, err error)) {
	var rec flowlog.Record
	for i, r := range req.Records {
		data, err := base64.StdEncoding.DecodeString(r.Data)
		if err != nil {
			bad(i, fmt.Errorf("data is not base64: %w", err))
			continue
		}
		rd, err := flowlog.NewReader(bytes.NewReader(data), fmt.Sprintf("record %d", i), s.format)
		if err != nil {
			bad(i, err)
			continue
		}
		for {
			it, err := rd.Next(&rec)
			if err == io.EOF {
				break
			}
			if err != nil {
				bad(i, err)
				if errors.Is(err, flowlog.ErrRead) {
					break
				}
				continue
			}
			if it.Event != "" {
				owner := it.Owner
				if owner == "" {
					owner = account
				}
				b.AddEvent(s.cfg.Topics, it.Event, it.LogStream, owner, region, it.Data)
				s.m.records.WithLabelValues(it.Event).Inc()
				continue
			}
			if rec.Region == "" {
				rec.Region = region
			}
			b.AddRecord(s.cfg.Topics, &rec)
			s.m.records.WithLabelValues(rec.Kind.String()).Inc()
		}
		if n := rd.ControlMessages(); n > 0 {
			s.m.records.WithLabelValues("control").Add(float64(n))
		}
	}
}

func (s *Server) authorized(key string) bool {
	if len(s.cfg.AccessKeys) == 0 {
		return true
	}
	ok := false
	for _, k := range s.cfg.AccessKeys {
		if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
			ok = true
		}
	}
	return ok
}

// readRequest reads and checks the JSON body, gunzipping it when Content-Encoding says so.
func (s *Server) readRequest(r *http.Request) (*Request, error) {
	var body io.Reader = http.MaxBytesReader(nil, r.Body, s.cfg.MaxBodyBytes)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		defer zr.Close()
		body = io.LimitReader(zr, s.cfg.MaxBodyBytes+1)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	if int64(len(data)) > s.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("body larger than %d bytes", s.cfg.MaxBodyBytes)
	}
	return ParseRequest(data)
}

// ParseRequest reads a Firehose request body.
func ParseRequest(data []byte) (*Request, error) {
	var req Request
	// Unmarshal refuses data after the object too.
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, fmt.Errorf("body is not a Firehose request: %w", err)
	}
	if req.Records == nil {
		return nil, errors.New("body is not a Firehose request: no records array")
	}
	return &req, nil
}

func (s *Server) reply(w http.ResponseWriter, status int, id, msg, result string) {
	s.m.requests.WithLabelValues(result).Inc()
	if status != http.StatusOK {
		s.log.Info("request refused", "request_id", id, "status", status, "err", msg)
	}
	resp, _ := json.Marshal(Response{RequestID: id, Timestamp: time.Now().UnixMilli(), ErrorMessage: msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(resp)
}

// sourceAccountRegion reads the account and region of a delivery stream ARN
// (arn:aws:firehose:us-east-1:123456789012:deliverystream/name).
func sourceAccountRegion(arn string) (account, region string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return "", ""
	}
	return parts[4], parts[3]
}
