package loki

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/s2"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/sinks"
)

// randomRecord is a record of kind VPC or TGW with every field drawn at random: absent or
// present, IPv4, IPv6 and IPv4-mapped addresses, counters past MaxInt64, enum values out
// of range, an explicit or computed version, and now and then unknown columns (Extra).
func randomRecord(rng *rand.Rand, baseTime int64) flowlog.Record {
	var r flowlog.Record
	if rng.IntN(8) == 0 {
		r.Kind = flowlog.KindTGW
	}
	str := func(prefix string) string {
		switch rng.IntN(6) {
		case 0:
			return ""
		case 1:
			return "-"
		}
		return prefix + string(rune('a'+rng.IntN(26))) + "0123456789abcdef"[:1+rng.IntN(16)]
	}
	addr := func() netip.Addr {
		switch rng.IntN(6) {
		case 0:
			return netip.Addr{}
		case 1:
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			if rng.IntN(2) == 0 {
				b[4], b[5], b[6], b[7] = 0, 0, 0, 0 // runs of zeros: "::" in the text
			}
			return netip.AddrFrom16(b)
		case 2:
			return netip.AddrFrom16(netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), 0, 1}).As16()) // ::ffff:10.x.0.1
		}
		return netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	num := func() uint64 {
		switch rng.IntN(5) {
		case 0:
			return 0
		case 1:
			return uint64(rng.IntN(10))
		case 2:
			return math.MaxUint64 - uint64(rng.IntN(3)) // prints negative, as Record.Int returns int64
		case 3:
			return uint64(math.MaxInt64) + uint64(rng.IntN(2))
		}
		return rng.Uint64() >> rng.IntN(64)
	}
	r.Version = uint8(rng.IntN(3) * rng.IntN(12))
	r.AccountID, r.InterfaceID = str("1234"), str("eni-")
	r.SrcAddr, r.DstAddr, r.PktSrcAddr, r.PktDstAddr = addr(), addr(), addr(), addr()
	r.SrcPort, r.DstPort, r.Protocol = uint16(num()), uint16(num()), uint8(num())
	r.Packets, r.Bytes = num(), num()
	r.Start = baseTime + int64(rng.IntN(120)) - 60
	r.End = r.Start + int64(rng.IntN(60))
	if rng.IntN(20) == 0 {
		r.Start = -r.Start
	}
	r.Action, r.LogStatus = flowlog.Action(rng.IntN(4)), flowlog.LogStatus(rng.IntN(5))
	r.FlowDirection, r.Type = flowlog.Direction(rng.IntN(4)), flowlog.AddrType(rng.IntN(5))
	r.TCPFlags, r.TrafficPath, r.EncryptionStatus = uint8(num()), uint8(num()), uint8(num())
	r.VPCID, r.SubnetID, r.InstanceID, r.Region = str("vpc-"), str("subnet-"), str("i-"), str("us-")
	r.AZID, r.PktSrcAWSService, r.RejectReason = str("use1-az"), str("S3"), str("BPA")
	r.ResourceType, r.TGWID, r.TGWAttachmentID = str("Transit"), str("tgw-"), str("tgw-attach-")
	r.TGWSrcENI, r.TGWDstAZID = str("eni-"), str("use1-az")
	r.PacketsLostNoRoute, r.PacketsLostMTUExceeded = num(), num()
	for _, f := range flowlog.AllFields() {
		if rng.IntN(6) == 0 {
			r.Null = r.Null.With(f)
		}
	}
	if rng.IntN(10) == 0 {
		r.SetExtra("new-field", str("x"))
		if rng.IntN(2) == 0 {
			r.SetExtra("other.field", str("y"))
		}
	}
	return r
}

// plainPushes is what Write must send for recs, computed the plain way: each record's line
// by Format.AppendText, lines grouped by label set in the order the sets first appear in a
// push, a new push when the next line would take the push over MaxPushBytes of lines, each
// stream's entries sorted by time (stably), and the request encoded by Loki's own code.
func plainPushes(t *testing.T, s *Sink, recs []flowlog.Record) [][]byte {
	var pushes [][]byte
	var req push.PushRequest
	index := map[string]int{}
	size := 0
	emit := func() {
		if len(req.Streams) == 0 {
			return
		}
		for i := range req.Streams {
			slices.SortStableFunc(req.Streams[i].Entries, func(a, b push.Entry) int { return a.Timestamp.Compare(b.Timestamp) })
		}
		raw, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		pushes = append(pushes, raw)
		req, size = push.PushRequest{}, 0
		clear(index)
	}
	for i := range recs {
		r := &recs[i]
		f := s.vpc
		if r.Kind == flowlog.KindTGW {
			f = s.tgw
		}
		if r.Extra != "" {
			f = f.WithExtras(r.ExtraNames()...)
		}
		line := string(f.AppendText(nil, r))
		if size > 0 && size+len(line) > s.cfg.MaxPushBytes {
			emit()
		}
		labels := s.Labels(r)
		j, ok := index[labels]
		if !ok {
			j = len(req.Streams)
			index[labels] = j
			req.Streams = append(req.Streams, push.Stream{Labels: labels})
		}
		req.Streams[j].Entries = append(req.Streams[j].Entries, push.Entry{Timestamp: Timestamp(r), Line: line})
		size += len(line)
	}
	emit()
	return pushes
}

// Write sends, push for push, byte for byte the protobuf that plainPushes makes, for random
// records (VPC and TGW, absent values, IPv6, unknown columns, times out of order within a
// stream) under the default formats and every field of each kind, with and without
// log_stream, in small and large pushes, Write after Write on the same pooled buffers.
func TestWriteSendsThePlainEncoding(t *testing.T) {
	var mu sync.Mutex
	var got [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, err := s2.Decode(nil, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, raw)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name      string
		configure func(*Config)
	}{
		{"defaults", func(*Config) {}},
		{"small pushes", func(c *Config) { c.MaxPushBytes = 700 }},
		{"all fields, no log_stream", func(c *Config) {
			c.VPCFormat, c.TGWFormat, c.StreamLabel = flowlog.AllVPC.String(), flowlog.AllTGW.String(), false
		}},
	} {
		cfg := DefaultConfig()
		cfg.URL = srv.URL
		tc.configure(&cfg)
		s, err := New(cfg, component.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		for batch := range 4 {
			recs := make([]flowlog.Record, 300+rng.IntN(3000))
			for i := range recs {
				recs[i] = randomRecord(rng, 1767225600+int64(i/50))
				if rng.IntN(4) > 0 { // most records share a few interfaces
					recs[i].InterfaceID = fmt.Sprintf("eni-%017x", rng.IntN(12))
					recs[i].TGWID = fmt.Sprintf("tgw-%017x", rng.IntN(3))
					recs[i].AccountID, recs[i].Region = "123456789012", "us-east-1"
				}
			}
			if batch == 0 { // in time order
				slices.SortStableFunc(recs, func(a, b flowlog.Record) int { return Timestamp(&a).Compare(Timestamp(&b)) })
			}
			mu.Lock()
			got = got[:0]
			mu.Unlock()
			if err := s.Write(context.Background(), &sinks.Batch{Records: recs}); err != nil {
				t.Fatal(err)
			}
			want := plainPushes(t, s, recs)
			mu.Lock()
			if len(got) != len(want) {
				t.Fatalf("%s, batch %d: %d pushes, want %d", tc.name, batch, len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("%s, batch %d: push %d of %d differs from the plain encoding (%d bytes, want %d)",
						tc.name, batch, i, len(want), len(got[i]), len(want[i]))
				}
			}
			mu.Unlock()
		}
	}
}
