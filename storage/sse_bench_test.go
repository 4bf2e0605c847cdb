package storage_test

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/filesphere/filesphere/storage"
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

// BenchmarkEngineSSEPut measures PUT with and without encryption (EC 2+2,
// 1 MiB blocks, real drive folders with fsync, metadata commit included),
// as BenchmarkEnginePut.
func BenchmarkEngineSSEPut(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 20} {
		for _, c := range sseBenchCases {
			b.Run(sizeName(size)+"/"+c.name, func(b *testing.B) {
				te := newSSEEngineBlock(b, newFakeKeys(), 0, 1<<20)
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

// BenchmarkEngineSSEGet measures a healthy GET with and without decryption.
func BenchmarkEngineSSEGet(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 20} {
		for _, c := range sseBenchCases {
			b.Run(sizeName(size)+"/"+c.name, func(b *testing.B) {
				te := newSSEEngineBlock(b, newFakeKeys(), 0, 1<<20)
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
