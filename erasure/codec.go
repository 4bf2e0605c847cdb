package erasure

import (
	"fmt"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// HashSize is the length of the bitrot digest (SHA-256 or HighwayHash-256)
// that precedes every chunk in a shard file.
const HashSize = 32

// DefaultBlockSize is the object block size used when WithBlockSize is not
// given. 1 MiB won the block-size sweep in BenchmarkBlockSize: smaller
// blocks pay per-block hand-off and hashing overhead, larger ones mostly add
// memory (2 block sets per call) and latency before the first byte.
const DefaultBlockSize = 1 << 20

// maxShards is the limit of the 8-bit Reed-Solomon field; beyond it the
// library switches to Leopard GF16, which needs 64-byte aligned chunks that
// our ceil(L/k) chunking does not guarantee.
const maxShards = 256

// Codec is a streaming Reed-Solomon codec with k data and m parity shards.
// It is immutable after New and safe for concurrent use; each call takes
// its buffers from an internal pool.
//
// Shard file layout: for each block b of the object, every shard holds a
// frame [hash(chunk)][chunk], hash being the codec's Bitrot algorithm,, where chunk is ceil(L/k) bytes and L is the
// block's length (BlockSize for all blocks except possibly the last). Data
// shard i's chunk is bytes [i*c, (i+1)*c) of the block, zero-padded at the
// end of the block; parity chunks are the Reed-Solomon parity of the data
// chunks. A zero-length object has no blocks and empty shard files.
type Codec struct {
	k, m      int
	blockSize int
	chunkSize int // chunk of a full block: ceil(blockSize/k)
	bitrot    Bitrot
	enc       reedsolomon.Encoder
	sets      sync.Pool // *blockSet
}

// Option configures a Codec.
type Option func(*options)

type options struct {
	blockSize int
	bitrot    Bitrot
}

// WithBlockSize sets the object block size in bytes (default
// DefaultBlockSize). Every call holds about 2*(k+m)/k blocks of memory.
// It is part of the on-disk format: objects must be read with the block
// size they were written with.
func WithBlockSize(n int) Option {
	return func(o *options) { o.blockSize = n }
}

// WithBitrot sets the frame hash (default DefaultBitrot). Like the block
// size it is part of the on-disk format: objects must be read with the
// algorithm they were written with, so callers record it per object.
func WithBitrot(b Bitrot) Option {
	return func(o *options) { o.bitrot = b }
}

// New returns a codec with data (k) data shards and parity (m) parity
// shards.
func New(data, parity int, opts ...Option) (*Codec, error) {
	o := options{blockSize: DefaultBlockSize, bitrot: DefaultBitrot}
	for _, opt := range opts {
		opt(&o)
	}
	if data < 1 || parity < 0 || data+parity > maxShards {
		return nil, fmt.Errorf("%w: geometry %d+%d (need data >= 1, parity >= 0, total <= %d)",
			ErrInvalidArgument, data, parity, maxShards)
	}
	if o.blockSize < 1 {
		return nil, fmt.Errorf("%w: block size %d", ErrInvalidArgument, o.blockSize)
	}
	if _, err := ParseBitrot(string(o.bitrot)); err != nil {
		return nil, err
	}
	c := &Codec{
		k:         data,
		m:         parity,
		blockSize: o.blockSize,
		chunkSize: ceilDiv(o.blockSize, data),
		bitrot:    o.bitrot,
	}
	// One goroutine inside the RS library: parity math runs at >10 GB/s,
	// as fast as HighwayHash and far faster than SHA-256, so splitting it
	// buys nothing, and
	// its per-call goroutines cost allocations on every block. Parallelism
	// comes from the per-shard workers (hashing and I/O) and from
	// concurrent calls.
	enc, err := reedsolomon.New(data, parity, reedsolomon.WithMaxGoroutines(1))
	if err != nil {
		return nil, fmt.Errorf("erasure: reedsolomon %d+%d: %w", data, parity, err)
	}
	c.enc = enc
	c.sets.New = func() any { return c.newBlockSet() }
	return c, nil
}

// DataShards returns k.
func (c *Codec) DataShards() int { return c.k }

// ParityShards returns m.
func (c *Codec) ParityShards() int { return c.m }

// Shards returns k+m.
func (c *Codec) Shards() int { return c.k + c.m }

// BlockSize returns the object block size in bytes.
func (c *Codec) BlockSize() int { return c.blockSize }

// Bitrot returns the frame hash algorithm.
func (c *Codec) Bitrot() Bitrot { return c.bitrot }

// EncodeMemory returns the working memory one Encode call holds, whatever
// the object size: two block sets of k+m frames (see blockSet).
func (c *Codec) EncodeMemory() int64 {
	return 2 * int64(c.k+c.m) * int64(HashSize+c.chunkSize)
}

// NumBlocks returns how many blocks an object of size bytes has.
func (c *Codec) NumBlocks(size int64) int64 {
	if size <= 0 {
		return 0
	}
	return (size + int64(c.blockSize) - 1) / int64(c.blockSize)
}

// ShardOffset returns the offset of block b's frame inside every shard file.
// Only the last block can be short, so all frames before b are full-sized.
func (c *Codec) ShardOffset(block int64) int64 {
	return block * int64(HashSize+c.chunkSize)
}

// ShardFileSize returns the size of each shard file (hashes included) for an
// object of size bytes. All k+m shard files have the same size.
func (c *Codec) ShardFileSize(size int64) int64 {
	nb := c.NumBlocks(size)
	if nb == 0 {
		return 0
	}
	last := c.blockLen(nb-1, size)
	return c.ShardOffset(nb-1) + int64(HashSize+ceilDiv(last, c.k))
}

// blockLen returns the number of object bytes in block b.
func (c *Codec) blockLen(b, size int64) int {
	start := b * int64(c.blockSize)
	return int(min(int64(c.blockSize), size-start))
}

// chunkLen returns the chunk length of a block holding n object bytes.
func (c *Codec) chunkLen(n int) int { return ceilDiv(n, c.k) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// blockSet is the working memory for one block of all k+m shards: one frame
// per shard, each [hash][chunk] with room for a full-sized chunk, carved
// from a single allocation so a set is one pool object. Calls use two sets
// so that I/O on one block overlaps coding of the next.
type blockSet struct {
	frames [][]byte // frames[i] has len HashSize+chunkSize
	shards [][]byte // scratch slice headers handed to the RS library
	block  int64    // block index currently held
	length int      // object bytes in that block
	chunk  int      // chunk length of that block
}

func (c *Codec) newBlockSet() *blockSet {
	n := c.k + c.m
	frameLen := HashSize + c.chunkSize
	buf := make([]byte, n*frameLen)
	s := &blockSet{frames: make([][]byte, n), shards: make([][]byte, n)}
	for i := range s.frames {
		// Full slice expression: capacity ends at the frame so the RS
		// library, which may grow zero-length shards into their capacity,
		// can never write into a neighbour.
		s.frames[i] = buf[i*frameLen : (i+1)*frameLen : (i+1)*frameLen]
	}
	return s
}

func (c *Codec) getSet() *blockSet  { return c.sets.Get().(*blockSet) }
func (c *Codec) putSet(s *blockSet) { c.sets.Put(s) }

// setBlock records which block s holds, deriving its length and chunk.
func (c *Codec) setBlock(s *blockSet, b, size int64) {
	s.block = b
	s.length = c.blockLen(b, size)
	s.chunk = c.chunkLen(s.length)
}

// frame returns shard i's frame for the block s holds.
func (s *blockSet) frame(i int) []byte { return s.frames[i][:HashSize+s.chunk] }

// chunk returns shard i's chunk for the block s holds.
func (s *blockSet) chunkOf(i int) []byte { return s.frames[i][HashSize : HashSize+s.chunk] }

// emptyChunk returns a zero-length slice over shard i's chunk area, which
// tells the RS library "missing, rebuild here".
func (s *blockSet) emptyChunk(i int) []byte { return s.frames[i][HashSize:HashSize] }
