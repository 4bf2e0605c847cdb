package drive

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

type localWriter struct {
	l  *Local
	id string

	mu    sync.Mutex
	f     *os.File  // nil once closed
	out   shardFile // writes f, directly once the shard is large
	tmp   string    // temp file name
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
	n, err := w.out.Write(p)
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
	w.out.release()
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
	if err := w.out.finish(); err != nil {
		return l.fail("commit", w.id, err)
	}
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
	fan := fanIndex(w.id)
	for attempt := 0; ; attempt++ {
		err := l.ensureFan(fan)
		var created []string
		if err == nil {
			created, err = l.mkdirChunks(parent)
		}
		if err == nil {
			err = os.Rename(tmp, final)
		}
		if err == nil {
			// The rename is durable once its directory is synced; the
			// entries of chunk directories made for a long id too.
			for i, c := range created {
				if i == 0 || filepath.Dir(c) != filepath.Dir(created[i-1]) {
					if err := syncDir(filepath.Dir(c)); err != nil {
						return l.fail("commit", w.id, err)
					}
				}
			}
			if err := l.dirSync.sync(parent); err != nil {
				return l.fail("commit", w.id, err)
			}
			return nil
		}
		var errno syscall.Errno
		errors.As(err, &errno)
		if errno == syscall.ENOENT {
			// A concurrent Delete pruned a chunk directory we had just
			// made, the fan-out directory went with an emptied folder, or
			// the temp file itself is gone (the folder was emptied).
			if _, serr := os.Lstat(tmp); serr == nil && attempt < 10 {
				l.fans[fan].Store(false)
				continue
			}
		}
		return l.fail("commit", w.id, err)
	}
}

// mkdirChunks creates the chunk directories of a long id's path down to
// dir (nothing for a short id: its fan-out directory exists) and returns
// those it created, deepest first; their parents need an fsync.
func (l *Local) mkdirChunks(dir string) ([]string, error) {
	var missing []string
	for d := dir; filepath.Base(d)[0] == chunkDir; d = filepath.Dir(d) {
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
