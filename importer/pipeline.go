package importer

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/flowmsg"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/rawbatch"
	"github.com/flowtap/flowtap/lake/objstore"
)

// chunk is a run of records of one object: parsed by the reader, then encoded into produce
// requests by an encoder. done is how many records of the object are in Kafka once the
// chunk is, and last says the object is then complete.
type chunk struct {
	key     string
	object  uint64 // objectHash(key)
	size    int64
	done    int64
	last    bool
	present int64 // records found already in Kafka that the reader skipped, up to this chunk

	recs   []flowlog.Record // parsed records; ns holds each one's number in the object
	ns     []int64
	events []event

	reqs   []request     // the encoded produce requests, each partition's in order
	sets   [][]byte      // the memory of the requests' record sets, kept for the chunk's next use
	msgs   int           // messages encoded
	encErr error         // why the chunk could not be encoded
	ready  chan struct{} // closed once encoded

	ends    map[string][]int64 // end offsets taken before the chunk was sent
	pending atomic.Int64       // its requests not finished yet
	acked   chan struct{}      // closed when all are
	mu      sync.Mutex
	err     error // the first request error
}

// event is a VPN log event of the object, with its number in the object.
type event struct {
	n  int64
	it flowlog.Item
}

type topicPartition struct {
	topic     string
	partition int
}

// slot returns the record the reader parses into next; addRecord keeps it in the chunk.
func (c *chunk) slot() *flowlog.Record {
	if len(c.recs) == cap(c.recs) {
		c.recs = append(c.recs, flowlog.Record{})[:len(c.recs)]
	}
	return &c.recs[:len(c.recs)+1][len(c.recs)]
}

func (c *chunk) addRecord(n int64) {
	c.recs = c.recs[:len(c.recs)+1]
	c.ns = append(c.ns, n)
}

func (c *chunk) addEvent(n int64, it flowlog.Item) { c.events = append(c.events, event{n, it}) }

func (c *chunk) count() int { return len(c.recs) + len(c.events) }

// pipeline moves chunks from the reader through the encoders to the sender, which keeps
// their order; a bounded pool of chunks bounds memory.
type pipeline struct {
	im    *Importer
	free  chan *chunk
	made  int
	work  chan *chunk
	order chan *chunk
	encWG sync.WaitGroup
	done  chan error
	state *stateWriter
}

func (im *Importer) startPipeline() *pipeline {
	n := max(1, runtime.GOMAXPROCS(0)) // encoders
	pool := n + 2
	p := &pipeline{im: im, free: make(chan *chunk, pool), made: pool, work: make(chan *chunk, pool),
		order: make(chan *chunk, pool), done: make(chan error, 1), state: im.newStateWriter()}
	for i := 0; i < pool; i++ {
		p.free <- nil // allocated on first use
	}
	for i := 0; i < n; i++ {
		p.encWG.Go(func() {
			e := im.newEncoder()
			for c := range p.work {
				e.encode(c)
				close(c.ready)
			}
		})
	}
	go func() { p.done <- im.sendAll(p) }()
	return p
}

// newChunk returns an empty chunk for object o, waiting for one to be free.
func (p *pipeline) newChunk(o objstore.Object) *chunk {
	c := <-p.free
	if c == nil {
		c = &chunk{recs: make([]flowlog.Record, 0, p.im.cfg.ChunkRecords)}
	}
	*c = chunk{key: o.Key, object: objectHash(o.Key), size: o.Size, recs: c.recs[:0], ns: c.ns[:0],
		events: c.events[:0], reqs: c.reqs[:0], sets: c.sets, ready: make(chan struct{})}
	return c
}

// send hands c to the encoders and the sender.
func (p *pipeline) send(c *chunk) {
	c.present = p.im.stats.Present
	if p.im.handed != nil {
		p.im.handed(c.key, c.done)
	}
	p.work <- c
	p.order <- c
}

// finish waits until every chunk handed over is produced and checkpointed.
func (p *pipeline) finish() error {
	close(p.work)
	close(p.order)
	p.encWG.Wait()
	err := <-p.done
	if serr := p.state.close(); err == nil {
		err = serr
	}
	return err
}

// encoder turns chunks into produce requests: every record and event becomes the message
// kafka.Producer would write (flowmsg) plus the flowtap-import header, appended to its
// partition's record set at once, and every record set is compressed into a record batch
// when it holds requestBytes or the chunk ends. One per encoding goroutine, so that JSON,
// record layout and compression run on every core.
type encoder struct {
	im   *Importer
	msg  flowmsg.Batch // the message being encoded
	hdrs []kafkago.Header
	imp  []byte                         // the flowtap-import header's value
	sets map[string][]*rawbatch.Records // per topic, by partition; nil: no such topic
}

func (im *Importer) newEncoder() *encoder {
	e := &encoder{im: im, sets: map[string][]*rawbatch.Records{}}
	for topic, n := range im.out.parts {
		e.sets[topic] = make([]*rawbatch.Records, n) // made on first use (each has an lz4 compressor)
	}
	return e
}

func (e *encoder) encode(c *chunk) {
	t := e.im.cfg.Topics
	prefix := e.im.id + " " + strconv.FormatUint(c.object, 16) + " "
	for i := range c.recs {
		e.msg.Reset()
		e.msg.AddRecord(t, &c.recs[i])
		e.add(c, prefix, c.ns[i])
	}
	for _, ev := range c.events {
		e.msg.Reset()
		e.msg.AddEvent(t, ev.it.Event, ev.it.LogStream, ev.it.Owner, "", ev.it.Data)
		e.add(c, prefix, ev.n)
	}
	for topic, parts := range e.sets {
		for i, s := range parts {
			if s != nil && s.Len() > 0 {
				e.seal(c, topicPartition{topic, i}, s)
			}
		}
	}
}

// add files the message just encoded, with its import header, under its partition.
func (e *encoder) add(c *chunk, prefix string, n int64) {
	m := &e.msg.Msgs[0]
	parts := e.sets[m.Topic]
	if len(parts) == 0 {
		if c.encErr == nil {
			c.encErr = fmt.Errorf("topic %s does not exist", m.Topic)
		}
		return
	}
	e.imp = strconv.AppendInt(append(e.imp[:0], prefix...), n, 10)
	e.hdrs = append(append(e.hdrs[:0], m.Headers...), kafkago.Header{Key: kafka.HeaderImport, Value: e.imp})
	tp := topicPartition{m.Topic, kafka.PartitionOf(m.Key, len(parts))}
	s := parts[tp.partition]
	if s == nil {
		s = &rawbatch.Records{}
		parts[tp.partition] = s
	}
	size := len(m.Key) + len(m.Value) + 16 // the record's size, varints and attributes at most
	for _, h := range e.hdrs {
		size += len(h.Key) + len(h.Value) + 4
	}
	if s.Len() > 0 && s.Size()+size > e.im.out.requestBytes {
		e.seal(c, tp, s)
	}
	s.Add(m.Key, m.Value, e.hdrs)
	c.msgs++
}

// seal turns s into the chunk's next request for tp, and empties it.
func (e *encoder) seal(c *chunk, tp topicPartition, s *rawbatch.Records) {
	defer s.Reset()
	i := len(c.reqs)
	if i == len(c.sets) {
		c.sets = append(c.sets, nil)
	}
	set, err := s.Seal(c.sets[i], e.im.out.codec, time.Now())
	if err != nil {
		if c.encErr == nil {
			c.encErr = fmt.Errorf("%s/%d: %w", tp.topic, tp.partition, err)
		}
		return
	}
	c.sets[i] = set
	c.reqs = append(c.reqs, request{c: c, tp: tp, set: set})
}

// sendAll dispatches the chunks' produce requests, in chunk order, to one sender per
// partition, so that partitions stream independently and one chunk's slowest partition does
// not hold up the others; the committer checkpoints the chunks in order as they become
// acknowledged. After a failed request nothing more is sent and nothing after the gap is
// checkpointed (a resumed run finds in Kafka whatever was sent past it).
func (im *Importer) sendAll(p *pipeline) error {
	senders := map[topicPartition]chan *request{}
	var swg sync.WaitGroup
	var failed atomic.Bool
	committed := make(chan *chunk, cap(p.free))
	cerr := make(chan error, 1)
	go func() { cerr <- im.commitAll(p, committed) }()
	var derr error
	for c := range p.order {
		<-c.ready
		c.acked = make(chan struct{})
		if derr == nil && im.cfg.StateFile != "" && c.msgs > 0 {
			// Taken before any message of c is sent: a valid resumption offset for a
			// checkpoint at or after c's start.
			c.ends, derr = im.out.endOffsets()
		}
		if derr == nil {
			derr = c.encErr
		}
		if derr != nil || failed.Load() {
			c.fail(derr)
			close(c.acked)
			committed <- c
			continue
		}
		c.pending.Store(int64(len(c.reqs)) + 1)
		for i := range c.reqs {
			r := &c.reqs[i]
			ch := senders[r.tp]
			if ch == nil {
				ch = make(chan *request, 64)
				senders[r.tp] = ch
				swg.Go(func() {
					for r := range ch {
						var err error
						if failed.Load() {
							err = errors.New("an earlier request failed")
						} else if err = im.out.request(r.tp, r.set); err != nil {
							failed.Store(true)
						}
						r.c.finish(err)
					}
				})
			}
			ch <- r
		}
		c.finish(nil)
		committed <- c
	}
	for _, ch := range senders {
		close(ch)
	}
	swg.Wait()
	close(committed)
	err := <-cerr
	if err == nil {
		err = derr
	}
	return err
}

// request is one produce request: some messages of a chunk for one partition, as the
// record set sent.
type request struct {
	c   *chunk
	tp  topicPartition
	set []byte
}

// fail records the chunk's first error.
func (c *chunk) fail(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

// finish ends one of the chunk's requests (or its dispatch); the last one acknowledges it.
func (c *chunk) finish(err error) {
	c.fail(err)
	if c.pending.Add(-1) == 0 {
		close(c.acked)
	}
}

// commitAll checkpoints the chunks in order as they are acknowledged, and frees them.
func (im *Importer) commitAll(p *pipeline, chunks <-chan *chunk) error {
	var failed error
	for c := range chunks {
		<-c.acked
		if failed == nil && c.err != nil {
			failed = fmtProduceErr(c.key, c.err, im.state)
		}
		if failed == nil {
			im.commit(p, c)
		}
		p.free <- c
	}
	return failed
}

// commit records that c is in Kafka.
func (im *Importer) commit(p *pipeline, c *chunk) {
	// While records a killed run produced lie ahead, the old offsets still point at them.
	if c.ends != nil && c.present >= im.presentTotal {
		im.state.Ends = c.ends
	}
	if c.last {
		im.state.Done, im.state.Current, im.state.Records = c.key, "", 0
	} else {
		im.state.Current, im.state.Records = c.key, c.done
	}
	p.state.put(im.state)
	if im.prog != nil {
		im.prog.records(int64(c.msgs), im.bytesRead.Load())
		if c.last {
			im.prog.objectDone(c.size)
		}
	}
}
