package drive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Memory is the in-memory twin of Local: same id rules, same visibility
// semantics, no durability. Fast tests of the layers above use it.
type Memory struct {
	id       string
	offline  atomic.Bool
	instance atomic.Value // string, see Reset

	mu       sync.RWMutex
	shards   map[string]memShard
	used     uint64
	capacity uint64 // 0 = unlimited
}

type memShard struct {
	// data is never modified after commit (an overwrite swaps the slice), so
	// readers can share it without copying or locking.
	data []byte
	mod  time.Time
}

// NewMemory returns an empty, online in-memory drive.
func NewMemory(id string) *Memory {
	m := &Memory{id: id, shards: make(map[string]memShard)}
	m.instance.Store(NewInstance())
	return m
}

// Reset drops every shard and takes a new instance, as a Local whose
// folder was emptied comes back.
func (m *Memory) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.shards, m.used = make(map[string]memShard), 0
	m.instance.Store(NewInstance())
}

// SetOffline makes every operation fail with ErrOffline (and Info report
// Online=false) until it is called again with false. Contents are kept, as
// they would be on a drive that was briefly unplugged.
func (m *Memory) SetOffline(off bool) { m.offline.Store(off) }

// SetCapacity limits the bytes of committed shards; a Commit that would
// exceed it fails with ErrDiskFull. 0 means unlimited.
func (m *Memory) SetCapacity(bytes uint64) {
	m.mu.Lock()
	m.capacity = bytes
	m.mu.Unlock()
}

// ID implements ShardStore.
func (m *Memory) ID() string { return m.id }

func (m *Memory) check(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateID(id); err != nil {
		return err
	}
	return m.online()
}

func (m *Memory) online() error {
	if m.offline.Load() {
		return fmt.Errorf("%w: memory drive %s", ErrOffline, m.id)
	}
	return nil
}

// Create implements ShardStore.
func (m *Memory) Create(ctx context.Context, id string) (ShardWriter, error) {
	if err := m.check(ctx, id); err != nil {
		return nil, err
	}
	return &memWriter{m: m, id: id}, nil
}

// Open implements ShardStore.
func (m *Memory) Open(ctx context.Context, id string, off, length int64) (io.ReadCloser, error) {
	if err := m.check(ctx, id); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("%w: offset %d", ErrInvalidRange, off)
	}
	m.mu.RLock()
	s, ok := m.shards[id]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrShardNotFound, id)
	}
	start, end := clampRange(int64(len(s.data)), off, length)
	return io.NopCloser(bytes.NewReader(s.data[start:end])), nil
}

// Stat implements ShardStore.
func (m *Memory) Stat(ctx context.Context, id string) (ShardInfo, error) {
	if err := m.check(ctx, id); err != nil {
		return ShardInfo{}, err
	}
	m.mu.RLock()
	s, ok := m.shards[id]
	m.mu.RUnlock()
	if !ok {
		return ShardInfo{}, fmt.Errorf("%w: %s", ErrShardNotFound, id)
	}
	return ShardInfo{ID: id, Size: int64(len(s.data)), ModTime: s.mod}, nil
}

// Delete implements ShardStore.
func (m *Memory) Delete(ctx context.Context, id string) error {
	if err := m.check(ctx, id); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.shards[id]
	if !ok {
		return nil
	}
	delete(m.shards, id)
	m.used -= uint64(len(s.data))
	return nil
}

// Walk implements ShardStore. It calls fn on a snapshot taken without holding
// any lock during the calls, so fn may Create or Delete on the same drive
// (GC deletes what it walks). Shards are visited in id order.
func (m *Memory) Walk(ctx context.Context, prefix string, fn func(ShardInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validatePrefix(prefix); err != nil {
		return err
	}
	if err := m.online(); err != nil {
		return err
	}
	m.mu.RLock()
	var list []ShardInfo
	for id, s := range m.shards {
		if strings.HasPrefix(id, prefix) {
			list = append(list, ShardInfo{ID: id, Size: int64(len(s.data)), ModTime: s.mod})
		}
	}
	m.mu.RUnlock()
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	for _, si := range list {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(si); err != nil {
			return err
		}
	}
	return nil
}

// Info implements ShardStore. An offline Memory reports Online=false with a
// nil error, like Local: Info is how callers learn a drive's state.
func (m *Memory) Info(ctx context.Context) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	info := Info{ID: m.id, Path: "memory:" + m.id, Online: !m.offline.Load()}
	if info.Online {
		info.Instance, _ = m.instance.Load().(string)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.capacity > 0 {
		info.TotalBytes = m.capacity
		info.FreeBytes = m.capacity - min(m.used, m.capacity)
	}
	return info, nil
}

// commit installs data under id.
func (m *Memory) commit(id string, data []byte) error {
	if err := m.online(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.shards[id]
	used := m.used - uint64(len(old.data)) + uint64(len(data))
	if m.capacity > 0 && used > m.capacity {
		return fmt.Errorf("%w: memory drive %s", ErrDiskFull, m.id)
	}
	m.used = used
	m.shards[id] = memShard{data: data, mod: time.Now()}
	return nil
}

type memWriter struct {
	m  *Memory
	id string

	mu    sync.Mutex
	buf   []byte
	state writerState
}

func (w *memWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err, ok := w.state.closedErr(false); !ok {
		return 0, err
	}
	if err := w.m.online(); err != nil {
		return 0, err
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *memWriter) Commit() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err, ok := w.state.closedErr(true); !ok {
		return err
	}
	if err := w.m.commit(w.id, w.buf); err != nil {
		// A failed Commit leaves nothing behind, as on Local.
		w.state, w.buf = writerAborted, nil
		return err
	}
	w.state, w.buf = writerCommitted, nil
	return nil
}

func (w *memWriter) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == writerOpen {
		w.state, w.buf = writerAborted, nil
	}
	return nil
}
