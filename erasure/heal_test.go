package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestHeal(t *testing.T) {
	eachBitrot(t, func(t *testing.T, alg Bitrot) {
		for _, g := range geometries {
			c := newCodec(t, g.k, g.m, testBlock, WithBitrot(alg))
			n := g.k + g.m
			type healCase struct {
				name    string
				targets []int
				faults  map[int]fault // faults on non-target sources
				quorum  bool
			}
			cases := []healCase{
				{name: "one-data", targets: []int{0}},
				{name: "one-parity", targets: []int{n - 1}},
				{name: "m-mixed", targets: []int{g.k - 1, n - 1}[:min(2, g.m)]},
				{name: "all-parity", targets: seq(g.k, n)},
				{name: "m-data", targets: seq(0, min(g.m, g.k))},
				{name: "target-plus-corrupt-source", targets: []int{1}, faults: map[int]fault{0: faultFlipChunk}},
				{name: "m-targets-plus-bad-source", targets: seq(n-g.m, n), faults: map[int]fault{0: faultTruncate}, quorum: true},
			}
			if g.m < 2 {
				cases = cases[:len(cases)-2] // target plus a bad source already exceeds m=1
				cases = append(cases, healCase{name: "target-plus-bad-source", targets: []int{2}, faults: map[int]fault{0: faultFlipHash}, quorum: true})
			}
			for _, size := range testSizes(testBlock) {
				data := randomBytes(uint64(size)+99, size)
				shards := encodeShards(t, c, data)
				fb := c.NumBlocks(int64(size)) / 2
				for _, hc := range cases {
					// offered: the shards being rebuilt keep a source whose frame
					// at block fb is rotten, as a deep heal sees them; otherwise
					// their sources are withheld and must never be read.
					for _, offered := range []bool{false, true} {
						t.Run(fmt.Sprintf("%d+%d/size=%d/%s/offered=%v", g.k, g.m, size, hc.name, offered), func(t *testing.T) {
							var log openLog
							faults := map[int]fault{}
							for i, f := range hc.faults {
								faults[i] = f
							}
							for _, i := range hc.targets {
								faults[i] = faultFlipChunk
							}
							src := sources(c, shards, faults, fb, &log)
							dst := make([]io.Writer, n)
							bufs := make([]bytes.Buffer, n)
							for _, i := range hc.targets {
								dst[i] = &bufs[i]
								if !offered {
									src[i] = nil
								}
							}
							serrs, err := c.Heal(context.Background(), src, dst, int64(size))
							for _, o := range log.opens {
								if dst[o.shard] != nil && !offered {
									t.Fatalf("heal read withheld target shard %d", o.shard)
								}
							}
							if hc.quorum && size > 0 {
								if !errors.Is(err, ErrReadQuorum) {
									t.Fatalf("err = %v, want ErrReadQuorum", err)
								}
								for _, i := range hc.targets {
									if !bytes.Equal(bufs[i].Bytes(), shards[i][:c.ShardOffset(fb)]) {
										t.Fatalf("shard %d: wrote %d bytes, want exactly the %d verified ones", i, bufs[i].Len(), c.ShardOffset(fb))
									}
								}
								return
							}
							if err != nil {
								t.Fatalf("Heal: %v", err)
							}
							for _, i := range hc.targets {
								if !bytes.Equal(bufs[i].Bytes(), shards[i]) {
									t.Fatalf("healed shard %d differs (%d vs %d bytes)", i, bufs[i].Len(), len(shards[i]))
								}
							}
							for i, f := range hc.faults {
								if size > 0 && i < g.k && !errors.Is(serrs[i], wantSentinel(f)) {
									t.Errorf("bad source %d not reported: %v", i, serrs[i])
								}
							}
							if int(log.closes.Load()) != len(log.opens) {
								t.Errorf("%d closes for %d opens", log.closes.Load(), len(log.opens))
							}
						})
					}
				}
			}
		}
	})
}

func seq(lo, hi int) []int {
	var s []int
	for i := lo; i < hi; i++ {
		s = append(s, i)
	}
	return s
}

func TestHealWriterFailure(t *testing.T) {
	c := newCodec(t, 4, 2, testBlock)
	size := 5*testBlock + 1
	data := randomBytes(3, size)
	shards := encodeShards(t, c, data)
	frame := HashSize + testBlock/4

	// One of two destinations fails: the other is still rebuilt.
	good, bad := &failingWriter{limit: 1 << 30}, &failingWriter{limit: 2 * frame}
	dst := []io.Writer{good, nil, nil, nil, nil, bad}
	src := sources(c, shards, map[int]fault{0: faultMissing, 5: faultMissing}, 0, nil)
	serrs, err := c.Heal(context.Background(), src, dst, int64(size))
	if err != nil {
		t.Fatalf("Heal: %v", err)
	}
	if !errors.Is(serrs[5], errInjected) || serrs[0] != nil {
		t.Fatalf("serrs = %v", serrs)
	}
	if !bytes.Equal(good.buf.Bytes(), shards[0]) {
		t.Fatal("surviving destination not byte-identical")
	}

	// Every destination fails: ErrWriteQuorum.
	dst = []io.Writer{&failingWriter{limit: frame}, nil, nil, nil, nil, nil}
	if _, err := c.Heal(context.Background(), src, dst, int64(size)); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("err = %v, want ErrWriteQuorum", err)
	}
}

func TestHealArguments(t *testing.T) {
	c := newCodec(t, 2, 1, testBlock)
	src := make([]ShardSource, 3)
	if _, err := c.Heal(context.Background(), src[:2], make([]io.Writer, 3), 10); !errors.Is(err, ErrShardCount) {
		t.Errorf("err = %v, want ErrShardCount", err)
	}
	if _, err := c.Heal(context.Background(), src, make([]io.Writer, 3), -1); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("err = %v, want ErrInvalidArgument", err)
	}
	// Nothing to rebuild: no reads at all, even with no sources.
	if _, err := c.Heal(context.Background(), src, make([]io.Writer, 3), 10); err != nil {
		t.Errorf("err = %v", err)
	}
}

func TestVerifyShard(t *testing.T) {
	eachBitrot(t, func(t *testing.T, alg Bitrot) {
		c := newCodec(t, 4, 2, testBlock, WithBitrot(alg))
		size := int64(4*testBlock + 10)
		shards := encodeShards(t, c, randomBytes(8, int(size)))
		s := shards[2]
		flip := func(p int64) []byte { b := bytes.Clone(s); b[p] ^= 1; return b }
		tests := []struct {
			name  string
			file  []byte
			want  error
			block int64
		}{
			{"clean", s, nil, 0},
			{"flip chunk", flip(c.ShardOffset(2) + HashSize + 5), ErrCorruptBlock, 2},
			{"flip hash", flip(c.ShardOffset(4)), ErrCorruptBlock, 4},
			{"truncated", s[:c.ShardOffset(3)+HashSize+1], ErrShortShard, 3},
			{"empty", nil, ErrShortShard, 0},
			{"trailing", append(bytes.Clone(s), 0), ErrTrailingData, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := c.VerifyShard(context.Background(), bytes.NewReader(tt.file), size)
				if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				var be *BlockError
				if errors.As(err, &be) && be.Block != tt.block {
					t.Fatalf("block %d, want %d", be.Block, tt.block)
				}
			})
		}
		if err := c.VerifyShard(context.Background(), bytes.NewReader(nil), 0); err != nil {
			t.Fatalf("empty object: %v", err)
		}
	})
}
