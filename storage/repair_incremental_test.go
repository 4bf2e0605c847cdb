package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/internal/clocktest"
	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/drive"
)

// pass runs one background repair pass and fails the test on error.
func pass(t *testing.T, e *storage.Engine) storage.HealReport {
	t.Helper()
	rep, err := e.RepairPass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Incremental {
		t.Fatalf("background pass not marked incremental: %+v", rep)
	}
	return rep
}

// sweepDone runs passes until the placement sweep is finished and returns
// their reports summed.
func sweepDone(t *testing.T, e *storage.Engine) (sum storage.HealReport, passes int) {
	t.Helper()
	for passes < 100 {
		rep := pass(t, e)
		passes++
		sum.Swept += rep.Swept
		sum.Visited += rep.Visited
		sum.Streams += rep.Streams
		sum.ShardsMoved += rep.ShardsMoved
		sum.ShardsHealed += rep.ShardsHealed
		sum.Failed += rep.Failed
		if !rep.SweepActive {
			return sum, passes
		}
	}
	t.Fatal("the placement sweep never finished")
	return sum, passes
}

// newIncrementalEnv is a repair env on a manual clock whose scrub never
// comes due unless the test moves the clock.
func newIncrementalEnv(t *testing.T, opts ...func(*storage.EngineConfig)) (*repairEnv, *clocktest.Clock) {
	clk := clocktest.New(epoch)
	env := newRepairEnv(t, append([]func(*storage.EngineConfig){func(c *storage.EngineConfig) {
		c.Now, c.After = clk.Now, clk.After
	}}, opts...)...)
	// The first pass sweeps the records once (no sweep had ever finished),
	// without touching a drive: everything is where ring 1 wants it.
	sum, _ := sweepDone(t, env.e)
	if sum.Swept != 40 || sum.Streams != 0 {
		t.Fatalf("first sweep %+v: want 40 records read and no stream checked", sum)
	}
	return env, clk
}

// TestDegradedWriteHealedFromQueue: writes that reach write quorum but not
// every drive are queued in their own transaction; passes then check
// exactly those streams (waiting, without I/O, while the drive stays
// offline) and heal them once it is back, never walking the namespace.
func TestDegradedWriteHealedFromQueue(t *testing.T) {
	env, _ := newIncrementalEnv(t)
	ctx := context.Background()
	before := env.shardCount("n2")
	env.drives["n2"].SetOffline(true)
	for i := range 6 {
		key := fmt.Sprintf("late-%d", i)
		env.data[key] = randBytes(uint64(100+i), 20<<10)
		if _, err := env.e.PutObject(ctx, "bkt", key, bytes.NewReader(env.data[key]), storage.PutOptions{Size: 20 << 10}); err != nil {
			t.Fatal(err)
		}
	}
	env.drives["n2"].SetOffline(false)
	env.checkAll(t)
	env.drives["n2"].SetOffline(true)
	// How many of the six writes placed a shard on n2 (and so missed it):
	// once healed, n2 holds that many more shards.
	rep := pass(t, env.e)
	degraded := rep.Dirty
	if degraded == 0 || degraded > 6 || rep.Waiting != degraded || rep.DirtyLeft != degraded || !slices.Contains(rep.DrivesOffline, "n2") {
		t.Fatalf("pass with n2 offline: %+v; want the degraded writes queued and waiting for n2", rep)
	}
	if !rep.Outstanding() {
		t.Fatal("a pass with queued streams and an offline drive reports nothing outstanding")
	}
	// While n2 stays offline the queue entries wait without any I/O.
	if rep := pass(t, env.e); rep.Streams != 0 || rep.Waiting != degraded || rep.DirtyLeft != degraded {
		t.Fatalf("second pass with n2 offline: %+v; want the entries skipped", rep)
	}
	env.drives["n2"].SetOffline(false)
	rep = pass(t, env.e)
	if rep.Visited != degraded || rep.Streams != degraded || rep.ShardsHealed != degraded || rep.DirtyLeft != 0 || rep.Failed != 0 {
		t.Fatalf("pass with n2 back: %+v; want exactly the %d queued streams read and healed", rep, degraded)
	}
	if got := env.shardCount("n2"); got != before+degraded {
		t.Fatalf("n2 holds %d shards, want %d", got, before+degraded)
	}
	if rep := pass(t, env.e); rep.Visited != 0 || rep.Outstanding() {
		t.Fatalf("pass after healing: %+v, want nothing to read", rep)
	}
	if st := env.e.HealStatus(); st.Dirty != 0 || !st.DirtyAll || st.Last == nil || !st.Last.Incremental {
		t.Fatalf("status after healing: %+v", st)
	}
	full, err := env.e.Heal(ctx, storage.HealOptions{})
	if err != nil || full.Healthy != full.Streams || full.Streams != 46 {
		t.Fatalf("full pass after the incremental ones: %+v %v", full, err)
	}
	env.checkAll(t)
}

// TestDegradedPartQueuedWithItsVersion: parts written while one of their
// drives was offline are queued; completing the upload carries the queue
// entries to the version's part list, which one pass then heals.
func TestDegradedPartQueuedWithItsVersion(t *testing.T) {
	env, _ := newIncrementalEnv(t, func(c *storage.EngineConfig) { c.MinPartSize = 1 })
	ctx := context.Background()
	uploadID, err := env.e.CreateMultipartUpload(ctx, "bkt", "mp", storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int {
		m := map[string]int{}
		for id := range env.drives {
			m[id] = env.shardCount(id)
		}
		return m
	}
	var parts []storage.CompletePart
	var whole []byte
	var victim string
	for n := 1; n <= 4; n++ {
		before := counts()
		if victim != "" && n%2 == 0 {
			env.drives[victim].SetOffline(true) // parts 2 and 4 miss a shard
		}
		body := randBytes(uint64(n), 20<<10)
		pi, err := env.e.UploadPart(ctx, "bkt", "mp", uploadID, n, bytes.NewReader(body), storage.PartOptions{Size: int64(len(body))})
		if victim != "" {
			env.drives[victim].SetOffline(false)
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 { // every part of a key has the same drives: pick one of part 1's
			for id, c := range counts() {
				if c > before[id] && (victim == "" || id < victim) {
					victim = id
				}
			}
		}
		parts, whole = append(parts, storage.CompletePart{Number: n, ETag: pi.ETag}), append(whole, body...)
	}
	if _, err := env.e.CompleteMultipartUpload(ctx, "bkt", "mp", uploadID, parts, storage.CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.data["mp"] = whole
	rep := pass(t, env.e)
	if rep.Dirty != 1 || rep.Visited != 1 || rep.Streams != 2 || rep.ShardsHealed != 2 || rep.DirtyLeft != 0 || rep.Failed != 0 {
		t.Fatalf("pass after completion: %+v; want the version's one entry and its two degraded parts healed", rep)
	}
	full, err := env.e.Heal(ctx, storage.HealOptions{})
	if err != nil || full.Healthy != full.Streams || full.Streams != 44 {
		t.Fatalf("full pass: %+v %v", full, err)
	}
	env.checkAll(t)
}

// TestSweepResumesOnTheNextLeader: a ring change starts a placement sweep
// whose cursor is in the KV; a second engine on the same KV (a restarted
// process or the next leader) continues it where the first stopped, and
// together they read every record once and move what the ring moved.
func TestSweepResumesOnTheNextLeader(t *testing.T) {
	env, _ := newIncrementalEnv(t, func(c *storage.EngineConfig) { c.RepairBatch = 15 })
	env.place.set(t, 2, []int{0, 1, 2, 3, 4})
	first := pass(t, env.e)
	if first.Swept != 15 || !first.SweepActive {
		t.Fatalf("first pass after the ring change: %+v; want 15 records and the sweep under way", first)
	}
	if st := env.e.HealStatus(); st.Sweep == nil || !st.Sweep.Active || st.Sweep.Ring != 2 || st.Sweep.Visited != 15 {
		t.Fatalf("status during the sweep: %+v", st.Sweep)
	}
	env.e.Close()
	next := env.newEngine(t)
	rest, passes := sweepDone(t, next)
	if rest.Swept != 25 || passes != 2 {
		t.Fatalf("the next engine swept %d records in %d passes, want the remaining 25 in 2", rest.Swept, passes)
	}
	moved := first.ShardsMoved + rest.ShardsMoved
	if moved == 0 || env.shardCount("n4") != moved || first.Failed+rest.Failed != 0 {
		t.Fatalf("moved %d shards (%d then %d), n4 holds %d", moved, first.ShardsMoved, rest.ShardsMoved, env.shardCount("n4"))
	}
	st := next.HealStatus()
	if st.Sweep == nil || st.Sweep.Active || st.Sweep.Placed != 2 {
		t.Fatalf("status after the sweep: %+v", st.Sweep)
	}
	full, err := next.Heal(context.Background(), storage.HealOptions{Rebalance: true})
	if err != nil || full.ShardsMoved != 0 || full.Healthy != 40 {
		t.Fatalf("full rebalance after the sweep: %+v %v; want everything in place", full, err)
	}
	env.checkAll(t)
}

// TestNodeLossRebuildsExactlyItsStreams: when a node is lost, the ring
// without it moves exactly the streams that had a shard there; the sweep
// reads every record once but checks and rebuilds only those. (With three
// drives left for three shards every stream must use all of them, so no
// other stream may move.)
func TestNodeLossRebuildsExactlyItsStreams(t *testing.T) {
	env, _ := newIncrementalEnv(t)
	ctx := context.Background()
	onNode, err := env.e.ReferencedShards(ctx, []string{"n2"})
	if err != nil || onNode == 0 {
		t.Fatalf("%d shards on n2, %v", onNode, err)
	}
	env.drives["n2"].SetOffline(true)
	env.place.set(t, 2, []int{0, 1, 3})
	env.e.NodeLost("node2")
	sum, _ := sweepDone(t, env.e)
	if sum.Swept != 40 || sum.Streams != onNode || sum.ShardsMoved != onNode || sum.Failed != 0 {
		t.Fatalf("sweep after losing n2: %+v; want 40 records read and exactly the %d streams on n2 checked and rebuilt", sum, onNode)
	}
	if n, _ := env.e.ReferencedShards(ctx, []string{"n2"}); n != 0 {
		t.Fatalf("%d shards still placed on the lost node", n)
	}
	env.checkAll(t)
}

// TestWipedDriveRebuiltBySweep: a drive that comes back empty (a new
// instance, the ring unchanged) is found by the drive check, and a sweep
// rebuilds exactly the shards records place on it.
func TestWipedDriveRebuiltBySweep(t *testing.T) {
	env, _ := newIncrementalEnv(t)
	held := env.shardCount("n1")
	env.drives["n1"].Reset()
	rep := pass(t, env.e)
	if !slices.Equal(rep.DrivesWiped, []string{"n1"}) || rep.SweepActive || rep.ShardsHealed != held || rep.Streams != held {
		t.Fatalf("pass after wiping n1: %+v; want n1 found wiped and its %d shards rebuilt", rep, held)
	}
	if env.shardCount("n1") != held {
		t.Fatalf("n1 holds %d shards, want %d", env.shardCount("n1"), held)
	}
	if rep := pass(t, env.e); len(rep.DrivesWiped) != 0 || rep.Visited != 0 {
		t.Fatalf("next pass %+v: the same instance is not news", rep)
	}
	env.checkAll(t)
}

// TestScrubSpreadOverThePeriod: the scrub verifies every record once per
// period, a share at a time as the clock moves, and a second engine on
// the same KV continues the cycle; the finished cycle is a full scan with
// the bitrot it found healed and counted.
func TestScrubSpreadOverThePeriod(t *testing.T) {
	env, clk := newIncrementalEnv(t, func(c *storage.EngineConfig) { c.ScrubPeriod = 10 * time.Hour })
	flipped := flipOneShard(t, env)
	e := env.e
	total, busy := 0, 0
	var healed int
	for hour := 1; hour <= 10; hour++ {
		if hour == 6 {
			e.Close()
			e = env.newEngine(t) // the next leader takes over mid-cycle
		}
		clk.Advance(time.Hour)
		rep := pass(t, e)
		if rep.Scrubbed == 40 {
			t.Fatalf("hour %d scrubbed every record at once", hour)
		}
		total += rep.Scrubbed
		healed += rep.ShardsHealed
		if rep.Scrubbed > 0 {
			busy++
		}
		st := e.HealStatus().Scrub
		if st == nil || st.Behind {
			t.Fatalf("hour %d: scrub status %+v", hour, st)
		}
	}
	if total != 40 || busy < 5 || healed != 1 {
		t.Fatalf("scrubbed %d records over the period (%d of 10 passes busy), healed %d shards; want 40 once each, spread out, and the flipped one healed", total, busy, healed)
	}
	st := e.HealStatus().Scrub
	if st.Last == nil || st.Last.Streams != 40 || st.Last.Redundancy[3] != 39 || st.Last.Redundancy[2] != 1 || st.Last.Healed != 1 || st.Cycle != 2 {
		t.Fatalf("finished cycle %+v (now cycle %d); want 40 streams, one found with a bad frame (%s)", st.Last, st.Cycle, flipped)
	}
	full, err := e.Heal(context.Background(), storage.HealOptions{Deep: true})
	if err != nil || full.Healthy != 40 {
		t.Fatalf("deep pass after the cycle: %+v %v", full, err)
	}
	env.checkAll(t)
}

// flipOneShard inverts a byte inside a frame of some shard (its size stays,
// so only a deep check finds it) and returns the shard's id.
func flipOneShard(t *testing.T, env *repairEnv) string {
	t.Helper()
	ctx := context.Background()
	d := env.drives["n0"]
	var id string
	d.Walk(ctx, "", func(si drive.ShardInfo) error {
		if id == "" && si.Size > 100 {
			id = si.ID
		}
		return nil
	})
	rc, err := d.Open(ctx, id, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	b[50] ^= 0xff
	w, err := d.Create(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestReadQueuesWhatItsHealCannotFinish: a read that had to reconstruct
// asks for a heal; when the heal cannot write (the drive refuses writes
// while online), the stream is queued for the leader, which heals it
// once the drive takes writes again.
func TestReadQueuesWhatItsHealCannotFinish(t *testing.T) {
	env := newRepairEnv(t, func(c *storage.EngineConfig) { c.IsLeader = func() bool { return false } })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env.e.RunBackground(ctx) // heals on read run; no leader passes
	// Reads open data shards only: the streams with a data shard (index 0
	// or 1 of 2+1) on n1 are the ones a read reconstructs.
	read := 0
	env.drives["n1"].Walk(ctx, "", func(si drive.ShardInfo) error {
		if strings.HasSuffix(si.ID, "/0") || strings.HasSuffix(si.ID, "/1") {
			read++
		}
		return nil
	})
	env.drives["n1"].Reset()
	env.faulty["n1"].FailAll(drive.OpCreate, drive.ErrDiskFull)
	env.checkAll(t)
	var rep storage.HealReport
	deadline := time.Now().Add(30 * time.Second)
	for {
		rep = pass(t, env.e) // the drive still refuses: queued entries stay
		if rep.DirtyLeft == read && env.e.HealStatus().Queued == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if rep.DirtyLeft != read || rep.Waiting != 0 || rep.Failed != read {
		t.Fatalf("pass after the reads: %+v; want the %d streams reads reconstructed queued, failing (not waiting)", rep, read)
	}
	env.faulty["n1"].Clear(drive.OpCreate)
	rep = pass(t, env.e)
	if rep.Dirty != read || rep.ShardsHealed != read || rep.DirtyLeft != 0 || env.shardCount("n1") != read {
		t.Fatalf("pass with n1 taking writes: %+v, n1 holds %d shards; want the %d queued streams healed", rep, env.shardCount("n1"), read)
	}
}
