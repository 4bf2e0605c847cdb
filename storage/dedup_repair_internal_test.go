package storage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/internal/clocktest"
	"github.com/filesphere/filesphere/storage/drive"
)

// Incremental repair of deduplicated chunks: the repair queue, the
// placement sweep, the scrub, heal on read and collection treat a chunk's
// stream like a version's.

// swapPlacement is a ring tests replace, as membership changes do.
type swapPlacement struct{ r atomic.Pointer[ring.Ring] }

func (p *swapPlacement) Placement() Placement { return p.r.Load() }

func (p *swapPlacement) set(t testing.TB, version uint64, drives ...string) {
	t.Helper()
	var ms []ring.Member
	for _, id := range drives {
		ms = append(ms, ring.Member{DriveID: id, NodeID: "node-" + id})
	}
	r, err := ring.New(version, ms)
	if err != nil {
		t.Fatal(err)
	}
	p.r.Store(r)
}

// chunkEnv is an engine 2+1 over five memory drives of which the ring
// places on n0..n2 (so every stream has a shard on each), a manual clock,
// and deduplicating buckets.
type chunkEnv struct {
	e      *Engine
	kv     *meta.Local
	drives map[string]*drive.Memory
	faulty map[string]*drive.Faulty
	set    drive.Set
	place  *swapPlacement
	clk    *clocktest.Clock
	cfg    EngineConfig
	data   map[[2]string][]byte // bucket, key → content
}

func newChunkEnv(t *testing.T, buckets []string, opts ...func(*EngineConfig)) *chunkEnv {
	t.Helper()
	kv, err := meta.OpenLocal(t.TempDir() + "/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	env := &chunkEnv{kv: kv, drives: map[string]*drive.Memory{}, faulty: map[string]*drive.Faulty{}, set: drive.Set{},
		place: &swapPlacement{}, clk: clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), data: map[[2]string][]byte{}}
	for i := range 5 {
		id := fmt.Sprintf("n%d", i)
		env.drives[id] = drive.NewMemory(id)
		env.faulty[id] = drive.NewFaulty(env.drives[id])
		env.set[id] = env.faulty[id]
	}
	env.place.set(t, 1, "n0", "n1", "n2")
	cfg := DefaultEngineConfig()
	cfg.DataShards, cfg.ParityShards, cfg.BlockSize, cfg.InlineThreshold, cfg.DeleteGrace = 2, 1, 64<<10, 0, 0
	cfg.Now, cfg.After = env.clk.Now, env.clk.After
	for _, o := range opts {
		o(&cfg)
	}
	env.cfg = cfg
	env.e = env.newEngine(t)
	t.Cleanup(func() { kv.Close() })
	ctx := context.Background()
	for _, b := range buckets {
		if err := env.e.CreateBucket(ctx, b, CreateBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := env.e.SetBucketDedup(ctx, b, true); err != nil {
			t.Fatal(err)
		}
	}
	// Ring 1 has never been swept to: the first passes sweep the (empty)
	// namespace, so later passes see only what a test does.
	for range 10 {
		if rep := env.pass(t); !rep.SweepActive {
			return env
		}
	}
	t.Fatal("the first sweep never finished")
	return nil
}

func (env *chunkEnv) newEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := NewEngine(env.cfg, env.kv, env.set, env.place)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func (env *chunkEnv) pass(t *testing.T) HealReport {
	t.Helper()
	rep, err := env.e.RepairPass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (env *chunkEnv) put(t *testing.T, bucket, key string, body []byte) {
	t.Helper()
	if _, err := env.e.PutObject(context.Background(), bucket, key, bytes.NewReader(body), PutOptions{Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	env.data[[2]string{bucket, key}] = body
}

// checkAll reads every object back.
func (env *chunkEnv) checkAll(t *testing.T) {
	t.Helper()
	for bk, want := range env.data {
		if got := readVersion(t, env.e, bk[0], bk[1], ""); !bytes.Equal(got, want) {
			t.Fatalf("%s/%s reads back %d other bytes", bk[0], bk[1], len(got))
		}
	}
}

// chunks lists the coded chunk streams of every bucket by record key.
func (env *chunkEnv) chunks(t *testing.T) map[string]dataRecord {
	t.Helper()
	out := map[string]dataRecord{}
	err := env.e.scanChunks(context.Background(), meta.PrefixStorage+keyChunk, func(bucket, h string, _ uint64, c chunkRecord) error {
		if c.Data.DataID == "" {
			t.Fatalf("chunk %s/%s is inline with InlineThreshold 0", bucket, h)
		}
		out[chunkKey(bucket, h)] = c.Data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// queued lists the repair queue's entries by the record they name.
func (env *chunkEnv) queued(t *testing.T) map[string]dirtyRecord {
	t.Helper()
	ents, err := env.kv.List(context.Background(), meta.PrefixStorage+keyDirty, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]dirtyRecord{}
	for _, ent := range ents {
		var dr dirtyRecord
		if err := decode(ent.Value, &dr); err != nil {
			t.Fatal(err)
		}
		out[dirtyRecordKey(ent.Key)] = dr
	}
	return out
}

func (env *chunkEnv) shardCount(id string) int {
	n := 0
	env.drives[id].Walk(context.Background(), "", func(drive.ShardInfo) error { n++; return nil })
	return n
}

// fullCheck runs a full pass (deep or not) and fails unless every stream
// is healthy: chunks whole and where the ring places them.
func (env *chunkEnv) fullCheck(t *testing.T, deep bool, streams int) {
	t.Helper()
	rep, err := env.e.Heal(context.Background(), HealOptions{Deep: deep, Rebalance: true})
	if err != nil || rep.Streams != streams || rep.Healthy != streams {
		t.Fatalf("full pass (deep %v): %+v %v; want %d healthy streams", deep, rep, err, streams)
	}
}

// TestDedupDegradedChunkWriteHealedFromQueue: a deduplicating write made
// while a drive is offline commits each chunk with fewer than k+m shards,
// and the transaction that records a chunk queues it; the leader's passes
// wait while the drive is offline, then heal exactly the queued chunks
// without walking the namespace.
func TestDedupDegradedChunkWriteHealedFromQueue(t *testing.T) {
	env := newChunkEnv(t, []string{"dedup"})
	env.drives["n1"].SetOffline(true)
	env.put(t, "dedup", "big", testBytes(1, 5<<20))
	chunks := env.chunks(t)
	if len(chunks) < 3 {
		t.Fatalf("%d chunks, want several", len(chunks))
	}
	// Queued by the write itself, before any pass: one entry per chunk
	// record (the version's part list has no stream).
	q := env.queued(t)
	if len(q) != len(chunks) {
		t.Fatalf("%d queue entries after the degraded write, want one per chunk (%d): %v", len(q), len(chunks), q)
	}
	for k, d := range chunks {
		dr, ok := q[k]
		if !ok || dr.Reason != dirtyWrite || !slices.Equal(dr.IDs, []string{d.DataID}) {
			t.Fatalf("chunk %s: queue entry %+v (%v)", k, dr, ok)
		}
	}
	rep := env.pass(t)
	if rep.Dirty != len(chunks) || rep.Waiting != len(chunks) || rep.DirtyLeft != len(chunks) || rep.Streams != len(chunks) {
		t.Fatalf("pass with n1 offline: %+v; want the %d chunks waiting for n1", rep, len(chunks))
	}
	if rep := env.pass(t); rep.Streams != 0 || rep.Waiting != len(chunks) {
		t.Fatalf("second pass with n1 offline: %+v; want the entries skipped without I/O", rep)
	}
	env.drives["n1"].SetOffline(false)
	rep = env.pass(t)
	if rep.Visited != len(chunks) || rep.Streams != len(chunks) || rep.ShardsHealed != len(chunks) || rep.DirtyLeft != 0 ||
		rep.Failed != 0 || rep.Swept != 0 || rep.Scrubbed != 0 {
		t.Fatalf("pass with n1 back: %+v; want exactly the %d queued chunks read and healed", rep, len(chunks))
	}
	if got := env.shardCount("n1"); got != len(chunks) {
		t.Fatalf("n1 holds %d shards, want one per chunk (%d)", got, len(chunks))
	}
	if q := env.queued(t); len(q) != 0 {
		t.Fatalf("queue after healing: %v", q)
	}
	if rep := env.pass(t); rep.Visited != 0 || rep.Outstanding() {
		t.Fatalf("pass after healing: %+v, want nothing to read", rep)
	}
	env.fullCheck(t, true, len(chunks))
	env.checkAll(t)
	checkChunkRefs(t, env.e)
}

// TestDedupChunksFollowTheRing: the placement sweep reads chunk records
// after the versions' and parts': when a node is lost and the ring moves
// on, every chunk's shard there is rebuilt on the drive that replaces it;
// when a drive comes back empty, its chunk shards are rebuilt in place.
// Orphan collection keeps every chunk shard the records name.
func TestDedupChunksFollowTheRing(t *testing.T) {
	env := newChunkEnv(t, []string{"dedup", "other"})
	env.put(t, "dedup", "a", testBytes(2, 4<<20))
	env.put(t, "other", "b", testBytes(3, 3<<20))
	chunks := env.chunks(t)
	records := len(chunks) + 2 // the two versions' part lists
	held := env.shardCount("n1")
	if held != len(chunks) {
		t.Fatalf("n1 holds %d shards, want one per chunk (%d)", held, len(chunks))
	}

	// A wiped drive: the drive check sees a new instance, the sweep reads
	// every record and rebuilds n1's shards, all of them chunks'.
	env.drives["n1"].Reset()
	rep := env.pass(t)
	if !slices.Equal(rep.DrivesWiped, []string{"n1"}) || rep.SweepActive || rep.Swept != records ||
		rep.Streams != len(chunks) || rep.ShardsHealed != len(chunks) || rep.Failed != 0 {
		t.Fatalf("pass after wiping n1: %+v; want %d records swept and the %d chunk shards rebuilt", rep, records, len(chunks))
	}
	if got := env.shardCount("n1"); got != held {
		t.Fatalf("n1 holds %d shards after the sweep, want %d", got, held)
	}
	env.fullCheck(t, true, len(chunks))

	// A lost node: ring 2 places on n0, n2, n3; the sweep moves every
	// chunk's n1 shard to n3 and records it in the chunk record.
	env.drives["n1"].SetOffline(true)
	env.place.set(t, 2, "n0", "n2", "n3")
	env.e.NodeLost("node-n1")
	rep = env.pass(t)
	if rep.SweepActive || rep.Swept != records || rep.Streams != len(chunks) || rep.ShardsMoved != len(chunks) || rep.Failed != 0 {
		t.Fatalf("sweep after losing n1: %+v; want %d records read and %d chunk shards moved", rep, records, len(chunks))
	}
	if n, err := env.e.ReferencedShards(context.Background(), []string{"n1"}); err != nil || n != 0 {
		t.Fatalf("%d shards still placed on n1: %v", n, err)
	}
	for k, d := range env.chunks(t) {
		if !slices.Contains(d.Drives, "n3") || d.RingVersion != 2 {
			t.Fatalf("chunk %s after the sweep: drives %v ring %d", k, d.Drives, d.RingVersion)
		}
	}
	if got := env.shardCount("n3"); got != len(chunks) {
		t.Fatalf("n3 holds %d shards, want %d", got, len(chunks))
	}
	env.fullCheck(t, true, len(chunks))
	if n, err := env.e.CollectGarbage(context.Background(), 0); err != nil || n != 0 {
		t.Fatalf("orphan collection removed %d shards: %v", n, err)
	}
	env.checkAll(t)
	checkChunkRefs(t, env.e)
}

// TestDedupScrubCoversChunks: the scrub reads every chunk record once per
// period, a share at a time in rounds over each bucket's hash space (the
// keys start with the bucket, not a uniform id), goes on where it was on
// the next leader, and heals a byte flipped in a chunk shard that nothing
// reads.
func TestDedupScrubCoversChunks(t *testing.T) {
	env := newChunkEnv(t, []string{"alpha", "zulu"}, func(c *EngineConfig) { c.ScrubPeriod = 10 * time.Hour })
	env.put(t, "alpha", "one", testBytes(4, 8<<20))
	env.put(t, "zulu", "two", testBytes(5, 8<<20))
	chunks := env.chunks(t)
	records := len(chunks) + 2
	if len(chunks) < 8 {
		t.Fatalf("%d chunks, want enough to spread", len(chunks))
	}
	var victim string
	for k := range chunks {
		if victim == "" || k < victim {
			victim = k
		}
	}
	flipShardByte(t, env, chunks[victim])

	e := env.e
	total, busy, healed := 0, 0, 0
	for hour := 1; hour <= 10; hour++ {
		if hour == 6 {
			e.Close()
			env.e = env.newEngine(t) // the next leader takes over mid-cycle
			e = env.e
		}
		env.clk.Advance(time.Hour)
		rep := env.pass(t)
		if rep.Scrubbed >= len(chunks) {
			t.Fatalf("hour %d scrubbed %d records at once", hour, rep.Scrubbed)
		}
		total += rep.Scrubbed
		healed += rep.ShardsHealed
		if rep.Scrubbed > 0 {
			busy++
		}
	}
	if total != records || busy < 5 || healed != 1 {
		t.Fatalf("scrubbed %d records over the period (%d of 10 passes busy), healed %d shards; want %d once each, spread out, and the flipped one healed",
			total, busy, healed, records)
	}
	st := e.HealStatus().Scrub
	if st == nil || st.Last == nil || st.Cycle != 2 || st.Last.Streams != len(chunks) || st.Last.Healed != 1 ||
		st.Last.Redundancy[2] != 1 || st.Last.Redundancy[3] != len(chunks)-1 {
		t.Fatalf("finished cycle %+v (status %+v); want %d chunk streams, one found with a bad frame", st.Last, st, len(chunks))
	}
	env.fullCheck(t, true, len(chunks))
	env.checkAll(t)
}

// flipShardByte inverts a byte inside a frame of shard 0 of d (its size
// stays, so only a deep check finds it).
func flipShardByte(t *testing.T, env *chunkEnv, d dataRecord) {
	t.Helper()
	ctx := context.Background()
	st := env.drives[d.Drives[0]]
	id := shardID(d.DataID, 0)
	rc, err := st.Open(ctx, id, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	w, err := st.Create(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestDedupReadHealsItsChunks: a read of a deduplicated object that had
// to reconstruct a chunk heals that chunk in place; when the heal cannot
// write (the drive refuses writes while online) the chunk is queued under
// its record for the leader, which heals it once the drive takes writes.
// A heal the read could not hand over at all (both queues full) queues
// exactly the chunks named.
func TestDedupReadHealsItsChunks(t *testing.T) {
	env := newChunkEnv(t, []string{"dedup"}, func(c *EngineConfig) { c.IsLeader = func() bool { return false } })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env.e.RunBackground(ctx) // heals on read run; no leader passes
	env.put(t, "dedup", "k", testBytes(6, 4<<20))
	chunks := env.chunks(t)
	// Reads open data shards only: lose every chunk's shard 0.
	for _, d := range chunks {
		st, _ := env.e.drives.Drive(d.Drives[0])
		if err := st.Delete(ctx, shardID(d.DataID, 0)); err != nil {
			t.Fatal(err)
		}
	}
	present := func() int {
		n := 0
		for _, d := range chunks {
			if _, err := env.drives[d.Drives[0]].Stat(ctx, shardID(d.DataID, 0)); err == nil {
				n++
			}
		}
		return n
	}
	// A range read reaches only the first chunk: only it is healed.
	or, err := env.e.GetObject(ctx, "dedup", "k", GetOptions{Range: &Range{Start: 0, End: 999}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, or)
	or.Close()
	waitFor(t, "the first chunk healed on read", func() bool { return present() == 1 })
	if q := env.queued(t); len(q) != 0 {
		t.Fatalf("a heal that finished queued %v", q)
	}

	// Shard 0 of the other chunks is on drives that now refuse writes.
	for _, id := range []string{"n0", "n1", "n2"} {
		env.faulty[id].FailAll(drive.OpCreate, drive.ErrDiskFull)
	}
	env.checkAll(t)
	waitFor(t, "unfinished heals queued", func() bool { return len(env.queued(t)) == len(chunks)-1 })
	for k, dr := range env.queued(t) {
		if !strings.HasPrefix(k, chunkPrefix("dedup")) || dr.Reason != dirtyRead || !dr.Deep || dr.Err == "" {
			t.Fatalf("queue entry for %s: %+v", k, dr)
		}
	}
	for _, id := range []string{"n0", "n1", "n2"} {
		env.faulty[id].Clear(drive.OpCreate)
	}
	rep := env.pass(t)
	if rep.Dirty != len(chunks)-1 || rep.ShardsHealed != len(chunks)-1 || rep.DirtyLeft != 0 || present() != len(chunks) {
		t.Fatalf("pass with the drives taking writes: %+v, %d of %d shards back", rep, present(), len(chunks))
	}

	// markRead with the chunks a read named queues those chunk records.
	var some []chunkRef
	for k := range chunks {
		some = append(some, chunkRef{Hash: strings.TrimPrefix(k, chunkPrefix("dedup"))})
		break
	}
	env.e.markRead(ctx, healItem{bucket: "dedup", key: "k", chunks: append(some, some...)})
	q := env.queued(t)
	if dr, ok := q[chunkKey("dedup", some[0].Hash)]; len(q) != 1 || !ok || dr.Reason != dirtyRead || len(dr.IDs) != 0 {
		t.Fatalf("queue after markRead of one chunk: %v", q)
	}
	env.checkAll(t)
}

// waitFor polls cond until it holds or 30 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestChunkCollectionSchedule: chunks are collected at most once per
// RepairInterval, not on each of the passes that follow one another
// while work is left over, and the loop removes a chunk whose grace has
// passed.
func TestChunkCollectionSchedule(t *testing.T) {
	env := newChunkEnv(t, []string{"dedup"}, func(c *EngineConfig) { c.ChunkGrace, c.RepairInterval = time.Hour, time.Minute })
	if !env.e.chunkGCDue() {
		t.Fatal("the first collection is not due")
	}
	if env.e.chunkGCDue() {
		t.Fatal("a collection is due again at once")
	}
	env.clk.Advance(time.Minute)
	if !env.e.chunkGCDue() {
		t.Fatal("no collection due a RepairInterval later")
	}

	env.put(t, "dedup", "k", testBytes(7, 2<<20))
	n := len(env.chunks(t))
	if _, err := env.e.DeleteObject(context.Background(), "dedup", "k", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	delete(env.data, [2]string{"dedup", "k"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env.e.RunBackground(ctx)
	// Each minute the loop passes and collects; the chunks stay for the
	// hour of their grace, then go.
	for m := 10; m <= 50; m += 10 {
		env.clk.Advance(10 * time.Minute)
		if got := len(env.chunks(t)); got != n {
			t.Fatalf("after %d minutes %d of %d unreferenced chunks are left; the grace is an hour", m, got, n)
		}
	}
	env.clk.Advance(11 * time.Minute)
	waitFor(t, "the chunks collected after their grace", func() bool {
		env.clk.Advance(time.Minute)
		return len(env.chunks(t)) == 0
	})
	waitFor(t, "their shards deleted", func() bool { return env.shardCount("n0") == 0 })
}
