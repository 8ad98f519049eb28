package rawbatch

import (
	"encoding/binary"
	"slices"

	"github.com/pierrec/lz4/v4"
)

// lz4BlockMax is the frame's block size: 4 MiB, the largest the format has, so that a
// batch is mostly one block.
const lz4BlockMax = 4 << 20

// lz4FrameHeader is an LZ4 frame's magic number and descriptor: version 1, independent
// blocks (0x60) of at most 4 MiB (0x70), no block or content checksum (the record batch's
// CRC covers the compressed bytes; kafka-go's lz4 writer adds an xxHash of the whole
// content, a tenth of the compression's cost), and the descriptor's checksum, the second
// byte of its xxHash32 (0x73; TestLZ4FrameHeader checks it against pierrec/lz4's writer).
var lz4FrameHeader = []byte{0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0x73}

// appendLZ4Frame appends src to dst as an LZ4 frame, the framing of Kafka's lz4 codec, in
// one pass without copying src first; a block that does not shrink is stored as is.
func appendLZ4Frame(dst, src []byte, lz *lz4.Compressor) []byte {
	dst = append(dst, lz4FrameHeader...)
	for len(src) > 0 {
		blk := src[:min(len(src), lz4BlockMax)]
		src = src[len(blk):]
		at := len(dst)
		bound := lz4.CompressBlockBound(len(blk))
		dst = slices.Grow(dst, 4+bound)[:at+4+bound]
		n, err := lz.CompressBlock(blk, dst[at+4:])
		if err != nil || n == 0 || n >= len(blk) {
			binary.LittleEndian.PutUint32(dst[at:], uint32(len(blk))|1<<31) // stored uncompressed
			dst = append(dst[:at+4], blk...)
			continue
		}
		binary.LittleEndian.PutUint32(dst[at:], uint32(n))
		dst = dst[:at+4+n]
	}
	return append(dst, 0, 0, 0, 0) // end mark
}
