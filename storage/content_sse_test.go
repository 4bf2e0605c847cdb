package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/filesphere/filesphere/storage"
)

// TestSSEContentHash: an SSE-S3 version (single or multipart) records the
// SHA-256 of its plaintext and is found by it; SSE-KMS and SSE-C versions
// record none and are in no index, so the metadata never holds a
// plaintext hash of what their encryption hides.
func TestSSEContentHash(t *testing.T) {
	ctx := context.Background()
	keys := newFakeKeys()
	keys.create("app-key")
	te := newSSEEngine(t, keys, 0)
	te.reconfigure(t, func(c *storage.EngineConfig) { c.MinPartSize = 1 })
	p1, p2 := randBytes(1, 100<<10), randBytes(2, 7)
	whole := append(append([]byte{}, p1...), p2...)
	sum := sha256.Sum256(whole)
	for name, enc := range encryptions() {
		t.Run(name, func(t *testing.T) {
			want := ""
			if enc.Type == storage.SSES3 {
				want = hex.EncodeToString(sum[:])
			}
			info, err := te.PutObject(ctx, "bkt", "one-"+name, bytes.NewReader(whole), storage.PutOptions{Size: int64(len(whole)), SSE: enc})
			if err != nil || info.SHA256 != want {
				t.Fatalf("PUT: %q %v", info.SHA256, err)
			}
			id, err := te.CreateMultipartUpload(ctx, "bkt", "mp-"+name, storage.PutOptions{SSE: enc})
			if err != nil {
				t.Fatal(err)
			}
			var cps []storage.CompletePart
			for n, b := range [][]byte{p1, p2} {
				pi, err := te.UploadPart(ctx, "bkt", "mp-"+name, id, n+1, bytes.NewReader(b), storage.PartOptions{Size: int64(len(b)), CustomerKey: readKey(enc)})
				if err != nil {
					t.Fatal(err)
				}
				cps = append(cps, storage.CompletePart{Number: n + 1, ETag: pi.ETag})
			}
			info, err = te.CompleteMultipartUpload(ctx, "bkt", "mp-"+name, id, cps, storage.CompleteOptions{CustomerKey: readKey(enc)})
			if err != nil || info.SHA256 != want {
				t.Fatalf("multipart: %q %v", info.SHA256, err)
			}
		})
	}
	res, err := te.FindBySHA256(ctx, hex.EncodeToString(sum[:]), storage.HashFindOptions{})
	if err != nil || len(res.Matches) != 2 || res.Matches[0].Key != "mp-SSE-S3" || res.Matches[1].Key != "one-SSE-S3" {
		t.Fatalf("lookup: %+v %v", res, err)
	}
}
