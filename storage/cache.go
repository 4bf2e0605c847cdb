package storage

import (
	"bytes"
	"context"
	"io"

	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// objectCache holds the decoded bytes of small erasure-coded objects, keyed
// by data id. The bytes of a data id never change (a new version writes a
// new id; heal rewrites identical shards), so an entry never needs
// invalidating: a deleted object's entry is just never asked for again and
// ages out. Bounded by bytes (otter, W-TinyLFU eviction).
type objectCache struct {
	c         *otter.Cache[string, []byte]
	maxObject int64
	hits      prometheus.Counter
	misses    prometheus.Counter
}

func newObjectCache(cfg EngineConfig) *objectCache {
	if cfg.CacheBytes <= 0 {
		return nil
	}
	oc := &objectCache{
		c: otter.Must(&otter.Options[string, []byte]{
			MaximumWeight: uint64(cfg.CacheBytes),
			Weigher:       func(_ string, b []byte) uint32 { return uint32(len(b)) },
		}),
		maxObject: cfg.CacheMaxObject,
		hits:      prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_cache_hits_total", Help: "GETs of small objects served from the object cache."}),
		misses:    prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_cache_misses_total", Help: "GETs of small objects that read their shards (and filled the cache)."}),
	}
	if cfg.Registry != nil {
		size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "filesphere_cache_size_bytes", Help: "Bytes held by the object cache."},
			func() float64 { return float64(oc.c.WeightedSize()) })
		cfg.Registry.MustRegister(oc.hits, oc.misses, size)
	}
	return oc
}

// smallRead serves [start, start+length) of a version without the
// streaming pipe when it can: inline data straight from the record (no
// copy), and small single-part objects from the cache, filling it on a
// miss. ok is false when the version takes the streaming path.
func (e *Engine) smallRead(ctx context.Context, parts []dataRecord, bucket, key, versionID string, start, length int64) (rc io.ReadCloser, ok bool, err error) {
	if len(parts) != 1 {
		return nil, false, nil
	}
	p := parts[0]
	if p.DataID == "" {
		return newBytesReadCloser(p.Inline[start : start+length]), true, nil
	}
	oc := e.cache
	if oc == nil || p.Size > oc.maxObject {
		return nil, false, nil
	}
	if b, hit := oc.c.GetIfPresent(p.DataID); hit && int64(len(b)) == p.Size {
		oc.hits.Inc()
		return newBytesReadCloser(b[start : start+length]), true, nil
	}
	oc.misses.Inc()
	release := e.refs.acquire(parts)
	defer release()
	buf := bytes.NewBuffer(make([]byte, 0, p.Size))
	heal, err := e.readData(ctx, p, buf, 0, p.Size)
	if heal {
		e.queueHeal(bucket, key, versionID)
	}
	if err != nil {
		return nil, true, err
	}
	b := buf.Bytes()
	oc.c.Set(p.DataID, b)
	return newBytesReadCloser(b[start : start+length]), true, nil
}

// bytesReadCloser is io.NopCloser(bytes.NewReader(b)) in one allocation
// instead of two; its WriteTo hands b to the writer without a copy.
type bytesReadCloser struct{ bytes.Reader }

func newBytesReadCloser(b []byte) *bytesReadCloser {
	r := new(bytesReadCloser)
	r.Reset(b)
	return r
}

// Close implements io.Closer.
func (*bytesReadCloser) Close() error { return nil }
