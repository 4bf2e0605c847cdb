package s3api

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts requests by operation and status, and the bytes of their
// bodies and answers.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	received prometheus.Counter
	sent     prometheus.Counter
	// children are the series of one operation and status, resolved on
	// first use: a request then costs no label lookup (WithLabelValues
	// hashes its labels and strconv.Itoa allocates on every call).
	children childCache[opStatus, opChildren]
}

// opStatus is the labels of one request's series.
type opStatus struct {
	op     Operation
	status int
}

// opChildren is the series a request of one opStatus counts in.
type opChildren struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "filesphere_s3_requests_total", Help: "S3 requests by operation and HTTP status.",
		}, []string{"op", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "filesphere_s3_request_duration_seconds", Help: "S3 request latency by operation.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"op"}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "filesphere_s3_received_bytes_total", Help: "Request body bytes read by the S3 API.",
		}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "filesphere_s3_sent_bytes_total", Help: "Answer bytes written by the S3 API (headers excluded).",
		}),
	}
	m.children.resolve = func(k opStatus) opChildren {
		return opChildren{
			requests: m.requests.WithLabelValues(string(k.op), strconv.Itoa(k.status)),
			duration: m.duration.WithLabelValues(string(k.op)),
		}
	}
	reg.MustRegister(m.requests, m.duration, m.received, m.sent)
	return m
}

func (m *metrics) observe(op Operation, status int, d time.Duration, received, sent int64) {
	if m == nil {
		return
	}
	c := m.children.get(opStatus{op, status})
	c.requests.Inc()
	c.duration.Observe(d.Seconds())
	m.received.Add(float64(received))
	m.sent.Add(float64(sent))
}

// maxCachedChildren bounds a childCache; keys beyond it are resolved on
// every use (as without the cache), so no label set a client can vary
// grows it without bound.
const maxCachedChildren = 4096

// childCache holds the metric children of label sets K as they are first
// used. Reads are lock-free (one map lookup, no allocation); a new key
// copies the map under mu, which happens once per label set.
type childCache[K comparable, V any] struct {
	m       atomic.Pointer[map[K]V]
	mu      sync.Mutex
	resolve func(K) V // WithLabelValues for K's labels
}

func (c *childCache[K, V]) get(k K) V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	return c.add(k)
}

func (c *childCache[K, V]) add(k K) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if p := c.m.Load(); p != nil {
		old = *p
	}
	if v, ok := old[k]; ok {
		return v
	}
	v := c.resolve(k)
	if len(old) >= maxCachedChildren {
		return v
	}
	next := make(map[K]V, len(old)+1)
	for ok, ov := range old {
		next[ok] = ov
	}
	next[k] = v
	c.m.Store(&next)
	return v
}
