package drive_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
	"github.com/sirupsen/logrus"
)

// fakeClock is an injectable clock tests advance by hand, so probe intervals
// and cooldowns are tested without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testLog routes log lines to tb.Log until the test ends (later lines, from
// work the test left running, are dropped rather than panic).
func testLog(tb testing.TB) *logrus.Entry {
	w := &tbWriter{tb: tb}
	tb.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	l := logrus.New()
	l.SetOutput(w)
	l.SetLevel(logrus.DebugLevel)
	return logrus.NewEntry(l)
}

type tbWriter struct {
	tb   testing.TB
	mu   sync.Mutex
	done bool
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.tb.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// localConfig is the default configuration for a drive at root, logging to
// the test.
func localConfig(tb testing.TB, id, root string) drive.LocalConfig {
	cfg := drive.DefaultLocalConfig()
	cfg.ID, cfg.Root, cfg.Logger = id, root, testLog(tb)
	return cfg
}

// openLocal opens a Local with the default configuration.
func openLocal(tb testing.TB, id, root string) *drive.Local {
	tb.Helper()
	l, err := drive.NewLocal(localConfig(tb, id, root))
	if err != nil {
		tb.Fatal(err)
	}
	return l
}
