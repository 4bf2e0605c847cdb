package s3api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/storage"
	"github.com/sirupsen/logrus"
)

// BenchmarkPathList is a ListObjectsV2 page of 1000 keys (fetch-owner, so
// each entry carries an owner as V1 sends it) through the whole server:
// HTTP, SigV4, the engine's listing and the XML encoding of the page.
func BenchmarkPathList(b *testing.B) {
	env := s3test.New(b, s3test.WithLogLevel(logrus.ErrorLevel))
	ctx := context.Background()
	if err := env.Engine.CreateBucket(ctx, "bench", storage.CreateBucketOptions{}); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		key := fmt.Sprintf("photos/2024/img-%06d.jpg", i)
		if _, err := env.Engine.PutObject(ctx, "bench", key, bytes.NewReader([]byte("x")), storage.PutOptions{Size: 1}); err != nil {
			b.Fatal(err)
		}
	}
	const path = "/bench?list-type=2&fetch-owner=true&max-keys=1000"
	resp, err := http.DefaultClient.Do(benchRequest(b, env, http.MethodGet, path, nil, nil, emptySHA256))
	if err != nil {
		b.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || bytes.Count(page, []byte("<Contents>")) != 1000 || bytes.Count(page, []byte("<Owner>")) != 1000 {
		b.Fatalf("page of %d bytes, err %v: want 1000 entries with owners", len(page), err)
	}
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	b.ResetTimer()
	done := cpuMeter(b)
	for b.Loop() {
		pathBenchDo(b, benchRequest(b, env, http.MethodGet, path, nil, nil, emptySHA256))
	}
	done()
}
