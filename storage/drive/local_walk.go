package drive

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Walk implements ShardStore. Only committed shards are reported (temp files
// live outside data/); the order is unspecified. fn may delete the shard it
// is given. An error from fn stops the walk and is returned unchanged.
//
// Ids are spread over the fan-out directories by hash, so every walk reads
// all of them; a prefix only filters.
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
	w := walker{l: l, ctx: ctx, prefix: prefix, fn: fn}
	for i := range fanOut {
		if err := w.dir(filepath.Join(l.dataDir, fanName(i)), ""); err != nil {
			return err
		}
	}
	return nil
}

type walker struct {
	l      *Local
	ctx    context.Context
	prefix string
	fn     func(ShardInfo) error
}

// dir reports the shards in dir, whose names continue the flat name acc
// (non-empty inside the chunk directories of long ids).
func (w *walker) dir(dir, acc string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if acc != "" && errors.Is(err, fs.ErrNotExist) {
			return nil // a chunk directory pruned meanwhile
		}
		if herr := w.l.healthy(); herr != nil || !errors.Is(err, fs.ErrNotExist) {
			return w.l.fail("walk", w.prefix, err)
		}
		return nil
	}
	for _, e := range entries {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		name := e.Name()
		switch {
		case e.IsDir() && name[0] == chunkDir:
			if err := w.dir(filepath.Join(dir, name), acc+name[1:]); err != nil {
				return err
			}
			continue
		case !e.Type().IsRegular():
			continue
		case acc != "":
			if name[0] != chunkFile {
				continue
			}
			name = acc + name[1:]
		case name[0] == chunkFile:
			continue
		}
		id := flatID(name)
		if !strings.HasPrefix(id, w.prefix) || ValidateID(id) != nil {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile, e.g. by fn
		}
		if err != nil {
			return w.l.fail("walk", w.prefix, err)
		}
		if err := w.fn(ShardInfo{ID: id, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}
