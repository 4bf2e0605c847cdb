package storage_test

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/filesphere/filesphere/storage"
)

// BenchmarkCompleteMultipart measures CompleteMultipartUpload of a 64 MiB
// object in 8 MiB parts (EC 2+2 on real drive folders): the completion
// reads the parts back to hash the whole content, so its cost is a
// sequential GET of the object plus the commit. Uploading the parts is
// not timed; the MB/s are of the object's bytes.
func BenchmarkCompleteMultipart(b *testing.B) {
	const part, parts = 8 << 20, 8
	te := newTestEngine(b, 2, 2, 1<<20)
	ctx := context.Background()
	if err := te.CreateBucket(ctx, "bench", storage.CreateBucketOptions{}); err != nil {
		b.Fatal(err)
	}
	data := randBytes(1, part)
	b.SetBytes(part * parts)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		id, err := te.CreateMultipartUpload(ctx, "bench", "k", storage.PutOptions{})
		if err != nil {
			b.Fatal(err)
		}
		cps := make([]storage.CompletePart, parts)
		for n := range parts {
			p, err := te.UploadPart(ctx, "bench", "k", id, n+1, bytes.NewReader(data), storage.PartOptions{Size: part})
			if err != nil {
				b.Fatal(err)
			}
			cps[n] = storage.CompletePart{Number: n + 1, ETag: p.ETag}
		}
		b.StartTimer()
		if _, err := te.CompleteMultipartUpload(ctx, "bench", "k", id, cps, storage.CompleteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDedupPut compares PUTs of 64 MiB into a plain bucket with PUTs
// into a deduplicating one, of new content (every chunk written: the
// chunking and the per-chunk streams are the cost) and of content already
// stored (every chunk found: hashing only). EC 2+2 on real drive folders.
func BenchmarkDedupPut(b *testing.B) {
	const size = 64 << 20
	for _, tc := range []struct {
		name         string
		dedup, fresh bool
	}{{"plain", false, true}, {"dedup/new", true, true}, {"dedup/stored", true, false}} {
		b.Run(tc.name, func(b *testing.B) {
			te := newTestEngine(b, 2, 2, 1<<20)
			ctx := context.Background()
			te.CreateBucket(ctx, "bench", storage.CreateBucketOptions{})
			if tc.dedup {
				if err := te.SetBucketDedup(ctx, "bench", true); err != nil {
					b.Fatal(err)
				}
			}
			data := randBytes(1, size)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if tc.fresh {
					b.StopTimer()
					for j := 0; j < size; j += 4096 {
						data[j] ^= byte(i + 1)
					}
					b.StartTimer()
				}
				if _, err := te.PutObject(ctx, "bench", "k"+strconv.Itoa(i%4), bytes.NewReader(data), storage.PutOptions{Size: size}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDedupGet compares a 64 MiB GET of a plain object with one of a
// deduplicated object (one chunk record read per ~1 MiB chunk, each chunk
// its own stream).
func BenchmarkDedupGet(b *testing.B) {
	const size = 64 << 20
	for _, dedup := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "dedup"}[dedup], func(b *testing.B) {
			te := newTestEngine(b, 2, 2, 1<<20)
			ctx := context.Background()
			te.CreateBucket(ctx, "bench", storage.CreateBucketOptions{})
			if dedup {
				if err := te.SetBucketDedup(ctx, "bench", true); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := te.PutObject(ctx, "bench", "k", bytes.NewReader(randBytes(2, size)), storage.PutOptions{Size: size}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				or, err := te.GetObject(ctx, "bench", "k", storage.GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, or); err != nil || n != size {
					b.Fatal(n, err)
				}
				or.Close()
			}
		})
	}
}

// BenchmarkDedupSSE compares 64 MiB SSE-S3 PUTs and GETs in a plain
// bucket with those in a deduplicating one (new content, and content
// already stored in the namespace), and with unencrypted ones in a
// deduplicating bucket of the same engine (cleartext/new).
func BenchmarkDedupSSE(b *testing.B) {
	const size = 64 << 20
	enc := &storage.Encryption{Type: storage.SSES3}
	for _, tc := range []struct {
		name         string
		dedup, fresh bool
	}{{"plain", false, true}, {"dedup/new", true, true}, {"dedup/stored", true, false}, {"cleartext/new", true, true}} {
		enc := enc
		if tc.name == "cleartext/new" {
			enc = nil
		}
		te := newSSEEngineBlock(b, newFakeKeys(), 128<<10, 1<<20)
		ctx := context.Background()
		if tc.dedup {
			if err := te.SetBucketDedup(ctx, "bkt", true); err != nil {
				b.Fatal(err)
			}
		}
		data := randBytes(1, size)
		b.Run("put/"+tc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if tc.fresh {
					b.StopTimer()
					for j := 0; j < size; j += 4096 {
						data[j] ^= byte(i + 1)
					}
					b.StartTimer()
				}
				if _, err := te.PutObject(ctx, "bkt", "k"+strconv.Itoa(i%4), bytes.NewReader(data), storage.PutOptions{Size: size, SSE: enc}); err != nil {
					b.Fatal(err)
				}
			}
		})
		if tc.name == "dedup/stored" {
			continue
		}
		b.Run("get/"+tc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				or, err := te.GetObject(ctx, "bkt", "k0", storage.GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, or); err != nil || n != size {
					b.Fatal(n, err)
				}
				or.Close()
			}
		})
	}
}
