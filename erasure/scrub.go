package erasure

import (
	"context"
	"fmt"
)

// ScrubReport is what Scrub found in the k+m shards of one object.
type ScrubReport struct {
	// Shards holds each shard's first failure; nil means every frame
	// verified.
	Shards ShardErrors
	// BadFrames counts, per shard, the frames that did not verify,
	// including every frame after a shard ended or could not be opened.
	BadFrames []int64
	// MinGood is the fewest verified chunks of any block: k+m when every
	// shard is whole, below k when some block is lost. It is k+m for an
	// object with no blocks.
	MinGood int
	// WorstBlock is the first block holding only MinGood verified chunks.
	WorstBlock int64
}

// Scrub reads every frame of every shard of an object of size bytes and
// verifies it, counting failures per block as Decode does: a frame that
// fails its hash or its read spoils that block of that shard only. So it
// tells apart shards with a few rotten frames from lost ones, and whether
// every block still has k verified chunks (MinGood >= k), which is what a
// heal needs.
//
// Shards are read in parallel, one block at a time, with one block set of
// memory whatever the size. Each source is opened at offset 0 for the
// whole shard file (ShardFileSize) and reopened past a failed read; bytes
// past the last frame are never read, so a caller that cares about
// trailing data must compare file sizes. The error is non-nil only for bad
// arguments or when ctx ends.
func (c *Codec) Scrub(ctx context.Context, src []ShardSource, size int64) (ScrubReport, error) {
	n := c.k + c.m
	if len(src) != n {
		return ScrubReport{}, fmt.Errorf("%w: %d sources for %d+%d", ErrShardCount, len(src), c.k, c.m)
	}
	if size < 0 {
		return ScrubReport{}, fmt.Errorf("%w: object size %d", ErrInvalidArgument, size)
	}
	rep := ScrubReport{Shards: make(ShardErrors, n), BadFrames: make([]int64, n), MinGood: n}
	nb := c.NumBlocks(size)
	if nb == 0 {
		return rep, nil
	}
	ws := newWorkers(n)
	readers := make([]*shardReader, n)
	ok := make([]bool, n) // verified chunks of the current block
	end := c.ShardFileSize(size)
	for i, s := range src {
		if s == nil {
			rep.Shards[i] = &BlockError{Block: 0, Op: "open", Err: ErrShardMissing}
			continue
		}
		readers[i] = &shardReader{ctx: ctx, c: c, slot: i, src: s, end: end}
		ws.fns[i] = readers[i].read
	}
	set := c.getSet()
	defer func() {
		ws.stop()
		for _, sr := range readers {
			if sr != nil {
				sr.close()
			}
		}
		c.putSet(set)
	}()
	for b := range nb {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		c.setBlock(set, b, size)
		clear(ok)
		pending, good := 0, 0
		for i, sr := range readers {
			if sr != nil && !sr.gone {
				ws.send(i, set)
				pending++
			}
		}
		for ; pending > 0; pending-- {
			r := ws.recv()
			switch {
			case r.err == nil:
				ok[r.slot] = true
				good++
			case rep.Shards[r.slot] == nil:
				rep.Shards[r.slot] = r.err
			}
		}
		for i := range n {
			if !ok[i] {
				rep.BadFrames[i]++
			}
		}
		if good < rep.MinGood {
			rep.MinGood, rep.WorstBlock = good, b
		}
	}
	return rep, nil
}
