package meta_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// gatedLogs counts StoreLogs calls (each one durable write of the log: one
// sync on a real store) and can hold them at a gate, as a slow fsync would.
type gatedLogs struct {
	raft.LogStore
	stores  atomic.Int64
	entries atomic.Int64
	mu      sync.Mutex
	gate    chan struct{} // nil: open
	held    chan struct{} // receives once per StoreLogs waiting at the gate
}

func newGatedLogs(ls raft.LogStore) *gatedLogs {
	return &gatedLogs{LogStore: ls, held: make(chan struct{}, 1024)}
}

func (g *gatedLogs) StoreLogs(logs []*raft.Log) error {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		g.held <- struct{}{}
		<-gate
	}
	g.stores.Add(1)
	g.entries.Add(int64(len(logs)))
	return g.LogStore.StoreLogs(logs)
}

func (g *gatedLogs) StoreLog(l *raft.Log) error { return g.StoreLogs([]*raft.Log{l}) }

func (g *gatedLogs) close()                 { g.mu.Lock(); g.gate = make(chan struct{}); g.mu.Unlock() }
func (g *gatedLogs) open()                  { g.mu.Lock(); close(g.gate); g.gate = nil; g.mu.Unlock() }
func (g *gatedLogs) counts() (int64, int64) { return g.stores.Load(), g.entries.Load() }

// Concurrent commits share log writes: 64 Txns queued behind one held log
// write are appended by at most a few StoreLogs calls (raft's BatchApplyCh
// and MaxAppendEntries) and applied in at most a few FSM batches.
func TestRaftKVGroupCommit(t *testing.T) {
	var logs *gatedLogs
	c := newTestCluster(t, 1, clusterOpts{boltStores: true, wrapLogs: func(ls raft.LogStore) raft.LogStore {
		logs = newGatedLogs(ls)
		return logs
	}})
	nd := c.leader(5 * time.Second)
	mustPut(t, nd.kv, "s/warm", "v")

	logs.close()
	first := make(chan error, 1)
	go func() { _, err := txnPut(context.Background(), nd.kv, "s/first", "v"); first <- err }()
	<-logs.held // the first append is stuck "syncing"
	stores0, entries0 := logs.counts()
	batches0 := nd.rfsm.Stats().Batches
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := txnPut(context.Background(), nd.kv, fmt.Sprintf("s/%03d", i), "v"); err != nil {
				errs <- err
			}
		}()
	}
	// Let all of them reach raft's apply queue before the log write ends.
	time.Sleep(200 * time.Millisecond)
	logs.open()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	stores, entries := logs.counts()
	stores, entries = stores-stores0, entries-entries0
	batches := nd.rfsm.Stats().Batches - batches0
	t.Logf("%d commits: %d log writes, %d FSM batches", n+1, stores, batches)
	if entries < n+1 || stores > 4 || batches > 5 {
		t.Fatalf("%d commits cost %d log writes (%d entries) and %d FSM batches; want <= 4 and <= 5", n+1, stores, entries, batches)
	}
}

// A read on a leader does not wait for log writes: it is answered while a
// Txn is stuck in StoreLogs (a slow fsync) on every node — by the leader
// alone with one or two voters, by other voters' terms with three.
func TestRaftKVReadNotBehindLogWrite(t *testing.T) {
	for _, voters := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("voters=%d", voters), func(t *testing.T) {
			var mu sync.Mutex
			var leaderLogs []*gatedLogs
			held := make(chan struct{}, 1024) // shared: whichever node leads
			c := newTestCluster(t, voters, clusterOpts{wrapLogs: func(ls raft.LogStore) raft.LogStore {
				g := newGatedLogs(ls)
				g.held = held
				mu.Lock()
				leaderLogs = append(leaderLogs, g)
				mu.Unlock()
				return g
			}})
			ld := c.leader(5 * time.Second)
			mustPut(t, ld.kv, "s/k", "v")
			// The first read of a term waits for a barrier (an entry in
			// the log); later ones need no log write.
			if _, err := ld.kv.Get(context.Background(), "s/k"); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			gl := leaderLogs
			mu.Unlock()
			for _, g := range gl {
				g.close()
			}
			stuck := make(chan error, 1)
			go func() { _, err := txnPut(context.Background(), ld.kv, "s/later", "v"); stuck <- err }()
			<-held
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			e, err := ld.kv.Get(ctx, "s/k")
			took := time.Since(start)
			for _, g := range gl {
				g.open()
			}
			if err != nil || string(e.Value) != "v" {
				t.Fatalf("read while the log write is held: %+v, %v (after %v)", e, err, took)
			}
			if err := <-stuck; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// BenchmarkRaftKVTxnGroupCommit measures small commits (a 4 KiB value, as a
// small PUT's record with its inline data) on a one-node Raft KV with the
// real stores (raft-boltdb log: two fdatasyncs per log write; FSM without
// fsync) at 1, 8 and 32 concurrent writers, and reports log writes per
// commit: concurrent commits share them.
func BenchmarkRaftKVTxnGroupCommit(b *testing.B) {
	for _, writers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			var logs *gatedLogs
			c := newTestCluster(b, 1, clusterOpts{boltStores: true, wrapLogs: func(ls raft.LogStore) raft.LogStore {
				logs = newGatedLogs(ls)
				return logs
			}})
			nd := c.leader(5 * time.Second)
			val := string(make([]byte, 4<<10))
			var next atomic.Int64
			stores0, _ := logs.counts()
			b.SetBytes(4 << 10)
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						if _, err := txnPut(context.Background(), nd.kv, fmt.Sprintf("s/%09d", i), val); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			stores, _ := logs.counts()
			b.ReportMetric(float64(stores-stores0)/float64(b.N), "logwrites/op")
			b.ReportMetric(2*float64(stores-stores0)/float64(b.N), "fdatasyncs/op")
		})
	}
}
