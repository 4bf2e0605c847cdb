package storage_test

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/storage"
)

// countingKV is a KV with a linearizer seam (as meta.RaftKV): it counts the
// linearizable reads, each of which would be a read-index round trip on a
// follower, and the Linearize calls.
type countingKV struct {
	meta.KV
	reads, linearizes atomic.Int64
}

func (c *countingKV) Get(ctx context.Context, key string) (meta.Entry, error) {
	c.reads.Add(1)
	return c.KV.Get(ctx, key)
}

func (c *countingKV) List(ctx context.Context, prefix, start string, limit int) ([]meta.Entry, error) {
	c.reads.Add(1)
	return c.KV.List(ctx, prefix, start, limit)
}

func (c *countingKV) Linearize(ctx context.Context) error {
	c.linearizes.Add(1)
	return ctx.Err()
}

func (c *countingKV) Stale() meta.KV { return c.KV }

func (c *countingKV) rounds() int64 { return c.reads.Load() + c.linearizes.Load() }

// A GET or HEAD costs one linearizable round (Linearize), then reads the
// bucket, head, version and parts records locally — for inline, erasure-coded
// and multipart objects alike.
func TestGetHeadOneReadRound(t *testing.T) {
	te := newTestEngineInline(t, 2, 2, 64<<10, 4<<10)
	ckv := &countingKV{KV: te.kv}
	e, err := storage.NewEngine(te.cfg, ckv, te.set, storage.FixedPlacement(te.rg))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if err := e.CreateBucket(ctx, "rvbucket", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	small, big := bytes.Repeat([]byte("s"), 100), bytes.Repeat([]byte("b"), 300<<10)
	for key, body := range map[string][]byte{"small": small, "big": big} {
		if _, err := e.PutObject(ctx, "rvbucket", key, bytes.NewReader(body), storage.PutOptions{Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
	}
	up, err := e.CreateMultipartUpload(ctx, "rvbucket", "multi", storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	part, err := e.UploadPart(ctx, "rvbucket", "multi", up, 1, bytes.NewReader(big), storage.PartOptions{Size: int64(len(big))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CompleteMultipartUpload(ctx, "rvbucket", "multi", up, []storage.CompletePart{{Number: 1, ETag: part.ETag}}, storage.CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string][]byte{"small": small, "big": big, "multi": big} {
		before, reads := ckv.rounds(), ckv.reads.Load()
		r, err := e.GetObject(ctx, "rvbucket", key, storage.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("GET %s: %d bytes, %v", key, len(got), err)
		}
		if n := ckv.rounds() - before; n != 1 || ckv.reads.Load() != reads {
			t.Fatalf("GET %s cost %d linearizable rounds (%d plain reads); want 1 Linearize", key, n, ckv.reads.Load()-reads)
		}
		before = ckv.rounds()
		if _, err := e.HeadObject(ctx, "rvbucket", key, storage.GetOptions{Parts: true}); err != nil {
			t.Fatal(err)
		}
		if n := ckv.rounds() - before; n != 1 {
			t.Fatalf("HEAD %s cost %d linearizable rounds; want 1", key, n)
		}
	}
}
