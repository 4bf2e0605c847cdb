package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// geometries used across the table tests.
var geometries = []struct{ k, m int }{{2, 1}, {2, 2}, {4, 2}, {8, 4}}

const testBlock = 4 << 10

// testSizes returns the interesting object sizes for block size bs.
func testSizes(bs int) []int {
	return []int{0, 1, bs - 1, bs, bs + 1, 5*bs + 123}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// bitrots are the frame hashes the table tests run under.
var bitrots = []Bitrot{BitrotSHA256, BitrotHighwayHash}

// eachBitrot runs fn as one subtest per bitrot algorithm.
func eachBitrot(t *testing.T, fn func(t *testing.T, alg Bitrot)) {
	for _, alg := range bitrots {
		t.Run(string(alg), func(t *testing.T) { fn(t, alg) })
	}
}

func newCodec(t testing.TB, k, m, bs int, opts ...Option) *Codec {
	t.Helper()
	c, err := New(k, m, append([]Option{WithBlockSize(bs)}, opts...)...)
	if err != nil {
		t.Fatalf("New(%d, %d, %d): %v", k, m, bs, err)
	}
	return c
}

// encodeShards encodes data and returns the k+m shard files.
func encodeShards(t testing.TB, c *Codec, data []byte) [][]byte {
	t.Helper()
	bufs := make([]*bytes.Buffer, c.Shards())
	dst := make([]io.Writer, c.Shards())
	for i := range bufs {
		bufs[i] = new(bytes.Buffer)
		dst[i] = bufs[i]
	}
	n, serrs, err := c.Encode(context.Background(), bytes.NewReader(data), dst, int64(len(data)), c.Shards())
	if err != nil || n != int64(len(data)) || serrs.Count() != 0 {
		t.Fatalf("Encode: n=%d err=%v serrs=%v", n, err, serrs)
	}
	out := make([][]byte, len(bufs))
	for i, b := range bufs {
		out[i] = b.Bytes()
	}
	return out
}

func cloneShards(s [][]byte) [][]byte {
	out := make([][]byte, len(s))
	for i, b := range s {
		out[i] = bytes.Clone(b)
	}
	return out
}

// openLog records every ShardSource call and the bytes read per shard.
type openLog struct {
	mu     sync.Mutex
	opens  []openCall
	read   map[int]int64
	closes atomic.Int64
}

type openCall struct {
	shard       int
	off, length int64
}

func (l *openLog) add(c openCall) {
	l.mu.Lock()
	l.opens = append(l.opens, c)
	l.mu.Unlock()
}

func (l *openLog) addRead(shard int, n int) {
	l.mu.Lock()
	if l.read == nil {
		l.read = map[int]int64{}
	}
	l.read[shard] += int64(n)
	l.mu.Unlock()
}

// bytesRead returns how many bytes were read from shard i.
func (l *openLog) bytesRead(i int) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.read[i]
}

func (l *openLog) shards() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := map[int]int{}
	for _, o := range l.opens {
		m[o.shard]++
	}
	return m
}

// fault describes how a shard misbehaves.
type fault int

const (
	faultNone       fault = iota
	faultMissing          // nil ShardSource
	faultOpenError        // ShardSource returns an error
	faultReadError        // stream errors when reaching the target block
	faultTruncate         // shard file cut inside the target block
	faultFlipChunk        // one bit flipped in the target block's chunk
	faultFlipHash         // one bit flipped in the target block's hash
	faultReadSector       // read error inside the target block's frame; streams opened past it read fine
)

var allFaults = []fault{faultMissing, faultOpenError, faultReadError, faultTruncate, faultFlipChunk, faultFlipHash}

func (f fault) String() string {
	return [...]string{"none", "missing", "open-error", "read-error", "truncate", "flip-chunk", "flip-hash", "read-sector"}[f]
}

// damage is one shard's fault and the block it hits.
type damage struct {
	f     fault
	block int64
}

var errInjected = errors.New("injected fault")

// sources builds ShardSources over in-memory shard files, applying faults
// at block faultBlock to the given shards. Shard bytes are copied so the
// caller's originals stay intact.
func sources(c *Codec, shards [][]byte, bad map[int]fault, faultBlock int64, log *openLog) []ShardSource {
	dmg := map[int]damage{}
	for i, f := range bad {
		dmg[i] = damage{f: f, block: faultBlock}
	}
	return damagedSources(c, shards, dmg, log)
}

// damagedSources is sources with each shard's fault at a block of its own.
func damagedSources(c *Codec, shards [][]byte, dmg map[int]damage, log *openLog) []ShardSource {
	src := make([]ShardSource, len(shards))
	for i, orig := range shards {
		data := bytes.Clone(orig)
		f := dmg[i].f
		frameOff := c.ShardOffset(dmg[i].block)
		failAt := int64(-1)
		switch f {
		case faultMissing:
			continue
		case faultTruncate:
			if frameOff < int64(len(data)) {
				data = data[:frameOff+HashSize/2]
			}
		case faultFlipChunk:
			if p := frameOff + HashSize; p < int64(len(data)) {
				data[p] ^= 0x10
			}
		case faultFlipHash:
			if p := frameOff + 7; p < int64(len(data)) {
				data[p] ^= 0x01
			}
		case faultReadError:
			failAt = frameOff + 3
		case faultReadSector:
			failAt = frameOff + HashSize + 5
		}
		src[i] = func(ctx context.Context, off, length int64) (io.ReadCloser, error) {
			if log != nil {
				log.add(openCall{shard: i, off: off, length: length})
			}
			if f == faultOpenError {
				return nil, errInjected
			}
			lo := min(off, int64(len(data)))
			hi := min(off+length, int64(len(data)))
			var r io.Reader = bytes.NewReader(data[lo:hi])
			if failAt >= 0 && (f == faultReadError || off <= failAt) {
				r = &failingReader{r: r, left: max(failAt-off, 0)}
			}
			return &logCloser{Reader: r, log: log, shard: i}, nil
		}
	}
	return src
}

// logCloser counts Close calls and bytes read in its openLog.
type logCloser struct {
	io.Reader
	log   *openLog
	shard int
}

func (l *logCloser) Read(p []byte) (int, error) {
	n, err := l.Reader.Read(p)
	if l.log != nil {
		l.log.addRead(l.shard, n)
	}
	return n, err
}

func (l *logCloser) Close() error {
	if l.log != nil {
		l.log.closes.Add(1)
	}
	return nil
}

// failingReader returns errInjected after left bytes.
type failingReader struct {
	r    io.Reader
	left int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, errInjected
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= int64(n)
	return n, err
}

// failingWriter accepts limit bytes, then fails every Write.
type failingWriter struct {
	buf   bytes.Buffer
	limit int
	calls atomic.Int64
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.calls.Add(1)
	if w.buf.Len()+len(p) > w.limit {
		return 0, fmt.Errorf("disk full: %w", errInjected)
	}
	return w.buf.Write(p)
}

// decodeAll decodes [off, off+length) and returns what was written to w.
func decodeRange(c *Codec, src []ShardSource, off, length, size int64) ([]byte, ShardErrors, error) {
	var out bytes.Buffer
	serrs, err := c.Decode(context.Background(), &out, src, off, length, size)
	return out.Bytes(), serrs, err
}
