package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/drive"
)

// movablePlacement is a ring that tests can swap, as membership changes do.
type movablePlacement struct{ r atomic.Pointer[ring.Ring] }

func (p *movablePlacement) Placement() storage.Placement { return p.r.Load() }

func (p *movablePlacement) set(t *testing.T, version uint64, nodes []int) {
	var ms []ring.Member
	for _, n := range nodes {
		ms = append(ms, ring.Member{DriveID: "n" + strconv.Itoa(n), NodeID: "node" + strconv.Itoa(n)})
	}
	r, err := ring.New(version, ms)
	if err != nil {
		t.Fatal(err)
	}
	p.r.Store(r)
}

type repairEnv struct {
	e      *storage.Engine
	drives map[string]*drive.Memory
	faulty map[string]*drive.Faulty // over drives, transparent until programmed
	place  *movablePlacement
	data   map[string][]byte
	kv     *meta.Local
	set    drive.Set
	cfg    storage.EngineConfig
}

// newEngine is another engine over the environment's KV, drives and
// ring: a restarted process, or the next leader.
func (env *repairEnv) newEngine(t *testing.T) *storage.Engine {
	t.Helper()
	e, err := storage.NewEngine(env.cfg, env.kv, env.set, env.place)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// newRepairEnv is an engine over 8 one-drive "nodes" (memory drives) with
// EC 2+1, of which the ring initially uses the first four; opts adjust the
// engine's configuration.
func newRepairEnv(t *testing.T, opts ...func(*storage.EngineConfig)) *repairEnv {
	kv, err := meta.OpenLocal(t.TempDir() + "/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	env := &repairEnv{drives: map[string]*drive.Memory{}, faulty: map[string]*drive.Faulty{}, place: &movablePlacement{},
		data: map[string][]byte{}, kv: kv}
	set := drive.Set{}
	for i := range 8 {
		id := "n" + strconv.Itoa(i)
		env.drives[id] = drive.NewMemory(id)
		env.faulty[id] = drive.NewFaulty(env.drives[id])
		set[id] = env.faulty[id]
	}
	env.set = set
	env.place.set(t, 1, []int{0, 1, 2, 3})
	cfg := storage.DefaultEngineConfig()
	cfg.DataShards, cfg.ParityShards, cfg.BlockSize, cfg.InlineThreshold, cfg.DeleteGrace = 2, 1, 16<<10, 0, 0
	cfg.Log = testLog(t)
	for _, o := range opts {
		o(&cfg)
	}
	env.cfg = cfg
	env.e, err = storage.NewEngine(cfg, kv, set, env.place)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.e.Close(); kv.Close() })
	ctx := context.Background()
	if err := env.e.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		key := fmt.Sprintf("obj-%d", i)
		env.data[key] = randBytes(uint64(i), 20<<10+i)
		if _, err := env.e.PutObject(ctx, "bkt", key, bytes.NewReader(env.data[key]), storage.PutOptions{Size: int64(len(env.data[key]))}); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

func (env *repairEnv) shardCount(id string) int {
	n := 0
	env.drives[id].Walk(context.Background(), "", func(drive.ShardInfo) error { n++; return nil })
	return n
}

func (env *repairEnv) checkAll(t *testing.T) {
	t.Helper()
	for key, want := range env.data {
		got, err := readAll(t, env.e, "bkt", key, storage.GetOptions{})
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %d bytes, %v", key, len(got), err)
		}
	}
}

func TestRebalanceOnJoinMovesAboutOneShareOfShards(t *testing.T) {
	env := newRepairEnv(t)
	ctx := context.Background()
	env.place.set(t, 2, []int{0, 1, 2, 3, 4})
	rep, err := env.e.Heal(ctx, storage.HealOptions{Rebalance: true})
	if err != nil || rep.Failed != 0 {
		t.Fatalf("rebalance: %+v %v", rep, err)
	}
	total := 40 * 3
	// The ideal is total/5 = 24 shards onto the new node.
	if rep.ShardsMoved < 12 || rep.ShardsMoved > 36 || env.shardCount("n4") != rep.ShardsMoved {
		t.Fatalf("moved %d of %d shards, n4 holds %d; want about %d", rep.ShardsMoved, total, env.shardCount("n4"), total/5)
	}
	t.Logf("join 4->5 nodes: moved %d of %d shards (ideal %d)", rep.ShardsMoved, total, total/5)
	sum := 0
	for i := range 5 {
		sum += env.shardCount("n" + strconv.Itoa(i))
	}
	if sum != total {
		t.Fatalf("%d shards on the drives after the move, want %d (old copies left behind?)", sum, total)
	}
	env.checkAll(t)
	rep, _ = env.e.Heal(ctx, storage.HealOptions{Rebalance: true})
	if rep.ShardsMoved != 0 || rep.Healthy != 40 {
		t.Fatalf("second pass %+v, want nothing to do", rep)
	}
}

func TestDrainAndLostNode(t *testing.T) {
	env := newRepairEnv(t)
	ctx := context.Background()
	// Drain n1: it leaves the ring but still serves its shards.
	env.place.set(t, 2, []int{0, 2, 3, 4})
	if _, err := env.e.Heal(ctx, storage.HealOptions{Rebalance: true}); err != nil {
		t.Fatal(err)
	}
	if n, err := env.e.ReferencedShards(ctx, []string{"n1"}); err != nil || n != 0 {
		t.Fatalf("after draining n1: %d shards still referenced, %v", n, err)
	}
	if env.shardCount("n1") != 0 {
		t.Fatalf("n1 still holds %d shards", env.shardCount("n1"))
	}
	env.checkAll(t)
	// Lose n2 outright: offline and out of the ring; its shards are rebuilt.
	env.drives["n2"].SetOffline(true)
	env.place.set(t, 3, []int{0, 3, 4, 5})
	rep, err := env.e.Heal(ctx, storage.HealOptions{Rebalance: true})
	if err != nil || rep.Failed != 0 || rep.ShardsMoved == 0 {
		t.Fatalf("rebuilding n2's shards: %+v %v", rep, err)
	}
	if n, _ := env.e.ReferencedShards(ctx, []string{"n2"}); n != 0 {
		t.Fatalf("%d shards still placed on the lost node", n)
	}
	env.checkAll(t)
	if rep.Redundancy[2] == 0 {
		t.Fatalf("redundancy levels %v: want streams seen at 2 of 3 shards", rep.Redundancy)
	}
}

func TestCollectGarbageRemovesOnlyOrphans(t *testing.T) {
	env := newRepairEnv(t)
	ctx := context.Background()
	// An orphan: a shard of a write that never committed.
	w, _ := env.drives["n0"].Create(ctx, "ab/abcdef00-0000-0000-0000-000000000000/0")
	w.Write([]byte("orphan"))
	w.Commit()
	before := env.shardCount("n0")
	if n, err := env.e.CollectGarbage(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("young orphan collected: %d %v", n, err)
	}
	n, err := env.e.CollectGarbage(ctx, -time.Second)
	if err != nil || n != 1 || env.shardCount("n0") != before-1 {
		t.Fatalf("collected %d (err %v), n0 went from %d to %d shards; want exactly the orphan", n, err, before, env.shardCount("n0"))
	}
	env.checkAll(t)
	// Deleted objects' shards go at once (grace 0 in this env) and nothing
	// referenced is ever collected.
	if _, err := env.e.DeleteObject(ctx, "bkt", "obj-1", storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	delete(env.data, "obj-1")
	env.e.Close()
	if n, _ := env.e.CollectGarbage(ctx, -time.Second); n != 0 {
		t.Fatalf("collected %d referenced shards", n)
	}
}

// TestRepairWaitsForOfflineDrive: while a drive is offline (its node
// unreachable but not declared lost), the streams with a shard on it are
// counted as waiting, not as failures; once it is back they heal.
func TestRepairWaitsForOfflineDrive(t *testing.T) {
	env := newRepairEnv(t)
	ctx := context.Background()
	held := env.shardCount("n2")
	if held == 0 {
		t.Fatal("n2 holds no shards")
	}
	env.drives["n2"].SetOffline(true)
	rep, err := env.e.Heal(ctx, storage.HealOptions{Rebalance: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 || len(rep.FailedObjects) != 0 || rep.Waiting != held {
		t.Fatalf("offline drive: failed %d %v, waiting %d; want 0 failed and %d waiting", rep.Failed, rep.FailedObjects, rep.Waiting, held)
	}
	if st := env.e.HealStatus(); st.Waiting != held || st.Failed != 0 {
		t.Fatalf("status: waiting %d failed %d, want %d and 0", st.Waiting, st.Failed, held)
	}
	env.drives["n2"].SetOffline(false)
	rep, err = env.e.Heal(ctx, storage.HealOptions{Rebalance: true})
	if err != nil || rep.Failed != 0 || rep.Waiting != 0 || rep.Healthy != rep.Streams {
		t.Fatalf("drive back: %+v %v", rep, err)
	}
}
