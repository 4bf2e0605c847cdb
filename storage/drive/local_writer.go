package drive

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

type localWriter struct {
	l  *Local
	id string

	mu    sync.Mutex
	f     *os.File // nil once closed
	tmp   string   // temp file name
	state writerState
	err   error // first write error; Commit refuses to publish after it
}

func (w *localWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err, ok := w.state.closedErr(false); !ok {
		return 0, err
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	if err != nil {
		w.err = w.l.fail("write", w.id, err)
		return n, w.err
	}
	return n, nil
}

func (w *localWriter) Commit() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err, ok := w.state.closedErr(true); !ok {
		return err
	}
	err := w.err
	if err == nil {
		err = w.commit()
	}
	if err != nil {
		w.discard()
		return err
	}
	w.state = writerCommitted
	return nil
}

func (w *localWriter) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == writerOpen {
		w.discard()
	}
	return nil
}

// discard closes and removes the temp file; the writer ends aborted.
func (w *localWriter) discard() {
	w.state = writerAborted
	if w.f != nil {
		w.f.Close()
	}
	_ = os.Remove(w.tmp)
	w.f = nil
}

func (w *localWriter) commit() error {
	l := w.l
	if err := l.ready(); err != nil {
		return err
	}
	tmp := w.tmp
	if err := w.f.Sync(); err != nil {
		return l.fail("commit", w.id, err)
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return l.fail("commit", w.id, err)
	}
	final := l.shardPath(w.id)
	parent := filepath.Dir(final)
	for attempt := 0; ; attempt++ {
		created, err := l.mkdirParents(parent)
		if err == nil {
			err = os.Rename(tmp, final)
		}
		if err == nil {
			return l.syncDirs(parent, created)
		}
		var errno syscall.Errno
		errors.As(err, &errno)
		switch errno {
		case syscall.ENOENT:
			// A concurrent Delete pruned a directory we had just made, or the
			// temp file itself is gone (the folder was emptied).
			if _, serr := os.Lstat(tmp); serr == nil && attempt < 10 {
				continue
			}
		case syscall.ENOTDIR, syscall.EISDIR, syscall.EEXIST, syscall.ENOTEMPTY:
			if l.healthy() == nil {
				return fmt.Errorf("%w: %q conflicts with an existing shard path: %w", ErrInvalidID, w.id, err)
			}
		}
		return l.fail("commit", w.id, err)
	}
}

// mkdirParents creates dir and any missing ancestors below shards/ and
// returns the directories it found missing (deepest first), whose parents
// need an fsync for the new entries to be durable.
func (l *Local) mkdirParents(dir string) ([]string, error) {
	var missing []string
	for d := dir; d != l.shardsDir && len(d) > len(l.shardsDir); d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	if len(missing) == 0 {
		return nil, nil
	}
	return missing, os.MkdirAll(dir, 0o755)
}

// syncDirs makes a rename into parent durable, plus the entries of any
// directories created for it.
func (l *Local) syncDirs(parent string, created []string) error {
	dirs := []string{parent}
	for _, c := range created {
		dirs = append(dirs, filepath.Dir(c))
	}
	for i, d := range dirs {
		if i > 0 && d == dirs[i-1] {
			continue
		}
		if err := syncDir(d); err != nil {
			return l.fail("commit", "", err)
		}
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if errors.Is(err, syscall.EINVAL) { // filesystems that cannot sync directories
		err = nil
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
