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
// is verified against its hash before use. Failures count per block: a
// data shard that fails verification or a read in one block is tried again
// in the next, while parity shards stand in for the blocks that need them
// (opened at the first such block); each block is rebuilt from any k
// verified chunks. A shard that is nil, fails to open or ends early is not
// tried again. If fewer than k verified chunks exist for a block, Decode
// returns ErrReadQuorum before writing any of that block: it never writes
// bytes it could not verify.
//
// The returned ShardErrors (k+m entries) lists the shards found bad, each
// with its first failure, so the caller can queue a heal even when the
// read succeeded. Errors from w are returned wrapped. Block b+1 is read
// while block b is written to w.
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
	g := c.newGatherer(ctx, src, serrs, allShards(n), nil, size, last)
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

// gatherer reads blocks from shard sources until each block has enough
// verified chunks. Decode and Heal share it.
//
// Failures are tracked per block, because bitrot is per block: a shard whose
// chunk failed verification is read again for the next block (a flipped bit
// spoils one frame, not the shard), and so is a shard whose read failed once
// (a bad sector), after reopening it past the bad frame. Until such a suspect
// verifies again, one spare shard is read beside it so that a shard bad in
// many blocks costs no extra round trip per block. Only a shard that is gone
// (no source, open error, file ends early, maxReadErrors read errors in a
// row) is skipped for the rest of the call. When a block still lacks chunks,
// untried shards are brought in for that block only, in preference order; a
// shard read for some blocks and skipped for others is reopened where it is
// next needed.
type gatherer struct {
	c        *Codec
	ctx      context.Context
	src      []ShardSource
	serrs    ShardErrors // first failure of each shard
	order    []int       // candidate shards, most preferred first
	required []bool      // a block whose required chunks all verify is complete even with fewer than k
	gone     []bool
	suspect  []bool // failed the last block it was read for
	tried    []bool // read for the block being gathered
	present  []bool // verified chunks of the block being gathered
	readers  []*shardReader
	ws       *workers
	size     int64
	end      int64 // shard-file offset just past the last needed frame
}

// maxReadErrors consecutive read errors (not hash mismatches, which never
// make a shard gone) make a shard gone: one bad spot is worth stepping over,
// a drive failing every read is not worth waiting on for every block.
const maxReadErrors = 2

// newGatherer prepares reads of blocks up to lastBlock. A nil required
// means the k data shards: a block whose data chunks all verify needs
// nothing else.
func (c *Codec) newGatherer(ctx context.Context, src []ShardSource, serrs ShardErrors, order []int, required []bool, size, lastBlock int64) *gatherer {
	n := c.k + c.m
	end := c.ShardOffset(lastBlock) + int64(HashSize+c.chunkLen(c.blockLen(lastBlock, size)))
	flags := make([]bool, 5*n) // one allocation for the per-shard flags
	if required == nil {
		required = flags[4*n : 5*n]
		for i := range c.k {
			required[i] = true
		}
	}
	return &gatherer{
		c:        c,
		ctx:      ctx,
		src:      src,
		serrs:    serrs,
		order:    order,
		required: required,
		gone:     flags[0:n],
		suspect:  flags[n : 2*n],
		tried:    flags[2*n : 3*n],
		present:  flags[3*n : 4*n],
		readers:  make([]*shardReader, n),
		ws:       newWorkers(n),
		size:     size,
		end:      end,
	}
}

// gather reads block b into s. On return without error, g.present marks at
// least k verified chunks, or every required one.
func (g *gatherer) gather(b int64, s *blockSet) error {
	k := g.c.k
	g.c.setBlock(s, b, g.size)
	clear(g.present)
	clear(g.tried)
	pending := g.plan(b, s)
	good := 0
	for {
		for ; pending > 0; pending-- {
			if g.finish(g.ws.recv()) {
				good++
			}
		}
		if good >= k || g.requiredPresent() {
			return nil
		}
		// Bring in just enough untried shards to cover the shortfall, for
		// this block; they are read in parallel.
		for _, i := range g.order {
			if good+pending >= k {
				break
			}
			if !g.tried[i] && g.try(b, i, s) {
				pending++
			}
		}
		if pending == 0 {
			if err := g.ctx.Err(); err != nil {
				return err
			}
			return fmt.Errorf("%w: block %d: %d verified chunks, need %d: %w",
				ErrReadQuorum, b, good, k, g.serrs)
		}
	}
}

// plan sends block b to the fewest preferred shards that complete it if
// they all verify, plus one spare per suspect among them. It returns how
// many reads it started.
func (g *gatherer) plan(b int64, s *blockSet) int {
	wantReq := 0
	for i, r := range g.required {
		if r {
			if g.gone[i] || g.src[i] == nil {
				wantReq = -1 // a required chunk can only be rebuilt: k are needed
				break
			}
			wantReq++
		}
	}
	sent, sound, soundReq := 0, 0, 0
	for _, i := range g.order {
		if sound >= g.c.k || (wantReq > 0 && soundReq == wantReq) {
			break
		}
		if !g.try(b, i, s) {
			continue
		}
		sent++
		if !g.suspect[i] {
			sound++
			if g.required[i] {
				soundReq++
			}
		}
	}
	return sent
}

// try starts reading block b of shard i, unless it is gone. A nil source is
// recorded as missing the first time it is wanted.
func (g *gatherer) try(b int64, i int, s *blockSet) bool {
	g.tried[i] = true
	if g.gone[i] {
		return false
	}
	if g.src[i] == nil {
		g.gone[i] = true
		g.serrs[i] = &BlockError{Block: b, Op: "open", Err: ErrShardMissing}
		return false
	}
	if g.readers[i] == nil {
		sr := &shardReader{ctx: g.ctx, c: g.c, slot: i, src: g.src[i], end: g.end}
		g.readers[i] = sr
		g.ws.fns[i] = sr.read
	}
	g.ws.send(i, s)
	return true
}

// finish records one read's outcome and reports whether its chunk verified.
func (g *gatherer) finish(r result) bool {
	i := r.slot
	if r.err == nil {
		g.present[i] = true
		g.suspect[i] = false
		return true
	}
	if g.serrs[i] == nil {
		g.serrs[i] = r.err // the first failure says where the shard went bad
	}
	if g.readers[i].gone {
		g.gone[i] = true
	} else {
		g.suspect[i] = true
	}
	return false
}

func (g *gatherer) requiredPresent() bool {
	some := false
	for i, r := range g.required {
		if r {
			if !g.present[i] {
				return false
			}
			some = true
		}
	}
	return some
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
