package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster"
	"github.com/filesphere/filesphere/internal/clocktest"
	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/drive"
	"github.com/sirupsen/logrus"
)

func startTestNode(t *testing.T, id, join string) *cluster.Node {
	t.Helper()
	cfg := cluster.DefaultConfig()
	cfg.NodeID, cfg.ClusterAddr, cfg.Join = id, "127.0.0.1:0", join
	cfg.DataDir, cfg.Secret = filepath.Join(t.TempDir(), id), []byte("wiring-test-secret-0123")
	cfg.Drives = map[string]drive.ShardStore{id + "-d1": drive.NewMemory(id + "-d1"), id + "-d2": drive.NewMemory(id + "-d2")}
	cfg.RefreshInterval, cfg.JoinTimeout = 50*time.Millisecond, 30*time.Second
	l := logrus.New()
	l.SetOutput(t.Output())
	cfg.Log = logrus.NewEntry(l)
	n, err := cluster.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestRepairFollowsClusterEvents: with the engine's own clock frozen, only
// the node's ring-changed event can start the pass that moves shards onto a
// node that joins.
func TestRepairFollowsClusterEvents(t *testing.T) {
	n1 := startTestNode(t, "n1", "")
	ecfg := storage.DefaultEngineConfig()
	clk := clocktest.New(time.Now())
	ecfg.DataShards, ecfg.ParityShards, ecfg.InlineThreshold, ecfg.DeleteGrace = 1, 1, 0, 0
	ecfg.IsLeader, ecfg.RepairInterval, ecfg.After = n1.IsLeader, time.Hour, clk.After
	engine, err := storage.NewEngine(ecfg, n1.KV(), n1, placementOf(n1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); engine.Close() })
	repairOnEvents(n1, engine)
	engine.RunBackground(ctx)

	if err := engine.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("shard"), 10<<10)
	if _, err := engine.PutObject(ctx, "bkt", "k", bytes.NewReader(data), storage.PutOptions{Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	startTestNode(t, "n2", n1.Members().Nodes[0].ClusterAddr)

	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := engine.ReferencedShards(ctx, []string{"n2-d1", "n2-d2"})
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no shard moved to the joined node; repair status %+v", engine.HealStatus())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if clk.Waiters() == 0 {
		t.Fatal("the repair loop does not wait on the injected clock")
	}
}
