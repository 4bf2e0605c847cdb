package drive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// TestLocalErrorMapping checks the OS error -> sentinel table, and that the
// cause stays reachable through the wrapping.
func TestLocalErrorMapping(t *testing.T) {
	tests := []struct {
		errno       syscall.Errno
		want        error
		wantOffline bool
	}{
		{syscall.ENOENT, ErrShardNotFound, false},
		{syscall.ENOTDIR, ErrShardNotFound, false},
		{syscall.ENOSPC, ErrDiskFull, false},
		{syscall.EDQUOT, ErrDiskFull, false},
		{syscall.EIO, ErrOffline, true},
		{syscall.EACCES, ErrOffline, true},
		{syscall.EROFS, ErrOffline, true},
		{syscall.EPERM, ErrOffline, true},
	}
	for _, tc := range tests {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			l, err := newTestLocal(t)
			if err != nil {
				t.Fatal(err)
			}
			cause := &fs.PathError{Op: "open", Path: "/x", Err: tc.errno}
			got := l.fail("open", "x", cause)
			if !errors.Is(got, tc.want) || !errors.Is(got, tc.errno) {
				t.Fatalf("fail(%v) = %v, want %v wrapping the cause", tc.errno, got, tc.want)
			}
			if online := l.online.Load(); online == tc.wantOffline {
				t.Fatalf("online = %v after %v", online, tc.errno)
			}
		})
	}
	t.Run("other", func(t *testing.T) {
		l, _ := newTestLocal(t)
		got := l.fail("open", "x", fmt.Errorf("weird: %w", syscall.EINVAL))
		for _, s := range []error{ErrShardNotFound, ErrOffline, ErrDiskFull} {
			if errors.Is(got, s) {
				t.Fatalf("%v maps to %v", got, s)
			}
		}
		if !errors.Is(got, syscall.EINVAL) {
			t.Fatalf("cause lost: %v", got)
		}
	})
}

// TestLocalCommitRacesPruning: a Delete pruning an empty chunk directory of
// a long id while a Commit creates a shard below it must never lose the
// commit.
func TestLocalCommitRacesPruning(t *testing.T) {
	longPrefix := strings.Repeat("p", 250)
	l, err := newTestLocal(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		for i := range 100 {
			id := fmt.Sprintf("%s/del-%d", longPrefix, i)
			w, err := l.Create(ctx, id)
			if err == nil {
				err = w.Commit()
			}
			if err == nil {
				err = l.Delete(ctx, id)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range 100 {
		id := fmt.Sprintf("%s/keep-%d", longPrefix, i)
		w, err := l.Create(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatalf("commit %s: %v", id, err)
		}
		if err := l.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(l.dataDir); err != nil {
		t.Fatal(err)
	}
}

// newTestLocal opens a Local in a temp dir, logging to the test.
func newTestLocal(t *testing.T) (*Local, error) {
	cfg := DefaultLocalConfig()
	cfg.ID, cfg.Root = "d", t.TempDir()
	cfg.Logger = logrus.NewEntry(logrus.New())
	cfg.Logger.Logger.SetOutput(testWriter{t})
	return NewLocal(cfg)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// Commits renaming into one fan-out directory while its fsync runs share
// the next one: n concurrent commits cost two directory syncs, and each
// commit returns only after a sync that started after its rename.
func TestLocalCommitsShareDirSync(t *testing.T) {
	l, err := newTestLocal(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ids []string
	for i := 0; len(ids) < 17; i++ {
		if id := fmt.Sprintf("x/%d", i); fanDir(id) == "00" {
			ids = append(ids, id)
		}
	}
	// A first commit makes fan-out directory 00 (made on first use), so
	// the sync held below is one of 00 itself.
	if err := commitShard(ctx, l, ids[0]); err != nil {
		t.Fatal(err)
	}
	ids = ids[1:]
	first := make(chan struct{})
	var once sync.Once
	l.dirSync.syncDir = func(dir string) error {
		once.Do(func() {
			close(first)
			// Hold the first sync until every other commit has renamed
			// and joined the next round.
			for l.dirSync.joined.Load() < int64(len(ids)-1) {
				time.Sleep(time.Millisecond)
			}
		})
		return syncDir(dir)
	}
	commit := func(id string) error { return commitShard(ctx, l, id) }
	errs := make(chan error, len(ids))
	go func() { errs <- commit(ids[0]) }()
	<-first
	before := l.dirSync.syncs.Load()
	for _, id := range ids[1:] {
		go func() { errs <- commit(id) }()
	}
	for range ids {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := l.dirSync.syncs.Load() - before; got != 1 {
		t.Fatalf("%d commits joining a running sync cost %d more syncs; want 1", len(ids)-1, got)
	}
}

// commitShard writes id (holding its own name) and commits it.
func commitShard(ctx context.Context, l *Local, id string) error {
	w, err := l.Create(ctx, id)
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(id)); err != nil {
		return err
	}
	return w.Commit()
}
