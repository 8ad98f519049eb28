package flowlog

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// benchRecords returns n realistic default-format VPC records.
func benchRecords(n int) []Record {
	rng := rand.New(rand.NewPCG(7, 7))
	recs := make([]Record, n)
	for i := range recs {
		r := &recs[i]
		r.AccountID = "123456789012"
		r.InterfaceID = fmt.Sprintf("eni-%017x", rng.Uint64()>>4)
		r.SrcAddr = netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(256)), byte(rng.IntN(256))})
		r.DstAddr = netip.AddrFrom4([4]byte{52, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		r.SrcPort = uint16(32768 + rng.IntN(28000))
		r.DstPort = []uint16{443, 80, 22, 5432}[rng.IntN(4)]
		r.Protocol = 6
		r.Packets = uint64(1 + rng.IntN(5000))
		r.Bytes = r.Packets * uint64(40+rng.IntN(1400))
		r.Start = 1700000000 + int64(rng.IntN(600))
		r.End = r.Start + int64(rng.IntN(60))
		r.Action = ActionAccept
		r.LogStatus = StatusOK
	}
	return recs
}

func BenchmarkEncodeText(b *testing.B) {
	recs := benchRecords(1024)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = DefaultVPC.AppendText(buf[:0], &recs[i&1023])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrec/s")
}

// BenchmarkEncodeBaselineSprintf is the naive baseline for the encode ratio.
func BenchmarkEncodeBaselineSprintf(b *testing.B) {
	recs := benchRecords(1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := &recs[i&1023]
		_ = fmt.Sprintf("%d %s %s %s %s %d %d %d %d %d %d %d %s %s", 2, r.AccountID, r.InterfaceID, r.SrcAddr, r.DstAddr,
			r.SrcPort, r.DstPort, r.Protocol, r.Packets, r.Bytes, r.Start, r.End, r.Action, r.LogStatus)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrec/s")
}

func benchLines() [][]byte {
	recs := benchRecords(1024)
	lines := make([][]byte, len(recs))
	for i := range recs {
		lines[i] = DefaultVPC.AppendText(nil, &recs[i])
	}
	return lines
}

func BenchmarkParseText(b *testing.B) {
	lines := benchLines()
	strs := make([]string, len(lines))
	for i, l := range lines {
		strs[i] = string(l)
	}
	var r Record
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := DefaultVPC.Parse(&r, strs[i&1023]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mline/s")
}

func BenchmarkParseBytes(b *testing.B) {
	lines := benchLines()
	var r Record
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := DefaultVPC.ParseBytes(&r, lines[i&1023]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mline/s")
}

// BenchmarkParseBaselineSplit is the naive baseline: strings.Split plus nothing else.
func BenchmarkParseBaselineSplit(b *testing.B) {
	lines := benchLines()
	strs := make([]string, len(lines))
	for i, l := range lines {
		strs[i] = string(l)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if len(strings.Split(strs[i&1023], " ")) != 14 {
			b.Fatal("bad line")
		}
	}
}

func BenchmarkEncodeJSON(b *testing.B) {
	recs := benchRecords(1024)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendJSON(buf[:0], &recs[i&1023])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrec/s")
}

func BenchmarkParseJSON(b *testing.B) {
	msgs := benchMessages(1024)
	var r Record
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ParseJSON(msgs[i&1023], &r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrec/s")
}

// TestEncodeAllocsZero keeps the zero-allocation promise of the encoder honest.
func TestEncodeAllocsZero(t *testing.T) {
	recs := benchRecords(16)
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		for i := range recs {
			buf = DefaultVPC.AppendText(buf[:0], &recs[i])
			buf = AllVPC.AppendText(buf[:0], &recs[i])
			buf = AppendJSON(buf[:0], &recs[i])
		}
	})
	if allocs != 0 {
		t.Fatalf("encoding allocates %.1f times per run, want 0", allocs)
	}
	_ = bytes.MinRead
}

// BenchmarkParseJSONCopy is BenchmarkParseJSON the way the Kafka consumer parses: strings
// copied into an arena reset every batch, keys predicted from the order learnt.
func BenchmarkParseJSONCopy(b *testing.B) {
	msgs := benchMessages(1024)
	var r Record
	var arena Strings
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i&8191 == 0 {
			arena.Reset()
		}
		if err := ParseJSONCopy(msgs[i&1023], &r, &arena); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrec/s")
}

// benchMessages returns n benchmark records as Kafka message values (AppendJSON).
func benchMessages(n int) [][]byte {
	recs := benchRecords(n)
	msgs := make([][]byte, len(recs))
	for i := range recs {
		msgs[i] = AppendJSON(nil, &recs[i])
	}
	return msgs
}
