package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestMixPickFollowsWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, m := range []Mix{DefaultMix(), {Get: 1, Delete: 3}, {Put: 5}} {
		var n [numKinds]int
		const draws = 200_000
		for range draws {
			n[m.pick(r)]++
		}
		for k, w := range map[kind]int{kindGet: m.Get, kindStat: m.Stat, kindPut: m.Put, kindDelete: m.Delete} {
			want := float64(w) / float64(m.total())
			if got := float64(n[k]) / draws; math.Abs(got-want) > 0.005 {
				t.Errorf("mix %v: %s share %.3f, want %.3f", m, k, got, want)
			}
		}
		if n[kindList] != 0 {
			t.Errorf("mix %v drew LIST", m)
		}
	}
}

func TestKeyPoolNeverDeletesALeasedKey(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	p := newKeyPool([]string{"a", "b", "c"})
	leased, _ := p.lease(r)
	for range 100 {
		if k, ok := p.take(r); ok {
			if k == leased {
				t.Fatalf("took leased key %s", k)
			}
			p.add(k)
		}
	}
	// With only leased keys left, take gives up instead of spinning.
	for p.len() > 1 {
		if k, ok := p.take(r); ok && k == leased {
			t.Fatalf("took leased key %s", k)
		}
	}
	if _, ok := p.take(r); ok {
		t.Fatal("took the last key while it is leased")
	}
	p.release(leased)
	if k, ok := p.take(r); !ok || k != leased {
		t.Fatalf("after release take = %q, %v", k, ok)
	}
	if _, ok := p.lease(r); ok {
		t.Fatal("leased from an empty pool")
	}
	p.add("x")
	p.add("x")
	if p.len() != 1 {
		t.Fatalf("adding a key twice gives %d keys", p.len())
	}
}

// testConfig runs against m for a short while.
func testConfig(t *testing.T, m Client, profiles ...Profile) Config {
	t.Helper()
	c := DefaultConfig()
	c.Target, c.Duration, c.Profiles, c.Seed = m, 200*time.Millisecond, profiles, 42
	l := logrus.New()
	l.SetOutput(testLogWriter{t})
	c.Log = logrus.NewEntry(l)
	return c
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func opOf(t *testing.T, p ProfileResult, name string) OpResult {
	t.Helper()
	for _, o := range p.Ops {
		if o.Op == name {
			return o
		}
	}
	t.Fatalf("profile %s has no %s row: %+v", p.Name, name, p.Ops)
	return OpResult{}
}

func runMemory(t *testing.T, p Profile) (*Memory, ProfileResult) {
	t.Helper()
	m := NewMemory()
	cfg := testConfig(t, m, p)
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Profiles) != 1 || rep.Version != ReportVersion || rep.Seed != 42 || rep.Interrupted {
		t.Fatalf("report: %+v", rep)
	}
	if b := m.Buckets(); len(b) != 0 {
		t.Fatalf("buckets left after the run: %v", b)
	}
	return m, rep.Profiles[0]
}

func TestRunPutAgainstMemory(t *testing.T) {
	m, res := runMemory(t, Profile{Op: OpPut, Size: 1000, Concurrency: 4})
	p := opOf(t, res, "PUT")
	if p.Ops == 0 || p.Errors != 0 || p.Bytes != p.Ops*1000 || p.Objects != p.Ops || int(p.Ops) != m.Calls("PutObject") {
		t.Errorf("put: %+v (PutObject calls %d)", p, m.Calls("PutObject"))
	}
	if res.Cleanup.Deleted != int(p.Ops) || res.Objects != 0 || len(res.Ops) != 1 {
		t.Errorf("put: cleanup deleted %d of %d, result %+v", res.Cleanup.Deleted, p.Ops, res)
	}
}

func TestRunGetAgainstMemory(t *testing.T) {
	m, res := runMemory(t, Profile{Op: OpGet, Size: 2000, Concurrency: 4, Objects: 50})
	g := opOf(t, res, "GET")
	if g.Ops == 0 || g.Errors != 0 || g.Bytes != g.Ops*2000 || int(g.Ops) != m.Calls("GetObject") {
		t.Errorf("get: %+v (GetObject calls %d)", g, m.Calls("GetObject"))
	}
	if res.Objects != 50 || res.Cleanup.Deleted != 50 || m.Calls("PutObject") != 50 {
		t.Errorf("get uploaded %d (%d PUTs), cleaned %d; want 50", res.Objects, m.Calls("PutObject"), res.Cleanup.Deleted)
	}
}

func TestRunListAgainstMemory(t *testing.T) {
	m, res := runMemory(t, Profile{Op: OpList, Size: 10, Concurrency: 3, Objects: 2500})
	l := opOf(t, res, "LIST")
	// 2,500 keys in 1,000-key pages: passes of 3 pages, each key once.
	// Cleanup adds 4 listings (3 pages, then one finding the prefix
	// empty), removing the bucket one more.
	if l.Ops == 0 || l.Errors != 0 || int(l.Ops)+5 != m.Calls("ListObjects") {
		t.Errorf("list: %+v, %d ListObjects calls", l, m.Calls("ListObjects"))
	}
	if full := l.Ops / 3 * 2500; l.Objects < full || l.Objects > full+3*2500 {
		t.Errorf("list returned %d keys in %d pages, want 2500 per 3 pages", l.Objects, l.Ops)
	}
}

func TestRunMixedAgainstMemory(t *testing.T) {
	_, res := runMemory(t, Profile{Op: OpMixed, Size: 300, Concurrency: 8, Objects: 100})
	var n int64
	for _, o := range res.Ops {
		if o.Errors != 0 {
			t.Errorf("mixed %s: %d errors (%v): the key pool let a request fail", o.Op, o.Errors, o.ErrorCodes)
		}
		n += o.Ops
	}
	if n == 0 || res.Total.Ops != n || len(res.Ops) != 4 {
		t.Fatalf("mixed: %+v", res)
	}
	if share := float64(opOf(t, res, "GET").Ops) / float64(n); math.Abs(share-0.45) > 0.05 {
		t.Errorf("mixed GET share %.3f, want about 0.45", share)
	}
	puts, dels := opOf(t, res, "PUT").Ops, opOf(t, res, "DELETE").Ops
	if res.Cleanup.Deleted != 100+int(puts-dels) {
		t.Errorf("mixed cleanup deleted %d; 100 uploaded + %d PUT - %d DELETE", res.Cleanup.Deleted, puts, dels)
	}
	if g := opOf(t, res, "GET"); g.Bytes != g.Ops*300 {
		t.Errorf("GET bytes %d for %d ops", g.Bytes, g.Ops)
	}
}

func TestRunKeepsAnExistingBucketAndOthersObjects(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	if err := m.CreateBucket(ctx, "mine"); err != nil {
		t.Fatal(err)
	}
	if err := m.PutObject(ctx, "mine", "photo.jpg", BytesBody([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, m, Profile{Op: OpMixed, Size: 10, Concurrency: 4, Objects: 20})
	cfg.Bucket = "mine"
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if k := m.Keys("mine"); len(k) != 1 || k[0] != "photo.jpg" {
		t.Fatalf("bucket holds %v, want only photo.jpg", k)
	}
	// A named bucket that does not exist is created and removed.
	cfg.Bucket = "fresh-one"
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if b := m.Buckets(); len(b) != 1 || b[0] != "mine" {
		t.Fatalf("buckets %v, want [mine]", b)
	}
}

func TestRunCountsErrorsByCode(t *testing.T) {
	m := NewMemory()
	var gets, injected atomic.Int64
	m.Fail = func(op, _, _ string) error {
		if op == "GetObject" && gets.Add(1)%3 == 0 {
			injected.Add(1)
			return &S3Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: "injected"}
		}
		return nil
	}
	cfg := testConfig(t, m, Profile{Op: OpGet, Size: 100, Concurrency: 4, Objects: 10})
	rep, err := Run(context.Background(), cfg)
	var rate *ErrorRateError
	if !errors.As(err, &rate) || rate.Profile != "get-100B" {
		t.Fatalf("Run error %v, want an *ErrorRateError for get-100B", err)
	}
	g := opOf(t, rep.Profiles[0], "GET")
	if g.Errors == 0 || g.Errors != injected.Load() || g.ErrorCodes["InternalError"] != g.Errors || g.Ops+g.Errors != gets.Load() {
		t.Fatalf("GET %+v; injected %d of %d", g, injected.Load(), gets.Load())
	}
	if !strings.Contains(g.LastError, "injected") || g.Bytes != g.Ops*100 {
		t.Fatalf("GET %+v", g)
	}
	// A third failing is under a 50 % limit.
	cfg.MaxErrors = 0.5
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatalf("with max errors 0.5: %v", err)
	}
}

// wrongSizes delivers one byte short on every GET and reports a wrong
// size on HEAD.
type wrongSizes struct{ *Memory }

func (w wrongSizes) GetObject(ctx context.Context, b, k string, buf []byte) (int64, error) {
	n, err := w.Memory.GetObject(ctx, b, k, buf)
	return n - 1, err
}

func (w wrongSizes) HeadObject(ctx context.Context, b, k string) (int64, error) {
	n, err := w.Memory.HeadObject(ctx, b, k)
	return n + 1, err
}

func TestRunChecksSizes(t *testing.T) {
	cfg := testConfig(t, wrongSizes{NewMemory()}, Profile{Op: OpMixed, Size: 100, Concurrency: 2, Objects: 10})
	cfg.Mix = Mix{Get: 1, Stat: 1}
	rep, err := Run(context.Background(), cfg)
	if err == nil {
		t.Fatal("wrong sizes passed")
	}
	g, s := opOf(t, rep.Profiles[0], "GET"), opOf(t, rep.Profiles[0], "STAT")
	if g.Ops != 0 || g.Errors == 0 || g.ErrorCodes["ShortRead"] != g.Errors {
		t.Errorf("GET %+v, want every one a ShortRead", g)
	}
	if s.Ops != 0 || s.Errors == 0 || s.ErrorCodes["SizeMismatch"] != s.Errors {
		t.Errorf("STAT %+v, want every one a SizeMismatch", s)
	}
}

// dropsAKey loses one key from the first page of every other listing
// with pages of onlyPages keys (0: all listings).
type dropsAKey struct {
	*Memory
	onlyPages int
	n         atomic.Int64
}

func (d *dropsAKey) ListObjects(ctx context.Context, b, prefix, token string, max int) (ListPage, error) {
	p, err := d.Memory.ListObjects(ctx, b, prefix, token, max)
	if err == nil && token == "" && len(p.Keys) > 1 && (d.onlyPages == 0 || max == d.onlyPages) && d.n.Add(1)%2 == 0 {
		p.Keys = p.Keys[1:]
	}
	return p, err
}

func TestRunDetectsIncompleteListings(t *testing.T) {
	cfg := testConfig(t, &dropsAKey{Memory: NewMemory(), onlyPages: 10}, Profile{Op: OpList, Size: 1, Concurrency: 1, Objects: 30})
	cfg.ListMaxKeys = 10
	cfg.MaxErrors = 1
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := opOf(t, rep.Profiles[0], "LIST")
	// Every pass is 3 pages; every second pass is short one key.
	if l.ErrorCodes["ListMismatch"] == 0 || l.Errors != l.ErrorCodes["ListMismatch"] {
		t.Fatalf("LIST %+v, want ListMismatch errors", l)
	}
	if passes := (l.Ops + l.Errors) / 3; l.Errors < passes/2-1 || l.Errors > passes/2+1 {
		t.Fatalf("%d mismatches in %d passes, want every second pass", l.Errors, passes)
	}
}

func TestLeftoversFailTheRun(t *testing.T) {
	d := &hidesAKey{Memory: NewMemory()}
	_, err := Run(context.Background(), testConfig(t, d, Profile{Op: OpGet, Size: 1, Concurrency: 1, Objects: 5}))
	var s3e *S3Error
	if !errors.As(err, &s3e) || s3e.Code != "BucketNotEmpty" {
		t.Fatalf("Run = %v, want removing the bucket to fail on the leftover object", err)
	}
}

// hidesAKey never lists its first key.
type hidesAKey struct{ *Memory }

func (h *hidesAKey) ListObjects(ctx context.Context, b, prefix, token string, max int) (ListPage, error) {
	p, err := h.Memory.ListObjects(ctx, b, prefix, token, max)
	if err == nil && token == "" && len(p.Keys) > 0 && strings.HasSuffix(p.Keys[0], "obj000000") {
		p.Keys = p.Keys[1:]
	}
	return p, err
}

// slowClient takes at least d per request.
type slowClient struct {
	*Memory
	d time.Duration
}

func (s slowClient) PutObject(ctx context.Context, b, k string, body Body) error {
	time.Sleep(s.d)
	return s.Memory.PutObject(ctx, b, k, body)
}

func TestRatesAreSumsOfWorkerRates(t *testing.T) {
	const per, conc = 10 * time.Millisecond, 4
	cfg := testConfig(t, slowClient{NewMemory(), per}, Profile{Op: OpPut, Size: 1 << 20, Concurrency: conc})
	cfg.Duration = 300 * time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := opOf(t, rep.Profiles[0], "PUT")
	ceiling := float64(conc) * float64(time.Second/per)
	// A loaded machine only makes requests slower, never faster.
	if p.OpsPerSec > ceiling*1.01 || p.OpsPerSec < ceiling/4 {
		t.Fatalf("%.1f ops/s, want at most %.0f (and not far below)", p.OpsPerSec, ceiling)
	}
	if math.Abs(p.MiBPerSec-p.OpsPerSec) > 0.01*p.OpsPerSec {
		t.Fatalf("1 MiB objects: %.2f MiB/s vs %.2f ops/s", p.MiBPerSec, p.OpsPerSec)
	}
	if p.LatencyMS.P50 < 10 || p.LatencyMS.Max < p.LatencyMS.P99 || p.LatencyMS.P99 < p.LatencyMS.P50 {
		t.Fatalf("latency %+v, want p50 ≥ 10 ms and ordered percentiles", p.LatencyMS)
	}
	if rep.Profiles[0].ElapsedS < 0.3 {
		t.Fatalf("elapsed %.3fs shorter than the duration", rep.Profiles[0].ElapsedS)
	}
}

func TestInterruptStillCleansUp(t *testing.T) {
	m := NewMemory()
	cfg := testConfig(t, slowClient{m, time.Millisecond}, Profile{Op: OpPut, Size: 10, Concurrency: 4})
	cfg.Duration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	m.Fail = func(op, _, _ string) error {
		if op == "PutObject" && m.Calls("PutObject") > 50 {
			once.Do(cancel)
		}
		return nil
	}
	done := make(chan struct{})
	var rep *Report
	var err error
	go func() { rep, err = Run(ctx, cfg); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not stop after cancel")
	}
	if !errors.Is(err, context.Canceled) || !rep.Interrupted {
		t.Fatalf("Run = %v, interrupted %v; want context.Canceled", err, rep.Interrupted)
	}
	if rep.Profiles[0].Cleanup.Deleted < 50 {
		t.Fatalf("cleanup deleted %d, want the 50+ objects put", rep.Profiles[0].Cleanup.Deleted)
	}
	if b := m.Buckets(); len(b) != 0 {
		t.Fatalf("buckets left: %v", b)
	}
}

func TestCleanupFallsBackToSingleDeletes(t *testing.T) {
	m := NewMemory()
	m.Fail = func(op, _, _ string) error {
		if op == "DeleteObjects" {
			return &S3Error{Status: http.StatusNotImplemented, Code: "NotImplemented"}
		}
		return nil
	}
	rep, err := Run(context.Background(), testConfig(t, m, Profile{Op: OpGet, Size: 1, Concurrency: 2, Objects: 1500}))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Profiles[0].Cleanup.Deleted != 1500 || m.Calls("DeleteObject") != 1500 || len(m.Buckets()) != 0 {
		t.Fatalf("cleanup %+v, %d single deletes, buckets %v", rep.Profiles[0].Cleanup, m.Calls("DeleteObject"), m.Buckets())
	}
}

func TestUploadFailureStopsTheRunAndCleansUp(t *testing.T) {
	m := NewMemory()
	m.Fail = func(op, _, key string) error {
		if op == "PutObject" && strings.HasSuffix(key, "obj000007") {
			return &S3Error{Status: http.StatusServiceUnavailable, Code: "SlowDown"}
		}
		return nil
	}
	rep, err := Run(context.Background(), testConfig(t, m,
		Profile{Op: OpGet, Size: 1, Concurrency: 2, Objects: 20}, Profile{Op: OpPut, Size: 1, Concurrency: 1}))
	var s3e *S3Error
	if !errors.As(err, &s3e) || s3e.Code != "SlowDown" {
		t.Fatalf("Run = %v, want the SlowDown of the upload", err)
	}
	if len(rep.Profiles) != 1 || !strings.Contains(rep.Profiles[0].Error, "obj000007") || len(m.Buckets()) != 0 {
		t.Fatalf("profiles %+v, buckets %v", rep.Profiles, m.Buckets())
	}
}

func TestErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&S3Error{Status: 503, Code: "SlowDown"}, "SlowDown"},
		{&S3Error{Status: 404}, "HTTP 404"},
		{fmt.Errorf("wrapped: %w", &S3Error{Status: 500, Code: "InternalError"}), "InternalError"},
		{&SizeError{Op: "GET", Got: 1, Want: 2}, "ShortRead"},
		{&SizeError{Op: "GET", Got: 3, Want: 2}, "SizeMismatch"},
		{&SizeError{Op: "HEAD", Got: 1, Want: 2}, "SizeMismatch"},
		{fmt.Errorf("x: %w", ErrListMismatch), "ListMismatch"},
		{context.DeadlineExceeded, "Timeout"},
		{errors.New("something"), "NetworkError"},
	} {
		if got := ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
