package drive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"

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

// TestLocalCommitRacesPruning: a Delete pruning an empty directory while a
// Commit creates a shard below it must never lose the commit.
func TestLocalCommitRacesPruning(t *testing.T) {
	l, err := newTestLocal(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		for i := range 100 {
			id := fmt.Sprintf("p/q/del-%d", i)
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
		id := fmt.Sprintf("p/q/keep-%d", i)
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
	if _, err := os.Stat(l.shardsDir); err != nil {
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
