package erasure

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestScrub checks Scrub's per-block accounting: which shards are bad, how
// many of their frames, and the fewest verified chunks of any block.
func TestScrub(t *testing.T) {
	eachBitrot(t, func(t *testing.T, alg Bitrot) {
		c := newCodec(t, 4, 2, testBlock, WithBitrot(alg))
		const nb = 8
		size := int64(nb*testBlock - 100)
		shards := encodeShards(t, c, randomBytes(29, int(size)))
		tests := []struct {
			name       string
			dmg        map[int]damage
			bad        map[int]int64 // bad frames per shard
			minGood    int
			worstBlock int64
		}{
			{name: "clean", minGood: 6},
			{name: "flips-spread", dmg: map[int]damage{0: {faultFlipChunk, 1}, 1: {faultFlipHash, 5}, 4: {faultFlipChunk, 0}, 5: {faultFlipChunk, 7}},
				bad: map[int]int64{0: 1, 1: 1, 4: 1, 5: 1}, minGood: 5, worstBlock: 0},
			{name: "read-sector", dmg: map[int]damage{2: {faultReadSector, 3}}, bad: map[int]int64{2: 1}, minGood: 5, worstBlock: 3},
			{name: "read-errors-persist", dmg: map[int]damage{2: {faultReadError, 3}}, bad: map[int]int64{2: nb - 3}, minGood: 5, worstBlock: 3},
			{name: "truncated", dmg: map[int]damage{3: {faultTruncate, 6}}, bad: map[int]int64{3: nb - 6}, minGood: 5, worstBlock: 6},
			{name: "missing-and-open-error", dmg: map[int]damage{0: {faultMissing, 0}, 5: {faultOpenError, 0}}, bad: map[int]int64{0: nb, 5: nb}, minGood: 4},
			{name: "three-in-one-block", dmg: map[int]damage{0: {faultFlipChunk, 4}, 2: {faultFlipChunk, 4}, 5: {faultFlipHash, 4}, 1: {faultFlipChunk, 6}},
				bad: map[int]int64{0: 1, 1: 1, 2: 1, 5: 1}, minGood: 3, worstBlock: 4},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var log openLog
				rep, err := c.Scrub(context.Background(), damagedSources(c, shards, tt.dmg, &log), size)
				if err != nil {
					t.Fatal(err)
				}
				if rep.MinGood != tt.minGood || rep.WorstBlock != tt.worstBlock {
					t.Errorf("MinGood %d at block %d, want %d at %d", rep.MinGood, rep.WorstBlock, tt.minGood, tt.worstBlock)
				}
				for i := range c.Shards() {
					if rep.BadFrames[i] != tt.bad[i] {
						t.Errorf("shard %d: %d bad frames, want %d", i, rep.BadFrames[i], tt.bad[i])
					}
					if (rep.Shards[i] != nil) != (tt.bad[i] > 0) {
						t.Errorf("shard %d: error %v, want bad=%v", i, rep.Shards[i], tt.bad[i] > 0)
					}
					var be *BlockError
					if d, ok := tt.dmg[i]; ok && (!errors.As(rep.Shards[i], &be) || be.Block != d.block) {
						t.Errorf("shard %d: %v, want a failure at block %d", i, rep.Shards[i], d.block)
					}
					if d, ok := tt.dmg[i]; ok && !errors.Is(rep.Shards[i], wantSentinel(d.f)) {
						t.Errorf("shard %d: %v, want %v", i, rep.Shards[i], wantSentinel(d.f))
					}
				}
				opened := len(log.opens)
				for _, d := range tt.dmg {
					if d.f == faultOpenError {
						opened-- // its open failed: nothing to close
					}
				}
				if int(log.closes.Load()) != opened {
					t.Errorf("%d closes for %d successful opens", log.closes.Load(), opened)
				}
			})
		}
	})
}

func TestScrubArguments(t *testing.T) {
	c := newCodec(t, 2, 1, testBlock)
	for _, tt := range []struct {
		src  []ShardSource
		size int64
		want error
	}{
		{make([]ShardSource, 2), 10, ErrShardCount},
		{make([]ShardSource, 3), -1, ErrInvalidArgument},
	} {
		t.Run(fmt.Sprint(tt.want), func(t *testing.T) {
			if _, err := c.Scrub(context.Background(), tt.src, tt.size); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// An empty object has no frames: full redundancy, nothing opened.
	rep, err := c.Scrub(context.Background(), make([]ShardSource, 3), 0)
	if err != nil || rep.MinGood != 3 || rep.Shards.Count() != 0 {
		t.Fatalf("empty object: %+v %v", rep, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	shards := encodeShards(t, c, randomBytes(1, 3*testBlock))
	if _, err := c.Scrub(ctx, sources(c, shards, nil, 0, nil), 3*testBlock); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}
