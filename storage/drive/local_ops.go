package drive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func (l *Local) begin(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateID(id); err != nil {
		return err
	}
	return l.ready()
}

// Create implements ShardStore.
func (l *Local) Create(ctx context.Context, id string) (ShardWriter, error) {
	if err := l.begin(ctx, id); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(l.tmpDir, "shard-*")
	if err != nil {
		return nil, l.fail("create", id, err)
	}
	return &localWriter{l: l, id: id, f: f, out: shardFile{f: f, noDirect: &l.noDirect, flushes: &l.direct}, tmp: f.Name()}, nil
}

// Open implements ShardStore. The returned reader keeps reading the shard it
// opened even if the shard is overwritten or deleted meanwhile.
func (l *Local) Open(ctx context.Context, id string, off, length int64) (io.ReadCloser, error) {
	if err := l.begin(ctx, id); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("%w: offset %d", ErrInvalidRange, off)
	}
	f, err := os.Open(l.shardPath(id))
	if err != nil {
		return nil, l.fail("open", id, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, l.fail("open", id, err)
	}
	if !fi.Mode().IsRegular() { // not a shard (no shard path names a directory)
		f.Close()
		return nil, fmt.Errorf("%w: %s", ErrShardNotFound, id)
	}
	start, end := clampRange(fi.Size(), off, length)
	return &localReader{l: l, id: id, f: f, r: io.NewSectionReader(f, start, end-start)}, nil
}

type localReader struct {
	l  *Local
	id string
	f  *os.File
	r  *io.SectionReader
}

func (r *localReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = r.l.fail("read", r.id, err)
	}
	return n, err
}

func (r *localReader) Close() error { return r.f.Close() }

// Stat implements ShardStore.
func (l *Local) Stat(ctx context.Context, id string) (ShardInfo, error) {
	if err := l.begin(ctx, id); err != nil {
		return ShardInfo{}, err
	}
	fi, err := os.Lstat(l.shardPath(id))
	if err != nil {
		return ShardInfo{}, l.fail("stat", id, err)
	}
	if !fi.Mode().IsRegular() {
		return ShardInfo{}, fmt.Errorf("%w: %s", ErrShardNotFound, id)
	}
	return ShardInfo{ID: id, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete implements ShardStore. The chunk directories of a long id are
// removed when they become empty. The removal is not fsynced: a delete
// undone by a crash leaves an orphan that GC removes again.
func (l *Local) Delete(ctx context.Context, id string) error {
	if err := l.begin(ctx, id); err != nil {
		return err
	}
	p := l.shardPath(id)
	if err := os.Remove(p); err != nil {
		if ferr := l.fail("delete", id, err); !errors.Is(ferr, ErrShardNotFound) {
			return ferr
		}
		return nil
	}
	// Pruning races with a concurrent Commit below the same directory; the
	// commit side retries, and os.Remove never removes a non-empty directory.
	for d := filepath.Dir(p); chunked(id) && filepath.Base(d)[0] == chunkDir; d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// Info implements ShardStore. An offline drive is reported with Online=false
// and a nil error: Info is how callers learn the state.
func (l *Local) Info(ctx context.Context) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	info := Info{ID: l.cfg.ID, Path: l.root}
	if l.online.Load() {
		// A folder emptied under a running drive is found here, not only by
		// the next operation that fails, so Info's instance is never stale.
		if herr := l.healthy(); herr != nil {
			l.layoutGone(herr)
		}
	}
	if l.ready() != nil {
		return info, nil
	}
	total, free, err := statfs(l.root)
	if err != nil {
		_ = l.fail("info", "", err)
		return info, nil
	}
	info.TotalBytes, info.FreeBytes, info.Online = total, free, l.online.Load()
	info.Instance, _ = l.instance.Load().(string)
	return info, nil
}
