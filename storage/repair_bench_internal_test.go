package storage

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/storage/drive"
)

// benchRepairEngine is an engine over four memory drives (EC 2+1) holding
// n erasure-coded streams, written through the engine's data path and
// recorded as d/ records in batches (no buckets or heads: repair reads
// only the data records).
type benchRepairEngine struct {
	e      *Engine
	drives drive.Set
	recs   []dataRecord
	keys   []string // the d/ record of each stream
	place  *benchPlacement
}

// benchPlacement is a ring that benchmarks can replace.
type benchPlacement struct {
	r   atomic.Pointer[ring.Ring]
	ms  []ring.Member
	ver atomic.Uint64
}

func (p *benchPlacement) Placement() Placement { return p.r.Load() }

// bump installs the same members under the next version: a ring change
// that moves nothing.
func (p *benchPlacement) bump(tb testing.TB) {
	r, err := ring.New(p.ver.Add(1), p.ms)
	if err != nil {
		tb.Fatal(err)
	}
	p.r.Store(r)
}

func newBenchRepairEngine(tb testing.TB, n int) *benchRepairEngine {
	tb.Helper()
	kv, err := meta.OpenLocal(tb.TempDir() + "/meta.db")
	if err != nil {
		tb.Fatal(err)
	}
	set := drive.Set{}
	place := &benchPlacement{}
	for i := range 4 {
		id := "m" + strconv.Itoa(i)
		set[id] = drive.NewMemory(id)
		place.ms = append(place.ms, ring.Member{DriveID: id, NodeID: id})
	}
	place.bump(tb)
	cfg := DefaultEngineConfig()
	cfg.DataShards, cfg.ParityShards, cfg.BlockSize, cfg.InlineThreshold, cfg.DeleteGrace = 2, 1, 4<<10, 0, 0
	// No rate limit, and a scrub that never comes due while benchmarks run.
	cfg.RepairRate, cfg.ScrubPeriod = 0, 100*365*24*time.Hour
	e, err := NewEngine(cfg, kv, set, place)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(); kv.Close() })
	be := &benchRepairEngine{e: e, drives: set, recs: make([]dataRecord, n), keys: make([]string, n), place: place}
	ctx := context.Background()
	data := []byte("a small stream, a few frames of shards")
	var wg sync.WaitGroup
	const workers = 8
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ops []meta.Op
			flush := func() {
				if len(ops) > 0 && errs[w] == nil {
					_, errs[w] = kv.Txn(ctx, meta.Txn{Ops: ops})
				}
				ops = ops[:0]
			}
			for i := w; i < n && errs[w] == nil; i += workers {
				key := fmt.Sprintf("key-%08d", i)
				d, err := e.writeData(ctx, hashKey("bench", key), bytes.NewReader(data), int64(len(data)), nil, nil)
				if err != nil {
					errs[w] = err
					return
				}
				d.Name = "bench/" + key
				be.recs[i], be.keys[i] = d, dataKey(newID())
				ops = append(ops, meta.Put(be.keys[i], encode(partsRecord{Parts: []dataRecord{d}})))
				if len(ops) == 500 {
					flush()
				}
			}
			flush()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return be
}

// damage deletes shard 0 of the first n streams.
func (be *benchRepairEngine) damage(tb testing.TB, n int) {
	for _, d := range be.recs[:n] {
		if err := be.drives[d.Drives[0]].Delete(context.Background(), shardID(d.DataID, 0)); err != nil {
			tb.Fatal(err)
		}
	}
}

// settle runs background passes until nothing is left over (the first
// ones sweep every record once: no sweep had ever finished).
func (be *benchRepairEngine) settle(tb testing.TB) {
	for range 1000 {
		rep, more, err := be.e.repairPass(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if !more && !rep.Outstanding() {
			return
		}
	}
	tb.Fatal("background passes never settled")
}

// BenchmarkRepairPass is the cost of one repair pass over 10⁵ clean
// streams of which 10 lost a shard: the full pass (what `admin heal` runs,
// and what every background pass was) checks every stream; the
// incremental background pass reads the 10 queued ones.
func BenchmarkRepairPass(b *testing.B) {
	const streams, dirty = 100_000, 10
	be := newBenchRepairEngine(b, streams)
	ctx := context.Background()
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		var visited int
		for b.Loop() {
			b.StopTimer()
			be.damage(b, dirty)
			b.StartTimer()
			rep, err := be.e.Heal(ctx, HealOptions{})
			if err != nil || rep.ShardsHealed != dirty || rep.Streams != streams {
				b.Fatalf("%+v %v", rep, err)
			}
			visited = rep.Visited
		}
		b.ReportMetric(float64(visited), "records_visited/op")
	})
	b.Run("incremental", func(b *testing.B) {
		be.settle(b)
		b.ReportAllocs()
		var visited, scrubbed int
		for b.Loop() {
			b.StopTimer()
			be.damage(b, dirty)
			for i := range dirty { // as a read that had to reconstruct queues them
				if err := be.e.markDirty(ctx, be.keys[i], nil, false, dirtyRead, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			rep, err := be.e.RepairPass(ctx)
			if err != nil || rep.ShardsHealed != dirty || rep.DirtyLeft != 0 {
				b.Fatalf("%+v %v", rep, err)
			}
			visited, scrubbed = visited+rep.Visited, scrubbed+rep.Scrubbed
		}
		b.ReportMetric(float64(visited)/float64(b.N), "records_visited/op")
		b.ReportMetric(float64(scrubbed)/float64(b.N), "of_them_scrubbed/op")
	})
}

// BenchmarkSweep is the cost of a placement sweep over 10⁵ records: after
// a ring change that moves nothing (every record decoded, its placement
// asked of the ring), and for a wiped drive no record names (the records
// only scanned for the drive's id). One op is the whole sweep.
func BenchmarkSweep(b *testing.B) {
	const streams = 100_000
	be := newBenchRepairEngine(b, streams)
	be.settle(b)
	ctx := context.Background()
	run := func(b *testing.B, start func()) {
		b.ReportAllocs()
		var swept int
		for b.Loop() {
			b.StopTimer()
			start()
			b.StartTimer()
			for {
				rep, err := be.e.RepairPass(ctx)
				if err != nil || rep.Streams != 0 {
					b.Fatalf("%+v %v", rep, err)
				}
				swept += rep.Swept
				if !rep.SweepActive {
					break
				}
			}
		}
		b.ReportMetric(float64(swept)/float64(b.N), "records/op")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(swept), "ns/record")
	}
	b.Run("ring-changed", func(b *testing.B) { run(b, func() { be.place.bump(b) }) })
	b.Run("drive-wiped", func(b *testing.B) {
		run(b, func() {
			s, rev, err := be.e.loadSweep(ctx)
			if err == nil {
				s.Drives = []string{"m9"}
				s.restart(s.Placed, false, be.e.cfg.Now())
				_, err = be.e.saveSweep(ctx, s, rev)
			}
			if err != nil {
				b.Fatal(err)
			}
		})
	})
}
