package meta_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/meta/metatest"
)

func openLocal(tb testing.TB, path string) *meta.Local {
	tb.Helper()
	l, err := meta.OpenLocal(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

func TestLocalConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.KV {
		return openLocal(t, filepath.Join(t.TempDir(), "meta.db"))
	})
}

func TestLocalRestartKeepsDataAndAppliedIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	l := openLocal(t, path)
	var last uint64
	for i := range 10 {
		rev, err := l.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(fmt.Sprintf("c/%d", i), []byte{byte(i)})}})
		if err != nil {
			t.Fatal(err)
		}
		last = rev
	}
	log := []meta.Command{{Index: 1, Data: meta.EncodeTxn(meta.Txn{Ops: []meta.Op{meta.Put("c/0", []byte("replayed"))}})}}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Txn(ctx, meta.Txn{}); !errors.Is(err, meta.ErrClosed) {
		t.Fatalf("txn after close: %v", err)
	}

	l2 := openLocal(t, path)
	if got := l2.FSM().AppliedIndex(); got != last {
		t.Fatalf("applied after restart = %d; want %d", got, last)
	}
	e, err := l2.Get(ctx, "c/0")
	if err != nil || e.Value[0] != 0 || e.Revision != 1 {
		t.Fatalf("c/0 = %+v, %v", e, err)
	}
	// Replaying an applied entry does nothing.
	if r := l2.FSM().ApplyBatch(log); !r[0].Skipped {
		t.Fatalf("replay = %+v", r)
	}
	if e, _ := l2.Get(ctx, "c/0"); string(e.Value) != "\x00" {
		t.Fatalf("replay re-applied: %q", e.Value)
	}
	// New writes continue after the old revisions.
	rev, err := l2.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put("c/new", nil)}})
	if err != nil || rev != last+1 {
		t.Fatalf("txn after restart = %d, %v; want %d", rev, err, last+1)
	}
}

func TestLocalOpenLocked(t *testing.T) {
	// bbolt's flock is per open file description, so a second open of the
	// same file in this process waits for the lock and times out.
	path := filepath.Join(t.TempDir(), "meta.db")
	openLocal(t, path)
	start := time.Now()
	const timeout = 200 * time.Millisecond
	if _, err := meta.OpenLocal(path, meta.WithLockTimeout(timeout)); err == nil {
		t.Fatal("second open of a locked database succeeded")
	}
	if d := time.Since(start); d < timeout/2 { // bbolt polls the lock every 50ms
		t.Fatalf("failed after %v, before the lock timeout", d)
	}
}

func TestLocalTxnCancelWhileWaiting(t *testing.T) {
	l := openLocal(t, filepath.Join(t.TempDir(), "meta.db"))
	// Many writers; half of them with contexts that end immediately. Every
	// Txn returns, cancelled ones with the context error, and the store
	// stays usable.
	var wg sync.WaitGroup
	var ok, cancelled atomic.Int64
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i%2 == 1 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Microsecond)
				defer cancel()
			}
			_, err := l.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(fmt.Sprintf("t/%d", i), nil)}})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, context.DeadlineExceeded):
				cancelled.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() < 100 {
		t.Fatalf("only %d txns succeeded", ok.Load())
	}
	t.Logf("%d committed, %d cancelled", ok.Load(), cancelled.Load())
	if _, err := l.Txn(context.Background(), meta.Txn{}); err != nil {
		t.Fatal(err)
	}
}

func TestLocalCloseWithWaitingWriters(t *testing.T) {
	l, err := meta.OpenLocal(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.Txn(context.Background(), meta.Txn{Ops: []meta.Op{meta.Put(fmt.Sprintf("t/%d", i), nil)}})
			if err != nil && !errors.Is(err, meta.ErrClosed) {
				t.Error(err)
			}
		}()
	}
	time.Sleep(time.Millisecond) // let some writers in; correctness does not depend on it
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait() // every writer returns
	if err := l.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := l.Get(context.Background(), "t/0"); !errors.Is(err, meta.ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
}

func reportOps(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkLocalTxnSerial(b *testing.B) {
	l := openLocal(b, filepath.Join(b.TempDir(), "meta.db"))
	ctx := context.Background()
	val := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(fmt.Sprintf("s/%d", i), val)}}); err != nil {
			b.Fatal(err)
		}
	}
	reportOps(b)
}

func BenchmarkLocalTxnParallel(b *testing.B) {
	l := openLocal(b, filepath.Join(b.TempDir(), "meta.db"))
	ctx := context.Background()
	val := make([]byte, 64)
	var n atomic.Int64
	b.SetParallelism(32) // 32 * GOMAXPROCS writers: a busy metadata server
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := fmt.Sprintf("s/%d", n.Add(1))
			if _, err := l.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(k, val)}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportOps(b)
}

func BenchmarkList(b *testing.B) {
	for _, size := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", size), func(b *testing.B) {
			l := openLocal(b, filepath.Join(b.TempDir(), "meta.db"))
			val := make([]byte, 64)
			// Load through the FSM in large commands: few fsyncs.
			const perCmd = 10_000
			idx := l.FSM().AppliedIndex()
			for i := 0; i < size; i += perCmd {
				var txn meta.Txn
				for j := i; j < i+perCmd && j < size; j++ {
					txn.Ops = append(txn.Ops, meta.Put(fmt.Sprintf("s/obj/%08d", j), val))
				}
				idx++
				if r := l.FSM().Apply(idx, meta.EncodeTxn(txn)); r.Err != nil {
					b.Fatal(r.Err)
				}
			}
			// Other owners' keys around the listed prefix.
			idx++
			l.FSM().Apply(idx, meta.EncodeTxn(meta.Txn{Ops: []meta.Op{meta.Put("i/u", val), meta.Put("t/z", val)}}))
			ctx := context.Background()
			start := fmt.Sprintf("s/obj/%08d", size/2)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				es, err := l.List(ctx, "s/obj/", start, 1000)
				if err != nil || len(es) != 1000 || es[0].Key != start {
					b.Fatalf("list: %d entries, %v", len(es), err)
				}
			}
			reportOps(b)
		})
	}
}

// testGetMany: GetMany returns the entries in the order asked, missing
// keys with Revision 0 and nothing else, and the same entries Get does.
func testGetMany(t *testing.T, kv meta.KV, mg meta.MultiGetter) {
	t.Helper()
	ctx := context.Background()
	ra := mustPutKV(t, kv, "t/a", "one")
	rb := mustPutKV(t, kv, "t/b", "two")
	es, err := mg.GetMany(ctx, "t/b", "t/missing", "t/a", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []meta.Entry{{Key: "t/b", Value: []byte("two"), Revision: rb}, {Key: "t/missing"}, {Key: "t/a", Value: []byte("one"), Revision: ra}, {Key: ""}}
	if !reflect.DeepEqual(es, want) {
		t.Fatalf("GetMany = %+v, want %+v", es, want)
	}
	if e, err := kv.Get(ctx, "t/a"); err != nil || !reflect.DeepEqual(e, es[2]) {
		t.Fatalf("Get = %+v, %v; GetMany gave %+v", e, err, es[2])
	}
	es[0].Value[0] = 'X' // a copy: the store is unchanged
	if e, _ := kv.Get(ctx, "t/b"); string(e.Value) != "two" {
		t.Fatalf("t/b = %q after changing GetMany's value", e.Value)
	}
	if es, err := mg.GetMany(ctx); err != nil || len(es) != 0 {
		t.Fatalf("GetMany() = %v, %v", es, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := mg.GetMany(cctx, "t/a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetMany with a cancelled context: %v", err)
	}
}

// testView: a View reads keys named by values it read before, missing and
// empty keys are ErrNotFound, entries are copies kept after View returns,
// fn's error is View's, and a cancelled context runs no fn.
func testView(t *testing.T, kv meta.KV, v meta.Viewer) {
	t.Helper()
	ctx := context.Background()
	mustPutKV(t, kv, "v/head", "v/data")
	rd := mustPutKV(t, kv, "v/data", "bytes")
	var got meta.Entry
	err := v.View(ctx, func(r meta.Reader) error {
		h, err := r.Get("v/head")
		if err != nil {
			return err
		}
		got, err = r.Get(string(h.Value))
		return err
	})
	if want := (meta.Entry{Key: "v/data", Value: []byte("bytes"), Revision: rd}); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("View read %+v, %v; want %+v", got, err, want)
	}
	got.Value[0] = 'X' // a copy: the store is unchanged
	if e, _ := kv.Get(ctx, "v/data"); string(e.Value) != "bytes" {
		t.Fatalf("v/data = %q after changing View's value", e.Value)
	}
	for _, key := range []string{"v/missing", ""} {
		err := v.View(ctx, func(r meta.Reader) error { _, err := r.Get(key); return err })
		if !errors.Is(err, meta.ErrNotFound) {
			t.Fatalf("View Get(%q): %v, want ErrNotFound", key, err)
		}
	}
	errStop := errors.New("stop")
	if err := v.View(ctx, func(meta.Reader) error { return errStop }); err != errStop {
		t.Fatalf("View returned %v, want fn's error", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	called := false
	if err := v.View(cctx, func(meta.Reader) error { called = true; return nil }); !errors.Is(err, context.Canceled) || called {
		t.Fatalf("View with a cancelled context: %v, fn called %v", err, called)
	}
}

func mustPutKV(t *testing.T, kv meta.KV, key, val string) uint64 {
	t.Helper()
	rev, err := kv.Txn(context.Background(), meta.Txn{Ops: []meta.Op{meta.Put(key, []byte(val))}})
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func TestLocalGetMany(t *testing.T) {
	l := openLocal(t, filepath.Join(t.TempDir(), "meta.db"))
	testGetMany(t, l, l)
}

func TestLocalView(t *testing.T) {
	l := openLocal(t, filepath.Join(t.TempDir(), "meta.db"))
	testView(t, l, l)
}
