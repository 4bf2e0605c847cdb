package erasure

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Encode streams src through the encoder, writing shard i's frames to
// dst[i], and returns the number of bytes read from src.
//
// size is the exact object size, or negative to read until EOF. With
// size >= 0, a src that ends early yields an error wrapping
// io.ErrUnexpectedEOF; bytes beyond size are never read. Other read errors
// are returned wrapped.
//
// A nil dst[i] is an offline drive (recorded as ErrShardMissing). A writer
// whose Write fails is dropped for the rest of the call and its error
// recorded; encoding continues while at least writeQuorum writers remain
// (k <= writeQuorum <= k+m), otherwise it stops with ErrWriteQuorum. A
// dropped shard holds a partial file which the caller must discard.
//
// Memory is two block sets ((k+m)*ceil(BlockSize/k) bytes each), whatever
// the object size: block b+1 is read and encoded while the k+m writers
// hash and write block b in parallel. ctx is checked between blocks; a
// Write that blocks forever must be unblocked by the caller (for example
// by closing the writer when ctx is done), since Encode waits for every
// Write it started before returning.
//
// The returned ShardErrors always has k+m entries.
func (c *Codec) Encode(ctx context.Context, src io.Reader, dst []io.Writer, size int64, writeQuorum int) (int64, ShardErrors, error) {
	n := c.k + c.m
	if len(dst) != n {
		return 0, nil, fmt.Errorf("%w: %d writers for %d+%d", ErrShardCount, len(dst), c.k, c.m)
	}
	if writeQuorum < c.k || writeQuorum > n {
		return 0, nil, fmt.Errorf("%w: write quorum %d outside [%d, %d]", ErrInvalidArgument, writeQuorum, c.k, n)
	}
	e := &encoder{
		c:      c,
		serrs:  make(ShardErrors, n),
		alive:  make([]bool, n),
		quorum: writeQuorum,
		ws:     newWorkers(n),
	}
	for i, w := range dst {
		if w == nil {
			e.serrs[i] = ErrShardMissing
			continue
		}
		e.alive[i] = true
		e.nalive++
		sw := &shardWriter{c: c, slot: i, w: w}
		e.ws.fns[i] = sw.write
	}
	if err := e.checkQuorum(0); err != nil {
		return 0, e.serrs, err
	}
	sets := [2]*blockSet{c.getSet(), c.getSet()}
	defer func() {
		e.collect() // never hand buffers back while a writer may still use them
		e.ws.stop()
		c.putSet(sets[0])
		c.putSet(sets[1])
	}()

	var total int64
	nb := c.NumBlocks(size)
	for b := int64(0); size < 0 || b < nb; b++ {
		if err := ctx.Err(); err != nil {
			return total, e.serrs, err
		}
		s := sets[b%2]
		got, last, err := c.readBlock(src, s, b, size)
		total += int64(got)
		if err != nil {
			return total, e.serrs, fmt.Errorf("erasure: encode block %d: read source: %w", b, err)
		}
		if got == 0 {
			break // unknown size and src ended on a block boundary
		}
		for i := range n {
			s.shards[i] = s.chunkOf(i)
		}
		if err := c.enc.Encode(s.shards); err != nil {
			return total, e.serrs, fmt.Errorf("erasure: encode block %d: %w", b, err)
		}
		e.collect()
		if err := e.checkQuorum(b); err != nil {
			return total, e.serrs, err
		}
		e.dispatch(s)
		if last {
			break
		}
	}
	e.collect()
	if err := e.checkQuorum(max(c.NumBlocks(total)-1, 0)); err != nil {
		return total, e.serrs, err
	}
	return total, e.serrs, nil
}

// encoder is the per-call state of Encode.
type encoder struct {
	c       *Codec
	serrs   ShardErrors
	alive   []bool
	nalive  int
	quorum  int
	ws      *workers
	pending int // writes sent and not yet collected
}

// dispatch hands set s to every healthy writer.
func (e *encoder) dispatch(s *blockSet) {
	for i, ok := range e.alive {
		if ok {
			e.ws.send(i, s)
			e.pending++
		}
	}
}

// collect waits for all outstanding writes and drops the writers that failed.
func (e *encoder) collect() {
	for ; e.pending > 0; e.pending-- {
		r := e.ws.recv()
		if r.err != nil {
			e.serrs[r.slot] = r.err
			e.alive[r.slot] = false
			e.nalive--
		}
	}
}

func (e *encoder) checkQuorum(block int64) error {
	if e.nalive >= e.quorum {
		return nil
	}
	return fmt.Errorf("%w: block %d: %d healthy writers, need %d: %w",
		ErrWriteQuorum, block, e.nalive, e.quorum, e.serrs)
}

// readBlock fills s's data chunks with block b of src and zero-pads them.
// It returns the bytes read and whether this is the last block.
//
// With a known size the block length is known up front and bytes are read
// straight into their final place. With an unknown size (size < 0) a block
// is read assuming it is full; if src ends inside it, the bytes already
// placed are moved to the narrower chunk layout of a short block.
func (c *Codec) readBlock(src io.Reader, s *blockSet, b, size int64) (int, bool, error) {
	if size >= 0 {
		c.setBlock(s, b, size)
		got, err := c.fill(src, s)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return got, false, err
		}
		c.pad(s)
		return got, b == c.NumBlocks(size)-1, nil
	}

	s.block, s.length, s.chunk = b, c.blockSize, c.chunkSize
	got, err := c.fill(src, s)
	switch {
	case err == nil:
		c.pad(s)
		return got, false, nil
	case !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
		return got, false, err
	case got == 0:
		return 0, true, nil
	}
	chunk := c.chunkLen(got)
	c.relayout(s, got, chunk)
	s.length, s.chunk = got, chunk
	c.pad(s)
	return got, true, nil
}

// fill reads s.length bytes into the data chunks of s (s.chunk bytes each,
// in order). It stops at the first error, returning the bytes read so far.
func (c *Codec) fill(src io.Reader, s *blockSet) (int, error) {
	got := 0
	for i := 0; i < c.k && got < s.length; i++ {
		want := min(s.chunk, s.length-got)
		n, err := io.ReadFull(src, s.chunkOf(i)[:want])
		got += n
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// pad zeroes the tail of the data chunks past the block's bytes: the last
// data chunk(s) of a block whose length is not a multiple of k.
func (c *Codec) pad(s *blockSet) {
	for i := range c.k {
		have := min(max(s.length-i*s.chunk, 0), s.chunk)
		clear(s.chunkOf(i)[have:])
	}
}

// relayout moves the n bytes of a short final block from the full-block
// chunk layout (chunkSize per shard) into the layout for its own length
// (chunk per shard, chunk <= chunkSize), in place. A byte never moves to a
// lower address (its shard index can only grow, and within the same shard
// its offset can only grow), so walking bytes from last to first never
// overwrites one that has not moved yet.
func (c *Codec) relayout(s *blockSet, n, chunk int) {
	from := c.chunkSize
	for j := (n - 1) / chunk; j >= 0; j-- {
		start, end := j*chunk, min((j+1)*chunk, n)
		for end > start {
			q := (end - 1) / from // old shard holding byte end-1
			lo := max(start, q*from)
			dst := s.frames[j][HashSize+lo-start : HashSize+end-start]
			copy(dst, s.frames[q][HashSize+lo-q*from:HashSize+end-q*from])
			end = lo
		}
	}
}
