package erasure

import (
	"context"
	"fmt"
	"io"
)

// Heal rebuilds the shards whose dst[i] is non-nil for an object of size
// bytes, streaming block by block. Each rebuilt shard file is
// byte-identical (hashes included) to what Encode wrote.
//
// A shard being rebuilt may still have a source (a shard file with a few
// rotten frames): its frames that verify are copied as they are and only
// its bad frames are rebuilt from k verified chunks of the others, so a
// damaged shard costs reads of the others only for its bad blocks. The
// caller must make sure that writing dst[i] does not disturb reading src[i]
// (drive.ShardStore writers publish atomically on Commit, after Heal
// returns); with src[i] nil the shard is never read. The other sources are
// read as in Decode, failures counting per block: the first k available in
// index order (data shards first) for each block that needs them,
// replacing any that fail with untried ones.
//
// A failing dst writer is dropped and recorded in the returned ShardErrors
// (k+m entries, which also lists bad source shards worth healing next); Heal
// goes on rebuilding the others and returns ErrWriteQuorum only when every
// destination has failed. It returns ErrReadQuorum if some block has fewer
// than k verified chunks among the sources (counting the shards being
// rebuilt), having written only verified frames up to that block.
func (c *Codec) Heal(ctx context.Context, src []ShardSource, dst []io.Writer, size int64) (ShardErrors, error) {
	n := c.k + c.m
	if len(src) != n || len(dst) != n {
		return nil, fmt.Errorf("%w: %d sources and %d writers for %d+%d", ErrShardCount, len(src), len(dst), c.k, c.m)
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: object size %d", ErrInvalidArgument, size)
	}
	serrs := make(ShardErrors, n)
	// required doubles as the set of healthy destinations: the RS library
	// rebuilds exactly these shards.
	h := &healer{required: make([]bool, n), ws: newWorkers(n), serrs: serrs}
	// Shards being rebuilt are read first: where their own frame verifies,
	// nothing needs rebuilding for them.
	var order, others []int
	for i, w := range dst {
		if w == nil {
			others = append(others, i)
			continue
		}
		if src[i] != nil {
			order = append(order, i)
		}
		h.required[i] = true
		h.nalive++
		sw := &shardWriter{c: c, slot: i, w: w}
		h.ws.fns[i] = sw.write
	}
	nb := c.NumBlocks(size)
	if h.nalive == 0 || nb == 0 {
		return serrs, nil // nothing to rebuild, or empty shard files
	}
	order = append(order, others...)
	g := c.newGatherer(ctx, src, serrs, order, h.required, size, nb-1)
	defer g.close()
	defer h.ws.stop()
	sets := [2]*blockSet{c.getSet(), c.getSet()}
	defer func() {
		h.collect()
		c.putSet(sets[0])
		c.putSet(sets[1])
	}()

	for b := range nb {
		if err := ctx.Err(); err != nil {
			return serrs, err
		}
		s := sets[b%2]
		if err := g.gather(b, s); err != nil {
			return serrs, err
		}
		if err := c.reconstructSome(s, g.present, h.required); err != nil {
			return serrs, fmt.Errorf("erasure: heal block %d: %w", b, err)
		}
		// Writes of block b-1 must finish before its set is reused.
		h.collect()
		if h.nalive == 0 {
			return serrs, fmt.Errorf("%w: block %d: every healed shard failed: %w", ErrWriteQuorum, b, serrs)
		}
		h.dispatch(s)
	}
	h.collect()
	if h.nalive == 0 {
		return serrs, fmt.Errorf("%w: every healed shard failed: %w", ErrWriteQuorum, serrs)
	}
	return serrs, nil
}

// reconstructSome rebuilds the required shards of s that did not verify into
// their own frames; the library leaves present ones untouched.
func (c *Codec) reconstructSome(s *blockSet, present, required []bool) error {
	for i := range c.k + c.m {
		if present[i] {
			s.shards[i] = s.chunkOf(i)
		} else {
			s.shards[i] = s.emptyChunk(i)
		}
	}
	if err := c.enc.ReconstructSome(s.shards, required); err != nil {
		return err
	}
	for i, req := range required {
		// The library fills zero-length shards within their capacity, but
		// the frame must hold the chunk, so guard against it allocating.
		if req && &s.shards[i][0] != &s.frames[i][HashSize] {
			copy(s.chunkOf(i), s.shards[i])
		}
	}
	return nil
}

// healer tracks Heal's destination writers.
type healer struct {
	required []bool // healthy destinations
	nalive   int
	ws       *workers
	serrs    ShardErrors
	pending  int
}

func (h *healer) dispatch(s *blockSet) {
	for i, ok := range h.required {
		if ok {
			h.ws.send(i, s)
			h.pending++
		}
	}
}

func (h *healer) collect() {
	for ; h.pending > 0; h.pending-- {
		r := h.ws.recv()
		if r.err != nil {
			h.serrs[r.slot] = r.err
			h.required[r.slot] = false
			h.nalive--
		}
	}
}
