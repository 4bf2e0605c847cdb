package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/filesphere/filesphere/e2e/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// testMinioGo uses minio-go, which over plain HTTP signs every body chunk
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, with a checksum trailer when asked)
// and uploads streams of unknown size as multipart.
func testMinioGo(t *testing.T, n *harness.Node) {
	ctx := context.Background()
	modes := &payloadModes{rt: http.DefaultTransport, seen: map[string]bool{}}
	cli, err := minio.New(n.Addr(), &minio.Options{
		Transport:    modes,
		Creds:        credentials.NewStaticV4(n.AccessKey(), n.SecretKey(), ""),
		Secure:       false,
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
		// Checksums travel in trailers after the body, as the aws cli
		// and SDKs send them by default nowadays.
		TrailingHeaders: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	b := harness.BucketName("miniogo")
	if err := cli.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	cases := []struct {
		key  string
		size int64
		opts minio.PutObjectOptions
		send int64 // size passed to PutObject (-1: unknown, multipart)
	}{
		{"streaming-signed.bin", 3<<20 + 17, minio.PutObjectOptions{}, 3<<20 + 17},
		{"empty", 0, minio.PutObjectOptions{}, 0},
		{"unknown-size.bin", 12<<20 + 1, minio.PutObjectOptions{PartSize: 5 << 20}, -1},
		{"crc32c.bin", 1<<20 + 5, minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C}, 1<<20 + 5},
	}
	for i, c := range cases {
		body := harness.RandomBytes(int(c.size), uint64(500+i))
		c.opts.UserMetadata = map[string]string{"origin": "minio-go"}
		info, err := cli.PutObject(ctx, b, c.key, bytes.NewReader(body), c.send, c.opts)
		if err != nil {
			t.Errorf("PutObject %s (size %d): %v", c.key, c.send, err)
			continue
		}
		if info.Size != c.size {
			t.Errorf("PutObject %s: size %d, want %d", c.key, info.Size, c.size)
		}
		obj, err := cli.GetObject(ctx, b, c.key, minio.GetObjectOptions{})
		if err != nil {
			t.Errorf("GetObject %s: %v", c.key, err)
			continue
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("GetObject %s: %d bytes, equal %v, err %v", c.key, len(got), bytes.Equal(got, body), err)
		}
		st, err := cli.StatObject(ctx, b, c.key, minio.StatObjectOptions{})
		if err != nil || st.UserMetadata["Origin"] != "minio-go" {
			t.Errorf("StatObject %s: %v metadata %v", c.key, err, st.UserMetadata)
		}
	}
	var keys []string
	for o := range cli.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("ListObjects: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	if got := strings.Join(keys, ","); got != "crc32c.bin,empty,streaming-signed.bin,unknown-size.bin" {
		t.Errorf("ListObjects = %s", got)
	}
	for _, k := range keys {
		if err := cli.RemoveObject(ctx, b, k, minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("RemoveObject %s: %v", k, err)
		}
	}
	if err := cli.RemoveBucket(ctx, b); err != nil {
		t.Errorf("RemoveBucket: %v", err)
	}
	modes.mu.Lock()
	defer modes.mu.Unlock()
	for _, m := range []string{"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"} {
		if !modes.seen[m] {
			t.Errorf("minio-go never sent x-amz-content-sha256: %s (saw %v); the test no longer covers it", m, sortedKeys(modes.seen))
		}
	}
}

// payloadModes records the x-amz-content-sha256 modes a client sends.
type payloadModes struct {
	rt   http.RoundTripper
	mu   sync.Mutex
	seen map[string]bool
}

func (p *payloadModes) RoundTrip(r *http.Request) (*http.Response, error) {
	if v := r.Header.Get("X-Amz-Content-Sha256"); strings.HasPrefix(v, "STREAMING-") || v == harness.UnsignedPayload {
		p.mu.Lock()
		p.seen[v] = true
		p.mu.Unlock()
	}
	return p.rt.RoundTrip(r)
}
