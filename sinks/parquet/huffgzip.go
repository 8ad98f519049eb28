package parquet

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"
	"slices"
)

// huffGzip writes the pages of the default "gzip" codec: each page is one gzip member
// holding a single Huffman-only deflate block (literals only, one code table for the whole
// page), or stored blocks when that would not be smaller. Readers see ordinary gzip.
//
// Why not a general deflate encoder: the pages are dictionary indexes bit-packed at odd
// widths, PLAIN dictionaries of ids, addresses and ports, and delta-packed integers, in
// which LZ77 finds few matches — on generated flow logs level 2 made the pages 6% larger
// than Huffman coding alone. And a general encoder builds its code tables with a
// length-limited package-merge that cost about as much as coding a 10 KB page; here the
// table is a plain Huffman tree over sorted frequencies, reshaped in the rare case it is
// deeper than deflate's 15 bits.
type huffGzip struct {
	freq                  [4][256]uint32 // byte histogram, four ways to keep increments independent
	nodes                 []uint64       // frequency<<16 | symbol, sorted
	tmp                   []uint64       // the radix sort's other buffer
	lens                  [numLitCodes]uint8
	codes                 [numLitCodes]uint32 // bit-reversed code | length<<16
	weight, parent, depth []uint32
	minSaving             int
}

const (
	numLitCodes = 257 // the 256 byte values and end of block; no lengths: no matches
	endOfBlock  = 256
	maxCodeBits = 15
	maxCLBits   = 7 // code-length codes
	maxStored   = 65535
)

// gzipHeader is a gzip member header: no name, no time, unknown OS (as klauspost's).
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// clOrder is the order in which code-length code lengths are sent (RFC 1951 3.2.7).
var clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// clExtra and clMinRun are the extra bits and the shortest run of the repeat codes 16
// (the previous length), 17 and 18 (zeros).
var (
	clExtra  = [19]uint8{16: 2, 17: 3, 18: 7}
	clMinRun = [19]uint8{16: 3, 17: 3, 18: 11}
)

// encode appends src as a gzip member to dst, Huffman-coded when that makes it at least
// minSaving percent smaller than stored (100: always stored).
func (h *huffGzip) encode(dst, src []byte, minSaving int) []byte {
	dst = append(dst, gzipHeader...)
	if minSaving >= 100 {
		dst = appendStored(dst, src)
	} else {
		dst = h.deflate(dst, src, minSaving)
	}
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(src))
	return binary.LittleEndian.AppendUint32(dst, uint32(len(src)))
}

// deflate appends src as a raw deflate stream: one dynamic block of literals, or stored
// blocks when the block would not be minSaving percent smaller.
func (h *huffGzip) deflate(dst, src []byte, minSaving int) []byte {
	storedBits := 8 * (len(src) + 5*max(1, (len(src)+maxStored-1)/maxStored))
	if len(src) < 64 {
		// A code table costs tens of bytes: small pages are stored.
		return appendStored(dst, src)
	}
	var freq [numLitCodes]uint32
	h.histogram(src, &freq)
	freq[endOfBlock] = 1
	longest := buildLengths(h, freq[:], h.lens[:], maxCodeBits)

	// The code-length sequence: 257 literal/length lengths, then one distance code of
	// length 1 (none is used; zlib and Go's inflate accept this one-code distance tree).
	var seq [numLitCodes + 1]uint8
	copy(seq[:], h.lens[:])
	seq[numLitCodes] = 1
	var rle [numLitCodes + 1]uint16 // symbol | extra bits value<<8
	nrle := 0
	var clFreq [19]uint32
	for i := 0; i < len(seq); {
		l := seq[i]
		run := 1
		for i+run < len(seq) && seq[i+run] == l {
			run++
		}
		i += run
		switch {
		case l == 0:
			for run >= 3 {
				n, sym := min(run, 138), uint16(18)
				if n < 11 {
					sym = 17
				}
				rle[nrle] = sym | uint16(n-int(clMinRun[sym]))<<8
				nrle++
				clFreq[sym]++
				run -= n
			}
		case run >= 4:
			rle[nrle] = uint16(l)
			nrle++
			clFreq[l]++
			run--
			for run >= 3 {
				n := min(run, 6)
				rle[nrle] = 16 | uint16(n-3)<<8
				nrle++
				clFreq[16]++
				run -= n
			}
		}
		for ; run > 0; run-- {
			rle[nrle] = uint16(l)
			nrle++
			clFreq[l]++
		}
	}
	var clLens [19]uint8
	buildLengths(h, clFreq[:], clLens[:], maxCLBits)
	var clCodes [19]uint32
	canonical(clLens[:], clCodes[:])
	hclen := 19
	for hclen > 4 && clLens[clOrder[hclen-1]] == 0 {
		hclen--
	}

	// Size of the block, to choose between it and stored blocks.
	bits := 3 + 5 + 5 + 4 + 3*hclen
	for _, r := range rle[:nrle] {
		s := r & 0xff
		bits += int(clLens[s]) + int(clExtra[s])
	}
	for s, f := range freq {
		bits += int(f) * int(h.lens[s])
	}
	if bits >= storedBits-storedBits*minSaving/100 {
		return appendStored(dst, src)
	}
	canonical(h.lens[:], h.codes[:])

	start := len(dst)
	dst = slices.Grow(dst, bits/8+16)[:start+bits/8+16]
	w := bitWriter{out: dst, pos: start}
	w.put(1|2<<1, 3) // final block, dynamic codes
	w.put(0, 5)      // 257 literal/length codes
	w.put(0, 5)      // 1 distance code
	w.put(uint64(hclen-4), 4)
	for _, s := range clOrder[:hclen] {
		w.put(uint64(clLens[s]), 3)
	}
	for _, r := range rle[:nrle] {
		s := r & 0xff
		c := clCodes[s]
		w.put(uint64(c&0xffff), uint(c>>16))
		if s >= 16 {
			w.put(uint64(r>>8), uint(clExtra[s]))
		}
	}
	w.flush()
	// The literals: three codes of at most 15 bits are joined apart from the accumulator,
	// then added with one shift; the accumulator then holds less than a byte again.
	codes := &h.codes
	acc, nbits, out, pos := w.acc, w.nbits, w.out, w.pos
	if longest <= 14 { // four codes fit beside the 7 bits left in the accumulator
		for len(src) >= 4 {
			c0, c1, c2, c3 := codes[src[0]], codes[src[1]], codes[src[2]], codes[src[3]]
			l0, l01, l012 := c0>>16, c0>>16+c1>>16, c0>>16+c1>>16+c2>>16
			v := uint64(c0&0xffff) | uint64(c1&0xffff)<<l0 | uint64(c2&0xffff)<<l01 | uint64(c3&0xffff)<<l012
			acc |= v << nbits
			nbits += uint(l012 + c3>>16)
			pos, acc, nbits = drain(out, pos, acc, nbits)
			src = src[4:]
		}
	}
	for len(src) >= 3 {
		c0, c1, c2 := codes[src[0]], codes[src[1]], codes[src[2]]
		l0, l1 := c0>>16, c1>>16
		v := uint64(c0&0xffff) | uint64(c1&0xffff)<<l0 | uint64(c2&0xffff)<<(l0+l1)
		acc |= v << nbits
		nbits += uint(l0 + l1 + c2>>16)
		pos, acc, nbits = drain(out, pos, acc, nbits)
		src = src[3:]
	}
	for _, b := range src {
		c := codes[b]
		acc |= uint64(c&0xffff) << nbits
		nbits += uint(c >> 16)
	}
	w.acc, w.nbits, w.pos = acc, nbits, pos
	c := codes[endOfBlock]
	w.put(uint64(c&0xffff), uint(c>>16))
	w.flush()
	for w.nbits > 0 { // the last partial byte
		w.out[w.pos] = byte(w.acc)
		w.pos++
		w.acc >>= 8
		w.nbits -= min(w.nbits, 8)
	}
	return w.out[:w.pos]
}

// appendStored appends src as stored deflate blocks (at least one, the last final).
func appendStored(dst, src []byte) []byte {
	for {
		n := min(len(src), maxStored)
		final := byte(0)
		if n == len(src) {
			final = 1
		}
		dst = append(dst, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		dst = append(dst, src[:n]...)
		src = src[n:]
		if final == 1 {
			return dst
		}
	}
}

// histogram counts the bytes of src into freq.
func (h *huffGzip) histogram(src []byte, freq *[numLitCodes]uint32) {
	f := &h.freq
	*f = [4][256]uint32{}
	for len(src) >= 4 {
		f[0][src[0]]++
		f[1][src[1]]++
		f[2][src[2]]++
		f[3][src[3]]++
		src = src[4:]
	}
	for _, b := range src {
		f[0][b]++
	}
	for i := range 256 {
		freq[i] = f[0][i] + f[1][i] + f[2][i] + f[3][i]
	}
}

// buildLengths sets lens to the Huffman code lengths of freq, none over limit. Symbols of
// frequency 0 get no code; at least two symbols get one (a complete code). It returns the
// longest length.
func buildLengths(h *huffGzip, freq []uint32, lens []uint8, limit int) (longest int) {
	clear(lens)
	nodes := h.nodes[:0]
	for s, f := range freq {
		if f > 0 {
			nodes = append(nodes, uint64(f)<<16|uint64(s))
		}
	}
	for s := 0; len(nodes) < 2; s++ { // a lone symbol still needs a complete code
		if freq[s] == 0 {
			nodes = append(nodes, 1<<16|uint64(s))
		}
	}
	h.nodes = nodes
	h.sortNodes(nodes)
	huffmanDepths(h, nodes)
	// Count the codes of each length; a tree deeper than limit is then reshaped as JPEG's
	// Adjust_BITS does: two deepest leaves (siblings) leave, their parent becomes a leaf
	// for one of them, and the other pairs up with a leaf split from a shallower level. The
	// code stays complete, and the rarest symbols keep the longest codes.
	var count [numLitCodes + 1]int32
	deepest := 0
	for _, d := range h.depth[:len(nodes)] {
		count[d]++
		deepest = max(deepest, int(d))
	}
	for i := deepest; i > limit; i-- {
		for count[i] > 0 {
			j := i - 2
			for count[j] == 0 {
				j--
			}
			count[i] -= 2
			count[i-1]++
			count[j+1] += 2
			count[j]--
		}
	}
	// Nodes are sorted by rising frequency: the longest codes go first.
	k := 0
	longest = min(deepest, limit)
	for l := longest; l > 0; l-- {
		for range count[l] {
			lens[nodes[k]&0xffff] = uint8(l)
			k++
		}
	}
	return longest
}

// sortNodes sorts nodes by frequency, then symbol. Pages of bit-packed indexes use all 256
// byte values, where a radix sort of the frequencies (stable: nodes come in symbol order)
// takes a third of the time of a comparison sort.
func (h *huffGzip) sortNodes(nodes []uint64) {
	if len(nodes) < 64 {
		slices.Sort(nodes)
		return
	}
	var top uint64
	for _, nd := range nodes {
		top = max(top, nd>>16)
	}
	h.tmp = slices.Grow(h.tmp[:0], len(nodes))[:len(nodes)]
	src, dst := nodes, h.tmp
	for shift := uint(16); top>>(shift-16) > 0; shift += 8 {
		var at [256]int32
		for _, nd := range src {
			at[byte(nd>>shift)]++
		}
		pos := int32(0)
		for i, c := range at {
			at[i] = pos
			pos += c
		}
		for _, nd := range src {
			d := byte(nd >> shift)
			dst[at[d]] = nd
			at[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &nodes[0] {
		copy(nodes, src)
	}
}

// huffmanDepths builds the Huffman tree of the sorted leaves (two queues: leaves and the
// internal nodes, which are made in order of weight) and sets h.depth[i] to leaf i's depth.
func huffmanDepths(h *huffGzip, leaves []uint64) {
	n := len(leaves)
	total := 2*n - 1
	h.weight = slices.Grow(h.weight[:0], total)[:total]
	h.parent = slices.Grow(h.parent[:0], total)[:total]
	h.depth = slices.Grow(h.depth[:0], total)[:total]
	weight, parent, depth := h.weight, h.parent, h.depth
	for i, l := range leaves {
		weight[i] = uint32(l >> 16)
	}
	leaf, inner := 0, n
	pick := func(next int) int {
		if leaf < n && (inner >= next || weight[leaf] <= weight[inner]) {
			leaf++
			return leaf - 1
		}
		inner++
		return inner - 1
	}
	for next := n; next < total; next++ {
		a := pick(next)
		b := pick(next)
		weight[next] = weight[a] + weight[b]
		parent[a], parent[b] = uint32(next), uint32(next)
	}
	depth[total-1] = 0
	for i := total - 2; i >= 0; i-- {
		depth[i] = depth[parent[i]] + 1
	}
}

// canonical sets codes[s] to the bit-reversed canonical code of s (deflate sends codes
// from their most significant bit, into a stream filled from the least) | its length<<16.
func canonical(lens []uint8, codes []uint32) {
	var count [maxCodeBits + 1]uint32
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [maxCodeBits + 1]uint32
	code := uint32(0)
	for b := 1; b <= maxCodeBits; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for s, l := range lens {
		if l == 0 {
			codes[s] = 0
			continue
		}
		c := next[l]
		next[l]++
		rev := uint32(bits.Reverse16(uint16(c))) >> (16 - l)
		codes[s] = rev | uint32(l)<<16
	}
}

// bitWriter fills out from pos, least significant bit first.
type bitWriter struct {
	out   []byte
	pos   int
	acc   uint64
	nbits uint
}

func (w *bitWriter) put(bits uint64, n uint) {
	w.acc |= bits << w.nbits
	w.nbits += n
	if w.nbits >= 48 {
		w.flush()
	}
}

// flush writes the whole bytes of the accumulator.
func (w *bitWriter) flush() {
	w.pos, w.acc, w.nbits = drain(w.out, w.pos, w.acc, w.nbits)
}

// drain writes the whole bytes of the accumulator acc of nbits bits at out[pos:] (which
// has 8 bytes of room) and returns what is left.
func drain(out []byte, pos int, acc uint64, nbits uint) (int, uint64, uint) {
	binary.LittleEndian.PutUint64(out[pos:], acc)
	k := nbits >> 3
	return pos + int(k), acc >> (k << 3), nbits & 7
}
