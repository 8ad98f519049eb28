package kafka

import (
	"encoding/binary"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

// BenchmarkDedupe observes a stream of fresh ids in four partitions at once (the sink's
// case: their windows compete for the cache).
func BenchmarkDedupe(b *testing.B) {
	ds := make([]*dedupe, 4)
	for i := range ds {
		ds[i] = newDedupe(DefaultDedupeWindow)
	}
	var id [idLen]byte
	binary.BigEndian.PutUint64(id[:8], 0x1234567890abcdef)
	hs := []kafkago.Header{{Key: HeaderKind, Value: []byte("vpc")}, {Key: HeaderID, Value: id[:]}}
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint64(id[8:], uint64(i))
		if ds[i&3].observe(int64(i>>2), hs) {
			b.Fatal("a fresh id taken for a copy")
		}
	}
}
