package s3api

import (
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/iam/policy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// scrape is reg's exposition as the metrics endpoint serves it.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	w := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	b, err := io.ReadAll(w.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type observation struct {
	op             Operation
	status         int
	d              time.Duration
	received, sent int64
}

type decision struct {
	action string
	d      policy.Decision
}

// The cached children expose exactly what resolving the labels on every
// request did (the code before the cache, written out here as the
// reference): same names, help, labels and values, also when requests
// are counted concurrently.
func TestMetricsExpositionUnchangedByCache(t *testing.T) {
	obs := []observation{
		{OpGetObject, 200, 3 * time.Millisecond, 0, 4096},
		{OpGetObject, 200, 40 * time.Millisecond, 0, 4096},
		{OpGetObject, 404, time.Millisecond, 0, 300},
		{OpPutObject, 200, 2 * time.Second, 1 << 20, 0},
		{OpHeadObject, 304, 0, 0, 0},
		{OpPutObject, 503, time.Minute, 10, 200},
	}
	decs := []decision{
		{"s3:GetObject", policy.Decision{Effect: policy.Allow, Reason: policy.ReasonRoot}},
		{"s3:GetObject", policy.Decision{Effect: policy.Allow, Reason: policy.ReasonAllowed, Source: policy.SourceIdentity}},
		{"s3:PutObject", policy.Decision{Effect: policy.Deny, Reason: policy.ReasonExplicitDeny, Source: policy.SourceResource}},
		{"s3:PutObject", policy.Decision{Effect: policy.Deny, Reason: policy.ReasonImplicitDeny}},
	}
	const workers, rounds = 4, 50

	got := prometheus.NewRegistry()
	m, dc := newMetrics(got), newDecisions(got)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				for _, o := range obs {
					m.observe(o.op, o.status, o.d, o.received, o.sent)
				}
				for _, d := range decs {
					dc.get(decisionLabels{d.action, d.d.Effect, d.d.Reason, d.d.Source}).Inc()
				}
			}
		}()
	}
	wg.Wait()

	want := prometheus.NewRegistry()
	ref := referenceMetrics(want)
	for range workers * rounds {
		for _, o := range obs {
			ref.observe(o)
		}
		for _, d := range decs {
			ref.decisions.WithLabelValues(d.action, string(d.d.Effect), d.d.Reason.String(), d.d.Source.String()).Inc()
		}
	}
	g, w := scrape(t, got), scrape(t, want)
	if g != w {
		t.Fatalf("exposition differs from the uncached reference:\n--- got\n%s\n--- want\n%s", g, w)
	}
	for _, line := range []string{
		`filesphere_s3_requests_total{op="GetObject",status="200"} 400`,
		`filesphere_s3_authz_decisions_total{action="s3:PutObject",effect="Deny",reason="explicit deny",source="resource policy"} 200`,
	} {
		if !strings.Contains(g, line+"\n") {
			t.Errorf("exposition lacks %q", line)
		}
	}
}

// reference is the request and decision metrics as they were counted
// before childCache: labels resolved on every request.
type reference struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	received, sent prometheus.Counter
	decisions      *prometheus.CounterVec
}

func referenceMetrics(reg prometheus.Registerer) *reference {
	r := &reference{
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
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "filesphere_s3_authz_decisions_total",
			Help: "Authorization decisions by action, effect, reason and the kind of policy that decided.",
		}, []string{"action", "effect", "reason", "source"}),
	}
	reg.MustRegister(r.requests, r.duration, r.received, r.sent, r.decisions)
	return r
}

func (r *reference) observe(o observation) {
	r.requests.WithLabelValues(string(o.op), itoa(o.status)).Inc()
	r.duration.WithLabelValues(string(o.op)).Observe(o.d.Seconds())
	r.received.Add(float64(o.received))
	r.sent.Add(float64(o.sent))
}

// itoa formats a status as strconv.Itoa does, written out so the
// reference shares no code with what it checks.
func itoa(n int) string {
	var b [8]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// A request counted in known series allocates nothing.
func TestMetricsObserveAllocatesNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, dc := newMetrics(reg), newDecisions(reg)
	key := decisionLabels{"s3:GetObject", policy.Allow, policy.ReasonRoot, policy.SourceNone}
	m.observe(OpGetObject, 200, time.Millisecond, 0, 10)
	dc.get(key).Inc()
	if n := testing.AllocsPerRun(100, func() {
		m.observe(OpGetObject, 200, time.Millisecond, 0, 10)
		dc.get(key).Inc()
	}); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}

// Past maxCachedChildren label sets the cache stops growing, and keys not
// in it are still resolved (and counted) on every use.
func TestChildCacheBounded(t *testing.T) {
	resolved := map[int]int{}
	c := childCache[int, int]{resolve: func(k int) int { resolved[k]++; return k * 2 }}
	for k := range maxCachedChildren + 10 {
		for range 2 {
			if v := c.get(k); v != k*2 {
				t.Fatalf("get(%d) = %d", k, v)
			}
		}
	}
	if n := len(*c.m.Load()); n != maxCachedChildren {
		t.Fatalf("cache holds %d keys, want %d", n, maxCachedChildren)
	}
	for k, want := range map[int]int{0: 1, maxCachedChildren - 1: 1, maxCachedChildren: 2, maxCachedChildren + 9: 2} {
		if resolved[k] != want {
			t.Errorf("key %d resolved %d times, want %d", k, resolved[k], want)
		}
	}
}
