package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
	"github.com/filesphere/filesphere/storage/drive/drivetest"
)

// TestTransportIsHTTP2: calls travel over cleartext HTTP/2 and, once a
// connection is open, share it.
func TestTransportIsHTTP2(t *testing.T) {
	e := &env{drives: &drives{}}
	cfg := DefaultServerConfig()
	cfg.Secret, cfg.NodeID, cfg.Drives = testSecret, "n1", e.drives.get
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var protos sync.Map
	var conns atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		srv.ServeHTTP(w, r)
	})
	ts := newUnstarted(h)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	e.drives.add(drive.NewMemory("d1"))
	d := newTestClient(t, nil).Drive(ts.URL, "d1")
	// The first call opens the connection (concurrent first calls may each
	// dial before the transport knows it can multiplex).
	if _, err := d.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			id := "s" + itoa(int64(i))
			drivetest.Put(t, d, id, []byte(id))
			drivetest.Get(t, d, id, 0, -1)
		})
	}
	wg.Wait()
	protos.Range(func(k, _ any) bool {
		if k != "HTTP/2.0" {
			t.Errorf("request over %v", k)
		}
		return true
	})
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1 shared", n)
	}
}

// TestCreateClientGoneLeavesNoShard: a writer whose client aborts, or whose
// connection is cut mid-stream, leaves nothing on the server's drive.
func TestCreateClientGoneLeavesNoShard(t *testing.T) {
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for _, how := range []string{"abort", "connection cut", "client closed"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			mem := &observed{ShardStore: drive.NewMemory("d1")}
			e.drives.add(mem)
			client := newTestClient(t, nil)
			w, err := client.Drive(e.ts.URL, "d1").Create(context.Background(), "gone")
			if err != nil {
				t.Fatal(err)
			}
			for range 16 {
				if _, err := w.Write(chunk); err != nil {
					t.Fatal(err)
				}
			}
			switch how {
			case "abort":
				if err := w.Abort(); err != nil {
					t.Fatal(err)
				}
			case "connection cut":
				e.ts.CloseClientConnections()
			case "client closed":
				// The client's process goes away: its transport's
				// connections close under the writer.
				client.tr.CloseIdleConnections()
				e.ts.CloseClientConnections()
			}
			waitFor(t, "the server to abort its writer", func() bool { return mem.aborts.Load() == 1 })
			if how != "abort" {
				_, err := w.Write(chunk)
				if err == nil {
					err = w.Commit()
				}
				if !errors.Is(err, drive.ErrOffline) {
					t.Errorf("write/commit after the cut: %v, want ErrOffline", err)
				}
				if err := w.Commit(); err == nil {
					t.Error("commit after a broken stream succeeded")
				}
			}
			if n := mem.commits.Load(); n != 0 {
				t.Fatalf("%d commits", n)
			}
			if _, err := mem.Stat(context.Background(), "gone"); !errors.Is(err, drive.ErrShardNotFound) {
				t.Fatalf("stat: %v", err)
			}
		})
	}
}

// TestServerDriveErrorsKeepSentinels: every drive error on the server side
// comes back matching the same sentinel, from every operation.
func TestServerDriveErrorsKeepSentinels(t *testing.T) {
	e := newEnv(t)
	f := drive.NewFaulty(drive.NewMemory("d1"))
	e.drives.add(f)
	d := e.client.Drive(e.ts.URL, "d1")
	drivetest.Put(t, d, "s", bytes.Repeat([]byte("s"), 1<<20))
	ctx := context.Background()
	sentinels := []error{
		drive.ErrShardNotFound, drive.ErrInvalidID, drive.ErrOffline, drive.ErrDiskFull,
		drive.ErrAborted, drive.ErrInvalidRange, drive.ErrInjected, drive.ErrTimeout,
	}
	ops := map[drive.Op]func() error{
		drive.OpCreate: func() error { _, err := d.Create(ctx, "n"); return err },
		drive.OpOpen:   func() error { _, err := d.Open(ctx, "s", 0, -1); return err },
		drive.OpStat:   func() error { _, err := d.Stat(ctx, "s"); return err },
		drive.OpDelete: func() error { return d.Delete(ctx, "s") },
		drive.OpWalk: func() error {
			return d.Walk(ctx, "", func(drive.ShardInfo) error { return nil })
		},
		drive.OpInfo: func() error { _, err := d.Info(ctx); return err },
		drive.OpWrite: func() error {
			w, err := d.Create(ctx, "n")
			if err != nil {
				return err
			}
			_, err = w.Write([]byte("abc"))
			if cerr := w.Commit(); err == nil {
				err = cerr
			}
			return err
		},
		drive.OpCommit: func() error {
			w, err := d.Create(ctx, "n")
			if err != nil {
				return err
			}
			w.Write([]byte("abc"))
			return w.Commit()
		},
		drive.OpRead: func() error {
			r, err := d.Open(ctx, "s", 0, -1)
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = io.Copy(io.Discard, r)
			return err
		},
	}
	for op, call := range ops {
		for _, s := range sentinels {
			wrapped := fmt.Errorf("deep inside: %w", s)
			n := 1
			if op == drive.OpRead {
				n = 3 // after data has started to flow: the trailer carries it
			}
			f.FailNth(op, n, wrapped)
			err := call()
			f.Clear(op)
			if op == drive.OpInfo && s == drive.ErrOffline {
				// Info reports an offline drive with Online=false.
				if err != nil {
					t.Errorf("info on offline: %v", err)
				}
				continue
			}
			if !errors.Is(err, s) {
				t.Errorf("%s failing with %v: client got %v", op, s, err)
			}
			var re *RemoteError
			if !errors.As(err, &re) {
				t.Errorf("%s: %v is not a RemoteError", op, err)
			}
		}
	}
	if _, err := d.Stat(ctx, "n"); !errors.Is(err, drive.ErrShardNotFound) {
		t.Fatalf("a failed create left a shard: %v", err)
	}
	// A drive the node does not have is offline, and says why.
	_, err := e.client.Drive(e.ts.URL, "nope").Stat(ctx, "s")
	if !errors.Is(err, drive.ErrOffline) || !errors.Is(err, ErrUnknownDrive) {
		t.Fatalf("unknown drive: %v", err)
	}
	// Disk full in mid-stream: the Write or the Commit says so.
	f.FailWritesAfter(300<<10, drive.ErrDiskFull)
	w, err := d.Create(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for range 64 {
		if _, werr = w.Write(make([]byte, 64<<10)); werr != nil {
			break
		}
	}
	cerr := w.Commit()
	if werr != nil && !errors.Is(werr, drive.ErrDiskFull) {
		t.Errorf("write: %v", werr)
	}
	if !errors.Is(cerr, drive.ErrDiskFull) {
		t.Errorf("commit: %v", cerr)
	}
	if _, err := d.Stat(ctx, "big"); !errors.Is(err, drive.ErrShardNotFound) {
		t.Fatalf("stat big: %v", err)
	}
}

// TestOpenReaderNotBoundToContext: as with local drives, the reader outlives
// the context of the Open call (Instrumented cancels it on return), and
// closing it early ends the server's stream.
func TestOpenReaderNotBoundToContext(t *testing.T) {
	e := newEnv(t)
	mem := &observed{ShardStore: drive.NewMemory("d1")}
	e.drives.add(mem)
	d := e.client.Drive(e.ts.URL, "d1")
	data := bytes.Repeat([]byte("0123456789"), 1<<20)
	drivetest.Put(t, d, "s", data)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := d.Open(ctx, "s", 5, -1)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data[5:]) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	r.Close()
	r, err = d.Open(context.Background(), "s", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	waitFor(t, "the server's readers to close", func() bool { return mem.readerCloses.Load() == 2 })
	if _, err := r.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after close succeeded")
	}
}

// TestOpenBrokenStreamIsNotEOF: a stream cut mid-body is an error, never a
// short clean read.
func TestOpenBrokenStreamIsNotEOF(t *testing.T) {
	e := newEnv(t)
	e.drives.add(newSink("d1", 1<<30))
	r, err := e.client.Drive(e.ts.URL, "d1").Open(context.Background(), "s", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadFull(r, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	e.ts.CloseClientConnections()
	_, err = io.Copy(io.Discard, r)
	if !errors.Is(err, drive.ErrOffline) {
		t.Fatalf("read after cut: %v, want ErrOffline", err)
	}
}

// midWalkFail walks some shards, then fails.
type midWalkFail struct {
	drive.ShardStore
	after int
	err   error
}

func (m midWalkFail) Walk(ctx context.Context, prefix string, fn func(drive.ShardInfo) error) error {
	n := 0
	err := m.ShardStore.Walk(ctx, prefix, func(si drive.ShardInfo) error {
		if n == m.after {
			return m.err
		}
		n++
		return fn(si)
	})
	return err
}

// TestWalkStreams: a large walk streams (fn may delete what it is given),
// and an error after the first lines still arrives with its sentinel.
func TestWalkStreams(t *testing.T) {
	e := newEnv(t)
	mem := drive.NewMemory("d1")
	e.drives.add(mem)
	const n = 3000
	for i := range n {
		drivetest.Put(t, mem, "w/"+itoa(int64(i)), []byte("x"))
	}
	d := e.client.Drive(e.ts.URL, "d1")
	// The failing twin has its own id.
	e.drives.add(midWalkFailID{midWalkFail{ShardStore: mem, after: 100, err: fmt.Errorf("disk: %w", drive.ErrDiskFull)}})
	seen := 0
	err := e.client.Drive(e.ts.URL, "d1-fail").Walk(context.Background(), "w/", func(drive.ShardInfo) error {
		seen++
		return nil
	})
	if !errors.Is(err, drive.ErrDiskFull) || seen != 100 {
		t.Fatalf("failing walk: %v after %d shards", err, seen)
	}
	ctx := context.Background()
	seen = 0
	err = d.Walk(ctx, "w/", func(si drive.ShardInfo) error {
		seen++
		if si.Size != 1 || si.ModTime.IsZero() {
			return fmt.Errorf("bad info %+v", si)
		}
		return d.Delete(ctx, si.ID)
	})
	if err != nil || seen != n {
		t.Fatalf("walk: %v after %d shards", err, seen)
	}
	if left := countShards(t, mem); left != 0 {
		t.Fatalf("%d shards left", left)
	}
}

type midWalkFailID struct{ midWalkFail }

func (m midWalkFailID) ID() string { return "d1-fail" }

func countShards(t *testing.T, s drive.ShardStore) int {
	n := 0
	if err := s.Walk(context.Background(), "", func(drive.ShardInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStreamLargeShardConstantMemory streams 256 MiB each way and checks
// that the heap stays far below the shard's size: nothing buffers it whole.
func TestStreamLargeShardConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 512 MiB")
	}
	const size = 256 << 20
	e := newEnv(t)
	sink := newSink("d1", size)
	e.drives.add(sink)
	d := e.client.Drive(e.ts.URL, "d1")

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()

	w, err := d.Create(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.CopyBuffer(w, io.LimitReader(&patternReader{}, size), make([]byte, 1<<20)); err != nil || n != size {
		t.Fatalf("wrote %d: %v", n, err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	want := patternCRC(size)
	if got, _ := sink.get("big"); got.n != size || got.crc != want {
		t.Fatalf("server got %d bytes crc %08x, want %d crc %08x", got.n, got.crc, size, want)
	}

	r, err := d.Open(context.Background(), "big", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	h := crc32.New(castagnoli)
	n, err := io.CopyBuffer(h, r, make([]byte, 1<<20))
	r.Close()
	if err != nil || n != size || h.Sum32() != want {
		t.Fatalf("read %d bytes crc %08x (%v), want %d crc %08x", n, h.Sum32(), err, size, want)
	}
	close(stop)
	<-sampled
	growth := int64(peak.Load()) - int64(base)
	t.Logf("heap in use: base %d MiB, peak %d MiB while streaming 2 x %d MiB", base>>20, peak.Load()>>20, size>>20)
	if growth > 48<<20 {
		t.Fatalf("heap grew by %d MiB while streaming %d MiB", growth>>20, size>>20)
	}
}

// TestRefusedCreatesDoNotDisturbOtherStreams: a server refusing creates in
// mid-stream (disk full) resets only those streams; other streams on the
// same connection carry on and the connection stays.
func TestRefusedCreatesDoNotDisturbOtherStreams(t *testing.T) {
	ds := &drives{}
	cfg := DefaultServerConfig()
	cfg.Secret, cfg.NodeID, cfg.Drives = testSecret, "n1", ds.get
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	ts := newUnstarted(srv)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	full := drive.NewFaulty(drive.NewMemory("full"))
	full.FailWritesAfter(10<<10, drive.ErrDiskFull)
	ds.add(full)
	ds.add(newSink("sink", 64<<20))
	c := newTestClient(t, nil)
	ctx := context.Background()
	if _, err := c.Drive(ts.URL, "sink").Info(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 { // long streams sharing the connection
		wg.Go(func() {
			r, err := c.Drive(ts.URL, "sink").Open(ctx, "s", 0, -1)
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Close()
			if n, err := io.Copy(io.Discard, r); err != nil || n != 64<<20 {
				t.Errorf("read %d: %v", n, err)
			}
		})
	}
	for i := range 8 {
		wg.Go(func() {
			chunk := make([]byte, 4<<10+i)
			for range 25 {
				w, err := c.Drive(ts.URL, "full").Create(ctx, "x")
				if err != nil {
					t.Error(err)
					return
				}
				var werr error
				for range 8 {
					if _, werr = w.Write(chunk); werr != nil {
						break
					}
				}
				if err := w.Commit(); !errors.Is(err, drive.ErrDiskFull) {
					t.Errorf("commit: %v (write: %v)", err, werr)
				}
			}
		})
	}
	wg.Wait()
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections; refused streams must not break the shared one", n)
	}
}
