package meta_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/meta/metatest"
)

func TestRaftKVConformanceSingleNode(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.KV {
		return newTestCluster(t, 1, clusterOpts{}).nodes[0].kv
	})
}

func TestRaftKVConformanceFollower(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.KV {
		return newTestCluster(t, 3, clusterOpts{}).followers()[0].kv
	})
}

func txnPut(ctx context.Context, kv meta.KV, key, val string) (uint64, error) {
	return kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(key, []byte(val))}})
}

// mustPut writes key. A plain put is idempotent, so unlike RaftKV itself it
// may retry a write whose outcome is unknown (a spurious leader change on a
// loaded machine).
func mustPut(t testing.TB, kv meta.KV, key, val string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		rev, err := txnPut(ctx, kv, key, val)
		if errors.Is(err, meta.ErrOutcomeUnknown) && ctx.Err() == nil {
			t.Logf("put %q: %v; retrying", key, err)
			continue
		}
		if err != nil {
			t.Fatalf("put %q: %v", key, err)
		}
		return rev
	}
}

func entriesByKey(es []meta.Entry) map[string]meta.Entry {
	m := make(map[string]meta.Entry, len(es))
	for _, e := range es {
		m[e.Key] = e
	}
	return m
}

func TestRaftKVNotLeaderEntryPoints(t *testing.T) {
	c := newTestCluster(t, 3, clusterOpts{})
	f := c.followers()[0]
	ctx := context.Background()
	if _, err := f.kv.ApplyForwarded(ctx, putCmd("t/a", "v")); !errors.Is(err, meta.ErrNotLeader) {
		t.Fatalf("ApplyForwarded on follower: %v", err)
	}
	if _, err := f.kv.ReadIndex(ctx); !errors.Is(err, meta.ErrNotLeader) {
		t.Fatalf("ReadIndex on follower: %v", err)
	}
	if _, err := c.leader(time.Second).kv.ApplyForwarded(ctx, []byte{0}); !errors.Is(err, meta.ErrBadCommand) {
		t.Fatalf("ApplyForwarded(garbage): %v", err)
	}
	// A follower without a forwarder cannot write.
	lone := meta.NewRaftKV(f.raft, f.fsm, nil)
	if _, err := txnPut(ctx, lone, "t/a", "v"); !errors.Is(err, meta.ErrNotLeader) {
		t.Fatalf("Txn on follower without forwarder: %v", err)
	}
	if f.kv.IsLeader() || !c.leader(time.Second).kv.IsLeader() {
		t.Fatal("IsLeader wrong")
	}
	if _, id := f.kv.Leader(); id != c.leader(time.Second).id {
		t.Fatalf("Leader() = %s", id)
	}
}

// A write acknowledged through one node is visible at once through any
// other.
func TestRaftKVLinearizableFollowerRead(t *testing.T) {
	c := newTestCluster(t, 3, clusterOpts{})
	nodes := c.runningNodes()
	ctx := context.Background()
	for i := range 60 {
		w, r := nodes[i%3], nodes[(i+1+i/3)%3]
		if w == r {
			r = nodes[(i+2)%3]
		}
		key := fmt.Sprintf("t/k%d", i%5)
		rev := mustPut(t, w.kv, key, fmt.Sprint(i))
		e, err := r.kv.Get(ctx, key)
		if err != nil || e.Revision != rev || string(e.Value) != fmt.Sprint(i) {
			t.Fatalf("write %d via %s at %d; read via %s = %+v, %v", i, w.id, rev, r.id, e, err)
		}
		es, err := r.kv.List(ctx, "t/", "", 0)
		if err != nil || entriesByKey(es)[key].Revision != rev {
			t.Fatalf("list via %s after write at %d: %v, %v", r.id, rev, es, err)
		}
	}
}

func TestRaftKVLeaderLoss(t *testing.T) {
	c := newTestCluster(t, 3, clusterOpts{})
	writers := c.runningNodes() // through every node, the leader too
	var victim atomic.Pointer[testNode]

	var (
		mu       sync.Mutex
		acked    = map[string]uint64{}
		ackTimes []time.Time
		unknown  int
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range writers {
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					key := fmt.Sprintf("s/%s-%d/%06d", w.id, g, i)
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					rev, err := txnPut(ctx, w.kv, key, "v")
					cancel()
					if err != nil && victim.Load() == w {
						return // this node crashed; any error is fine
					}
					mu.Lock()
					switch {
					case err == nil:
						acked[key] = rev
						ackTimes = append(ackTimes, time.Now())
					case errors.Is(err, meta.ErrOutcomeUnknown):
						unknown++
					default:
						t.Errorf("txn %s: %v", key, err)
					}
					mu.Unlock()
				}
			}()
		}
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor(t, 10*time.Second, "acks before the crash", func() bool { return count() >= 100 })

	old := c.leader(5 * time.Second)
	victim.Store(old)
	c.stop(old)
	crashed := time.Now() // Shutdown has returned: later acks come from a new leader
	waitFor(t, 10*time.Second, "acks after the crash", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, at := range ackTimes {
			if at.After(crashed) {
				n++
			}
		}
		return n >= 100
	})
	close(stop)
	wg.Wait()

	mu.Lock()
	var firstAfter time.Time
	for _, at := range ackTimes {
		if at.After(crashed) && (firstAfter.IsZero() || at.Before(firstAfter)) {
			firstAfter = at
		}
	}
	mu.Unlock()
	if gap := firstAfter.Sub(crashed); gap > 3*time.Second {
		t.Errorf("first write acknowledged %v after the leader crashed", gap)
	}
	ld := c.leader(5 * time.Second)
	if ld == old {
		t.Fatal("crashed node still leader")
	}
	all := entriesByKey(c.waitConverged(10 * time.Second))
	for key, rev := range acked {
		if e, ok := all[key]; !ok || e.Revision != rev {
			t.Errorf("acknowledged %s at %d: survivors have %+v (present %v)", key, rev, e, ok)
		}
	}
	t.Logf("%d acknowledged (%d before the crash), %d outcome unknown, first ack after crash +%v",
		len(acked), len(acked)-countAfter(ackTimes, crashed), unknown, firstAfter.Sub(crashed).Round(time.Millisecond))
}

func countAfter(ts []time.Time, t0 time.Time) int {
	n := 0
	for _, t := range ts {
		if t.After(t0) {
			n++
		}
	}
	return n
}

func TestRaftKVPartition(t *testing.T) {
	c := newTestCluster(t, 3, clusterOpts{})
	old := c.leader(5 * time.Second)
	mustPut(t, old.kv, "s/before", "b")

	c.isolate(old)
	// At once, while it may still believe it leads: the old leader cannot
	// commit.
	oldErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := txnPut(ctx, old.kv, "s/minority0", "x")
		oldErr <- err
	}()
	ld := c.leader(5 * time.Second)
	if ld == old {
		t.Fatal("isolated node is the majority's leader")
	}
	var other *testNode
	for _, nd := range c.runningNodes(old, ld) {
		other = nd
	}
	revMajority := mustPut(t, other.kv, "s/majority", "m")

	err := <-oldErr
	if err == nil {
		t.Fatal("isolated old leader committed a write")
	}
	t.Logf("Txn on the old leader just after isolation: %v", err)
	// Later, it can neither commit nor serve linearizable reads.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	_, err = txnPut(ctx, old.kv, "s/minority", "x")
	cancel()
	if err == nil {
		t.Fatal("isolated old leader committed a write")
	}
	t.Logf("isolated Txn: %v", err)
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = old.kv.Get(ctx, "s/before")
	cancel()
	if err == nil {
		t.Fatal("isolated old leader served a linearizable read")
	}
	// Stale reads still work, from the old state.
	if e, err := old.kv.Stale().Get(context.Background(), "s/before"); err != nil || string(e.Value) != "b" {
		t.Fatalf("stale read: %+v, %v", e, err)
	}
	if _, err := old.kv.Stale().Get(context.Background(), "s/majority"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("stale read of the majority's write: %v", err)
	}

	c.heal()
	c.leader(5 * time.Second)
	all := entriesByKey(c.waitConverged(10 * time.Second))
	if e, ok := all["s/majority"]; !ok || e.Revision != revMajority {
		t.Fatalf("majority write after heal: %+v %v", e, ok)
	}
	for _, k := range []string{"s/minority0", "s/minority"} {
		if _, ok := all[k]; ok {
			t.Fatalf("the isolated leader's write %s survived", k)
		}
	}
	if _, ok := all["s/before"]; !ok {
		t.Fatal("write before the partition lost")
	}
	// The old leader serves linearizable reads again.
	if e, err := old.kv.Get(context.Background(), "s/majority"); err != nil || e.Revision != revMajority {
		t.Fatalf("read via healed node: %+v, %v", e, err)
	}
}

// A stopped follower restarts from its own stores (raft-boltdb, bbolt FSM),
// replays its log without re-applying what it had applied, and catches up.
func TestRaftKVFollowerRejoin(t *testing.T) {
	c := newTestCluster(t, 3, clusterOpts{boltStores: true})
	ld := c.leader(5 * time.Second)
	f := c.followers()[0]
	for i := range 20 {
		mustPut(t, ld.kv, fmt.Sprintf("s/a%02d", i), "1")
	}
	waitFor(t, 5*time.Second, "follower applied", func() bool { return f.fsm.AppliedIndex() == ld.fsm.AppliedIndex() })
	c.stop(f)
	var last uint64
	for i := range 30 {
		last = mustPut(t, c.leader(5*time.Second).kv, fmt.Sprintf("s/b%02d", i), "2")
	}
	c.start(f)
	// A linearizable read through the rejoined node sees the latest write.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := f.kv.Get(ctx, "s/b29")
	if err != nil || e.Revision != last {
		t.Fatalf("read via rejoined follower: %+v, %v", e, err)
	}
	c.waitConverged(10 * time.Second)
	if st := f.rfsm.Stats(); st.Applied != 30 || st.Skipped != 20 {
		t.Fatalf("rejoined follower stats %+v; want 30 applied, 20 skipped on replay", st)
	}
}

// A restarted single node replays its log and skips every applied entry.
func TestRaftKVRestartDoesNotReapply(t *testing.T) {
	c := newTestCluster(t, 1, clusterOpts{boltStores: true})
	nd := c.nodes[0]
	for i := range 20 {
		mustPut(t, nd.kv, fmt.Sprintf("s/%02d", i), fmt.Sprint(i))
	}
	before, _ := nd.fsm.List("", "", 0)
	c.stop(nd)
	c.start(nd)
	c.leader(5 * time.Second)
	waitFor(t, 5*time.Second, "log replay", func() bool { return nd.rfsm.Stats().Skipped == 20 })
	if st := nd.rfsm.Stats(); st.Applied != 0 || st.Batches != 0 {
		t.Fatalf("restart re-applied entries: %+v", st)
	}
	after, _ := nd.fsm.List("", "", 0)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("state changed by restart")
	}
	rev := mustPut(t, nd.kv, "s/new", "n")
	if st := nd.rfsm.Stats(); st.Applied != 1 || rev <= before[len(before)-1].Revision {
		t.Fatalf("after one write: stats %+v, rev %d", st, rev)
	}
}

// With NoSnapshotRestoreOnStart raft trusts the FSM to be at the snapshot;
// RecoverFSM restores it when it is not (here: its file was lost).
func TestRaftKVRecoverFSMBehindSnapshot(t *testing.T) {
	c := newTestCluster(t, 1, clusterOpts{boltStores: true})
	nd := c.nodes[0]
	for i := range 10 {
		mustPut(t, nd.kv, fmt.Sprintf("s/%02d", i), "v")
	}
	if err := nd.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	c.stop(nd)
	if err := os.Remove(filepath.Join(nd.dir, "meta.db")); err != nil {
		t.Fatal(err)
	}
	c.start(nd) // calls RecoverFSM
	c.leader(5 * time.Second)
	es, err := nd.kv.List(context.Background(), "s/", "", 0)
	if err != nil || len(es) != 10 {
		t.Fatalf("after recovery: %d entries, %v", len(es), err)
	}
	// Already current: nothing to do.
	if restored, err := meta.RecoverFSM(nd.fsm, nd.snaps); err != nil || restored {
		t.Fatalf("RecoverFSM on a current FSM = %v, %v", restored, err)
	}
}

// A snapshot taken while writes continue, the log truncated behind it, and a
// fresh node that can only catch up by installing the snapshot.
func TestRaftKVSnapshotInstall(t *testing.T) {
	c := newTestCluster(t, 3, clusterOpts{conf: func(conf *raft.Config) { conf.TrailingLogs = 8 }})
	ld := c.leader(5 * time.Second)
	var n atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := txnPut(context.Background(), ld.kv, fmt.Sprintf("s/%d/%05d", g, i), "v"); err != nil {
					t.Errorf("put: %v", err)
					return
				}
				n.Add(1)
			}
		}()
	}
	waitFor(t, 10*time.Second, "writes", func() bool { return n.Load() >= 200 })
	if err := ld.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "more writes", func() bool { return n.Load() >= 300 })
	close(stop)
	wg.Wait()
	if err := ld.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	first, err := ld.logs.FirstIndex()
	if err != nil || first <= 1 {
		t.Fatalf("leader log not truncated: first index %d, %v", first, err)
	}

	nd := c.addVoter()
	all := c.waitConverged(10 * time.Second)
	if len(all) != int(n.Load()) {
		t.Fatalf("%d entries; %d written", len(all), n.Load())
	}
	if st := nd.rfsm.Stats(); st.Restores != 1 {
		t.Fatalf("new node stats %+v; want one snapshot restore", st)
	}
	// The new node takes part normally afterwards.
	rev := mustPut(t, nd.kv, "s/after", "a")
	if e, err := nd.kv.Get(context.Background(), "s/after"); err != nil || e.Revision != rev {
		t.Fatalf("read own write on new node: %+v, %v", e, err)
	}
	c.waitConverged(10 * time.Second)
}

func TestRaftKVStaleReadsOption(t *testing.T) {
	c := newTestCluster(t, 3, clusterOpts{kvOpts: []meta.RaftKVOption{meta.WithStaleReads()}})
	ld := c.leader(5 * time.Second)
	rev := mustPut(t, ld.kv, "s/k", "v")
	for _, nd := range c.runningNodes() {
		waitFor(t, 5*time.Second, "replication", func() bool {
			e, err := nd.kv.Get(context.Background(), "s/k")
			return err == nil && e.Revision == rev
		})
	}
}

// BenchmarkRaftKVTxn commits one-Put Txns through the leader of a 3-node
// in-memory cluster with real (fsyncing) bbolt FSMs, serially and from many
// goroutines, with and without raft's BatchApplyCh.
func BenchmarkRaftKVTxn(b *testing.B) {
	val := make([]byte, 128)
	for _, batch := range []bool{true, false} {
		for _, par := range []bool{false, true} {
			name := fmt.Sprintf("BatchApplyCh=%v/serial", batch)
			if par {
				name = fmt.Sprintf("BatchApplyCh=%v/parallel", batch)
			}
			b.Run(name, func(b *testing.B) {
				c := newTestCluster(b, 3, clusterOpts{conf: func(conf *raft.Config) { conf.BatchApplyCh = batch }})
				kv := c.leader(5 * time.Second).kv
				ctx := context.Background()
				var seq atomic.Uint64
				put := func() {
					key := fmt.Sprintf("s/%016d", seq.Add(1))
					if _, err := kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(key, val)}}); err != nil {
						b.Error(err)
					}
				}
				b.SetBytes(int64(len(val)))
				b.ReportAllocs()
				b.ResetTimer()
				if par {
					b.SetParallelism(16)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							put()
						}
					})
				} else {
					for range b.N {
						put()
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txns/s")
			})
		}
	}
}

// The FSM does not fsync (WithLogDurability): after a crash it is discarded
// and rebuilt from the newest snapshot and the log, losing no committed
// write — with and without a snapshot, on a lone node and on a follower.
func TestRaftKVCrashRebuildsFSM(t *testing.T) {
	for _, tc := range []struct {
		name     string
		nodes    int
		snapshot bool
	}{
		{"single/no-snapshot", 1, false},
		{"single/snapshot", 1, true},
		{"follower/snapshot", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCluster(t, tc.nodes, clusterOpts{boltStores: true})
			ld := c.leader(5 * time.Second)
			victim := ld
			if tc.nodes > 1 {
				victim = c.followers()[0]
			}
			for i := range 30 {
				mustPut(t, ld.kv, fmt.Sprintf("s/a%02d", i), "v")
			}
			if tc.snapshot {
				c.waitConverged(10 * time.Second)
				if err := victim.raft.Snapshot().Error(); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 30 {
				mustPut(t, ld.kv, fmt.Sprintf("s/b%02d", i), "v")
			}
			c.waitConverged(10 * time.Second)
			c.crash(victim)
			if _, err := os.Stat(filepath.Join(victim.dir, "meta.db"+meta.UncleanSuffix)); err != nil {
				t.Fatalf("unclean marker after crash: %v", err)
			}
			c.start(victim)
			if !victim.fsm.Recovered() {
				t.Fatal("FSM not rebuilt after a crash")
			}
			c.leader(5 * time.Second)
			if tc.nodes == 1 {
				mustPut(t, victim.kv, "s/c", "v") // commits, so the log replays
			}
			all := c.waitConverged(10 * time.Second)
			es, err := victim.fsm.List("s/", "", 0)
			if err != nil || len(es) < 60 || len(all) != len(es) {
				t.Fatalf("after rebuild: %d entries (%v); cluster has %d", len(es), err, len(all))
			}
			// A clean stop leaves a trusted file: no rebuild next time.
			c.stop(victim)
			c.start(victim)
			if victim.fsm.Recovered() {
				t.Fatal("FSM rebuilt after a clean stop")
			}
		})
	}
}

// TestRaftKVStaleGetMany: the leader's Stale view reads several keys in
// one local read (its own writes are applied when Txn returns).
func TestRaftKVStaleGetMany(t *testing.T) {
	c := newTestCluster(t, 1, clusterOpts{})
	ld := c.leader(5 * time.Second)
	mg, ok := ld.kv.Stale().(meta.MultiGetter)
	if !ok {
		t.Fatal("Stale view is no MultiGetter")
	}
	testGetMany(t, ld.kv, mg)
}

// TestRaftKVStaleView: the leader's Stale view runs dependent reads in one
// local read transaction.
func TestRaftKVStaleView(t *testing.T) {
	c := newTestCluster(t, 1, clusterOpts{})
	ld := c.leader(5 * time.Second)
	v, ok := ld.kv.Stale().(meta.Viewer)
	if !ok {
		t.Fatal("Stale view is no Viewer")
	}
	testView(t, ld.kv, v)
}
