package storage_test

import (
	"bytes"
	"context"
	"errors"
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

// readCounter counts the reads of a KV: plain Gets and Lists, GetMany
// batches and View transactions.
type readCounter struct {
	meta.KV
	local                    *meta.Local
	gets, lists, many, views atomic.Int64
}

func (c *readCounter) Get(ctx context.Context, key string) (meta.Entry, error) {
	c.gets.Add(1)
	return c.KV.Get(ctx, key)
}

func (c *readCounter) List(ctx context.Context, prefix, start string, limit int) ([]meta.Entry, error) {
	c.lists.Add(1)
	return c.KV.List(ctx, prefix, start, limit)
}

func (c *readCounter) reset() {
	for _, n := range []*atomic.Int64{&c.gets, &c.lists, &c.many, &c.views} {
		n.Store(0)
	}
}

func (c *readCounter) counts() [4]int64 {
	return [4]int64{c.gets.Load(), c.lists.Load(), c.many.Load(), c.views.Load()}
}

// multiCounter is a readCounter that is also a meta.MultiGetter.
type multiCounter struct{ *readCounter }

func (c multiCounter) GetMany(ctx context.Context, keys ...string) ([]meta.Entry, error) {
	c.many.Add(1)
	return c.local.GetMany(ctx, keys...)
}

// viewCounter is a multiCounter that is also a meta.Viewer.
type viewCounter struct{ multiCounter }

func (c viewCounter) View(ctx context.Context, fn func(meta.Reader) error) error {
	c.views.Add(1)
	return c.local.View(ctx, fn)
}

// A GET of the latest version reads its bucket record, head and parts
// record in one read transaction where the KV is a meta.Viewer; a KV that
// is only a MultiGetter, or neither, is still read right, with more reads.
// The counts are {Get, List, GetMany, View}.
func TestGetReadTransactions(t *testing.T) {
	small, big := bytes.Repeat([]byte("s"), 4<<10), bytes.Repeat([]byte("b"), 300<<10)
	for _, tc := range []struct {
		name    string
		wrap    func(*readCounter) meta.KV
		get     [4]int64
		getNone [4]int64 // a key with no versions
		head    [4]int64
	}{
		{"viewer", func(c *readCounter) meta.KV { return viewCounter{multiCounter{c}} }, [4]int64{0, 0, 0, 1}, [4]int64{0, 0, 0, 1}, [4]int64{0, 0, 0, 1}},
		{"multigetter", func(c *readCounter) meta.KV { return multiCounter{c} }, [4]int64{1, 0, 1, 0}, [4]int64{0, 0, 1, 0}, [4]int64{0, 0, 1, 0}},
		{"plain", func(c *readCounter) meta.KV { return c }, [4]int64{3, 0, 0, 0}, [4]int64{2, 0, 0, 0}, [4]int64{2, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEngineInline(t, 2, 2, 64<<10, 16<<10)
			c := &readCounter{KV: te.kv, local: te.kv}
			e, err := storage.NewEngine(te.cfg, tc.wrap(c), te.set, storage.FixedPlacement(te.rg))
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			ctx := context.Background()
			if err := e.CreateBucket(ctx, "rtbucket", storage.CreateBucketOptions{}); err != nil {
				t.Fatal(err)
			}
			bodies := map[string][]byte{"inline": small, "coded": big}
			for key, body := range bodies {
				if _, err := e.PutObject(ctx, "rtbucket", key, bytes.NewReader(body), storage.PutOptions{Size: int64(len(body))}); err != nil {
					t.Fatal(err)
				}
			}
			for key, want := range bodies {
				c.reset()
				r, err := e.GetObject(ctx, "rtbucket", key, storage.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("GET %s: %d bytes, %v", key, len(got), err)
				}
				if n := c.counts(); n != tc.get {
					t.Errorf("GET %s read %v, want %v", key, n, tc.get)
				}
				c.reset()
				if _, err := e.HeadObject(ctx, "rtbucket", key, storage.GetOptions{}); err != nil {
					t.Fatal(err)
				}
				if n := c.counts(); n != tc.head {
					t.Errorf("HEAD %s read %v, want %v", key, n, tc.head)
				}
			}
			c.reset()
			var nf *storage.ObjectNotFoundError
			if _, err := e.GetObject(ctx, "rtbucket", "none", storage.GetOptions{}); !errors.As(err, &nf) {
				t.Fatalf("GET of a missing key: %v", err)
			}
			if n := c.counts(); n != tc.getNone {
				t.Errorf("GET of a missing key read %v, want %v", n, tc.getNone)
			}
		})
	}
}
