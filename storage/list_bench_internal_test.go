package storage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/storage/drive"
)

// HugeBenchEnv enables the 10⁷-key listing benchmark (a few GiB of bbolt
// in the temp dir and minutes to build).
const HugeBenchEnv = "FILESPHERE_BENCH_HUGE"

// listKey is the i-th key of a listing benchmark bucket: four keys per
// "directory", so a delimited page from the middle folds 4000 keys into
// 1000 common prefixes.
func listKey(i int) string { return fmt.Sprintf("%08d/%d", i/4, i%4) }

// newListBenchEngine is an engine whose bucket holds n keys. One object is
// put through the engine; its head record is the template of the others,
// written straight into the KV under the engine's own key layout in large
// transactions (what n PUTs of empty objects would leave, built in
// seconds rather than hours).
func newListBenchEngine(b testing.TB, n int) *Engine {
	return newListEngine(b, n, listKey)
}

// newListEngine is newListBenchEngine with keys key(0) … key(n-1).
func newListEngine(b testing.TB, n int, key func(int) string) *Engine {
	b.Helper()
	kv, err := meta.OpenLocal(b.TempDir() + "/meta.db")
	if err != nil {
		b.Fatal(err)
	}
	set := drive.Set{}
	var ms []ring.Member
	for i := range 4 {
		id := "l" + fmt.Sprint(i)
		set[id] = drive.NewMemory(id)
		ms = append(ms, ring.Member{DriveID: id, NodeID: id})
	}
	rg, err := ring.New(1, ms)
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewEngine(DefaultEngineConfig(), kv, set, FixedPlacement(rg))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(); kv.Close() })
	ctx := context.Background()
	if err := e.CreateBucket(ctx, "big", CreateBucketOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.PutObject(ctx, "big", key(0), bytes.NewReader(nil), PutOptions{}); err != nil {
		b.Fatal(err)
	}
	h, _, err := e.getHead(ctx, "big", key(0))
	if err != nil {
		b.Fatal(err)
	}
	const batch = 20_000
	ops := make([]meta.Op, 0, batch)
	for i := 1; i < n; i++ {
		k := key(i)
		h.LatestKey = versionKeyPrefix("big", k) + versionOrder(h.Latest.ModTime) + h.Latest.VersionID
		ops = append(ops, meta.Put(headKey("big", k), encode(h)))
		if len(ops) == batch || i == n-1 {
			if _, err := kv.Txn(ctx, meta.Txn{Ops: ops}); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	return e
}

// BenchmarkListPageAtScale is the time of one 1000-entry ListObjects page
// from the middle of a bucket of 10⁴, 10⁶ and (with FILESPHERE_BENCH_HUGE=1)
// 10⁷ keys, without a delimiter and with one folding every four keys into
// a common prefix.
func BenchmarkListPageAtScale(b *testing.B) {
	sizes := []int{10_000, 1_000_000}
	if os.Getenv(HugeBenchEnv) == "1" {
		sizes = append(sizes, 10_000_000)
	}
	for _, n := range sizes {
		e := newListBenchEngine(b, n) // built once for both sub-benchmarks
		for _, delim := range []string{"", "/"} {
			name := "no-delimiter"
			if delim != "" {
				name = "delimiter"
			}
			b.Run(fmt.Sprintf("keys=%d/%s", n, name), func(b *testing.B) {
				ctx := context.Background()
				opts := ListOptions{Marker: listKey(n / 2), MaxKeys: 1000, Delimiter: delim}
				if delim != "" {
					opts.Marker = listKey(n / 2)[:9] // the middle "directory/"
				}
				b.ReportAllocs()
				done := cpuMeter(b)
				for b.Loop() {
					res, err := e.ListObjects(ctx, "big", opts)
					if err != nil || len(res.Objects)+len(res.CommonPrefixes) != 1000 || !res.IsTruncated {
						b.Fatalf("%d objects, %d prefixes, truncated %v: %v", len(res.Objects), len(res.CommonPrefixes), res.IsTruncated, err)
					}
				}
				done()
			})
		}
	}
}
