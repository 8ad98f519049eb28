package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/sinks"
)

// cutter records the batches a batcher cuts, as [first,last] ranges.
type cutter struct{ cuts []string }

func (c *cutter) cut(_ context.Context, st *partState) (*partState, error) {
	if len(st.batch.Records) != st.n {
		return nil, fmt.Errorf("batch of %d messages holds %d records", st.n, len(st.batch.Records))
	}
	c.cuts = append(c.cuts, fmt.Sprintf("[%d,%d]", st.batch.FirstOffset, st.batch.LastOffset))
	st.reset()
	return st, nil
}

func testBatcher(t *testing.T, maxRecords int, start int64, in *Intent) (*batcher, *cutter) {
	t.Helper()
	cfg := DefaultRunnerConfig()
	cfg.StateDir = t.TempDir()
	cfg.MaxRecords, cfg.MaxAge = maxRecords, time.Minute
	r, err := NewRunner(cfg, []sinks.Sink{&countSink{}}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if r.intents, err = openIntents(r.stateDir()); err != nil {
		t.Fatal(err)
	}
	if in != nil {
		if err := r.intents.put(*in); err != nil {
			t.Fatal(err)
		}
	}
	c := &cutter{}
	return newBatcher(r, tp{TopicVPC, 0}, start, c.cut), c
}

// feed hands the batcher messages [from, to] as one fetch that ended at hwm.
func feed(t *testing.T, b *batcher, from, to, hwm int64, produced, now time.Time) {
	t.Helper()
	rec := makeRecords(1, 1, 0, map[string]uint64{})[0]
	value := flowlog.AppendJSON(nil, &rec)
	b.hwm = hwm
	for off := from; off <= to; off++ {
		m := kafkago.Message{Topic: TopicVPC, Offset: off, Value: value, Time: produced,
			Headers: []kafkago.Header{{Key: HeaderKind, Value: []byte("vpc")}}}
		if err := b.handle(context.Background(), &m); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.fetchEnded(context.Background(), to+1, hwm, now); err != nil {
		t.Fatal(err)
	}
}

func wantCuts(t *testing.T, c *cutter, want ...string) {
	t.Helper()
	if fmt.Sprint(c.cuts) != fmt.Sprint(want) {
		t.Fatalf("cuts %v, want %v", c.cuts, want)
	}
}

func TestBatcherLivePartitionCutsByAge(t *testing.T) {
	b, c := testBatcher(t, 1000, 0, nil)
	now := time.Now()
	feed(t, b, 0, 9, 10, now, now) // every fetch reads all there is: no backlog
	feed(t, b, 10, 19, 20, now, now.Add(30*time.Second))
	wantCuts(t, c)
	feed(t, b, 20, 19, 20, now, b.cur.started.Add(time.Minute)) // an empty fetch a minute on
	wantCuts(t, c, "[0,19]")
}

func TestBatcherBacklogCutsAtHighWatermark(t *testing.T) {
	b, c := testBatcher(t, 100, 0, nil)
	now := time.Now()
	feed(t, b, 0, 59, 250, now, now)   // behind: the fetch stopped short of the end
	feed(t, b, 60, 159, 250, now, now) // cut at 100 records
	feed(t, b, 160, 249, 250, now, now)
	wantCuts(t, c, "[0,99]", "[100,199]", "[200,249]")
	// Caught up: the partition reads live again and cuts by age.
	feed(t, b, 250, 259, 260, now, now)
	wantCuts(t, c, "[0,99]", "[100,199]", "[200,249]")
}

func TestBatcherOldMessagesCutAtHighWatermark(t *testing.T) {
	b, c := testBatcher(t, 1000, 0, nil)
	now := time.Now()
	feed(t, b, 0, 9, 10, now.Add(-2*time.Minute), now) // produced before MaxAge: overdue
	wantCuts(t, c, "[0,9]")
}

func TestBatcherReformsIntentExactly(t *testing.T) {
	// The crashed run cut [5,12]; this one starts at 3 with batches of 4 records.
	b, c := testBatcher(t, 4, 3, &Intent{Topic: TopicVPC, Partition: 0, First: 5, Last: 12})
	now := time.Now()
	feed(t, b, 3, 20, 21, now, now)
	// Messages before the intent form their own batch, the intent's range is one batch
	// whatever MaxRecords says, then batches of 4; the rest waits for the high watermark
	// rule (not behind) or age.
	wantCuts(t, c, "[3,4]", "[5,12]", "[13,16]", "[17,20]")
}

func TestBatcherIntentEndingInAGap(t *testing.T) {
	b, c := testBatcher(t, 100, 5, &Intent{Topic: TopicVPC, Partition: 0, First: 5, Last: 12})
	now := time.Now()
	feed(t, b, 5, 10, 11, now, now)
	wantCuts(t, c) // inside the intent: neither age nor high watermark cuts it
	feed(t, b, 15, 16, 17, now, now)
	wantCuts(t, c, "[5,10]")
}

// TestBatcherReusedSlotsHoldOnlyTheirRecord: a partition's record slots serve batch after
// batch and are cleared only where records before may have set fields (partState.dirty), so
// messages of different shapes in turn must each decode exactly as into a zero record.
func TestBatcherReusedSlotsHoldOnlyTheirRecord(t *testing.T) {
	seq := map[string]uint64{}
	full := makeRecords(1, 1, 0, seq)[0]
	tgw := makeRecords(2, 1, 2, seq)[1]
	short := flowlog.Record{Kind: flowlog.KindVPC, Version: 2, AccountID: full.AccountID, InterfaceID: full.InterfaceID,
		SrcAddr: full.SrcAddr, DstAddr: full.DstAddr, Protocol: 17, Packets: 1, Bytes: 80, Start: full.Start, End: full.End,
		Action: flowlog.ActionReject, LogStatus: flowlog.StatusOK}
	full.ECSClusterName, full.RejectReason, full.InstanceTag = "cluster-1", "BPA", "web" // groups the others lack
	shapes := [][]byte{flowlog.AppendJSON(nil, &full), flowlog.AppendJSON(nil, &tgw), flowlog.AppendJSON(nil, &short)}

	b, c := testBatcher(t, 16, 0, nil)
	var values [][]byte
	checked := 0
	b.cut = func(ctx context.Context, st *partState) (*partState, error) {
		for i := range st.batch.Records {
			var want flowlog.Record
			if err := flowlog.ParseJSON(values[st.batch.FirstOffset+int64(i)], &want); err != nil {
				return nil, err
			}
			want.Kind = flowlog.KindVPC // from the message's header
			got := &st.batch.Records[i]
			if *got != want {
				return nil, fmt.Errorf("offset %d decoded as\n%+v\nwant\n%+v", st.batch.FirstOffset+int64(i), *got, want)
			}
			checked++
		}
		return c.cut(ctx, st)
	}
	const n = 400
	for off := range int64(n) {
		values = append(values, shapes[(off*off/7+off)%3]) // the shapes in an irregular order
		m := kafkago.Message{Topic: TopicVPC, Offset: off, Value: values[off],
			Headers: []kafkago.Header{{Key: HeaderKind, Value: []byte("vpc")}}}
		if err := b.handle(context.Background(), &m); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if checked != n || len(c.cuts) < n/16 {
		t.Fatalf("%d records checked in %d batches, want %d in at least %d", checked, len(c.cuts), n, n/16)
	}
}
