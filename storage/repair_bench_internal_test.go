package storage

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

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
}

func newBenchRepairEngine(tb testing.TB, n int) *benchRepairEngine {
	tb.Helper()
	kv, err := meta.OpenLocal(tb.TempDir() + "/meta.db")
	if err != nil {
		tb.Fatal(err)
	}
	set := drive.Set{}
	var ms []ring.Member
	for i := range 4 {
		id := "m" + strconv.Itoa(i)
		set[id] = drive.NewMemory(id)
		ms = append(ms, ring.Member{DriveID: id, NodeID: id})
	}
	rg, err := ring.New(1, ms)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := DefaultEngineConfig()
	cfg.DataShards, cfg.ParityShards, cfg.BlockSize, cfg.InlineThreshold, cfg.DeleteGrace = 2, 1, 4<<10, 0, 0
	e, err := NewEngine(cfg, kv, set, FixedPlacement(rg))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(); kv.Close() })
	be := &benchRepairEngine{e: e, drives: set, recs: make([]dataRecord, n)}
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
				be.recs[i] = d
				ops = append(ops, meta.Put(dataKey(newID()), encode(partsRecord{Parts: []dataRecord{d}})))
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

// BenchmarkRepairPass is the cost of one repair pass over 10⁵ clean
// streams of which 10 lost a shard: the full pass (what `admin heal`
// runs) checks every stream.
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
			visited = rep.Streams
		}
		b.ReportMetric(float64(visited), "streams_checked/op")
	})
}
