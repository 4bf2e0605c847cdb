package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"

	"github.com/filesphere/filesphere/storage"
)

// BenchmarkEnginePut measures PUT through the engine (EC 2+2, real drive
// folders with fsync, metadata commit included).
func BenchmarkEnginePut(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 64 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			te := newTestEngine(b, 2, 2, 1<<20)
			ctx := context.Background()
			te.CreateBucket(ctx, "bench", storage.CreateBucketOptions{})
			data := randBytes(1, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := te.PutObject(ctx, "bench", "k"+strconv.Itoa(i%8), bytes.NewReader(data), storage.PutOptions{Size: int64(size)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEngineGet measures a healthy GET (data shards only).
func BenchmarkEngineGet(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 64 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			te := newTestEngine(b, 2, 2, 1<<20)
			ctx := context.Background()
			te.CreateBucket(ctx, "bench", storage.CreateBucketOptions{})
			data := randBytes(1, size)
			te.PutObject(ctx, "bench", "k", bytes.NewReader(data), storage.PutOptions{Size: int64(size)})
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				or, err := te.GetObject(ctx, "bench", "k", storage.GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, or)
				or.Close()
			}
		})
	}
}

// BenchmarkListObjectsPage measures one 1000-key page from the middle of
// buckets of growing size: the cost must not grow with the bucket.
func BenchmarkListObjectsPage(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, versioned := range []bool{false, true} {
			b.Run(fmt.Sprintf("keys=%d/versioned=%v", n, versioned), func(b *testing.B) {
				te := newTestEngine(b, 2, 2, 1<<20)
				ctx := context.Background()
				te.CreateBucket(ctx, "bench", storage.CreateBucketOptions{})
				if versioned {
					te.SetBucketVersioning(ctx, "bench", storage.VersioningEnabled)
				}
				fill(b, te, n)
				marker := fmt.Sprintf("key-%08d", n/2)
				b.ReportAllocs()
				b.ResetTimer()
				done := storage.CPUMeter(b)
				defer done()
				for i := 0; i < b.N; i++ {
					if versioned {
						res, err := te.ListObjectVersions(ctx, "bench", storage.ListVersionsOptions{KeyMarker: marker, MaxKeys: 1000})
						if err != nil || len(res.Versions) != 1000 {
							b.Fatal(err, len(res.Versions))
						}
						continue
					}
					res, err := te.ListObjects(ctx, "bench", storage.ListOptions{Marker: marker, MaxKeys: 1000})
					if err != nil || len(res.Objects) != 1000 {
						b.Fatal(err, len(res.Objects))
					}
				}
			})
		}
	}
}

// fill writes n empty objects (no drive I/O) in parallel so
// group commit batches the metadata writes.
func fill(b *testing.B, te *testEngine, n int) {
	ctx := context.Background()
	var wg sync.WaitGroup
	const workers = 64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if _, err := te.PutObject(ctx, "bench", fmt.Sprintf("key-%08d", i), bytes.NewReader(nil), storage.PutOptions{Size: 0}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.Itoa(n>>20) + "MiB"
	default:
		return strconv.Itoa(n>>10) + "KiB"
	}
}

// BenchmarkInlineThreshold compares small PUTs and GETs stored inline in the
// version record against the same objects erasure-coded onto drives.
func BenchmarkInlineThreshold(b *testing.B) {
	for _, size := range []int{1 << 10, 4 << 10, 16 << 10, 64 << 10} {
		for _, inline := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/inline=%v", sizeName(size), inline), func(b *testing.B) {
				te := newTestEngine(b, 2, 2, 1<<20)
				if inline {
					te.setInline(int64(size))
				}
				ctx := context.Background()
				te.CreateBucket(ctx, "bench", storage.CreateBucketOptions{})
				data := randBytes(1, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					key := "k" + strconv.Itoa(i%64)
					if _, err := te.PutObject(ctx, "bench", key, bytes.NewReader(data), storage.PutOptions{Size: int64(size)}); err != nil {
						b.Fatal(err)
					}
					or, err := te.GetObject(ctx, "bench", key, storage.GetOptions{})
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, or)
					or.Close()
				}
			})
		}
	}
}

// BenchmarkSmallGet measures GETs of small objects: inline in the record,
// and erasure-coded with the object cache off and on (-benchmem shows the
// allocations of each path).
func BenchmarkSmallGet(b *testing.B) {
	for _, tc := range []struct {
		name         string
		size, inline int64
		cache        int64
	}{
		{"4KiB/inline", 4 << 10, 16 << 10, 0},
		{"64KiB/ec", 64 << 10, 0, 0},
		{"64KiB/ec/cached", 64 << 10, 0, 64 << 20},
	} {
		b.Run(tc.name, func(b *testing.B) {
			te := newTestEngine(b, 2, 2, 1<<20)
			cfg := te.cfg
			cfg.InlineThreshold, cfg.CacheBytes = tc.inline, tc.cache
			e, err := storage.NewEngine(cfg, te.kv, te.set, storage.FixedPlacement(te.rg))
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			ctx := context.Background()
			e.CreateBucket(ctx, "bench", storage.CreateBucketOptions{})
			data := randBytes(1, int(tc.size))
			if _, err := e.PutObject(ctx, "bench", "k", bytes.NewReader(data), storage.PutOptions{Size: tc.size}); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 32<<10)
			b.SetBytes(tc.size)
			b.ReportAllocs()
			b.ResetTimer()
			done := storage.CPUMeter(b)
			for i := 0; i < b.N; i++ {
				or, err := e.GetObject(ctx, "bench", "k", storage.GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				io.CopyBuffer(io.Discard, struct{ io.Reader }{or}, buf)
				or.Close()
			}
			done()
		})
	}
}

// BenchmarkLifecyclePut measures the lifecycle's cost per PUT: small
// inline objects (so the metadata commit is the whole PUT) into buckets
// without rules, with an Expiration rule (one config read from cache and
// one index entry per commit), and, versioned, with a noncurrent rule
// too (the key's versions are read to plan them; 200 keys share the
// writes, so keys grow versions as the benchmark runs).
func BenchmarkLifecyclePut(b *testing.B) {
	exp := storage.LifecycleRule{ID: "exp", Enabled: true, Expiration: &storage.LifecycleExpiration{Days: 30}}
	nc := storage.LifecycleRule{ID: "nc", Enabled: true, NoncurrentExpiration: &storage.NoncurrentExpiration{Days: 30}}
	for _, tc := range []struct {
		name      string
		versioned bool
		rules     []storage.LifecycleRule
	}{
		{"none/unversioned", false, nil},
		{"expiration/unversioned", false, []storage.LifecycleRule{exp}},
		{"none/versioned", true, nil},
		{"expiration/versioned", true, []storage.LifecycleRule{exp}},
		{"expiration+noncurrent/versioned", true, []storage.LifecycleRule{exp, nc}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			te := newTestEngineInline(b, 2, 2, 1<<20, 16<<10)
			ctx := context.Background()
			te.CreateBucket(ctx, "bench", storage.CreateBucketOptions{})
			if tc.versioned {
				te.SetBucketVersioning(ctx, "bench", storage.VersioningEnabled)
			}
			if tc.rules != nil {
				if err := te.PutBucketLifecycle(ctx, "bench", storage.Lifecycle{Rules: tc.rules}); err != nil {
					b.Fatal(err)
				}
			}
			data := randBytes(1, 4<<10)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := te.PutObject(ctx, "bench", "k"+strconv.Itoa(i%200), bytes.NewReader(data), storage.PutOptions{Size: int64(len(data))}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
