package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/client"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/sirupsen/logrus"
)

// server is the real S3 API in-process behind a proxy that counts
// requests by operation and can refuse chosen ones.
type server struct {
	env *s3test.Env
	url string
	sdk *s3.Client

	mu     sync.Mutex
	counts map[string]int
	// fail, when set, answers a request with 500 instead of passing it on.
	fail func(r *http.Request) bool
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{env: s3test.New(t, s3test.WithLogLevel(logrus.WarnLevel)), counts: map[string]int{}}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	s.url = hs.URL
	s.sdk = s3.NewFromConfig(s.env.AWSConfig(), func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle, o.HTTPClient = aws.String(hs.URL), true, http.DefaultClient
	})
	return s
}

// op names a request roughly as S3 does, enough for counting.
func op(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "UploadPart"
	case r.Method == http.MethodGet && q.Has("uploadId"):
		return "ListParts"
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		return "CopyObject"
	}
	return r.Method
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts[op(r)]++
	fail := s.fail != nil && s.fail(r)
	s.mu.Unlock()
	if fail {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected</Message><RequestId>T1</RequestId></Error>`))
		return
	}
	s.env.Plain.Config.Handler.ServeHTTP(w, r)
}

func (s *server) count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

func (s *server) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.fail = nil
}

// cli is a client with alias "fs" pointing at the server; out and errs
// collect its stdout and stderr.
type cli struct {
	*client.Client
	out, errs *bytes.Buffer
	dir       string
}

func newCLI(t *testing.T, s *server, adjust ...func(*client.Config)) *cli {
	t.Helper()
	cfg := client.DefaultConfig()
	cfg.Dir = t.TempDir()
	out, errs := &bytes.Buffer{}, &bytes.Buffer{}
	cfg.Stdout, cfg.Stderr = out, errs
	cfg.PartSize, cfg.MultipartThreshold = client.MinPartSize, 2*client.MinPartSize
	for _, f := range adjust {
		f(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := client.Alias{Name: "fs", URL: s.url, Credentials: client.CredentialRef{Kind: client.KindStatic,
		AccessKey: s.env.AccessKey, SecretKey: s.env.SecretKey}}
	if err := c.Aliases().Set(a); err != nil {
		t.Fatal(err)
	}
	return &cli{Client: c, out: out, errs: errs, dir: cfg.Dir}
}

func (c *cli) take() string {
	s := c.out.String()
	c.out.Reset()
	return s
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func lines(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func mkBucket(t *testing.T, c *cli, name string) {
	t.Helper()
	must(t, c.Mb(context.Background(), "fs/"+name, client.MbOptions{}))
	c.take()
}
