package storage_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/filesphere/filesphere/storage"
)

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func getBody(t *testing.T, e storage.Backend, bucket, key string, opts storage.GetOptions) []byte {
	t.Helper()
	r, err := e.GetObject(context.Background(), bucket, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The object cache serves a small object's second GET without its shards
// (here: all deleted from the drives), serves ranges from it, never serves
// an older version's bytes after an overwrite, and counts hits and misses.
func TestObjectCache(t *testing.T) {
	te := newTestEngine(t, 2, 2, 64<<10)
	reg := prometheus.NewRegistry()
	cfg := te.cfg
	cfg.CacheBytes, cfg.CacheMaxObject, cfg.Registry = 1<<20, 256<<10, reg
	e, err := storage.NewEngine(cfg, te.kv, te.set, storage.FixedPlacement(te.rg))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if err := e.CreateBucket(ctx, "cache", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, body []byte) {
		if _, err := e.PutObject(ctx, "cache", key, bytes.NewReader(body), storage.PutOptions{Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
	}
	v1 := randBytes(7, 100<<10)
	put("k", v1)
	if got := getBody(t, e, "cache", "k", storage.GetOptions{}); !bytes.Equal(got, v1) {
		t.Fatal("first GET: wrong bytes")
	}
	if h, m := counter(t, reg, "filesphere_cache_hits_total"), counter(t, reg, "filesphere_cache_misses_total"); h != 0 || m != 1 {
		t.Fatalf("after one GET: %v hits, %v misses", h, m)
	}
	for i := range te.roots {
		for _, p := range te.shardFiles(t, i) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := getBody(t, e, "cache", "k", storage.GetOptions{}); !bytes.Equal(got, v1) {
		t.Fatal("cached GET: wrong bytes")
	}
	rng := &storage.Range{Start: 1000, End: 1999}
	if got := getBody(t, e, "cache", "k", storage.GetOptions{Range: rng}); !bytes.Equal(got, v1[1000:2000]) {
		t.Fatalf("cached range: %d bytes", len(got))
	}
	if h := counter(t, reg, "filesphere_cache_hits_total"); h != 2 {
		t.Fatalf("%v hits; want 2", h)
	}
	v2 := randBytes(8, 100<<10)
	put("k", v2)
	if got := getBody(t, e, "cache", "k", storage.GetOptions{}); !bytes.Equal(got, v2) {
		t.Fatal("GET after overwrite served old bytes")
	}
	// Too large for the cache: streamed, not counted.
	put("big", randBytes(9, 300<<10))
	getBody(t, e, "cache", "big", storage.GetOptions{})
	if m := counter(t, reg, "filesphere_cache_misses_total"); m != 2 {
		t.Fatalf("%v misses; want 2 (the big object bypasses the cache)", m)
	}
}
