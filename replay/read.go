package replay

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Packet is one captured frame, always an Ethernet frame without FCS (other link types are
// rewrapped when read), with its capture timestamp.
type Packet struct {
	Time  time.Time
	Frame []byte
}

// Capture is the content of one or more capture files, ready to replay.
type Capture struct {
	// Packets in file order.
	Packets []Packet
	// Skipped counts the records that were not turned into packets, by reason
	// ("unsupported link type 105", "short frame", "truncated last record", ...).
	Skipped map[string]int
}

// SkippedTotal is the number of records that were read but will not be replayed.
func (c *Capture) SkippedTotal() int {
	n := 0
	for _, v := range c.Skipped {
		n += v
	}
	return n
}

// SkippedString lists the skip reasons with their counts, sorted, for reports.
func (c *Capture) SkippedString() string {
	keys := slices.Sorted(maps.Keys(c.Skipped))
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d", k, c.Skipped[k])
	}
	return b.String()
}

func (c *Capture) skip(reason string) {
	if c.Skipped == nil {
		c.Skipped = map[string]int{}
	}
	c.Skipped[reason]++
}

// ReadFile reads a pcap (optionally gzipped) or pcapng file.
func ReadFile(path string) (*Capture, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	c, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("replay: %s: %w", path, err)
	}
	return c, nil
}

// pcapngMagic is the block type of a pcapng Section Header Block, the first bytes of any
// pcapng file.
var pcapngMagic = []byte{0x0a, 0x0d, 0x0d, 0x0a}

// packetSource is what the pcap and pcapng readers have in common.
type packetSource interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Read reads a capture in pcap (microsecond or nanosecond, either byte order, optionally
// gzipped) or pcapng format, told apart by the magic number. Link types Ethernet, raw
// IPv4/IPv6, Linux cooked (SLL, SLL2) and BSD loopback are turned into Ethernet frames;
// other link types and unusable records are counted in Capture.Skipped. A record cut off
// by the end of the file is counted too (captures interrupted mid-write end that way); any
// other malformed input is an error naming the record.
func Read(r io.Reader) (c *Capture, err error) {
	// The gopacket readers are not written for hostile input; a panic in them must not
	// cross this package's boundary.
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, fmt.Errorf("malformed capture (reader panicked: %v)", p)
		}
	}()
	br := bufio.NewReaderSize(r, 32<<10)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("not a pcap or pcapng file: %w", noEOF(err))
	}
	var src packetSource
	linkType := func(gopacket.CaptureInfo) layers.LinkType { return 0 }
	if bytes.Equal(magic, pcapngMagic) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fmt.Errorf("pcapng: %w", noEOF(err))
		}
		src = ng
		linkType = func(ci gopacket.CaptureInfo) layers.LinkType {
			if len(ci.AncillaryData) > 0 {
				if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
					return lt
				}
			}
			return ng.LinkType()
		}
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("pcap: %w", noEOF(err))
		}
		src = pr
		lt := pr.LinkType()
		linkType = func(gopacket.CaptureInfo) layers.LinkType { return lt }
	}
	c = &Capture{}
	var arena frameArena
	for i := 0; ; i++ {
		data, ci, err := src.ZeroCopyReadPacketData()
		if err == io.EOF {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			c.skip("truncated last record")
			break
		}
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i+1, err)
		}
		frame, reason := toEthernet(&arena, linkType(ci), data)
		if reason != "" {
			c.skip(reason)
			continue
		}
		c.Packets = append(c.Packets, Packet{Time: ci.Timestamp, Frame: frame})
	}
	return c, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Synthetic MAC addresses for frames captured without an Ethernet header (locally
// administered, so they cannot clash with real vendors' addresses).
var (
	synthSrcMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	synthDstMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
)

// toEthernet copies data into the arena as an Ethernet frame, or returns why it cannot.
func toEthernet(a *frameArena, lt layers.LinkType, data []byte) ([]byte, string) {
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return nil, "short Ethernet frame"
		}
		return a.copy(nil, data), ""
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		// 12 and 14 are DLT_RAW on some BSDs and how some writers spell LINKTYPE_RAW.
		return wrapIP(a, data)
	case layers.LinkTypeLinuxSLL: // 16-byte cooked header, protocol in bytes 14–15
		if len(data) < 16 {
			return nil, "short Linux cooked header"
		}
		return wrapEtherType(a, binary.BigEndian.Uint16(data[14:16]), data[16:]), ""
	case layers.LinkTypeLinuxSLL2: // 20-byte header, protocol in bytes 0–1
		if len(data) < 20 {
			return nil, "short Linux cooked v2 header"
		}
		return wrapEtherType(a, binary.BigEndian.Uint16(data[0:2]), data[20:]), ""
	case layers.LinkTypeNull, layers.LinkTypeLoop: // 4-byte address family, then IP
		if len(data) < 4 {
			return nil, "short loopback header"
		}
		return wrapIP(a, data[4:])
	}
	return nil, fmt.Sprintf("unsupported link type %d (%s)", int(lt), lt)
}

// wrapIP wraps a bare IP packet in a synthetic Ethernet header chosen by its version.
func wrapIP(a *frameArena, ip []byte) ([]byte, string) {
	if len(ip) == 0 {
		return nil, "empty IP packet"
	}
	switch ip[0] >> 4 {
	case 4:
		return wrapEtherType(a, 0x0800, ip), ""
	case 6:
		return wrapEtherType(a, 0x86dd, ip), ""
	}
	return nil, "raw packet is neither IPv4 nor IPv6"
}

func wrapEtherType(a *frameArena, etherType uint16, payload []byte) []byte {
	var h [14]byte
	copy(h[0:6], synthDstMAC[:])
	copy(h[6:12], synthSrcMAC[:])
	binary.BigEndian.PutUint16(h[12:14], etherType)
	return a.copy(h[:], payload)
}

// frameArena hands out frames carved from large shared blocks, so that reading a capture
// costs one allocation per megabyte rather than one per packet.
type frameArena struct{ block []byte }

// Arena blocks start small, for small captures, and double up to arenaMaxBlock.
const (
	arenaMinBlock = 16 << 10
	arenaMaxBlock = 4 << 20
)

// copy stores head+body contiguously and returns the stored frame.
func (a *frameArena) copy(head, body []byte) []byte {
	n := len(head) + len(body)
	if cap(a.block)-len(a.block) < n {
		size := min(max(2*cap(a.block), arenaMinBlock), arenaMaxBlock)
		if n > size/4 {
			f := make([]byte, 0, n)
			return append(append(f, head...), body...)
		}
		a.block = make([]byte, 0, size)
	}
	start := len(a.block)
	a.block = append(append(a.block, head...), body...)
	return a.block[start:len(a.block):len(a.block)]
}
