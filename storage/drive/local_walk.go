package drive

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
)

// Walk implements ShardStore. Only committed shards are reported (temp files
// live outside shards/); the order is unspecified. fn may delete the shard it
// is given. An error from fn stops the walk and is returned unchanged.
func (l *Local) Walk(ctx context.Context, prefix string, fn func(ShardInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validatePrefix(prefix); err != nil {
		return err
	}
	if err := l.ready(); err != nil {
		return err
	}
	// Start in the deepest directory the prefix fully names.
	start := l.shardsDir
	if d := idDir(prefix); d != "" {
		start = filepath.Join(l.shardsDir, filepath.FromSlash(d))
	}
	var fnErr error
	err := filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == start && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				return err
			}
			if path == start {
				return l.healthy() // nothing under the prefix, or the drive is gone
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking, e.g. by fn
			}
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if path == l.shardsDir {
			return nil
		}
		rel, rerr := filepath.Rel(l.shardsDir, path)
		if rerr != nil {
			return rerr
		}
		id := filepath.ToSlash(rel)
		if d.IsDir() {
			dirPrefix := id + "/"
			if strings.HasPrefix(dirPrefix, prefix) || strings.HasPrefix(prefix, dirPrefix) {
				return nil
			}
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(id, prefix) || ValidateID(id) != nil {
			return nil
		}
		fi, ierr := d.Info()
		if errors.Is(ierr, fs.ErrNotExist) {
			return nil
		}
		if ierr != nil {
			return ierr
		}
		if err := fn(ShardInfo{ID: id, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	switch {
	case err == nil:
		return nil
	case fnErr != nil && errors.Is(err, fnErr):
		return fnErr
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return l.fail("walk", prefix, err)
}
