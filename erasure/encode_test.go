package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/klauspost/reedsolomon"
	"github.com/minio/highwayhash"
	"github.com/minio/sha256-simd"
)

// referenceSum is the frame hash computed with the libraries directly, so
// the format test does not trust the codec's own hashing.
func referenceSum(alg Bitrot, chunk []byte) [HashSize]byte {
	if alg == BitrotHighwayHash {
		return highwayhash.Sum(chunk, bitrotKey)
	}
	return sha256.Sum256(chunk)
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		k, m int
		opts []Option
		ok   bool
	}{
		{"4+2", 4, 2, nil, true},
		{"no parity", 3, 0, nil, true},
		{"zero data", 0, 2, nil, false},
		{"negative parity", 2, -1, nil, false},
		{"too many shards", 200, 57, nil, false},
		{"max shards", 128, 128, []Option{WithBlockSize(1 << 16)}, true},
		{"zero block", 2, 1, []Option{WithBlockSize(0)}, false},
		{"odd block", 4, 2, []Option{WithBlockSize(4099)}, true},
		{"sha256", 4, 2, []Option{WithBitrot(BitrotSHA256)}, true},
		{"highwayhash", 4, 2, []Option{WithBitrot(BitrotHighwayHash)}, true},
		{"unknown bitrot", 4, 2, []Option{WithBitrot("md5")}, false},
		{"empty bitrot", 4, 2, []Option{WithBitrot("")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.k, tt.m, tt.opts...)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err = %v, want ErrInvalidArgument", err)
			}
			if err == nil && (c.DataShards() != tt.k || c.ParityShards() != tt.m || c.Shards() != tt.k+tt.m) {
				t.Fatalf("geometry %d+%d", c.DataShards(), c.ParityShards())
			}
		})
	}
}

func TestGeometryHelpers(t *testing.T) {
	c := newCodec(t, 4, 2, 1000) // chunk of a full block: 250
	tests := []struct {
		size, blocks, file int64
	}{
		{0, 0, 0},
		{1, 1, 32 + 1},
		{4, 1, 32 + 1},
		{5, 1, 32 + 2},
		{999, 1, 32 + 250},
		{1000, 1, 32 + 250},
		{1001, 2, 282 + 32 + 1},
		{3500, 4, 3*282 + 32 + 125},
	}
	for _, tt := range tests {
		if got := c.NumBlocks(tt.size); got != tt.blocks {
			t.Errorf("NumBlocks(%d) = %d, want %d", tt.size, got, tt.blocks)
		}
		if got := c.ShardFileSize(tt.size); got != tt.file {
			t.Errorf("ShardFileSize(%d) = %d, want %d", tt.size, got, tt.file)
		}
	}
	if got := c.ShardOffset(3); got != 3*282 {
		t.Errorf("ShardOffset(3) = %d", got)
	}
}

// TestEncodeFormat pins the on-disk format independently of the decoder:
// each frame is SHA-256(chunk) then chunk, data chunks are the block cut
// into ceil(L/k) pieces with zero padding, parity is plain Reed-Solomon.
func TestEncodeFormat(t *testing.T) {
	eachBitrot(t, func(t *testing.T, alg Bitrot) {
		for _, g := range geometries {
			for _, bs := range []int{testBlock, 4099, 5} {
				c := newCodec(t, g.k, g.m, bs, WithBitrot(alg))
				rs, err := reedsolomon.New(g.k, g.m)
				if err != nil {
					t.Fatal(err)
				}
				for _, size := range testSizes(bs) {
					data := randomBytes(uint64(size*7+bs), size)
					shards := encodeShards(t, c, data)
					pos := make([]int, len(shards))
					for b := range c.NumBlocks(int64(size)) {
						block := data[b*int64(bs) : min((b+1)*int64(bs), int64(size))]
						chunk := (len(block) + g.k - 1) / g.k
						want := make([][]byte, g.k+g.m)
						for i := range want {
							want[i] = make([]byte, chunk)
							if i < g.k {
								copy(want[i], block[min(i*chunk, len(block)):])
							}
						}
						if err := rs.Encode(want); err != nil {
							t.Fatal(err)
						}
						for i := range shards {
							if int64(pos[i]) != c.ShardOffset(b) {
								t.Fatalf("%d+%d bs=%d size=%d: block %d at %d, ShardOffset says %d", g.k, g.m, bs, size, b, pos[i], c.ShardOffset(b))
							}
							frame := shards[i][pos[i] : pos[i]+HashSize+chunk]
							sum := referenceSum(alg, want[i])
							if !bytes.Equal(frame[:HashSize], sum[:]) || !bytes.Equal(frame[HashSize:], want[i]) {
								t.Fatalf("%d+%d bs=%d size=%d: shard %d block %d frame differs", g.k, g.m, bs, size, i, b)
							}
							pos[i] += len(frame)
						}
					}
					for i := range shards {
						if pos[i] != len(shards[i]) || int64(pos[i]) != c.ShardFileSize(int64(size)) {
							t.Fatalf("shard %d: %d bytes, frames cover %d, ShardFileSize %d", i, len(shards[i]), pos[i], c.ShardFileSize(int64(size)))
						}
					}
				}
			}
		}
	})
}

// TestEncodeUnknownSize checks that size < 0 (read to EOF) writes the same
// shards as the known size, including the re-layout of a short last block,
// with readers that return one byte at a time.
func TestEncodeUnknownSize(t *testing.T) {
	eachBitrot(t, func(t *testing.T, alg Bitrot) {
		for _, g := range geometries {
			for _, bs := range []int{testBlock, 4099, 5} {
				c := newCodec(t, g.k, g.m, bs, WithBitrot(alg))
				sizes := append(testSizes(bs), 2*bs-1, 3*bs+g.k+1)
				for _, size := range sizes {
					t.Run(fmt.Sprintf("%d+%d/bs=%d/size=%d", g.k, g.m, bs, size), func(t *testing.T) {
						data := randomBytes(uint64(size), size)
						want := encodeShards(t, c, data)
						bufs := make([]bytes.Buffer, c.Shards())
						dst := make([]io.Writer, c.Shards())
						for i := range bufs {
							dst[i] = &bufs[i]
						}
						n, _, err := c.Encode(context.Background(), iotest.HalfReader(bytes.NewReader(data)), dst, -1, c.Shards())
						if err != nil || n != int64(size) {
							t.Fatalf("n=%d err=%v", n, err)
						}
						for i := range bufs {
							if !bytes.Equal(bufs[i].Bytes(), want[i]) {
								t.Fatalf("shard %d differs from known-size encoding", i)
							}
						}
					})
				}
			}
		}
	})
}

func TestEncodeShortSource(t *testing.T) {
	c := newCodec(t, 4, 2, testBlock)
	for _, have := range []int{0, 1, testBlock, 2*testBlock + 5} {
		dst := make([]io.Writer, 6)
		for i := range dst {
			dst[i] = io.Discard
		}
		n, _, err := c.Encode(context.Background(), bytes.NewReader(make([]byte, have)), dst, 3*testBlock, 6)
		if !errors.Is(err, io.ErrUnexpectedEOF) || n != int64(have) {
			t.Errorf("have %d: n=%d err=%v, want io.ErrUnexpectedEOF", have, n, err)
		}
	}
	// Source errors come back wrapped, not swallowed.
	src := io.MultiReader(bytes.NewReader(make([]byte, 100)), iotest.ErrReader(errInjected))
	dst := []io.Writer{io.Discard, io.Discard, io.Discard, io.Discard, io.Discard, io.Discard}
	if _, _, err := c.Encode(context.Background(), src, dst, -1, 6); !errors.Is(err, errInjected) {
		t.Errorf("err = %v, want the source's error", err)
	}
}

// TestEncodeWriterFailures drops failing writers while the quorum holds and
// stops with ErrWriteQuorum when it does not. Surviving shards must be
// exactly the clean encoding.
func TestEncodeWriterFailures(t *testing.T) {
	eachBitrot(t, func(t *testing.T, alg Bitrot) {
		const k, m = 4, 2
		c := newCodec(t, k, m, testBlock, WithBitrot(alg))
		size := 6*testBlock + 99
		data := randomBytes(11, size)
		clean := encodeShards(t, c, data)
		frame := HashSize + testBlock/k
		tests := []struct {
			name    string
			quorum  int
			nilW    []int
			failAt  map[int]int // shard → bytes accepted before failing
			wantErr error
		}{
			{name: "one fails mid-stream", quorum: 5, failAt: map[int]int{1: 2*frame + 10}},
			{name: "m fail at quorum k", quorum: 4, failAt: map[int]int{0: frame, 5: 3 * frame}},
			{name: "one offline", quorum: 5, nilW: []int{2}},
			{name: "two fail below quorum", quorum: 5, failAt: map[int]int{0: frame, 4: 3 * frame}, wantErr: ErrWriteQuorum},
			{name: "offline plus failure", quorum: 5, nilW: []int{3}, failAt: map[int]int{5: 0}, wantErr: ErrWriteQuorum},
			{name: "offline below quorum", quorum: 5, nilW: []int{0, 1}, wantErr: ErrWriteQuorum},
			{name: "full quorum, one fails", quorum: 6, failAt: map[int]int{2: 4 * frame}, wantErr: ErrWriteQuorum},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ws := make([]*failingWriter, k+m)
				dst := make([]io.Writer, k+m)
				for i := range ws {
					limit, ok := tt.failAt[i]
					if !ok {
						limit = 1 << 30
					}
					ws[i] = &failingWriter{limit: limit}
					dst[i] = ws[i]
				}
				for _, i := range tt.nilW {
					dst[i] = nil
				}
				_, serrs, err := c.Encode(context.Background(), bytes.NewReader(data), dst, int64(size), tt.quorum)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				for i := range ws {
					_, failing := tt.failAt[i]
					offline := dst[i] == nil
					switch {
					case offline && !errors.Is(serrs[i], ErrShardMissing):
						t.Errorf("offline shard %d: %v", i, serrs[i])
					case failing && !errors.Is(serrs[i], errInjected) && tt.wantErr == nil:
						t.Errorf("failing shard %d: %v", i, serrs[i])
					case !failing && !offline && serrs[i] != nil:
						t.Errorf("healthy shard %d reported %v", i, serrs[i])
					}
					if failing && serrs[i] != nil && ws[i].calls.Load() > int64(tt.failAt[i]/frame+1) {
						t.Errorf("shard %d written %d times after failing", i, ws[i].calls.Load())
					}
				}
				if err != nil {
					if !errors.As(err, new(ShardErrors)) {
						t.Errorf("quorum error carries no ShardErrors: %v", err)
					}
					return
				}
				src := make([]ShardSource, k+m)
				for i := range ws {
					if serrs[i] != nil {
						continue
					}
					if !bytes.Equal(ws[i].buf.Bytes(), clean[i]) {
						t.Fatalf("surviving shard %d differs from clean encoding", i)
					}
					b := ws[i].buf.Bytes()
					src[i] = func(_ context.Context, off, n int64) (io.ReadCloser, error) {
						return io.NopCloser(bytes.NewReader(b[off : off+n])), nil
					}
				}
				got, _, err := decodeRange(c, src, 0, int64(size), int64(size))
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("decode of survivors: %v", err)
				}
			})
		}
	})
}

func TestEncodeArguments(t *testing.T) {
	c := newCodec(t, 2, 1, testBlock)
	three := []io.Writer{io.Discard, io.Discard, io.Discard}
	tests := []struct {
		name   string
		dst    []io.Writer
		quorum int
		want   error
	}{
		{"shard count", three[:2], 2, ErrShardCount},
		{"quorum below k", three, 1, ErrInvalidArgument},
		{"quorum above n", three, 4, ErrInvalidArgument},
	}
	for _, tt := range tests {
		if _, _, err := c.Encode(context.Background(), bytes.NewReader(nil), tt.dst, 0, tt.quorum); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestEncodeContextCanceled(t *testing.T) {
	c := newCodec(t, 2, 1, testBlock)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	three := []io.Writer{io.Discard, io.Discard, io.Discard}
	if _, _, err := c.Encode(ctx, bytes.NewReader(make([]byte, 3*testBlock)), three, -1, 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestShardErrors(t *testing.T) {
	s := ShardErrors{nil, &BlockError{Block: 3, Op: "verify", Err: ErrCorruptBlock}, nil, ErrShardMissing}
	if s.Count() != 2 || fmt.Sprint(s.Failed()) != "[1 3]" {
		t.Fatalf("Count=%d Failed=%v", s.Count(), s.Failed())
	}
	if !errors.Is(s, ErrCorruptBlock) || !errors.Is(s, ErrShardMissing) || errors.Is(s, ErrShortShard) {
		t.Fatal("errors.Is does not see through ShardErrors")
	}
	var be *BlockError
	if !errors.As(s, &be) || be.Block != 3 {
		t.Fatal("errors.As does not find the BlockError")
	}
	want := "2 of 4 shards failed: shard 1: block 3: verify: erasure: block hash mismatch; shard 3: erasure: shard missing"
	if s.Error() != want {
		t.Fatalf("Error() = %q", s.Error())
	}
	if (ShardErrors{nil, nil}).Err() != nil || s.Err() == nil {
		t.Fatal("Err() must be nil exactly when no shard failed")
	}
}

// TestEncodeMemory checks that EncodeMemory covers what one Encode call
// really allocates (the protocol layer budgets uploads with it), and that
// it is independent of the object size.
func TestEncodeMemory(t *testing.T) {
	c := newCodec(t, 4, 2, 1<<20)
	if got, want := c.EncodeMemory(), int64(2*6*(HashSize+1<<18)); got != want {
		t.Fatalf("EncodeMemory = %d, want %d", got, want)
	}
	dst := make([]io.Writer, c.Shards())
	for i := range dst {
		dst[i] = io.Discard
	}
	const size = 8 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, _, err := c.Encode(context.Background(), io.LimitReader(zeroReader{}, size), dst, size, c.Shards()); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := int64(after.TotalAlloc - before.TotalAlloc)
	// A little slack for the call's own bookkeeping (workers, errors).
	if limit := c.EncodeMemory() + 64<<10; alloc > limit {
		t.Fatalf("Encode of %d bytes allocated %d bytes, EncodeMemory says %d", size, alloc, c.EncodeMemory())
	}
	t.Logf("Encode of %d MiB allocated %d bytes; EncodeMemory %d", size>>20, alloc, c.EncodeMemory())
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
