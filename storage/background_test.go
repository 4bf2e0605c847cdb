package storage_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/internal/clocktest"
	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/drive"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// waitPasses waits (in real time, for a loaded machine) until the engine
// has finished n repair passes.
func waitPasses(t *testing.T, e *storage.Engine, n int) storage.HealStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := e.HealStatus()
		if st.Passes >= n && !st.Running {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d repair passes finished, want %d", st.Passes, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRingChangedStartsPassAtOnce: a ring-changed event starts a rebalance
// pass without any time passing on the engine's clock (there is no poll),
// and the periodic pass runs on the injected clock, not the wall clock.
func TestRingChangedStartsPassAtOnce(t *testing.T) {
	clk := clocktest.New(epoch)
	env := newRepairEnv(t, func(c *storage.EngineConfig) {
		c.Now, c.After, c.RepairInterval = clk.Now, clk.After, time.Hour
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env.e.RunBackground(ctx)
	waitPasses(t, env.e, 1) // the pass at start
	if err := clk.WaitForWaiters(1, 30*time.Second); err != nil {
		t.Fatal(err) // the loop waits on the injected clock
	}

	env.place.set(t, 2, []int{0, 1, 2, 3, 4})
	env.e.RingChanged()
	st := waitPasses(t, env.e, 2)
	if st.Last == nil || st.Last.ShardsMoved == 0 || env.shardCount("n4") != st.Last.ShardsMoved {
		t.Fatalf("pass after the ring change: %+v; n4 holds %d shards", st.Last, env.shardCount("n4"))
	}
	if !clk.Now().Equal(epoch) {
		t.Fatal("the test clock moved")
	}
	env.checkAll(t)

	// Nothing changes; the interval elapses on the injected clock. The
	// pass is incremental: with nothing queued and the sweep done it
	// reads no record but the scrub's share.
	if err := clk.WaitForWaiters(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if st := waitPasses(t, env.e, 3); st.Last.ShardsMoved != 0 || st.Last.Swept != 0 || st.Last.Dirty != 0 ||
		st.Last.Visited != st.Last.Scrubbed || st.Last.Outstanding() {
		t.Fatalf("periodic pass %+v, want nothing to do", st.Last)
	}
}

// TestNodeLostStartsPassAtOnce: a node-lost event rebuilds the lost node's
// shards at once.
func TestNodeLostStartsPassAtOnce(t *testing.T) {
	clk := clocktest.New(epoch)
	env := newRepairEnv(t, func(c *storage.EngineConfig) {
		c.Now, c.After, c.RepairInterval = clk.Now, clk.After, time.Hour
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env.e.RunBackground(ctx)
	waitPasses(t, env.e, 1)
	env.drives["n2"].SetOffline(true)
	env.place.set(t, 2, []int{0, 1, 3, 4})
	env.e.NodeLost("node2")
	st := waitPasses(t, env.e, 2)
	if st.Last.Failed != 0 || st.Last.ShardsMoved == 0 {
		t.Fatalf("pass after losing n2: %+v", st.Last)
	}
	if n, _ := env.e.ReferencedShards(ctx, []string{"n2"}); n != 0 {
		t.Fatalf("%d shards still placed on the lost node", n)
	}
	env.checkAll(t)
}

// TestGarbageCollectedInProcess: in the in-process setup (a fixed ring over
// a drive.Set) background passes really collect orphaned shards.
func TestGarbageCollectedInProcess(t *testing.T) {
	kv, err := meta.OpenLocal(t.TempDir() + "/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	set := drive.Set{}
	var members []ring.Member
	for _, id := range []string{"d1", "d2", "d3"} {
		set[id] = drive.NewMemory(id)
		members = append(members, ring.Member{DriveID: id, NodeID: "local"})
	}
	rg, err := ring.New(1, members)
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(time.Now().Add(48 * time.Hour)) // the orphan is two days old
	cfg := storage.DefaultEngineConfig()
	cfg.DataShards, cfg.ParityShards, cfg.InlineThreshold, cfg.DeleteGrace = 2, 1, 0, 0
	cfg.Now, cfg.After, cfg.GCInterval, cfg.Log = clk.Now, clk.After, time.Minute, testLog(t)
	e, err := storage.NewEngine(cfg, kv, set, storage.FixedPlacement(rg))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(7, 40<<10)
	if _, err := e.PutObject(ctx, "bkt", "kept", bytes.NewReader(data), storage.PutOptions{Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	orphan := "ab/abcdef00-0000-0000-0000-000000000000/0"
	w, err := set["d2"].Create(ctx, orphan)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("orphan"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}

	e.RunBackground(ctx)
	waitPasses(t, e, 1)
	// A collection is due one GCInterval after the engine started.
	if err := clk.WaitForWaiters(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := set["d2"].Stat(ctx, orphan)
		if err != nil {
			if !errors.Is(err, drive.ErrShardNotFound) {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the orphaned shard was never collected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, err := readAll(t, e, "bkt", "kept", storage.GetOptions{})
	if err != nil || string(got) != string(data) {
		t.Fatalf("referenced object after GC: %d bytes, %v", len(got), err)
	}
}
