package parquet

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"math/rand/v2"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// huffGzipInputs are pages of the shapes the encoder meets, and the edge cases of the
// code construction: empty, one symbol, two symbols, skewed enough that a plain Huffman
// tree would be deeper than 15 bits, incompressible, and runs of lengths the code-length
// RLE must split.
func huffGzipInputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	in := map[string][]byte{
		"empty":  nil,
		"tiny":   []byte("abc"),
		"one":    bytes.Repeat([]byte{7}, 5000),
		"two":    bytes.Repeat([]byte{0, 255}, 3000),
		"text":   bytes.Repeat([]byte("10.0.1.23 eni-0a1b2c3d4e5f 443 ACCEPT "), 300),
		"random": make([]byte, 200_000),
	}
	for i := range in["random"] {
		in["random"][i] = byte(rng.Uint32())
	}
	// Fibonacci frequencies: symbol k occurs fib(k) times, a tree of depth ~25.
	var fib []byte
	a, b := 1, 1
	for k := 0; k < 26; k++ {
		fib = append(fib, bytes.Repeat([]byte{byte(k * 9)}, a)...)
		a, b = b, a+b
	}
	rng.Shuffle(len(fib), func(i, j int) { fib[i], fib[j] = fib[j], fib[i] })
	in["fibonacci"] = fib
	// Skewed bytes with scattered rare ones: long runs of unused and used code lengths.
	sk := make([]byte, 70_000)
	for i := range sk {
		switch r := rng.IntN(1000); {
		case r == 0:
			sk[i] = byte(rng.IntN(256))
		case r < 600:
			sk[i] = 'a'
		default:
			sk[i] = byte(100 + r%40)
		}
	}
	in["skewed"] = sk
	return in
}

// TestHuffGzipRoundTrip decodes the members with Go's and klauspost's gzip readers, which
// check the CRC and length, and checks that compressible input shrinks.
func TestHuffGzipRoundTrip(t *testing.T) {
	var h huffGzip
	for name, src := range huffGzipInputs() {
		z := h.encode([]byte("prefix"), src, 0)
		if string(z[:6]) != "prefix" {
			t.Fatalf("%s: prefix overwritten", name)
		}
		z = z[6:]
		for _, dec := range []struct {
			name string
			open func(io.Reader) (io.Reader, error)
		}{
			{"compress/gzip", func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) }},
			{"klauspost", func(r io.Reader) (io.Reader, error) { return kgzip.NewReader(r) }},
		} {
			r, err := dec.open(bytes.NewReader(z))
			if err != nil {
				t.Fatalf("%s: %s: %v", name, dec.name, err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, dec.name, err)
			}
			if !bytes.Equal(got, src) {
				t.Fatalf("%s: %s: got %d bytes, want %d", name, dec.name, len(got), len(src))
			}
		}
		if stored := len(src) + 5*max(1, (len(src)+maxStored-1)/maxStored) + 18; len(z) > stored {
			t.Errorf("%s: %d bytes, more than stored (%d)", name, len(z), stored)
		}
		if name == "text" || name == "skewed" || name == "fibonacci" || name == "two" {
			if len(z) > len(src)*6/10 {
				t.Errorf("%s: %d bytes of %d: not compressed", name, len(z), len(src))
			}
		}
	}
}

// TestHuffGzipLengthLimit checks that no code is longer than deflate allows on input whose
// plain Huffman tree is deeper.
func TestHuffGzipLengthLimit(t *testing.T) {
	var h huffGzip
	var freq [numLitCodes]uint32
	a, b := uint32(1), uint32(1)
	for k := 0; k < 30; k++ {
		freq[k] = a
		a, b = b, a+b
	}
	freq[endOfBlock] = 1
	buildLengths(&h, freq[:], h.lens[:], maxCodeBits)
	kraft := 0.0
	for s, l := range h.lens {
		if (freq[s] > 0) != (l > 0) {
			t.Fatalf("symbol %d: frequency %d, length %d", s, freq[s], l)
		}
		if l > maxCodeBits {
			t.Fatalf("symbol %d: length %d", s, l)
		}
		if l > 0 {
			kraft += 1 / float64(uint(1)<<l)
		}
	}
	if kraft != 1 {
		t.Fatalf("Kraft sum %v, want a complete code", kraft)
	}
}

// TestPageGzipCodec checks the "gzip" codec through parquet-go's Codec interface, as
// parquet-go itself would use it: Encode reusing dst, Decode reading it back.
func TestPageGzipCodec(t *testing.T) {
	codec, err := Codec("gzip")
	if err != nil {
		t.Fatal(err)
	}
	var z, back []byte
	for name, src := range huffGzipInputs() {
		if z, err = codec.Encode(z, src); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if back, err = codec.Decode(back, z); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(back, src) {
			t.Fatalf("%s: read back %d bytes, want %d", name, len(back), len(src))
		}
	}
}

// FuzzHuffGzip: whatever the page, its member decodes (Go's gzip reader checks the CRC and
// length) to the page, and is never larger than storing it. A reused coder must not carry
// anything from the page before: each input is coded after a skewed one.
func FuzzHuffGzip(f *testing.F) {
	for _, in := range huffGzipInputs() {
		f.Add(in)
	}
	skewed := huffGzipInputs()["skewed"]
	var h huffGzip
	f.Fuzz(func(t *testing.T, src []byte) {
		h.encode(nil, skewed, 0)
		z := h.encode(nil, src, 0)
		r, err := stdgzip.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, src) {
			t.Fatalf("decoded %d bytes, want %d", len(got), len(src))
		}
		if stored := len(src) + 5*max(1, (len(src)+maxStored-1)/maxStored) + 18; len(z) > stored {
			t.Fatalf("%d bytes, more than stored (%d)", len(z), stored)
		}
	})
}
