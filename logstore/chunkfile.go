package logstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/flowtap/flowtap/internal/fsx"
)

// Chunk file format (all integers little endian or varints):
//
//	"FTCK" 0x01                      magic and version
//	u32 header length, header, u32 CRC-32C of header
//	block data, each block followed by u32 CRC-32C of its bytes
//
// header: uvarint+bytes labels (canonical `{a="1", b="2"}`), varint minT, varint maxT,
// uvarint walSeq (the last WAL record whose entries this chunk holds), uvarint block
// count, then per block: varint minT, varint maxT, uvarint entries, byte codec, uvarint
// raw length, uvarint compressed length. Block offsets follow from the lengths.
//
// A chunk file is written with fsx.Create/Commit (temporary name, fsync, rename), so a
// crash leaves either the whole file or none (temporaries are removed at start).
const chunkMagic = "FTCK\x01"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// chunkFile is a flushed chunk: its header is in memory, its blocks are read on demand.
type chunkFile struct {
	path       string
	labels     string
	minT, maxT int64
	walSeq     uint64
	blocks     []blockMeta
	size       int64
}

func (c *chunkFile) entries() int {
	n := 0
	for _, b := range c.blocks {
		n += b.Entries
	}
	return n
}

// chunkFileName is <fingerprint>-<minT>-<maxT>-<walSeq>.chunk; retention reads maxT from it.
func chunkFileName(fp uint64, minT, maxT int64, walSeq uint64) string {
	return fmt.Sprintf("%016x-%d-%d-%d.chunk", fp, minT, maxT, walSeq)
}

// chunkMaxTFromName returns the maxT encoded in a chunk file name.
func chunkMaxTFromName(name string) (int64, bool) {
	parts := strings.Split(strings.TrimSuffix(name, ".chunk"), "-")
	if len(parts) != 4 {
		return 0, false
	}
	v, err := strconv.ParseInt(parts[2], 10, 64)
	return v, err == nil
}

// writeChunkFile writes the compressed blocks of one stream durably into dir.
func writeChunkFile(dir string, fp uint64, labels string, walSeq uint64, blocks []*block) (*chunkFile, error) {
	c := &chunkFile{labels: labels, walSeq: walSeq, minT: blocks[0].meta.MinT, maxT: blocks[0].meta.MaxT}
	for _, b := range blocks {
		c.minT = min(c.minT, b.meta.MinT)
		c.maxT = max(c.maxT, b.meta.MaxT)
	}
	hdr := binary.AppendUvarint(nil, uint64(len(labels)))
	hdr = append(hdr, labels...)
	hdr = binary.AppendVarint(hdr, c.minT)
	hdr = binary.AppendVarint(hdr, c.maxT)
	hdr = binary.AppendUvarint(hdr, walSeq)
	hdr = binary.AppendUvarint(hdr, uint64(len(blocks)))
	for _, b := range blocks {
		m := b.meta
		hdr = binary.AppendVarint(hdr, m.MinT)
		hdr = binary.AppendVarint(hdr, m.MaxT)
		hdr = binary.AppendUvarint(hdr, uint64(m.Entries))
		hdr = append(hdr, byte(m.Codec))
		hdr = binary.AppendUvarint(hdr, uint64(m.RawLen))
		hdr = binary.AppendUvarint(hdr, uint64(m.CompLen))
	}
	name := chunkFileName(fp, c.minT, c.maxT, walSeq)
	c.path = filepath.Join(dir, name)
	f, err := fsx.Create(c.path)
	if err != nil {
		return nil, fmt.Errorf("logstore: create chunk: %w", err)
	}
	defer f.Abort()
	w := bufio.NewWriterSize(f, 256<<10)
	w.WriteString(chunkMagic)
	w.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(hdr))))
	w.Write(hdr)
	w.Write(binary.LittleEndian.AppendUint32(nil, crc32.Checksum(hdr, crcTable)))
	off := int64(len(chunkMagic) + 8 + len(hdr))
	for _, b := range blocks {
		m := b.meta
		m.Offset = off
		c.blocks = append(c.blocks, m)
		w.Write(b.comp)
		w.Write(binary.LittleEndian.AppendUint32(nil, crc32.Checksum(b.comp, crcTable)))
		off += int64(len(b.comp)) + 4
	}
	c.size = off
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("logstore: write chunk %s: %w", c.path, err)
	}
	if err := f.Commit(); err != nil {
		return nil, fmt.Errorf("logstore: %w", err)
	}
	return c, nil
}

// readChunkHeader opens a chunk file and reads its header.
func readChunkHeader(path string) (*chunkFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(f)
	pre := make([]byte, len(chunkMagic)+4)
	if _, err := io.ReadFull(r, pre); err != nil || string(pre[:len(chunkMagic)]) != chunkMagic {
		return nil, fmt.Errorf("logstore: %s: not a chunk file", path)
	}
	hl := binary.LittleEndian.Uint32(pre[len(chunkMagic):])
	if int64(hl) > st.Size() {
		return nil, fmt.Errorf("logstore: %s: header length %d beyond file", path, hl)
	}
	hdr := make([]byte, hl+4)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("logstore: %s: short header: %w", path, err)
	}
	if crc32.Checksum(hdr[:hl], crcTable) != binary.LittleEndian.Uint32(hdr[hl:]) {
		return nil, fmt.Errorf("logstore: %s: header checksum mismatch", path)
	}
	c, err := decodeChunkHeader(hdr[:hl])
	if err != nil {
		return nil, fmt.Errorf("logstore: %s: %w", path, err)
	}
	c.path = path
	c.size = st.Size()
	off := int64(len(chunkMagic)+8) + int64(hl)
	for i := range c.blocks {
		c.blocks[i].Offset = off
		off += int64(c.blocks[i].CompLen) + 4
	}
	if off != c.size {
		return nil, fmt.Errorf("logstore: %s: size %d, header says %d", path, c.size, off)
	}
	return c, nil
}

var errShortHeader = errors.New("truncated chunk header")

// decodeChunkHeader parses a chunk header; it is the fuzzed decoder of the format.
func decodeChunkHeader(h []byte) (*chunkFile, error) {
	d := decoder{b: h}
	c := &chunkFile{}
	c.labels = d.str()
	c.minT, c.maxT = d.varint(), d.varint()
	c.walSeq = d.uvarint()
	n := d.uvarint()
	if d.err != nil || n > uint64(len(h)) {
		return nil, errShortHeader
	}
	for i := uint64(0); i < n; i++ {
		var m blockMeta
		m.MinT, m.MaxT = d.varint(), d.varint()
		m.Entries = int(d.uvarint())
		m.Codec = Codec(d.byte())
		m.RawLen = int(d.uvarint())
		m.CompLen = int(d.uvarint())
		if d.err != nil {
			return nil, errShortHeader
		}
		if m.RawLen < 0 || m.CompLen < 0 || m.RawLen > 1<<30 || m.CompLen > 1<<30 {
			return nil, fmt.Errorf("block %d: bad length", i)
		}
		c.blocks = append(c.blocks, m)
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errShortHeader
	}
	if _, err := ParseLabels(c.labels); err != nil {
		return nil, err
	}
	return c, nil
}

// readBlock reads and checks one block's compressed bytes.
func (c *chunkFile) readBlock(m blockMeta) ([]byte, error) {
	f, err := os.Open(c.path)
	if err != nil {
		return nil, fmt.Errorf("logstore: read chunk: %w", err)
	}
	defer f.Close()
	buf := make([]byte, m.CompLen+4)
	if _, err := f.ReadAt(buf, m.Offset); err != nil {
		return nil, fmt.Errorf("logstore: read chunk %s: %w", c.path, err)
	}
	if crc32.Checksum(buf[:m.CompLen], crcTable) != binary.LittleEndian.Uint32(buf[m.CompLen:]) {
		return nil, fmt.Errorf("logstore: chunk %s: block at %d: checksum mismatch", c.path, m.Offset)
	}
	return buf[:m.CompLen], nil
}

// decoder reads varints from a byte slice, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShortHeader
		return 0
	}
	d.b = d.b[n:]
	return v
}

// varint reads a zig-zag signed varint (as binary.AppendVarint writes).
func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errShortHeader
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errShortHeader
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// blocksOf turns a chunk file into block references for reading.
func (c *chunkFile) blockRefs() []*block {
	out := make([]*block, len(c.blocks))
	for i, m := range c.blocks {
		out[i] = &block{meta: m, file: c}
	}
	return out
}
