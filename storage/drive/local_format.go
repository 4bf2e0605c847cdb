package drive

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrDriveMismatch means the folder's format.json names another drive (or a
// format version this code does not know). Local then stays offline rather
// than write into a drive that belongs to someone else; an operator has to
// fix the mount. Offline errors caused by it wrap both sentinels.
var ErrDriveMismatch = errors.New("drive: folder belongs to another drive")

// formatVersion is the on-disk layout version written to format.json:
// 2 is the fan-out layout (local_layout.go); a drive of version 1 (one path
// per id under shards/) is migrated to it on its first probe.
const (
	formatVersion   = 2
	formatVersionV1 = 1
)

// probe makes the folder usable: creates the layout if missing (an emptied
// or replaced folder comes back as an empty drive with the same id), checks
// format.json, removes crash leftovers and proves the folder is writable.
func (l *Local) probe() error {
	fi, err := os.Stat(l.root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(l.root, 0o755); err != nil {
			return err
		}
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", l.root)
	}
	for _, d := range []string{l.metaDir, l.tmpDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := l.checkFormat(); err != nil {
		return err
	}
	// Temp files are removed only on the first successful probe: later
	// probes may run while writers of this process still own temp files.
	if !l.cleaned {
		if err := l.cleanTmp(); err != nil {
			return err
		}
		l.cleaned = true
	}
	f, err := os.CreateTemp(l.tmpDir, "probe-*")
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte("probe"))
	cerr := f.Close()
	rerr := os.Remove(f.Name())
	return errors.Join(werr, cerr, rerr)
}

type formatFile struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	// Instance is new each time the layout is created (Info.Instance);
	// folders formatted before it was kept get one on their next probe.
	Instance string `json:"instance,omitempty"`
}

func (l *Local) checkFormat() error {
	b, err := os.ReadFile(l.formatPath)
	if errors.Is(err, fs.ErrNotExist) {
		// A new drive: its directories are durable before its format.
		if err := l.ensureFanDirs(); err != nil {
			return err
		}
		return l.writeFormat(NewInstance())
	}
	if err != nil {
		return err
	}
	var ff formatFile
	if err := json.Unmarshal(b, &ff); err != nil {
		// Not rewritten: a damaged format.json needs a human, not a guess.
		return fmt.Errorf("%w: %s: %v", ErrDriveMismatch, l.formatPath, err)
	}
	if ff.ID != l.cfg.ID || (ff.Version != formatVersion && ff.Version != formatVersionV1) {
		return fmt.Errorf("%w: %s has id %q version %d, want id %q version %d or %d",
			ErrDriveMismatch, l.formatPath, ff.ID, ff.Version, l.cfg.ID, formatVersionV1, formatVersion)
	}
	if err := l.ensureFanDirs(); err != nil {
		return err
	}
	if ff.Version == formatVersionV1 {
		if ff.Instance == "" {
			ff.Instance = NewInstance()
		}
		return l.migrateV1(ff.Instance)
	}
	if ff.Instance == "" { // formatted before instances were kept
		return l.writeFormat(NewInstance())
	}
	l.instance.Store(ff.Instance)
	return nil
}

// ensureFanDirs creates data/ where missing and makes its entry durable.
// The fan-out directories below it are made on first use (ensureFan), so a
// new drive costs one directory, not fanOut of them.
func (l *Local) ensureFanDirs() error {
	created, err := mkdirOne(l.dataDir)
	if err != nil {
		return err
	}
	if created {
		return syncDir(l.root)
	}
	return nil
}

// ensureFan makes fan-out directory i exist, durably, before a shard is
// renamed into it: once per directory for the life of the drive (again
// after the folder was emptied, when a rename finds it gone).
func (l *Local) ensureFan(i int) error {
	if l.fans[i].Load() {
		return nil
	}
	created, err := mkdirOne(filepath.Join(l.dataDir, fanName(i)))
	if err != nil {
		return err
	}
	if created {
		if err := l.dirSync.sync(l.dataDir); err != nil {
			return err
		}
	}
	l.fans[i].Store(true)
	return nil
}

// mkdirOne creates dir and reports whether it did (false: it existed).
func mkdirOne(dir string) (bool, error) {
	err := os.Mkdir(dir, 0o755)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		fi, serr := os.Stat(dir)
		if serr != nil {
			return false, serr
		}
		if !fi.IsDir() {
			return false, fmt.Errorf("%s is not a directory", dir)
		}
		return false, nil
	}
	return false, err
}

// migrateV1 moves every shard of a format 1 drive (shards/<id segments>)
// to its format 2 path, makes the moves durable, then records format 2 and
// removes the emptied old directories. Each move is a rename, so a crash
// leaves every shard in exactly one of the two places, and the next probe
// (format.json still says 1) moves the rest.
func (l *Local) migrateV1(instance string) error {
	moved := 0
	dirs := map[string]bool{}
	err := filepath.WalkDir(l.v1Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == l.v1Dir && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(l.v1Dir, p)
		if err != nil {
			return err
		}
		id := filepath.ToSlash(rel)
		if ValidateID(id) != nil {
			return nil // not a shard: left where it is
		}
		dst := l.shardPath(id)
		if err := l.ensureFan(fanIndex(id)); err != nil {
			return err
		}
		created, err := l.mkdirChunks(filepath.Dir(dst))
		if err != nil {
			return err
		}
		if err := os.Rename(p, dst); err != nil {
			return err
		}
		dirs[filepath.Dir(dst)] = true
		for _, c := range created {
			dirs[filepath.Dir(c)] = true
		}
		moved++
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate format 1: %w", err)
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return fmt.Errorf("migrate format 1: %w", err)
		}
	}
	if err := l.writeFormat(instance); err != nil {
		return err
	}
	removeEmptyDirs(l.v1Dir)
	l.log.WithField("shards", moved).Info("drive migrated to format 2 (fan-out directories)")
	return nil
}

// removeEmptyDirs removes dir and the directories below it that are empty
// (deepest first); anything else is left, with the directories holding it.
func removeEmptyDirs(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeEmptyDirs(filepath.Join(dir, e.Name()))
		}
	}
	_ = os.Remove(dir) // fails, harmlessly, when not empty
}

func (l *Local) writeFormat(instance string) error {
	b, err := json.Marshal(formatFile{ID: l.cfg.ID, Version: formatVersion, Instance: instance})
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(l.tmpDir, "format-*")
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), l.formatPath)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := syncDir(l.metaDir); err != nil {
		return err
	}
	l.instance.Store(instance)
	return nil
}

func (l *Local) cleanTmp() error {
	entries, err := os.ReadDir(l.tmpDir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(l.tmpDir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if len(entries) > 0 {
		l.log.WithField("count", len(entries)).Info("removed leftover temp files")
	}
	return errors.Join(errs...)
}
