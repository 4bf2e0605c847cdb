package storage_test

import (
	"bytes"
	"context"
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
