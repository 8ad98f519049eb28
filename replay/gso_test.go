package replay

import (
	"testing"

	"golang.org/x/net/ipv4"
)

// FuzzPackRuns: for any datagram sizes, pack lays every datagram out once, in order; a
// message of several is a run of one size (its last may be shorter) within the segment
// limit, 64 datagrams and 65 507 bytes; and a run ends only where the next datagram
// could not join it.
func FuzzPackRuns(f *testing.F) {
	f.Add([]byte{10, 10, 10, 5, 10, 10}, uint16(1472))
	f.Add([]byte{200, 200, 200, 200}, uint16(100))
	f.Add([]byte{255, 255, 255, 255, 255, 255, 255, 255}, uint16(9000))
	f.Fuzz(func(t *testing.T, spec []byte, limit uint16) {
		const batch = 200
		if len(spec) > batch {
			spec = spec[:batch]
		}
		s := &sender{gso: int(limit), msgs: make([]ipv4.Message, batch), iov: make([][]byte, batch), segs: make([]int, batch)}
		s.control = make([][]byte, batch)
		for i := range s.control {
			s.control[i] = make([]byte, 64)
		}
		buf := make([]byte, 256*40)
		for i, b := range spec {
			n := 8 + int(b)*40 // 8 to 10 208 bytes, often equal
			s.iov[i] = buf[:n:n]
		}
		nm := s.pack(len(spec))
		next := 0
		for m := 0; m < nm; m++ {
			bs := s.msgs[m].Buffers
			if len(bs) == 0 || len(bs) != s.segs[m] {
				t.Fatalf("message %d: %d buffers, %d segments", m, len(bs), s.segs[m])
			}
			total := 0
			for k, b := range bs {
				if len(b) != len(s.iov[next]) {
					t.Fatalf("message %d datagram %d is not datagram %d of the batch", m, k, next)
				}
				next++
				total += len(b)
				if k > 0 && (len(b) > len(bs[0]) || (len(b) < len(bs[0]) && k != len(bs)-1)) {
					t.Fatalf("message %d: sizes %d then %d at %d of %d", m, len(bs[0]), len(b), k, len(bs))
				}
			}
			if len(bs) == 1 {
				if s.msgs[m].OOB != nil {
					t.Fatalf("message %d of one datagram carries a GSO control", m)
				}
			} else if s.msgs[m].OOB == nil || len(bs) > gsoMaxSegments || total > maxPayload || len(bs[0]) > s.gso {
				t.Fatalf("message %d: %d datagrams of %d bytes, %d in all, limit %d", m, len(bs), len(bs[0]), total, s.gso)
			}
			// Greedy: the next datagram could not have joined this run.
			if next < len(spec) && len(bs[0]) <= s.gso && len(bs) < gsoMaxSegments {
				last, n := len(bs[len(bs)-1]), len(s.iov[next])
				if last == len(bs[0]) && n <= last && total+n <= maxPayload {
					t.Fatalf("message %d ended before datagram %d (%d bytes) that could join its run of %d", m, next, n, last)
				}
			}
		}
		if next != len(spec) {
			t.Fatalf("%d of %d datagrams laid out", next, len(spec))
		}
	})
}
