package erasure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/reedsolomon"
	"github.com/minio/highwayhash"
	"github.com/minio/sha256-simd"
	"github.com/zeebo/blake3"
)

var benchGeometries = []struct{ k, m int }{{2, 2}, {4, 2}, {8, 4}}

var benchSizes = []struct {
	name string
	n    int
}{{"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

func discardWriters(n int) []io.Writer {
	dst := make([]io.Writer, n)
	for i := range dst {
		dst[i] = io.Discard
	}
	return dst
}

// benchEach runs fn for every bitrot algorithm × geometry × size with a
// codec of block size bs.
func benchEach(b *testing.B, bs int, fn func(b *testing.B, c *Codec, data []byte)) {
	for _, alg := range bitrots {
		b.Run(string(alg), func(b *testing.B) { benchByGeometry(b, bs, fn, WithBitrot(alg)) })
	}
}

// benchByGeometry runs fn for every geometry × size.
func benchByGeometry(b *testing.B, bs int, fn func(b *testing.B, c *Codec, data []byte), opts ...Option) {
	for _, g := range benchGeometries {
		for _, sz := range benchSizes {
			b.Run(fmt.Sprintf("%d+%d/%s", g.k, g.m, sz.name), func(b *testing.B) {
				c := newCodec(b, g.k, g.m, bs, opts...)
				data := randomBytes(1, sz.n)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				fn(b, c, data)
			})
		}
	}
}

func benchEncode(b *testing.B, c *Codec, data []byte) {
	dst := discardWriters(c.Shards())
	r := bytes.NewReader(data)
	b.ResetTimer()
	for b.Loop() {
		r.Reset(data)
		if _, _, err := c.Encode(context.Background(), r, dst, int64(len(data)), c.Shards()); err != nil {
			b.Fatal(err)
		}
	}
}

// benchDecode decodes the whole object with the given shards missing.
func benchDecode(missing ...int) func(b *testing.B, c *Codec, data []byte) {
	return func(b *testing.B, c *Codec, data []byte) {
		shards := encodeShards(b, c, data)
		bad := map[int]fault{}
		for _, i := range missing {
			if i < c.DataShards() {
				bad[i] = faultMissing
			}
		}
		src := sources(c, shards, bad, 0, nil)
		size := int64(len(data))
		b.ResetTimer()
		for b.Loop() {
			if _, err := c.Decode(context.Background(), io.Discard, src, 0, size, size); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEncode: object → k+m framed shards (RS + SHA-256 + writes).
func BenchmarkEncode(b *testing.B) { benchEach(b, DefaultBlockSize, benchEncode) }

// BenchmarkDecode: healthy read of the whole object from the data shards.
func BenchmarkDecode(b *testing.B) { benchEach(b, DefaultBlockSize, benchDecode()) }

// BenchmarkReconstruct: degraded read with the first m data shards missing,
// so every block is rebuilt from parity.
func BenchmarkReconstruct(b *testing.B) {
	for _, alg := range bitrots {
		for _, g := range benchGeometries {
			for _, sz := range benchSizes {
				b.Run(fmt.Sprintf("%s/%d+%d/%s", alg, g.k, g.m, sz.name), func(b *testing.B) {
					c := newCodec(b, g.k, g.m, DefaultBlockSize, WithBitrot(alg))
					data := randomBytes(1, sz.n)
					b.SetBytes(int64(sz.n))
					b.ReportAllocs()
					benchDecode(seq(0, g.m)...)(b, c, data)
				})
			}
		}
	}
}

// BenchmarkHeal: rebuild one data shard file from the others.
func BenchmarkHeal(b *testing.B) {
	benchEach(b, DefaultBlockSize, func(b *testing.B, c *Codec, data []byte) {
		shards := encodeShards(b, c, data)
		src := sources(c, shards, map[int]fault{0: faultMissing}, 0, nil)
		dst := make([]io.Writer, c.Shards())
		dst[0] = io.Discard
		b.ResetTimer()
		for b.Loop() {
			if _, err := c.Heal(context.Background(), src, dst, int64(len(data))); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRawReedSolomon is the baseline: plain enc.Encode over the same
// per-block shard buffers, no hashing, framing, copying or I/O.
func BenchmarkRawReedSolomon(b *testing.B) {
	benchByGeometry(b, DefaultBlockSize, func(b *testing.B, c *Codec, data []byte) {
		enc, err := reedsolomon.New(c.k, c.m, reedsolomon.WithMaxGoroutines(1))
		if err != nil {
			b.Fatal(err)
		}
		s := c.getSet()
		shards := make([][]byte, c.Shards())
		nb := c.NumBlocks(int64(len(data)))
		b.ResetTimer()
		for b.Loop() {
			for blk := range nb {
				c.setBlock(s, blk, int64(len(data)))
				for i := range shards {
					shards[i] = s.chunkOf(i)
				}
				if err := enc.Encode(shards); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkRawBitrot is the other baseline: hashing one chunk of a full
// default block, single-threaded, with each frame hash candidate. Chunks
// are 512, 256 and 128 KiB at 2+2, 4+2 and 8+4. BLAKE3 (zeebo/blake3, the
// faster of the two Go BLAKE3 modules here) is measured to justify the
// choice of HighwayHash, not offered as an option.
func BenchmarkRawBitrot(b *testing.B) {
	hashes := []struct {
		name string
		sum  func([]byte)
	}{
		{"sha256", func(p []byte) { _ = sha256.Sum256(p) }},
		{"highwayhash", func(p []byte) { _ = highwayhash.Sum(p, bitrotKey) }},
		{"blake3", func(p []byte) { _ = blake3.Sum256(p) }},
	}
	for _, h := range hashes {
		for _, g := range benchGeometries {
			chunk := randomBytes(3, ceilDiv(DefaultBlockSize, g.k))
			b.Run(fmt.Sprintf("%s/%d+%d/%dKiB", h.name, g.k, g.m, len(chunk)>>10), func(b *testing.B) {
				b.SetBytes(int64(len(chunk)))
				b.ReportAllocs()
				for b.Loop() {
					h.sum(chunk)
				}
			})
		}
	}
}

// BenchmarkBlockSize sweeps the block size on a 64 MiB object to choose
// DefaultBlockSize.
func BenchmarkBlockSize(b *testing.B) {
	const size = 64 << 20
	data := randomBytes(1, size)
	for _, op := range []string{"encode", "decode", "reconstruct"} {
		for _, g := range []struct{ k, m int }{{4, 2}, {8, 4}} {
			for _, bs := range []int{256 << 10, 1 << 20, 4 << 20} {
				b.Run(fmt.Sprintf("%s/%d+%d/%dKiB", op, g.k, g.m, bs>>10), func(b *testing.B) {
					c := newCodec(b, g.k, g.m, bs)
					b.SetBytes(size)
					b.ReportAllocs()
					switch op {
					case "encode":
						benchEncode(b, c, data)
					case "decode":
						benchDecode()(b, c, data)
					default:
						benchDecode(seq(0, g.m)...)(b, c, data)
					}
				})
			}
		}
	}
}
