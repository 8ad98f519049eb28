package replay

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func TestReadPcapAndPcapng(t *testing.T) {
	frames := testFrames(t, 50)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(writePcap(t, layers.LinkTypeEthernet, frames))
	zw.Close()
	var nanos bytes.Buffer
	nw := pcapgo.NewWriterNanos(&nanos)
	nw.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for i, f := range frames {
		nw.WritePacket(ci(i, f), f)
	}
	eth := func(b []byte) capFile { return capFile{b, false} }
	rewrapped := func(b []byte) capFile { return capFile{b, true} }
	for name, file := range map[string]capFile{
		"pcap":       eth(writePcap(t, layers.LinkTypeEthernet, frames)),
		"pcap-nanos": eth(nanos.Bytes()),
		"pcap-gzip":  eth(gz.Bytes()),
		"pcapng":     eth(writePcapng(t, layers.LinkTypeEthernet, frames)),
		"pcapng-raw": rewrapped(writePcapng(t, layers.LinkTypeRaw, stripEthernet(frames))),
		"pcap-raw":   rewrapped(writePcap(t, layers.LinkTypeRaw, stripEthernet(frames))),
		"pcap-ipv4":  rewrapped(writePcap(t, layers.LinkTypeIPv4, stripEthernet(frames))),
		"pcap-sll":   rewrapped(writePcap(t, layers.LinkTypeLinuxSLL, withSLL(frames))),
		"pcap-null":  rewrapped(writePcap(t, layers.LinkTypeNull, withNull(frames))),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Read(bytes.NewReader(file.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Packets) != len(frames) || c.SkippedTotal() != 0 {
				t.Fatalf("read %d packets, skipped %v; want %d", len(c.Packets), c.Skipped, len(frames))
			}
			for i, p := range c.Packets {
				if !p.Time.Equal(t0.Add(time.Duration(i) * time.Millisecond)) {
					t.Fatalf("packet %d time %v", i, p.Time)
				}
				want := frames[i]
				if file.rewrapped {
					// Rewrapped: synthetic MACs, same EtherType and payload.
					if !bytes.Equal(p.Frame[12:], want[12:]) || !bytes.Equal(p.Frame[:6], synthDstMAC[:]) {
						t.Fatalf("packet %d rewrapped as % x, want payload % x", i, p.Frame[:20], want[12:20])
					}
					continue
				}
				if !bytes.Equal(p.Frame, want) {
					t.Fatalf("packet %d differs", i)
				}
			}
		})
	}
}

// capFile is a capture file and whether Read has to rewrap its records in Ethernet.
type capFile struct {
	data      []byte
	rewrapped bool
}

func stripEthernet(frames [][]byte) [][]byte {
	out := make([][]byte, len(frames))
	for i, f := range frames {
		out[i] = f[14:]
	}
	return out
}

func withSLL(frames [][]byte) [][]byte {
	out := make([][]byte, len(frames))
	for i, f := range frames {
		h := make([]byte, 16, 16+len(f))
		binary.BigEndian.PutUint16(h[0:], 0) // packet sent to us
		binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(h[4:], 6)
		copy(h[6:], f[6:12])
		copy(h[14:], f[12:14])
		out[i] = append(h, f[14:]...)
	}
	return out
}

func withNull(frames [][]byte) [][]byte {
	out := make([][]byte, len(frames))
	for i, f := range frames {
		fam := uint32(2)
		if f[12] == 0x86 {
			fam = 10
		}
		h := binary.LittleEndian.AppendUint32(nil, fam)
		out[i] = append(h, f[14:]...)
	}
	return out
}

func TestReadMixedLinkTypesPcapng(t *testing.T) {
	frames := testFrames(t, 6)
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeRaw, SnapLength: 65535, TimestampResolution: 9})
	if err != nil {
		t.Fatal(err)
	}
	wifi, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeIEEE802_11, SnapLength: 65535, TimestampResolution: 9})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		c := ci(i, f)
		switch i % 3 {
		case 0:
			w.WritePacket(c, f)
		case 1:
			c.InterfaceIndex, c.CaptureLength, c.Length = raw, len(f)-14, len(f)-14
			w.WritePacket(c, f[14:])
		case 2:
			c.InterfaceIndex = wifi
			w.WritePacket(c, f)
		}
	}
	w.Flush()
	c, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Packets) != 4 || c.Skipped["unsupported link type 105 (802.11)"] != 2 {
		t.Fatalf("got %d packets, skipped %v; want 4 and 2 unsupported 802.11 records", len(c.Packets), c.Skipped)
	}
	if !bytes.Equal(c.Packets[1].Frame[12:], frames[1][12:]) {
		t.Fatal("raw-IP record not rewrapped")
	}
}

func TestReadCountsBadRecords(t *testing.T) {
	frames := testFrames(t, 5)
	frames[2] = frames[2][:10] // shorter than an Ethernet header
	file := writePcap(t, layers.LinkTypeEthernet, frames)
	file = file[:len(file)-5] // cut the last record
	c, err := Read(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Packets) != 3 || c.Skipped["short Ethernet frame"] != 1 || c.Skipped["truncated last record"] != 1 {
		t.Fatalf("got %d packets, skipped %v", len(c.Packets), c.Skipped)
	}
	if s := c.SkippedString(); s != "short Ethernet frame: 1, truncated last record: 1" {
		t.Fatalf("SkippedString %q", s)
	}
	for _, bad := range [][]byte{nil, []byte("hello, world, not a capture"), file[:10]} {
		if _, err := Read(bytes.NewReader(bad)); err == nil {
			t.Errorf("Read(%q) succeeded", bad)
		}
	}
	if _, err := ReadFile("testdata/does-not-exist.pcap"); err == nil || !strings.Contains(err.Error(), "does-not-exist") {
		t.Errorf("ReadFile error %v does not name the file", err)
	}
}

func FuzzRead(f *testing.F) {
	frames := testFrames(f, 8)
	f.Add(writePcap(f, layers.LinkTypeEthernet, frames))
	f.Add(writePcap(f, layers.LinkTypeRaw, stripEthernet(frames)))
	f.Add(writePcap(f, layers.LinkTypeLinuxSLL, withSLL(frames)))
	f.Add(writePcapng(f, layers.LinkTypeEthernet, frames))
	f.Add(writePcapng(f, layers.LinkTypeIPv6, stripEthernet(frames)))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(writePcap(f, layers.LinkTypeEthernet, frames[:2]))
	zw.Close()
	f.Add(gz.Bytes())
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, p := range c.Packets {
			if len(p.Frame) < 14 {
				t.Fatalf("frame of %d bytes passed as Ethernet", len(p.Frame))
			}
		}
		// Whatever was read must also encode without trouble.
		cfg := DefaultConfig()
		cfg.Target = "127.0.0.1:4789"
		cfg.UniqueLoops = true
		if r, err := New(cfg, c); err == nil {
			for _, s := range r.senders {
				for _, sl := range s.slots {
					shiftAddrs(s.buf, sl.patch, 1)
				}
			}
		}
	})
}
