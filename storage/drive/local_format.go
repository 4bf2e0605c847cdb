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

// formatVersion is the on-disk layout version written to format.json.
const formatVersion = 1

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
	for _, d := range []string{l.metaDir, l.tmpDir, l.shardsDir} {
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
	if ff.ID != l.cfg.ID || ff.Version != formatVersion {
		return fmt.Errorf("%w: %s has id %q version %d, want id %q version %d",
			ErrDriveMismatch, l.formatPath, ff.ID, ff.Version, l.cfg.ID, formatVersion)
	}
	if ff.Instance == "" {
		return l.writeFormat(NewInstance())
	}
	l.instance.Store(ff.Instance)
	return nil
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
