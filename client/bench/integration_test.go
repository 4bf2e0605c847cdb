package bench_test

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/client/bench"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/sirupsen/logrus"
)

// server is the real S3 API (s3test: storage engine on memory drives,
// SigV4 verification) behind a proxy handler that records what the load
// generator sends and injects faults into object GETs.
type server struct {
	env   *s3test.Env
	plain *httptest.Server
	tls   *httptest.Server
	sdk   *s3.Client // path-style over plain HTTP, for checking state

	// failEvery makes every n-th object GET a 500 InternalError;
	// shortEvery makes it deliver half its body (then the connection drops).
	failEvery, shortEvery int64
	gets, failed, short   atomic.Int64
	puts                  atomic.Int64

	mu      sync.Mutex
	hashes  map[string]int // x-amz-content-sha256 of object PUTs: "signed", "unsigned" or the raw value
	xChecks int            // object PUTs carrying an x-amz-checksum-* or aws-chunked body
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{env: s3test.New(t, s3test.WithLogLevel(logrus.WarnLevel)), hashes: map[string]int{}}
	s.plain = httptest.NewServer(s)
	s.tls = httptest.NewUnstartedServer(s)
	s.tls.Config.ErrorLog = log.New(io.Discard, "", 0) // TestTLSTrust's refused handshakes
	s.tls.StartTLS()
	t.Cleanup(s.plain.Close)
	t.Cleanup(s.tls.Close)
	s.sdk = s3.NewFromConfig(s.env.AWSConfig(), func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(s.plain.URL), true
		o.HTTPClient = http.DefaultClient
	})
	return s
}

func isObject(r *http.Request) bool {
	return strings.Contains(strings.Trim(r.URL.Path, "/"), "/")
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPut && isObject(r):
		s.puts.Add(1)
		h := r.Header.Get("X-Amz-Content-Sha256")
		label := h
		if sha256Hex.MatchString(h) {
			label = "signed"
		} else if h == "UNSIGNED-PAYLOAD" {
			label = "unsigned"
		}
		s.mu.Lock()
		s.hashes[label]++
		for k := range r.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") || strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
				s.xChecks++
			}
		}
		s.mu.Unlock()
	case r.Method == http.MethodGet && isObject(r):
		n := s.gets.Add(1)
		if s.failEvery > 0 && n%s.failEvery == 0 {
			s.failed.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected</Message><RequestId>1</RequestId></Error>`))
			return
		}
		if s.shortEvery > 0 && n%s.shortEvery == 0 {
			s.short.Add(1)
			w = &halfBody{ResponseWriter: w}
		}
	}
	s.env.Plain.Config.Handler.ServeHTTP(w, r)
}

// halfBody passes on only the first half of the declared body.
type halfBody struct {
	http.ResponseWriter
	limit, n int64
}

func (h *halfBody) WriteHeader(code int) {
	cl, _ := strconv.ParseInt(h.Header().Get("Content-Length"), 10, 64)
	h.limit = cl / 2
	h.ResponseWriter.WriteHeader(code)
}

func (h *halfBody) Write(p []byte) (int, error) {
	if rest := h.limit - h.n; int64(len(p)) > rest {
		if rest > 0 {
			_, _ = h.ResponseWriter.Write(p[:rest])
			h.n += rest
		}
		return len(p), nil
	}
	h.n += int64(len(p))
	return h.ResponseWriter.Write(p)
}

func (s *server) config(t *testing.T, url string, profiles ...bench.Profile) bench.Config {
	t.Helper()
	c := bench.DefaultConfig()
	c.Endpoint, c.AccessKey, c.SecretKey = url, s.env.AccessKey, s.env.SecretKey
	c.Region, c.Duration, c.Profiles = s3test.Region, time.Second, profiles
	l := logrus.New()
	l.SetOutput(logWriter{t})
	c.Log = logrus.NewEntry(l)
	return c
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// bucketsLeft are the buckets on the server.
func (s *server) bucketsLeft(t *testing.T) []string {
	t.Helper()
	out, err := s.sdk.ListBuckets(t.Context(), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range out.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	return names
}

func opOf(t *testing.T, p bench.ProfileResult, name string) bench.OpResult {
	t.Helper()
	for _, o := range p.Ops {
		if o.Op == name {
			return o
		}
	}
	t.Fatalf("profile %s has no %s row: %+v", p.Name, name, p.Ops)
	return bench.OpResult{}
}

// checkClean asserts a profile had no errors and counted bytes right.
func checkClean(t *testing.T, p bench.ProfileResult) {
	t.Helper()
	if p.Total.Ops == 0 || p.Total.Errors != 0 || p.Error != "" {
		t.Errorf("%s: %d ok, %d errors %v (%s) %s", p.Name, p.Total.Ops, p.Total.Errors, p.Total.ErrorCodes, p.Total.LastError, p.Error)
	}
	for _, o := range p.Ops {
		want := o.Ops * p.Size
		if o.Op == "STAT" || o.Op == "DELETE" || o.Op == "LIST" {
			want = 0
		}
		if o.Bytes != want {
			t.Errorf("%s %s: %d bytes for %d ops of %d", p.Name, o.Op, o.Bytes, o.Ops, p.Size)
		}
	}
}

func TestEachLoadAgainstTheS3API(t *testing.T) {
	s := newServer(t)
	cfg := s.config(t, s.plain.URL,
		bench.Profile{Op: bench.OpPut, Size: 8 << 10, Concurrency: 4},
		bench.Profile{Op: bench.OpGet, Size: 100 << 10, Concurrency: 4, Objects: 20},
		bench.Profile{Op: bench.OpPut, Size: 0, Concurrency: 2, Duration: 300 * time.Millisecond},
		bench.Profile{Op: bench.OpGet, Size: 20<<20 + 5, Concurrency: 2, Objects: 2, Duration: 500 * time.Millisecond},
		bench.Profile{Op: bench.OpMixed, Size: 8 << 10, Concurrency: 4, Objects: 30},
		bench.Profile{Op: bench.OpList, Size: 10, Concurrency: 2, Objects: 250},
	)
	cfg.ListMaxKeys = 100
	rep, err := bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Profiles {
		checkClean(t, p)
	}
	var gets, puts int64
	for _, p := range rep.Profiles {
		for _, o := range p.Ops {
			switch o.Op {
			case "GET":
				gets += o.Ops
			case "PUT":
				puts += o.Ops
			}
		}
		puts += int64(p.Objects) // the uploads before get, mixed and list
	}
	if gets != s.gets.Load() || puts != s.puts.Load() {
		t.Errorf("reported %d GETs and %d PUTs, the server saw %d and %d", gets, puts, s.gets.Load(), s.puts.Load())
	}
	l := opOf(t, rep.Profiles[5], "LIST")
	if l.Objects < l.Ops/3*250 || l.Objects > (l.Ops/3+1)*250 {
		t.Errorf("LIST %d pages returned %d keys; 250 keys are 3 pages", l.Ops, l.Objects)
	}
	if s.hashes["signed"] == 0 || len(s.hashes) != 1 || s.xChecks != 0 {
		t.Errorf("payload hashes %v, %d with checksums; want only signed SHA-256, no checksums", s.hashes, s.xChecks)
	}
	if b := s.bucketsLeft(t); len(b) != 0 {
		t.Fatalf("buckets left: %v", b)
	}
}

func TestClientsAndPayloadModes(t *testing.T) {
	s := newServer(t)
	for _, client := range []bench.ClientKind{bench.ClientHTTP, bench.ClientSDK} {
		for _, mode := range []bench.PayloadMode{bench.PayloadSigned, bench.PayloadUnsigned} {
			for _, url := range []string{s.plain.URL, s.tls.URL} {
				name := string(client) + "/" + string(mode) + "/" + url[:strings.Index(url, ":")]
				t.Run(name, func(t *testing.T) {
					s.mu.Lock()
					clear(s.hashes)
					s.mu.Unlock()
					cfg := s.config(t, url,
						bench.Profile{Op: bench.OpPut, Size: 70 << 10, Concurrency: 2},
						bench.Profile{Op: bench.OpMixed, Size: 5 << 10, Concurrency: 2, Objects: 10})
					cfg.Client, cfg.Payload, cfg.Duration, cfg.Insecure = client, mode, 300*time.Millisecond, true
					rep, err := bench.Run(t.Context(), cfg)
					if err != nil {
						t.Fatal(err)
					}
					for _, p := range rep.Profiles {
						checkClean(t, p)
					}
					s.mu.Lock()
					defer s.mu.Unlock()
					if s.hashes[string(mode)] == 0 || len(s.hashes) != 1 || s.xChecks != 0 {
						t.Errorf("payload hashes %v, %d with checksums; want only %s, no checksums", s.hashes, s.xChecks, mode)
					}
				})
			}
		}
	}
	if b := s.bucketsLeft(t); len(b) != 0 {
		t.Fatalf("buckets left: %v", b)
	}
}

func TestServerFaultsAreCounted(t *testing.T) {
	s := newServer(t)
	s.failEvery, s.shortEvery = 5, 7
	cfg := s.config(t, s.plain.URL, bench.Profile{Op: bench.OpGet, Size: 64 << 10, Concurrency: 4, Objects: 10})
	rep, err := bench.Run(t.Context(), cfg)
	var rate *bench.ErrorRateError
	if !errors.As(err, &rate) {
		t.Fatalf("Run = %v, want an *ErrorRateError with --max-errors 0", err)
	}
	g := opOf(t, rep.Profiles[0], "GET")
	if g.ErrorCodes["InternalError"] != s.failed.Load() || g.ErrorCodes["ShortRead"] != s.short.Load() || len(g.ErrorCodes) != 2 {
		t.Errorf("error codes %v; injected %d InternalError, %d short bodies", g.ErrorCodes, s.failed.Load(), s.short.Load())
	}
	if g.Ops+g.Errors != s.gets.Load() || g.Bytes != g.Ops*(64<<10) || g.Ops == 0 {
		t.Errorf("GET %d ok + %d errors, %d bytes; the server saw %d GETs", g.Ops, g.Errors, g.Bytes, s.gets.Load())
	}
	cfg.MaxErrors = 0.5
	if _, err := bench.Run(t.Context(), cfg); err != nil {
		t.Errorf("with max errors 0.5: %v", err)
	}
	if b := s.bucketsLeft(t); len(b) != 0 {
		t.Fatalf("buckets left: %v", b)
	}
}

func TestInterruptedRunCleansUpTheServer(t *testing.T) {
	s := newServer(t)
	cfg := s.config(t, s.plain.URL, bench.Profile{Op: bench.OpPut, Size: 32 << 10, Concurrency: 4})
	cfg.Duration = 10 * time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	var rep *bench.Report
	var err error
	go func() { rep, err = bench.Run(ctx, cfg); close(done) }()
	for deadline := time.Now().Add(time.Minute); s.puts.Load() < 30; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d PUTs in a minute", s.puts.Load())
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("Run did not return after cancel")
	}
	if !errors.Is(err, context.Canceled) || rep == nil || !rep.Interrupted {
		t.Fatalf("Run = %v, report %+v", err, rep)
	}
	// The PUTs cut off by the interrupt may or may not have been stored.
	if p := rep.Profiles[0]; p.Cleanup.Deleted < 30-cfg.Profiles[0].Concurrency {
		t.Errorf("cleanup deleted %d objects after 30+ PUTs", p.Cleanup.Deleted)
	}
	if b := s.bucketsLeft(t); len(b) != 0 {
		t.Fatalf("buckets left after the interrupted run: %v", b)
	}
}

func TestExistingBucketIsKept(t *testing.T) {
	s := newServer(t)
	ctx := t.Context()
	if _, err := s.sdk.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mine")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mine"), Key: aws.String("notes.txt"),
		Body: strings.NewReader("keep me")}); err != nil {
		t.Fatal(err)
	}
	cfg := s.config(t, s.plain.URL, bench.Profile{Op: bench.OpMixed, Size: 1 << 10, Concurrency: 2, Objects: 10})
	cfg.Bucket, cfg.Duration = "mine", 300*time.Millisecond
	if _, err := bench.Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	out, err := s.sdk.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("mine")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "notes.txt" {
		t.Fatalf("bucket mine holds %d objects, want only notes.txt", len(out.Contents))
	}
}

func TestTLSTrust(t *testing.T) {
	s := newServer(t)
	pemFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.tls.Certificate().Raw})
	if err := os.WriteFile(pemFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(mod func(*bench.Config)) error {
		cfg := s.config(t, s.tls.URL, bench.Profile{Op: bench.OpPut, Size: 1 << 10, Concurrency: 1})
		cfg.Duration = 200 * time.Millisecond
		mod(&cfg)
		_, err := bench.Run(t.Context(), cfg)
		return err
	}
	if err := run(func(*bench.Config) {}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an untrusted certificate: %v, want a certificate error", err)
	}
	if err := run(func(c *bench.Config) { c.CACertFile = pemFile }); err != nil {
		t.Fatalf("with --ca-cert: %v", err)
	}
	if err := run(func(c *bench.Config) { c.Insecure = true }); err != nil {
		t.Fatalf("with --insecure: %v", err)
	}
	if err := run(func(c *bench.Config) { c.CACertFile = filepath.Join(t.TempDir(), "none.pem") }); err == nil {
		t.Fatal("a missing CA file was accepted")
	}
}

func TestWrongCredentialsFailFast(t *testing.T) {
	s := newServer(t)
	cfg := s.config(t, s.plain.URL, bench.Profile{Op: bench.OpPut, Size: 1, Concurrency: 1})
	cfg.SecretKey = "wrong"
	_, err := bench.Run(t.Context(), cfg)
	var s3e *bench.S3Error
	if !errors.As(err, &s3e) || s3e.Code != "SignatureDoesNotMatch" {
		t.Fatalf("Run with a wrong secret = %v, want SignatureDoesNotMatch", err)
	}
}

// TestEndpointsShareTheLoad: with several endpoints of one store, requests
// go to each in turn, and objects written through one read back through
// the others.
func TestEndpointsShareTheLoad(t *testing.T) {
	s := newServer(t)
	var counts [2]atomic.Int64
	urls := make([]string, 2)
	for i := range urls {
		h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			counts[i].Add(1)
			s.ServeHTTP(w, r)
		}))
		t.Cleanup(h.Close)
		urls[i] = h.URL
	}
	cfg := s.config(t, urls[0],
		bench.Profile{Op: bench.OpPut, Size: 4 << 10, Concurrency: 4, Duration: 300 * time.Millisecond},
		bench.Profile{Op: bench.OpGet, Size: 4 << 10, Concurrency: 4, Objects: 20, Duration: 300 * time.Millisecond})
	cfg.Endpoints = urls[1:]
	rep, err := bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Profiles {
		checkClean(t, p)
	}
	a, b := counts[0].Load(), counts[1].Load()
	if a < 10 || b < 10 || a > 2*b || b > 2*a {
		t.Fatalf("requests per endpoint %d and %d; want them shared", a, b)
	}
	if !strings.Contains(rep.Endpoint, urls[0]) || !strings.Contains(rep.Endpoint, urls[1]) {
		t.Errorf("report endpoint %q does not name both", rep.Endpoint)
	}
}
