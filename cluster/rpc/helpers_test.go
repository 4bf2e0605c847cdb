package rpc

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/filesphere/filesphere/storage/drive"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// testLog routes logs to t.Log.
func testLog(t testing.TB) *logrus.Entry {
	l := logrus.New()
	l.SetOutput(tWriter{t})
	l.SetLevel(logrus.DebugLevel)
	return logrus.NewEntry(l)
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// drives is a registry of drives a test server serves.
type drives struct {
	mu sync.Mutex
	m  map[string]drive.ShardStore
}

func (d *drives) add(s drive.ShardStore) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[string]drive.ShardStore)
	}
	d.m[s.ID()] = s
}

func (d *drives) get(id string) (drive.ShardStore, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.m[id]
	return s, ok
}

// fakeMeta records forwarded commands.
type fakeMeta struct {
	mu    sync.Mutex
	cmds  [][]byte
	err   error
	rev   uint64
	index uint64
}

func (m *fakeMeta) ApplyForwarded(ctx context.Context, cmd []byte) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	m.cmds = append(m.cmds, cmd)
	m.rev++
	return m.rev, nil
}

func (m *fakeMeta) ReadIndex(ctx context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.index, m.err
}

func (m *fakeMeta) applied() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cmds)
}

// fakeCluster records joins.
type fakeCluster struct {
	mu    sync.Mutex
	joins []JoinRequest
	err   error
}

func (c *fakeCluster) Join(ctx context.Context, req JoinRequest) (JoinResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return JoinResponse{}, c.err
	}
	c.joins = append(c.joins, req)
	return JoinResponse{LeaderID: "n1", Members: []string{"n1", req.NodeID}}, nil
}

func (c *fakeCluster) Status(ctx context.Context) (json.RawMessage, error) {
	return json.RawMessage(`{"leader":"n1","members":2}`), nil
}

func (c *fakeCluster) joined() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.joins)
}

// env is one server node and a client to it.
type env struct {
	ts      *httptest.Server
	srv     *Server
	client  *Client
	drives  *drives
	meta    *fakeMeta
	cluster *fakeCluster
}

func newEnv(t testing.TB, mods ...func(*ServerConfig)) *env {
	t.Helper()
	e := &env{drives: &drives{}, meta: &fakeMeta{}, cluster: &fakeCluster{}}
	cfg := DefaultServerConfig()
	cfg.Secret = testSecret
	cfg.NodeID = "n1"
	cfg.Drives = e.drives.get
	cfg.Meta = e.meta
	cfg.Cluster = e.cluster
	cfg.Log = testLog(t)
	for _, m := range mods {
		m(&cfg)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.ts = startServer(t, srv)
	e.client = newTestClient(t, nil)
	return e
}

// startServer serves h over HTTP/2 cleartext on loopback.
func startServer(t testing.TB, h http.Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Config = NewHTTPServer("", h)
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

func newTestClient(t testing.TB, mod func(*ClientConfig)) *Client {
	t.Helper()
	cfg := DefaultClientConfig()
	cfg.Secret = testSecret
	cfg.NodeID = "n2"
	cfg.Timeout = 10 * time.Second
	cfg.Backoff = time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

var driveSeq atomic.Int64

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// observed wraps a store and counts what happens to its writers and readers
// on the server side.
type observed struct {
	drive.ShardStore
	creates, commits, aborts, readerCloses atomic.Int64
}

func (o *observed) Create(ctx context.Context, id string) (drive.ShardWriter, error) {
	w, err := o.ShardStore.Create(ctx, id)
	if err != nil {
		return nil, err
	}
	o.creates.Add(1)
	return &observedWriter{ShardWriter: w, o: o}, nil
}

func (o *observed) Open(ctx context.Context, id string, off, length int64) (io.ReadCloser, error) {
	r, err := o.ShardStore.Open(ctx, id, off, length)
	if err != nil {
		return nil, err
	}
	return &observedReader{ReadCloser: r, o: o}, nil
}

type observedWriter struct {
	drive.ShardWriter
	o    *observed
	done atomic.Bool
}

func (w *observedWriter) Commit() error {
	err := w.ShardWriter.Commit()
	if err == nil && w.done.CompareAndSwap(false, true) {
		w.o.commits.Add(1)
	}
	return err
}

func (w *observedWriter) Abort() error {
	err := w.ShardWriter.Abort()
	if w.done.CompareAndSwap(false, true) {
		w.o.aborts.Add(1)
	}
	return err
}

type observedReader struct {
	io.ReadCloser
	o *observed
}

func (r *observedReader) Close() error {
	r.o.readerCloses.Add(1)
	return r.ReadCloser.Close()
}

// sinkStore keeps no data: writers count bytes and a CRC, Open generates
// openSize bytes. It lets streams of any size run in constant memory.
type sinkStore struct {
	id       string
	openSize int64
	mu       sync.Mutex
	shards   map[string]sinkShard
}

type sinkShard struct {
	n   int64
	crc uint32
}

func newSink(id string, openSize int64) *sinkStore {
	return &sinkStore{id: id, openSize: openSize, shards: make(map[string]sinkShard)}
}

func (s *sinkStore) ID() string { return s.id }

func (s *sinkStore) Create(ctx context.Context, id string) (drive.ShardWriter, error) {
	return &sinkWriter{s: s, id: id}, nil
}

func (s *sinkStore) Open(ctx context.Context, id string, off, length int64) (io.ReadCloser, error) {
	n := max(s.openSize-off, 0)
	if length >= 0 {
		n = min(n, length)
	}
	return io.NopCloser(io.LimitReader(&patternReader{}, n)), nil
}

func (s *sinkStore) Stat(ctx context.Context, id string) (drive.ShardInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.shards[id]
	if !ok {
		return drive.ShardInfo{}, drive.ErrShardNotFound
	}
	return drive.ShardInfo{ID: id, Size: sh.n, ModTime: time.Now()}, nil
}

func (s *sinkStore) get(id string) (sinkShard, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.shards[id]
	return sh, ok
}

func (s *sinkStore) Delete(ctx context.Context, id string) error { return nil }
func (s *sinkStore) Walk(ctx context.Context, prefix string, fn func(drive.ShardInfo) error) error {
	return nil
}
func (s *sinkStore) Info(ctx context.Context) (drive.Info, error) {
	return drive.Info{ID: s.id, Online: true}, nil
}

type sinkWriter struct {
	s   *sinkStore
	id  string
	n   int64
	crc uint32
}

func (w *sinkWriter) Write(p []byte) (int, error) {
	w.crc = crc32.Update(w.crc, castagnoli, p)
	w.n += int64(len(p))
	return len(p), nil
}

func (w *sinkWriter) Commit() error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.s.shards[w.id] = sinkShard{n: w.n, crc: w.crc}
	return nil
}

func (w *sinkWriter) Abort() error { return nil }

// patternBlock is what patternReader repeats: 251 does not divide any
// buffer size, so misplaced bytes show.
var patternBlock = func() []byte {
	b := make([]byte, 251*1024)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

// patternReader generates an endless pattern without allocating.
type patternReader struct{ off int }

func (r *patternReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m := copy(p[n:], patternBlock[r.off:])
		n += m
		r.off = (r.off + m) % len(patternBlock)
	}
	return n, nil
}

// patternCRC is the CRC-32C of the first n pattern bytes.
func patternCRC(n int64) uint32 {
	h := crc32.New(castagnoli)
	io.Copy(h, io.LimitReader(&patternReader{}, n))
	return h.Sum32()
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
func itoa(n int64) string    { return strconv.FormatInt(n, 10) }
func utoa(n uint32) string   { return strconv.FormatUint(uint64(n), 10) }

func newUnstarted(h http.Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Config = NewHTTPServer("", h)
	return ts
}
