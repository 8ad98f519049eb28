package importer

import (
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/flowmsg"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/lake/objstore"
)

// chunk is a run of records of one object: parsed by the reader, then encoded as messages by
// an encoder. done is how many records of the object are in Kafka once the chunk is, and last
// says the object is then complete.
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

	flowmsg.Batch
	hdrs   []kafkago.Header           // the messages' headers
	groups map[topicPartition][]int32 // message indexes per destination partition
	ready  chan struct{}              // closed once encoded

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
			for c := range p.work {
				im.encode(c)
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
		c = &chunk{groups: map[topicPartition][]int32{}}
		n := p.im.cfg.ChunkRecords
		c.recs = make([]flowlog.Record, 0, n)
		c.Msgs = make([]kafkago.Message, 0, n+1)
		c.Buf = make([]byte, 0, n*512)
	}
	if cap(c.Buf) > 256<<20 { // very large buffers are dropped to bound memory
		c.Buf = nil
	}
	c.Reset()
	*c = chunk{key: o.Key, object: objectHash(o.Key), size: o.Size, Batch: c.Batch, groups: c.groups,
		recs: c.recs[:0], ns: c.ns[:0], events: c.events[:0], hdrs: c.hdrs[:0], ready: make(chan struct{})}
	for k, v := range c.groups {
		c.groups[k] = v[:0]
	}
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

// encode turns the chunk's records and events into messages, as kafka.Producer encodes them
// plus the flowtap-import header, and groups them by partition.
func (im *Importer) encode(c *chunk) {
	t := im.cfg.Topics
	prefix := im.id + " " + strconv.FormatUint(c.object, 16) + " "
	want := 2 * c.count()
	if cap(c.hdrs) < want+len(c.events) {
		c.hdrs = make([]kafkago.Header, 0, want+2*len(c.events))
	}
	for i := range c.recs {
		c.AddRecord(t, &c.recs[i])
		im.finishMessage(c, prefix, c.ns[i])
	}
	for _, e := range c.events {
		c.AddEvent(t, e.it.Event, e.it.LogStream, e.it.Owner, "", e.it.Data)
		im.finishMessage(c, prefix, e.n)
	}
}

// finishMessage adds the import header to the last message and files it under its partition.
func (im *Importer) finishMessage(c *chunk, prefix string, n int64) {
	i := len(c.Msgs) - 1
	m := &c.Msgs[i]
	start := len(c.Buf)
	c.Buf = append(c.Buf, prefix...)
	c.Buf = strconv.AppendInt(c.Buf, n, 10)
	h := len(c.hdrs)
	c.hdrs = append(c.hdrs, m.Headers...)
	c.hdrs = append(c.hdrs, kafkago.Header{Key: kafka.HeaderImport, Value: c.Buf[start:len(c.Buf):len(c.Buf)]})
	m.Headers = c.hdrs[h:len(c.hdrs):len(c.hdrs)]
	tp := topicPartition{m.Topic, im.out.partition(m.Topic, m.Key)}
	c.groups[tp] = append(c.groups[tp], int32(i))
}

// sendAll dispatches the chunks' produce requests, in chunk order, to one sender per
// partition, so that partitions stream independently and one chunk's slowest partition does
// not hold up the others; the committer checkpoints the chunks in order as they become
// acknowledged. After a failed request nothing more is sent and nothing after the gap is
// checkpointed (a resumed run finds in Kafka whatever was sent past it).
func (im *Importer) sendAll(p *pipeline) error {
	senders := map[topicPartition]chan request{}
	var swg sync.WaitGroup
	var failed atomic.Bool
	committed := make(chan *chunk, cap(p.free))
	cerr := make(chan error, 1)
	go func() { cerr <- im.commitAll(p, committed) }()
	var derr error
	for c := range p.order {
		<-c.ready
		c.acked = make(chan struct{})
		if derr == nil && im.cfg.StateFile != "" && len(c.Msgs) > 0 {
			// Taken before any message of c is sent: a valid resumption offset for a
			// checkpoint at or after c's start.
			c.ends, derr = im.out.endOffsets()
		}
		if derr == nil {
			derr = im.out.check(c)
		}
		if derr != nil || failed.Load() {
			c.fail(derr)
			close(c.acked)
			committed <- c
			continue
		}
		reqs := im.out.split(c)
		c.pending.Store(int64(len(reqs)) + 1)
		for _, r := range reqs {
			ch := senders[r.tp]
			if ch == nil {
				ch = make(chan request, 64)
				senders[r.tp] = ch
				swg.Go(func() {
					for r := range ch {
						var err error
						if failed.Load() {
							err = errors.New("an earlier request failed")
						} else if err = im.out.request(r.tp, r.c.Msgs, r.idx); err != nil {
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

// request is one produce request: some messages of a chunk for one partition.
type request struct {
	c   *chunk
	tp  topicPartition
	idx []int32
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
		im.prog.records(int64(len(c.Msgs)), im.bytesRead.Load())
		if c.last {
			im.prog.objectDone(c.size)
		}
	}
}
