package drive

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// ErrInjected is the error Faulty returns for a fault programmed without one.
var ErrInjected = errors.New("drive: injected fault")

// Faulty wraps a ShardStore and misbehaves on request, so tests of the codec,
// heal and the object layer can meet every drive failure without real broken
// disks. With nothing programmed it is transparent. All methods are safe for
// concurrent use; faults can be changed while calls are in flight.
type Faulty struct {
	inner ShardStore

	mu         sync.Mutex
	calls      map[Op]int
	fails      map[Op][]failRule
	latency    map[Op]time.Duration
	corrupt    []corruptRule
	truncate   []truncateRule
	writeLimit int64 // -1 = none
	writeErr   error
}

type failRule struct {
	call int // absolute call number to fail; 0 = every call
	err  error
}

type corruptRule struct {
	id  string // "" = every shard
	off int64
}

type truncateRule struct {
	id   string // "" = every shard
	size int64
}

// NewFaulty wraps inner with no faults programmed.
func NewFaulty(inner ShardStore) *Faulty {
	f := &Faulty{inner: inner, calls: make(map[Op]int)}
	f.Reset()
	return f
}

// Inner returns the wrapped store.
func (f *Faulty) Inner() ShardStore { return f.inner }

// FailNth makes the nth call of op from now on (1 = the next one) fail with
// err (ErrInjected if nil). Several can be programmed.
func (f *Faulty) FailNth(op Op, n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[op] = append(f.fails[op], failRule{call: f.calls[op] + max(n, 1), err: orInjected(err)})
}

// FailAll makes every call of op fail with err (ErrInjected if nil) until
// Clear or Reset.
func (f *Faulty) FailAll(op Op, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[op] = append(f.fails[op], failRule{err: orInjected(err)})
}

// Clear removes the failures and latency programmed for op.
func (f *Faulty) Clear(op Op) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.fails, op)
	delete(f.latency, op)
}

// SetLatency delays every call of op by d (0 removes it). Calls that take a
// context stop waiting when it is done.
func (f *Faulty) SetLatency(op Op, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d <= 0 {
		delete(f.latency, op)
		return
	}
	f.latency[op] = d
}

// CorruptOpen makes readers from Open return the byte at shard offset off
// with its lowest bit flipped, for shard id ("" = every shard). The stored
// shard is untouched: this is bitrot as the codec sees it.
func (f *Faulty) CorruptOpen(id string, off int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.corrupt = append(f.corrupt, corruptRule{id: id, off: off})
}

// TruncateOpen makes readers from Open behave as if shard id ("" = every
// shard) were only size bytes long.
func (f *Faulty) TruncateOpen(id string, size int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.truncate = append(f.truncate, truncateRule{id: id, size: max(size, 0)})
}

// FailWritesAfter makes every writer created from now on accept n bytes and
// then fail with err (ErrInjected if nil); the write that crosses the limit
// stores its first part, as a disk filling up mid-write does. A negative n
// removes the limit.
func (f *Faulty) FailWritesAfter(n int64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeLimit, f.writeErr = n, orInjected(err)
	if n < 0 {
		f.writeLimit = -1
	}
}

// Reset removes every programmed fault. Call counts are kept.
func (f *Faulty) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails = make(map[Op][]failRule)
	f.latency = make(map[Op]time.Duration)
	f.corrupt, f.truncate = nil, nil
	f.writeLimit, f.writeErr = -1, nil
}

// Calls reports how many calls of op Faulty has seen, failed ones included.
func (f *Faulty) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func orInjected(err error) error {
	if err == nil {
		return ErrInjected
	}
	return err
}

// hit counts a call of op, waits for any programmed latency and returns the
// programmed error, if any.
func (f *Faulty) hit(ctx context.Context, op Op) error {
	f.mu.Lock()
	f.calls[op]++
	n := f.calls[op]
	var err error
	rules := f.fails[op]
	for i, r := range rules {
		if r.call == 0 || r.call == n {
			err = r.err
			if r.call == n { // one-shot: drop it
				f.fails[op] = append(rules[:i:i], rules[i+1:]...)
			}
			break
		}
	}
	delay := f.latency[op]
	f.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

// ID implements ShardStore.
func (f *Faulty) ID() string { return f.inner.ID() }

// Create implements ShardStore.
func (f *Faulty) Create(ctx context.Context, id string) (ShardWriter, error) {
	if err := f.hit(ctx, OpCreate); err != nil {
		return nil, err
	}
	w, err := f.inner.Create(ctx, id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	limit, lerr := f.writeLimit, f.writeErr
	f.mu.Unlock()
	return &faultyWriter{f: f, w: w, limit: limit, limitErr: lerr}, nil
}

// Open implements ShardStore.
func (f *Faulty) Open(ctx context.Context, id string, off, length int64) (io.ReadCloser, error) {
	if err := f.hit(ctx, OpOpen); err != nil {
		return nil, err
	}
	r, err := f.inner.Open(ctx, id, off, length)
	if err != nil {
		return nil, err
	}
	fr := &faultyReader{f: f, r: r, pos: off, end: -1}
	f.mu.Lock()
	for _, c := range f.corrupt {
		if c.id == "" || c.id == id {
			fr.corrupt = append(fr.corrupt, c.off)
		}
	}
	for _, t := range f.truncate {
		if (t.id == "" || t.id == id) && (fr.end < 0 || t.size < fr.end) {
			fr.end = t.size
		}
	}
	f.mu.Unlock()
	return fr, nil
}

// Stat implements ShardStore.
func (f *Faulty) Stat(ctx context.Context, id string) (ShardInfo, error) {
	if err := f.hit(ctx, OpStat); err != nil {
		return ShardInfo{}, err
	}
	return f.inner.Stat(ctx, id)
}

// Delete implements ShardStore.
func (f *Faulty) Delete(ctx context.Context, id string) error {
	if err := f.hit(ctx, OpDelete); err != nil {
		return err
	}
	return f.inner.Delete(ctx, id)
}

// Walk implements ShardStore.
func (f *Faulty) Walk(ctx context.Context, prefix string, fn func(ShardInfo) error) error {
	if err := f.hit(ctx, OpWalk); err != nil {
		return err
	}
	return f.inner.Walk(ctx, prefix, fn)
}

// Info implements ShardStore.
func (f *Faulty) Info(ctx context.Context) (Info, error) {
	if err := f.hit(ctx, OpInfo); err != nil {
		return Info{}, err
	}
	return f.inner.Info(ctx)
}

type faultyWriter struct {
	f        *Faulty
	w        ShardWriter
	mu       sync.Mutex
	written  int64
	limit    int64
	limitErr error
	failed   error // first injected write error
}

func (w *faultyWriter) Write(p []byte) (n int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer func() {
		if err != nil && w.failed == nil {
			w.failed = err
		}
	}()
	if err := w.f.hit(context.Background(), OpWrite); err != nil {
		return 0, err
	}
	if w.limit >= 0 && w.written+int64(len(p)) > w.limit {
		n, err := w.w.Write(p[:max(w.limit-w.written, 0)])
		w.written += int64(n)
		if err == nil {
			err = w.limitErr
		}
		return n, err
	}
	n, err = w.w.Write(p)
	w.written += int64(n)
	return n, err
}

// Commit fails as programmed, or after a failed Write (as Local does: a
// shard with a hole must never be published). An injected failure aborts the
// inner writer so that, as the contract says, nothing is left behind.
func (w *faultyWriter) Commit() error {
	w.mu.Lock()
	failed := w.failed
	w.mu.Unlock()
	if failed != nil {
		w.w.Abort()
		return failed
	}
	if err := w.f.hit(context.Background(), OpCommit); err != nil {
		w.w.Abort()
		return err
	}
	return w.w.Commit()
}

// Abort always aborts the inner writer, then reports any injected error.
func (w *faultyWriter) Abort() error {
	err := w.f.hit(context.Background(), OpAbort)
	if aerr := w.w.Abort(); err == nil {
		err = aerr
	}
	return err
}

type faultyReader struct {
	f       *Faulty
	r       io.ReadCloser
	pos     int64   // shard offset of the next byte
	end     int64   // simulated shard size; -1 = none
	corrupt []int64 // shard offsets to corrupt
}

func (r *faultyReader) Read(p []byte) (int, error) {
	if err := r.f.hit(context.Background(), OpRead); err != nil {
		return 0, err
	}
	if r.end >= 0 {
		if r.pos >= r.end {
			return 0, io.EOF
		}
		p = p[:min(int64(len(p)), r.end-r.pos)]
	}
	n, err := r.r.Read(p)
	for _, off := range r.corrupt {
		if off >= r.pos && off < r.pos+int64(n) {
			p[off-r.pos] ^= 1
		}
	}
	r.pos += int64(n)
	return n, err
}

func (r *faultyReader) Close() error { return r.r.Close() }
