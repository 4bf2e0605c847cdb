package kms

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/sirupsen/logrus"
)

var bg = context.Background()

// testMaster returns a deterministic master key; seed tells keys apart.
func testMaster(seed byte) []byte {
	k := make([]byte, MasterKeySize)
	for i := range k {
		k[i] = seed ^ byte(i*7+1)
	}
	return k
}

// newKV returns an empty in-process KV.
func newKV(t testing.TB) *meta.Local {
	t.Helper()
	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	return kv
}

// logBuffer collects log output (to check it never holds key material)
// and passes it on to t.Log.
type logBuffer struct {
	t  testing.TB
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	l.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type node struct {
	*KMS
	logs  *logBuffer
	clock *clock
}

// newNode returns a KMS over kv with master key seed.
func newNode(t testing.TB, kv meta.KV, seed byte, opts ...func(*Config)) node {
	t.Helper()
	logs := &logBuffer{t: t}
	l := logrus.New()
	l.SetOutput(logs)
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg := DefaultConfig()
	cfg.MasterKey = testMaster(seed)
	cfg.Now = clk.Now
	cfg.Log = logrus.NewEntry(l)
	for _, o := range opts {
		o(&cfg)
	}
	k, err := New(cfg, kv)
	if err != nil {
		t.Fatal(err)
	}
	return node{KMS: k, logs: logs, clock: clk}
}
