package iam

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/sirupsen/logrus"
)

// testClock is an injected clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingKV counts the Txns that reach the KV.
type countingKV struct {
	meta.KV
	txns atomic.Int64
}

func (c *countingKV) Txn(ctx context.Context, t meta.Txn) (uint64, error) {
	c.txns.Add(1)
	return c.KV.Txn(ctx, t)
}

var testSealKey = bytes.Repeat([]byte{0x42}, 32)

func testConfig(t testing.TB, clk *testClock) Config {
	cfg := DefaultConfig()
	cfg.Now = clk.Now
	cfg.Root = RootCredentials{AccessKeyID: "rootkey", SecretAccessKey: "rootsecret-0123456789"}
	cfg.Password = PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}
	cfg.LastUsedFlushInterval = time.Hour // tests flush by hand
	cfg.SessionSweepInterval = 0
	l := logrus.New()
	l.SetOutput(testWriter{t})
	l.SetLevel(logrus.DebugLevel)
	cfg.Log = logrus.NewEntry(l)
	return cfg
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func openLocal(t testing.TB) *meta.Local {
	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	return kv
}

func testSealer(t testing.TB) *StaticSealer {
	s, err := NewStaticSealer(testSealKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newServiceOn(t testing.TB, kv meta.KV, cfg Config) *Service {
	s, err := New(context.Background(), cfg, kv, testSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newTestService is a Service over a fresh in-process KV.
func newTestService(t testing.TB) (*Service, *testClock, meta.KV) {
	clk := newClock()
	kv := openLocal(t)
	return newServiceOn(t, kv, testConfig(t, clk)), clk, kv
}

func wantKind(t testing.TB, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v; want %v", err, kind)
	}
	if kind != nil {
		var e *Error
		if !errors.As(err, &e) || e.Message == "" {
			t.Fatalf("err = %#v; want an *Error with a message", err)
		}
	}
}

func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newUserWithKey creates a user and an access key for it.
func newUserWithKey(t testing.TB, s *Service, name string) AccessKey {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, CreateUserInput{Name: name}); err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateAccessKey(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const allowAllS3 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
