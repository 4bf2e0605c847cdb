package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
)

// badSet is a named choice of faulty shards for a geometry.
type badSet struct {
	name   string
	shards []int
	quorum bool // more than m bad: the read must fail
}

func badSets(k, m int) []badSet {
	var mData, mMixed, tooMany []int
	for i := range min(m, k) {
		mData = append(mData, i)
	}
	mMixed = append(mMixed, k-1)
	for i := k; len(mMixed) < m; i++ {
		mMixed = append(mMixed, i)
	}
	tooMany = append(tooMany, 0)
	for i := k; i < k+m; i++ {
		tooMany = append(tooMany, i)
	}
	return []badSet{
		{name: "none"},
		{name: "one-data", shards: []int{0}},
		{name: "m-data", shards: mData},
		{name: "m-mixed", shards: mMixed},
		{name: "m+1", shards: tooMany, quorum: true},
	}
}

func wantSentinel(f fault) error {
	switch f {
	case faultMissing:
		return ErrShardMissing
	case faultOpenError, faultReadError, faultReadSector:
		return errInjected
	case faultTruncate:
		return ErrShortShard
	default:
		return ErrCorruptBlock
	}
}

// TestDecodeFaults is the main matrix: geometry × size × fault kind × which
// shards are bad. Output must be the exact object, or, past m failures,
// ErrReadQuorum with only the verified blocks before the fault written.
func TestDecodeFaults(t *testing.T) {
	eachBitrot(t, func(t *testing.T, alg Bitrot) {
		for _, g := range geometries {
			c := newCodec(t, g.k, g.m, testBlock, WithBitrot(alg))
			for _, size := range testSizes(testBlock) {
				data := randomBytes(uint64(size), size)
				shards := encodeShards(t, c, data)
				nb := c.NumBlocks(int64(size))
				fb := nb / 2 // fault the middle block, so earlier blocks read cleanly
				for _, bs := range badSets(g.k, g.m) {
					for _, f := range allFaults {
						if bs.name == "none" && f != allFaults[0] {
							continue
						}
						name := fmt.Sprintf("%d+%d/size=%d/%s/%s", g.k, g.m, size, bs.name, f)
						t.Run(name, func(t *testing.T) {
							bad := map[int]fault{}
							for _, i := range bs.shards {
								bad[i] = f
							}
							got, serrs, err := decodeRange(c, sources(c, shards, bad, fb, nil), 0, int64(size), int64(size))
							if bs.quorum && size > 0 {
								if !errors.Is(err, ErrReadQuorum) {
									t.Fatalf("err = %v, want ErrReadQuorum", err)
								}
								var se ShardErrors
								if !errors.As(err, &se) || se.Count() == 0 {
									t.Fatalf("quorum error carries no ShardErrors: %v", err)
								}
								prefix := int(fb) * testBlock
								if f == faultMissing || f == faultOpenError {
									prefix = 0
								}
								if !bytes.Equal(got, data[:prefix]) {
									t.Fatalf("wrote %d bytes on quorum failure, want exactly the %d verified ones", len(got), prefix)
								}
								return
							}
							if err != nil {
								t.Fatalf("Decode: %v (serrs %v)", err, serrs)
							}
							if !bytes.Equal(got, data) {
								t.Fatalf("output differs from object (len %d vs %d)", len(got), len(data))
							}
							checkShardErrors(t, serrs, bad, g.k, size, fb)
						})
					}
				}
			}
		}
	})
}

// checkShardErrors asserts that every bad data shard is reported with the
// right cause and block, and no good shard is.
func checkShardErrors(t *testing.T, serrs ShardErrors, bad map[int]fault, k, size int, fb int64) {
	t.Helper()
	if len(serrs) == 0 {
		t.Fatal("no ShardErrors returned")
	}
	for i, err := range serrs {
		f, isBad := bad[i]
		if !isBad {
			if err != nil {
				t.Errorf("good shard %d reported: %v", i, err)
			}
			continue
		}
		if i >= k || size == 0 {
			continue // parity may not have been needed; empty objects read nothing
		}
		if !errors.Is(err, wantSentinel(f)) {
			t.Errorf("shard %d (%s): err = %v, want %v", i, f, err, wantSentinel(f))
		}
		var be *BlockError
		if !errors.As(err, &be) {
			t.Errorf("shard %d: %T is not a *BlockError", i, err)
		} else if f != faultMissing && f != faultOpenError && be.Block != fb {
			t.Errorf("shard %d: failure at block %d, want %d", i, be.Block, fb)
		}
	}
}

// TestDecodeOpensOnlyWhatItNeeds checks that a clean read opens only the k
// data shards, once each, at the range's first frame; and that a data
// shard going bad mid-stream opens exactly one parity shard at that block.
func TestDecodeOpensOnlyWhatItNeeds(t *testing.T) {
	c := newCodec(t, 4, 2, testBlock)
	size := 10*testBlock + 77
	data := randomBytes(7, size)
	shards := encodeShards(t, c, data)
	off, length := int64(3*testBlock+100), int64(5*testBlock)
	first, last := off/testBlock, (off+length-1)/testBlock
	wantLen := c.ShardOffset(last+1) - c.ShardOffset(first)

	var log openLog
	got, _, err := decodeRange(c, sources(c, shards, nil, 0, &log), off, length, int64(size))
	if err != nil || !bytes.Equal(got, data[off:off+length]) {
		t.Fatalf("clean decode: err=%v equal=%v", err, bytes.Equal(got, data[off:off+length]))
	}
	if len(log.opens) != 4 {
		t.Fatalf("opens = %+v, want the 4 data shards once each", log.opens)
	}
	for _, o := range log.opens {
		if o.shard >= 4 || o.off != c.ShardOffset(first) || o.length != wantLen {
			t.Errorf("open %+v, want data shard at off %d len %d", o, c.ShardOffset(first), wantLen)
		}
	}

	var log2 openLog
	fb := first + 2
	got, serrs, err := decodeRange(c, sources(c, shards, map[int]fault{1: faultFlipChunk}, fb, &log2), off, length, int64(size))
	if err != nil || !bytes.Equal(got, data[off:off+length]) {
		t.Fatalf("degraded decode: err=%v", err)
	}
	if !errors.Is(serrs[1], ErrCorruptBlock) {
		t.Errorf("serrs[1] = %v, want ErrCorruptBlock", serrs[1])
	}
	if int(log.closes.Load()) != len(log.opens) || int(log2.closes.Load()) != len(log2.opens) {
		t.Errorf("closes %d/%d for opens %d/%d", log.closes.Load(), log2.closes.Load(), len(log.opens), len(log2.opens))
	}
	counts := log2.shards()
	if len(log2.opens) != 5 || counts[4] != 1 {
		t.Fatalf("opens = %+v, want 4 data + parity shard 4", log2.opens)
	}
	for _, o := range log2.opens {
		if o.shard == 4 && (o.off != c.ShardOffset(fb) || o.off+o.length != c.ShardOffset(last+1)) {
			t.Errorf("parity opened at %d len %d, want at block %d (%d) through block %d", o.off, o.length, fb, c.ShardOffset(fb), last)
		}
	}
}

// TestDecodeRanges compares random ranges with the object's slice, clean
// and with up to m corrupt shards.
func TestDecodeRanges(t *testing.T) {
	eachBitrot(t, func(t *testing.T, alg Bitrot) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, g := range geometries {
			c := newCodec(t, g.k, g.m, testBlock, WithBitrot(alg))
			size := 7*testBlock + 1001
			data := randomBytes(uint64(g.k*10+g.m), size)
			shards := encodeShards(t, c, data)
			for n := range 40 {
				off := r.Int64N(int64(size) + 1)
				length := r.Int64N(int64(size) - off + 1)
				if n%4 == 0 {
					length = min(length, int64(r.IntN(20))) // tiny ranges, often inside one chunk
				}
				bad := map[int]fault{}
				for j := range n % (g.m + 1) {
					bad[(j*3)%(g.k+g.m)] = allFaults[(n+j)%len(allFaults)]
				}
				fb := r.Int64N(c.NumBlocks(int64(size)))
				got, serrs, err := decodeRange(c, sources(c, shards, bad, fb, nil), off, length, int64(size))
				if err != nil {
					t.Fatalf("%d+%d [%d,+%d) bad=%v: %v", g.k, g.m, off, length, bad, err)
				}
				if !bytes.Equal(got, data[off:off+length]) {
					t.Fatalf("%d+%d [%d,+%d) bad=%v: wrong bytes (serrs %v)", g.k, g.m, off, length, bad, serrs)
				}
			}
		}
	})
}

func TestDecodeDefaultBlockSize(t *testing.T) {
	c, err := New(4, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c.BlockSize() != DefaultBlockSize {
		t.Fatalf("BlockSize = %d", c.BlockSize())
	}
	for _, size := range []int{0, 1, DefaultBlockSize - 1, DefaultBlockSize, DefaultBlockSize + 1, 3*DefaultBlockSize + 12345} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := randomBytes(uint64(size)+3, size)
			shards := encodeShards(t, c, data)
			for i, s := range shards {
				if int64(len(s)) != c.ShardFileSize(int64(size)) {
					t.Fatalf("shard %d has %d bytes, ShardFileSize says %d", i, len(s), c.ShardFileSize(int64(size)))
				}
			}
			bad := map[int]fault{0: faultFlipChunk, 3: faultTruncate}
			got, _, err := decodeRange(c, sources(c, shards, bad, c.NumBlocks(int64(size))/2, nil), 0, int64(size), int64(size))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("err=%v equal=%v", err, bytes.Equal(got, data))
			}
		})
	}
}

// TestDecodeLarge runs a ~100 MiB object through the default geometry with
// two failed data shards. Skipped with -short.
func TestDecodeLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MiB round trip")
	}
	c, err := New(4, 2)
	if err != nil {
		t.Fatal(err)
	}
	size := 100<<20 + 12345
	data := randomBytes(42, size)
	shards := encodeShards(t, c, data)
	bad := map[int]fault{1: faultMissing, 2: faultFlipChunk}
	got, serrs, err := decodeRange(c, sources(c, shards, bad, 50, nil), 0, int64(size), int64(size))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("err=%v equal=%v serrs=%v", err, bytes.Equal(got, data), serrs)
	}
}

func TestDecodeArguments(t *testing.T) {
	c := newCodec(t, 2, 1, testBlock)
	shards := encodeShards(t, c, randomBytes(1, 100))
	src := sources(c, shards, nil, 0, nil)
	tests := []struct {
		name              string
		src               []ShardSource
		off, length, size int64
		want              error
	}{
		{"shard count", src[:2], 0, 10, 100, ErrShardCount},
		{"negative offset", src, -1, 10, 100, ErrInvalidArgument},
		{"past end", src, 95, 10, 100, ErrInvalidArgument},
		{"offset past size", src, 101, 0, 100, ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.src[0](context.Background(), 0, 0) // sanity: sources work
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := decodeRange(c, tt.src, tt.off, tt.length, tt.size); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// A zero-length range opens nothing.
	var log openLog
	if _, _, err := decodeRange(c, sources(c, shards, nil, 0, &log), 50, 0, 100); err != nil || len(log.opens) != 0 {
		t.Fatalf("empty range: err=%v opens=%v", err, log.opens)
	}
}

// errWriter fails after accepting n bytes.
type errWriter struct{ n int }

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errInjected
	}
	w.n -= len(p)
	return len(p), nil
}

func TestDecodeOutputError(t *testing.T) {
	c := newCodec(t, 4, 2, testBlock)
	size := 6 * testBlock
	shards := encodeShards(t, c, randomBytes(5, size))
	_, err := c.Decode(context.Background(), &errWriter{n: 2 * testBlock}, sources(c, shards, nil, 0, nil), 0, int64(size), int64(size))
	if !errors.Is(err, errInjected) {
		t.Fatalf("err = %v, want the writer's error", err)
	}
}

func TestDecodeContextCanceled(t *testing.T) {
	c := newCodec(t, 4, 2, testBlock)
	size := 6 * testBlock
	shards := encodeShards(t, c, randomBytes(5, size))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Decode(ctx, io.Discard, sources(c, shards, nil, 0, nil), 0, int64(size), int64(size))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// TestDecodeAllocsBounded checks memory does not grow with the object:
// allocations per call are the same for 4 and 64 blocks.
func TestDecodeAllocsBounded(t *testing.T) {
	c := newCodec(t, 4, 2, testBlock)
	measure := func(blocks int) float64 {
		size := blocks * testBlock
		shards := encodeShards(t, c, randomBytes(9, size))
		src := sources(c, shards, nil, 0, nil)
		return testing.AllocsPerRun(20, func() {
			if _, err := c.Decode(context.Background(), io.Discard, src, 0, int64(size), int64(size)); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := measure(4), measure(64)
	if large > small+2 {
		t.Fatalf("allocations grow with object size: %v for 4 blocks, %v for 64", small, large)
	}
}

// spreadMixes are the fault kinds of TestDecodeDamageSpreadOverBlocks; kind
// gives the fault of the j-th of d damaged shards, numbered by the block
// they are damaged in (so the last ones hit the latest blocks).
var spreadMixes = []struct {
	name string
	kind func(j, d, m int) fault
}{
	{"flip-chunk", func(int, int, int) fault { return faultFlipChunk }},
	{"flip-hash", func(int, int, int) fault { return faultFlipHash }},
	{"read-sector", func(int, int, int) fault { return faultReadSector }},
	// A truncated shard is gone from its block on, so at most m of them fit
	// and only in the latest damaged blocks; the others cycle the kinds above.
	{"mixed-truncated", func(j, d, m int) fault {
		if j >= d-m {
			return faultTruncate
		}
		return [...]fault{faultFlipChunk, faultFlipHash, faultReadSector}[j%3]
	}},
}

// TestDecodeDamageSpreadOverBlocks: m+1 up to k+m shards each damaged in a
// block of its own, so every block still has k good chunks. The whole
// object and ranges of it read back identical, every damaged data shard is
// reported at its block and no good shard is, and Heal rebuilds all the
// damaged shards byte-identical from themselves and the others.
func TestDecodeDamageSpreadOverBlocks(t *testing.T) {
	eachBitrot(t, func(t *testing.T, alg Bitrot) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, g := range geometries {
			n := g.k + g.m
			c := newCodec(t, g.k, g.m, testBlock, WithBitrot(alg))
			size := (n+2)*testBlock + 123 // more blocks than shards, the last one short
			data := randomBytes(uint64(n)*31, size)
			shards := encodeShards(t, c, data)
			nb := int(c.NumBlocks(int64(size)))
			for d := g.m + 1; d <= n; d++ {
				for _, mix := range spreadMixes {
					first := r.IntN(n)
					blocks := r.Perm(nb)[:d]
					slices.Sort(blocks)
					order := r.Perm(d) // which damaged shard gets which block
					dmg := map[int]damage{}
					for j := range d {
						shard := (first + order[j]) % n
						dmg[shard] = damage{f: mix.kind(j, d, g.m), block: int64(blocks[j])}
					}
					t.Run(fmt.Sprintf("%d+%d/bad=%d/%s", g.k, g.m, d, mix.name), func(t *testing.T) {
						src := damagedSources(c, shards, dmg, nil)
						got, serrs, err := decodeRange(c, src, 0, int64(size), int64(size))
						if err != nil {
							t.Fatalf("Decode with %v: %v", dmg, err)
						}
						if !bytes.Equal(got, data) {
							t.Fatalf("Decode with %v: output differs (len %d vs %d)", dmg, len(got), len(data))
						}
						for i, err := range serrs {
							dm, bad := dmg[i]
							var be *BlockError
							switch {
							case !bad && err != nil:
								t.Errorf("good shard %d reported: %v", i, err)
							case bad && i < g.k && !errors.Is(err, wantSentinel(dm.f)):
								t.Errorf("data shard %d (%s at block %d): err = %v", i, dm.f, dm.block, err)
							case bad && i < g.k && (!errors.As(err, &be) || be.Block != dm.block):
								t.Errorf("data shard %d (%s): reported %v, want block %d", i, dm.f, err, dm.block)
							}
						}
						for range 5 {
							off := r.Int64N(int64(size))
							length := r.Int64N(int64(size) - off + 1)
							got, _, err := decodeRange(c, src, off, length, int64(size))
							if err != nil || !bytes.Equal(got, data[off:off+length]) {
								t.Fatalf("range [%d,+%d) with %v: err=%v identical=%v", off, length, dmg, err, bytes.Equal(got, data[off:off+length]))
							}
						}

						dst := make([]io.Writer, n)
						bufs := make([]bytes.Buffer, n)
						for i := range dmg {
							dst[i] = &bufs[i]
						}
						if _, err := c.Heal(context.Background(), src, dst, int64(size)); err != nil {
							t.Fatalf("Heal with %v: %v", dmg, err)
						}
						for i := range dmg {
							if !bytes.Equal(bufs[i].Bytes(), shards[i]) {
								t.Fatalf("healed shard %d (%s at block %d) differs", i, dmg[i].f, dmg[i].block)
							}
						}
					})
				}
			}
		}
	})
}

// TestDecodeRetriesShardAfterBadBlock: one bad frame in a data shard costs
// one parity frame plus one spare, not parity for the rest of the object,
// and a heal of that shard reads the others only around its bad frame.
func TestDecodeRetriesShardAfterBadBlock(t *testing.T) {
	eachBitrot(t, func(t *testing.T, alg Bitrot) {
		c := newCodec(t, 4, 2, testBlock, WithBitrot(alg))
		const nb, fb = 10, 3
		size := nb * testBlock
		data := randomBytes(17, size)
		shards := encodeShards(t, c, data)
		frame := int64(HashSize + testBlock/4)
		dmg := map[int]damage{1: {f: faultFlipChunk, block: fb}}

		var log openLog
		got, serrs, err := decodeRange(c, damagedSources(c, shards, dmg, &log), 0, int64(size), int64(size))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Decode: err=%v identical=%v", err, bytes.Equal(got, data))
		}
		if !errors.Is(serrs[1], ErrCorruptBlock) || serrs.Count() != 1 {
			t.Fatalf("serrs = %v, want only shard 1 corrupt", serrs)
		}
		for i := range 4 {
			if r := log.bytesRead(i); r != nb*frame {
				t.Errorf("data shard %d: read %d bytes, want all %d frames (%d)", i, r, nb, nb*frame)
			}
		}
		// Parity 4 stands in at block fb and is the spare at fb+1, when shard 1
		// is tried again and verifies; parity 5 is never needed.
		if r4, r5 := log.bytesRead(4), log.bytesRead(5); r4 != 2*frame || r5 != 0 {
			t.Errorf("parity read %d and %d bytes, want %d and 0", r4, r5, 2*frame)
		}
		if counts := log.shards(); len(log.opens) != 5 || counts[4] != 1 {
			t.Errorf("opens = %+v, want each data shard and parity 4 once", log.opens)
		}

		var hlog openLog
		dst := make([]io.Writer, c.Shards())
		var healed bytes.Buffer
		dst[1] = &healed
		if _, err := c.Heal(context.Background(), damagedSources(c, shards, dmg, &hlog), dst, int64(size)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(healed.Bytes(), shards[1]) {
			t.Fatal("healed shard differs")
		}
		if r := hlog.bytesRead(1); r != nb*frame {
			t.Errorf("heal read %d bytes of the shard it rebuilds, want all %d", r, nb*frame)
		}
		// Shard 1's bad frame needs 4 others; at the next block they are the
		// spares while shard 1 proves itself again; otherwise they are idle.
		total := int64(0)
		for _, i := range []int{0, 2, 3, 4, 5} {
			total += hlog.bytesRead(i)
		}
		if total != 2*4*frame {
			t.Errorf("heal read %d bytes of the other shards, want %d (4 shards x 2 frames)", total, 2*4*frame)
		}
	})
}

// TestDecodeGivesUpOnFailingReads: a shard whose reads keep failing is
// dropped after maxReadErrors blocks instead of being retried (and waited
// on) for every block.
func TestDecodeGivesUpOnFailingReads(t *testing.T) {
	c := newCodec(t, 2, 1, testBlock)
	size := 8 * testBlock
	data := randomBytes(23, size)
	shards := encodeShards(t, c, data)
	var log openLog
	got, serrs, err := decodeRange(c, sources(c, shards, map[int]fault{0: faultReadError}, 1, &log), 0, int64(size), int64(size))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Decode: err=%v identical=%v", err, bytes.Equal(got, data))
	}
	if !errors.Is(serrs[0], errInjected) {
		t.Fatalf("serrs[0] = %v", serrs[0])
	}
	if counts := log.shards(); counts[0] != maxReadErrors {
		t.Fatalf("shard 0 opened %d times, want %d (first open, one reopen)", counts[0], maxReadErrors)
	}
}
