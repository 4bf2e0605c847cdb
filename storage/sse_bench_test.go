package storage_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/drive"
)

// sseBenchCases are the encryptions the SSE benchmarks compare: none,
// SSE-S3 (a data key per object from the key service) and SSE-C.
var sseBenchCases = []struct {
	name string
	enc  *storage.Encryption
}{
	{"plain", nil},
	{"SSE-S3", &storage.Encryption{Type: storage.SSES3}},
	{"SSE-C", &storage.Encryption{Type: storage.SSEC, CustomerKey: *customer(1)}},
}

// sseBenchEngines are the engines the SSE benchmarks run on: real drive
// folders (fsync bound, as BenchmarkEnginePut), and in-memory drives, where
// the CPU cost of encryption against erasure coding and hashing shows.
var sseBenchEngines = []struct {
	name string
	make func(testing.TB) storage.Backend
}{
	{"disk", func(b testing.TB) storage.Backend { return newSSEEngineBlock(b, newFakeKeys(), 0, 1<<20) }},
	{"mem", func(b testing.TB) storage.Backend { return newMemSSEEngine(b) }},
}

// newMemSSEEngine is an EC 2+2 engine (1 MiB blocks, nothing inline) on
// in-memory drives with a bucket "bkt".
func newMemSSEEngine(t testing.TB) *storage.Engine {
	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	set := drive.Set{}
	var members []ring.Member
	for i := range 4 {
		id := "m" + strconv.Itoa(i)
		set[id] = drive.NewMemory(id)
		members = append(members, ring.Member{DriveID: id, NodeID: id})
	}
	rg, err := ring.New(1, members)
	if err != nil {
		t.Fatal(err)
	}
	cfg := storage.DefaultEngineConfig()
	cfg.InlineThreshold, cfg.DeleteGrace, cfg.Keys = 0, 0, newFakeKeys()
	e, err := storage.NewEngine(cfg, kv, set, storage.FixedPlacement(rg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); kv.Close() })
	if err := e.CreateBucket(context.Background(), "bkt", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// BenchmarkEngineSSEPut measures PUT with and without encryption (EC 2+2,
// 1 MiB blocks, metadata commit included).
func BenchmarkEngineSSEPut(b *testing.B) {
	for _, eng := range sseBenchEngines {
		for _, size := range []int{4 << 10, 64 << 20} {
			for _, c := range sseBenchCases {
				b.Run(eng.name+"/"+sizeName(size)+"/"+c.name, func(b *testing.B) {
					te := eng.make(b)
					ctx := context.Background()
					data := randBytes(1, size)
					b.SetBytes(int64(size))
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := te.PutObject(ctx, "bkt", "k"+strconv.Itoa(i%8), bytes.NewReader(data), storage.PutOptions{Size: int64(size), SSE: c.enc}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkEngineSSEGet measures a healthy GET with and without decryption.
func BenchmarkEngineSSEGet(b *testing.B) {
	for _, eng := range sseBenchEngines {
		for _, size := range []int{4 << 10, 64 << 20} {
			for _, c := range sseBenchCases {
				b.Run(eng.name+"/"+sizeName(size)+"/"+c.name, func(b *testing.B) {
					te := eng.make(b)
					ctx := context.Background()
					data := randBytes(1, size)
					if _, err := te.PutObject(ctx, "bkt", "k", bytes.NewReader(data), storage.PutOptions{Size: int64(size), SSE: c.enc}); err != nil {
						b.Fatal(err)
					}
					opts := storage.GetOptions{CustomerKey: readKey(c.enc)}
					b.SetBytes(int64(size))
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						or, err := te.GetObject(ctx, "bkt", "k", opts)
						if err != nil {
							b.Fatal(err)
						}
						if n, err := io.Copy(io.Discard, or); err != nil || n != int64(size) {
							b.Fatal(n, err)
						}
						or.Close()
					}
				})
			}
		}
	}
}
