package cluster

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/storage/drive"
)

var testSecret = []byte("test-secret-0123456789")

// startNode runs an in-process node on a free loopback port with memory
// drives.
func startNode(t *testing.T, id, dir, join string, secret []byte) (*Node, error) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.NodeID, cfg.ClusterAddr, cfg.Join, cfg.DataDir, cfg.Secret = id, "127.0.0.1:0", join, dir, secret
	cfg.Drives = map[string]drive.ShardStore{id + "-d1": drive.NewMemory(id + "-d1"), id + "-d2": drive.NewMemory(id + "-d2")}
	cfg.RefreshInterval = 50 * time.Millisecond
	cfg.JoinTimeout = 15 * time.Second
	return Start(context.Background(), cfg)
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startCluster(t *testing.T, n int) []*Node {
	t.Helper()
	base := t.TempDir()
	var nodes []*Node
	for i := range n {
		join := ""
		if i > 0 {
			join = nodes[0].advertise
		}
		nd, err := startNode(t, fmt.Sprintf("n%d", i+1), filepath.Join(base, fmt.Sprint(i)), join, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
		t.Cleanup(func() { nd.Close() })
	}
	for _, nd := range nodes {
		eventually(t, 10*time.Second, "membership on "+nd.cfg.NodeID, func() bool {
			m := nd.Members()
			return m != nil && len(m.Nodes) == n
		})
	}
	return nodes
}

func TestClusterFormsAndPlacesOnDistinctNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	for _, nd := range nodes {
		eventually(t, 10*time.Second, "ring on "+nd.cfg.NodeID, func() bool { return nd.Ring() != nil && len(nd.Ring().Members()) == 6 })
	}
	got, err := nodes[1].Ring().Locate("bucket/key", 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, id := range got {
		seen[strings.Split(id, "-")[0]] = true
	}
	if len(seen) != 3 {
		t.Fatalf("3 shards placed on %v: want 3 distinct nodes", got)
	}
	// A drive on another node resolves to a working remote store.
	for _, id := range got {
		d, err := nodes[0].Drive(id)
		if err != nil {
			t.Fatal(err)
		}
		w, err := d.Create(context.Background(), "ab/shard/0")
		if err != nil {
			t.Fatalf("create on %s via n1: %v", id, err)
		}
		w.Write([]byte("x"))
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if fi, err := d.Stat(context.Background(), "ab/shard/0"); err != nil || fi.Size != 1 {
			t.Fatalf("stat on %s: %+v %v", id, fi, err)
		}
	}
	st, err := nodes[2].ClusterStatus(context.Background())
	if err != nil || !st.Healthy || len(st.Nodes) != 3 || st.Leader == "" {
		t.Fatalf("status %+v %v", st, err)
	}
}

func TestClusterWritesThroughFollowersAndSurvivesLeaderLoss(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	for i, nd := range nodes {
		if _, err := nd.KV().Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(fmt.Sprintf("s/k%d", i), []byte("v"))}}); err != nil {
			t.Fatalf("write via %s: %v", nd.cfg.NodeID, err)
		}
	}
	// Read-after-write through every node.
	for _, nd := range nodes {
		ents, err := nd.KV().List(ctx, "s/", "", 0)
		if err != nil || len(ents) != 3 {
			t.Fatalf("list via %s: %d entries, %v", nd.cfg.NodeID, len(ents), err)
		}
	}
	var leader *Node
	var rest []*Node
	for _, nd := range nodes {
		if nd.kv.IsLeader() {
			leader = nd
		} else {
			rest = append(rest, nd)
		}
	}
	if leader == nil {
		t.Fatal("no leader")
	}
	leader.Close()
	eventually(t, 15*time.Second, "a write after the leader died", func() bool {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := rest[0].KV().Txn(c, meta.Txn{Ops: []meta.Op{meta.Put("s/after", []byte("v"))}})
		return err == nil
	})
	ents, err := rest[1].KV().List(ctx, "s/", "", 0)
	if err != nil || len(ents) != 4 {
		t.Fatalf("after failover: %d entries, %v", len(ents), err)
	}
}

func TestClusterRefusesWrongSecretAndRemovesNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	_, err := startNode(t, "intruder", t.TempDir(), nodes[0].advertise, []byte("another-secret-987654"))
	if err == nil || !strings.Contains(err.Error(), "wrong cluster secret") {
		t.Fatalf("join with the wrong secret: %v", err)
	}
	if m := nodes[1].Members(); len(m.Nodes) != 3 {
		t.Fatalf("membership changed after a refused join: %d nodes", len(m.Nodes))
	}
	version := nodes[0].Ring().Version()
	nodes[2].Close()
	if err := nodes[1].Remove(context.Background(), "n3"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "n3 gone from membership and raft", func() bool {
		m := nodes[0].Members()
		cfg := nodes[0].raft.GetConfiguration()
		return len(m.Nodes) == 2 && cfg.Error() == nil && len(cfg.Configuration().Servers) == 2
	})
	if v := nodes[0].Ring().Version(); v <= version {
		t.Fatalf("ring version %d after removal, want > %d", v, version)
	}
	if err := nodes[0].Remove(context.Background(), "nobody"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("removing an unknown node: %v", err)
	}
}

func TestClusterNodeRestartsFromState(t *testing.T) {
	base := t.TempDir()
	n1, err := startNode(t, "n1", filepath.Join(base, "1"), "", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := n1.KV().Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put("s/x", []byte("1"))}}); err != nil {
		t.Fatal(err)
	}
	n1.Close()
	n1, err = startNode(t, "n1", filepath.Join(base, "1"), "", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	defer n1.Close()
	if ent, err := n1.KV().Get(ctx, "s/x"); err != nil || string(ent.Value) != "1" {
		t.Fatalf("after restart: %v %v", ent, err)
	}
	// The node came back on a new port; it can still commit.
	if _, err := n1.KV().Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put("s/y", []byte("2"))}}); err != nil {
		t.Fatal(err)
	}
}
