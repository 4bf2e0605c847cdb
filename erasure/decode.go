package erasure

import (
	"context"
	"fmt"
	"io"
)

// ShardSource opens length bytes of one shard file starting at off. The
// codec calls it at most once per shard per call, reads the returned stream
// sequentially (never past length) and closes it before the call returns.
// A nil ShardSource is a missing shard. The stream should abort its reads
// when ctx is done: the codec waits for a read it started before returning.
type ShardSource func(ctx context.Context, off, length int64) (io.ReadCloser, error)

// Decode writes bytes [offset, offset+length) of an object of size bytes
// to w, and nothing else.
//
// Only the blocks covering the range are read, and at first only from the
// k data shards, each opened once at the range's first frame. Every chunk
// is verified against its hash before use. A data shard that is nil, fails
// to open, ends early or fails verification is marked bad for the rest of
// the call, and as many parity shards as needed are opened at the current
// block and read from then on; the block is rebuilt from any k verified
// chunks. If fewer than k verified chunks exist for a block, Decode returns
// ErrReadQuorum before writing any of that block: it never writes bytes it
// could not verify.
//
// The returned ShardErrors (k+m entries) lists the shards found bad, so the
// caller can queue a heal even when the read succeeded. Errors from w are
// returned wrapped. Block b+1 is read while block b is written to w.
func (c *Codec) Decode(ctx context.Context, w io.Writer, src []ShardSource, offset, length, size int64) (ShardErrors, error) {
	n := c.k + c.m
	if len(src) != n {
		return nil, fmt.Errorf("%w: %d sources for %d+%d", ErrShardCount, len(src), c.k, c.m)
	}
	if offset < 0 || length < 0 || size < 0 || offset > size || length > size-offset {
		return nil, fmt.Errorf("%w: range [%d, +%d) of object of %d bytes", ErrInvalidArgument, offset, length, size)
	}
	serrs := make(ShardErrors, n)
	if length == 0 {
		return serrs, nil
	}
	first := offset / int64(c.blockSize)
	last := (offset + length - 1) / int64(c.blockSize)
	g := c.newGatherer(ctx, src, serrs, allShards(n), size, last)
	defer g.close()

	rw := &rangeWriter{w: w, offset: offset, end: offset + length, blockSize: int64(c.blockSize)}
	out := newWorkers(1)
	out.fns[0] = rw.write
	defer out.stop()
	outPending := false
	waitOut := func() error {
		if !outPending {
			return nil
		}
		outPending = false
		if r := out.recv(); r.err != nil {
			return fmt.Errorf("erasure: decode: write output: %w", r.err)
		}
		return nil
	}

	sets := [2]*blockSet{c.getSet(), c.getSet()}
	defer func() {
		_ = waitOut() // the set may be back in the pool only once w is done with it
		c.putSet(sets[0])
		c.putSet(sets[1])
	}()

	for b := first; b <= last; b++ {
		if err := ctx.Err(); err != nil {
			return serrs, err
		}
		s := sets[(b-first)%2]
		if err := g.gather(b, s); err != nil {
			return serrs, err
		}
		if err := c.reconstructData(s, g.present); err != nil {
			return serrs, fmt.Errorf("erasure: decode block %d: %w", b, err)
		}
		// Block b-1 must be out before its set is reused for block b+1.
		if err := waitOut(); err != nil {
			return serrs, err
		}
		out.send(0, s)
		outPending = true
	}
	return serrs, waitOut()
}

// reconstructData points s.shards at the verified chunks and rebuilds
// missing data chunks in place, so s.shards[:k] hold the block's data.
func (c *Codec) reconstructData(s *blockSet, present []bool) error {
	complete := true
	for i := range c.k + c.m {
		if present[i] {
			s.shards[i] = s.chunkOf(i)
		} else {
			s.shards[i] = s.emptyChunk(i)
			complete = complete && i >= c.k
		}
	}
	if complete {
		return nil
	}
	return c.enc.ReconstructData(s.shards)
}

func allShards(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return order
}

// rangeWriter copies the requested part of each decoded block to w.
type rangeWriter struct {
	w           io.Writer
	offset, end int64 // requested object range [offset, end)
	blockSize   int64
}

func (rw *rangeWriter) write(s *blockSet) error {
	base := s.block * rw.blockSize
	lo := int(max(rw.offset-base, 0))
	hi := int(min(rw.end-base, int64(s.length)))
	// The block's bytes are spread over the data chunks in order; write the
	// covered part of each chunk, straight from the codec's buffers.
	for p := lo; p < hi; {
		i, off := p/s.chunk, p%s.chunk
		end := min(s.chunk, off+hi-p)
		n, err := rw.w.Write(s.shards[i][off:end])
		if err == nil && n != end-off {
			err = io.ErrShortWrite
		}
		if err != nil {
			return err
		}
		p += end - off
	}
	return nil
}

// gatherer reads blocks from shard sources until each block has k verified
// chunks, replacing failed shards with untried ones in preference order.
// Decode and Heal share it.
type gatherer struct {
	c       *Codec
	ctx     context.Context
	src     []ShardSource
	serrs   ShardErrors
	order   []int // candidate shards, most preferred first
	next    int   // position in order of the next untried candidate
	live    []bool
	present []bool // verified chunks of the block being gathered
	readers []*shardReader
	ws      *workers
	size    int64
	end     int64 // shard-file offset just past the last needed frame
}

func (c *Codec) newGatherer(ctx context.Context, src []ShardSource, serrs ShardErrors, order []int, size, lastBlock int64) *gatherer {
	n := c.k + c.m
	end := c.ShardOffset(lastBlock) + int64(HashSize+c.chunkLen(c.blockLen(lastBlock, size)))
	return &gatherer{
		c:       c,
		ctx:     ctx,
		src:     src,
		serrs:   serrs,
		order:   order,
		live:    make([]bool, n),
		present: make([]bool, n),
		readers: make([]*shardReader, n),
		ws:      newWorkers(n),
		size:    size,
		end:     end,
	}
}

// gather reads block b into s. On return without error, g.present marks at
// least k verified chunks. Every live shard is read for every block, which
// keeps each one's stream positioned at the next block.
func (g *gatherer) gather(b int64, s *blockSet) error {
	k := g.c.k
	g.c.setBlock(s, b, g.size)
	clear(g.present)
	pending, good := 0, 0
	for i, ok := range g.live {
		if ok {
			g.ws.send(i, s)
			pending++
		}
	}
	for {
		for ; pending > 0; pending-- {
			r := g.ws.recv()
			if r.err != nil {
				g.serrs[r.slot] = r.err
				g.live[r.slot] = false
			} else {
				g.present[r.slot] = true
				good++
			}
		}
		if good >= k {
			return nil
		}
		// Bring in just enough untried shards to cover the shortfall; they
		// open at this block and are read in parallel.
		for need := k - good; need > 0 && g.next < len(g.order); g.next++ {
			i := g.order[g.next]
			if g.src[i] == nil {
				g.serrs[i] = &BlockError{Block: b, Op: "open", Err: ErrShardMissing}
				continue
			}
			sr := &shardReader{ctx: g.ctx, c: g.c, slot: i, src: g.src[i], end: g.end}
			g.readers[i] = sr
			g.ws.fns[i] = sr.read
			g.live[i] = true
			g.ws.send(i, s)
			pending++
			need--
		}
		if pending == 0 {
			return fmt.Errorf("%w: block %d: %d verified chunks, need %d: %w",
				ErrReadQuorum, b, good, k, g.serrs)
		}
	}
}

// close stops the reader goroutines and closes every opened source. gather
// always collects what it sends, so no goroutine is busy here.
func (g *gatherer) close() {
	g.ws.stop()
	for _, sr := range g.readers {
		if sr != nil {
			sr.close()
		}
	}
}
