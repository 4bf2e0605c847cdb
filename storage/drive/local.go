package drive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// ErrDriveMismatch means the folder's format.json names another drive (or a
// format version this code does not know). Local then stays offline rather
// than write into a drive that belongs to someone else; an operator has to
// fix the mount. Offline errors caused by it wrap both sentinels.
var ErrDriveMismatch = errors.New("drive: folder belongs to another drive")

// formatVersion is the on-disk layout version written to format.json.
const formatVersion = 1

// Layout of a drive folder, relative to its root.
const (
	metaDirName   = ".filesphere"
	tmpDirName    = ".filesphere/tmp"
	formatName    = ".filesphere/format.json"
	shardsDirName = "shards"
)

// LocalConfig configures a Local drive.
type LocalConfig struct {
	// ID is the drive's stable identity, recorded in format.json.
	ID string
	// Root is the drive folder (usually a mount point).
	Root string
	// ProbeInterval is the minimum time between two attempts to bring an
	// offline drive back. Operations on an offline drive between probes fail
	// fast with ErrOffline instead of hammering a dead disk.
	ProbeInterval time.Duration
	// Now is the clock used for probe throttling.
	Now func() time.Time
	// Logger receives online/offline transitions. Nil discards them.
	Logger *logrus.Entry
}

// DefaultLocalConfig returns the configuration NewLocal uses.
func DefaultLocalConfig(id, root string) LocalConfig {
	return LocalConfig{ID: id, Root: root, ProbeInterval: time.Second, Now: time.Now}
}

// Validate reports configuration errors.
func (c LocalConfig) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("drive: local: empty drive id")
	case c.Root == "":
		return errors.New("drive: local: empty root")
	case c.ProbeInterval < 0:
		return errors.New("drive: local: negative probe interval")
	case c.Now == nil:
		return errors.New("drive: local: nil clock")
	}
	return nil
}

// Local stores shards as files in one folder:
//
//	<root>/.filesphere/format.json   {"id": ..., "version": 1}
//	<root>/.filesphere/tmp/          shards being written
//	<root>/shards/<id segments>      committed shards
//
// A shard is written to tmp and renamed into place on Commit, so a reader or
// a crash sees either the whole previous shard or the whole new one.
//
// An unusable folder does not make NewLocal fail: the drive starts offline,
// every operation returns ErrOffline, and the folder is probed again at most
// once per ProbeInterval, so a drive that comes back is used again without a
// restart.
type Local struct {
	cfg                                 LocalConfig
	root, tmpDir, shardsDir, formatPath string
	metaDir                             string
	log                                 *logrus.Entry
	online                              atomic.Bool

	mu        sync.Mutex // serialises probes and guards the fields below
	lastProbe time.Time
	lastErr   error
	cleaned   bool // leftover temp files removed (done once, see probe)
}

// NewLocal opens (or initialises) the drive folder root with the default
// configuration.
func NewLocal(id, root string) (*Local, error) {
	return NewLocalFromConfig(DefaultLocalConfig(id, root))
}

// NewLocalFromConfig opens (or initialises) a drive folder. It fails only on
// an invalid configuration; an unusable folder yields an offline Local.
func NewLocalFromConfig(cfg LocalConfig) (*Local, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("drive: local: root %q: %w", cfg.Root, err)
	}
	log := cfg.Logger
	if log == nil {
		log = discardLogger()
	}
	l := &Local{
		cfg:        cfg,
		root:       root,
		metaDir:    filepath.Join(root, metaDirName),
		tmpDir:     filepath.Join(root, filepath.FromSlash(tmpDirName)),
		shardsDir:  filepath.Join(root, shardsDirName),
		formatPath: filepath.Join(root, filepath.FromSlash(formatName)),
		log:        log.WithFields(logrus.Fields{"component": "drive", "drive": cfg.ID, "path": root}),
	}
	_ = l.ready() // an offline start is a state, not an error
	return l, nil
}

// ID implements ShardStore.
func (l *Local) ID() string { return l.cfg.ID }

// Root returns the absolute drive folder.
func (l *Local) Root() string { return l.root }

func (l *Local) shardPath(id string) string {
	return filepath.Join(l.shardsDir, filepath.FromSlash(id))
}

// ready returns nil if the drive is usable, probing an offline drive when
// the probe interval has passed.
func (l *Local) ready() error {
	if l.online.Load() {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.online.Load() {
		return nil
	}
	now := l.cfg.Now()
	if !l.lastProbe.IsZero() && now.Sub(l.lastProbe) < l.cfg.ProbeInterval {
		return l.offlineErrLocked()
	}
	l.lastProbe = now
	if err := l.probe(); err != nil {
		if l.lastErr == nil || l.lastErr.Error() != err.Error() {
			l.log.WithError(err).Warn("drive offline")
		}
		l.lastErr = err
		return l.offlineErrLocked()
	}
	l.lastErr = nil
	l.online.Store(true)
	l.log.Info("drive online")
	return nil
}

// offlineErrLocked describes the last probe failure as text only (except a
// mismatch): the cause is often ENOENT, and an offline drive must never match
// ErrShardNotFound or fs.ErrNotExist, or callers would take its shards for
// deleted.
func (l *Local) offlineErrLocked() error {
	if errors.Is(l.lastErr, ErrDriveMismatch) {
		return fmt.Errorf("%w: %s: %w", ErrOffline, l.root, l.lastErr)
	}
	return fmt.Errorf("%w: %s: %v", ErrOffline, l.root, l.lastErr)
}

// markOffline takes the drive out of service after an operation found it
// broken; the next probe is due one interval from now.
func (l *Local) markOffline(cause error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.online.Swap(false) {
		l.log.WithError(cause).Warn("drive offline")
	}
	l.lastErr = cause
	l.lastProbe = l.cfg.Now()
}

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
}

func (l *Local) checkFormat() error {
	b, err := os.ReadFile(l.formatPath)
	if errors.Is(err, fs.ErrNotExist) {
		return l.writeFormat()
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
	return nil
}

func (l *Local) writeFormat() error {
	b, err := json.Marshal(formatFile{ID: l.cfg.ID, Version: formatVersion})
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
	return syncDir(l.metaDir)
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

// healthy checks that the layout is still in place. It runs only on error
// paths, to tell "no such shard" from "the drive folder is gone".
func (l *Local) healthy() error {
	if fi, err := os.Lstat(l.formatPath); err != nil {
		return err
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", l.formatPath)
	}
	for _, d := range []string{l.tmpDir, l.shardsDir} {
		fi, err := os.Lstat(d)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", d)
		}
	}
	return nil
}

// offlineErrnos lists errors that mean the device, not the shard, is broken.
var offlineErrnos = [...]syscall.Errno{
	syscall.EIO, syscall.EACCES, syscall.EPERM, syscall.EROFS,
	syscall.ENXIO, syscall.ENODEV, syscall.ESTALE, syscall.ENOTCONN,
}

// fail maps an OS error to the drive sentinels, wrapping both so callers can
// match the sentinel and still log the cause. Device-level errors take the
// drive offline.
func (l *Local) fail(op, id string, err error) error {
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errno == syscall.ENOSPC || errno == syscall.EDQUOT:
		return fmt.Errorf("%w: %s %s: %w", ErrDiskFull, op, id, err)
	case errno == syscall.ENOENT || errno == syscall.ENOTDIR:
		if herr := l.healthy(); herr != nil {
			l.markOffline(herr)
			// An emptied or replaced folder can be re-created at once: let
			// the next call probe without waiting out the interval.
			l.mu.Lock()
			l.lastProbe = time.Time{}
			l.mu.Unlock()
			return fmt.Errorf("%w: %s %s: layout gone: %w", ErrOffline, op, id, herr)
		}
		return fmt.Errorf("%w: %s: %w", ErrShardNotFound, id, err)
	}
	for _, e := range offlineErrnos {
		if errno == e {
			l.markOffline(err)
			return fmt.Errorf("%w: %s %s: %w", ErrOffline, op, id, err)
		}
	}
	return fmt.Errorf("drive %s: %s %s: %w", l.cfg.ID, op, id, err)
}

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
	return &localWriter{l: l, id: id, f: f, tmp: f.Name()}, nil
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
	if !fi.Mode().IsRegular() { // a directory of other shards
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

// Delete implements ShardStore. Empty parent directories are removed up to
// (not including) shards/. The removal is not fsynced: a delete undone by a
// crash leaves an orphan that GC removes again.
func (l *Local) Delete(ctx context.Context, id string) error {
	if err := l.begin(ctx, id); err != nil {
		return err
	}
	p := l.shardPath(id)
	fi, err := os.Lstat(p)
	if err == nil && fi.IsDir() {
		return nil // not a shard: a directory of other shards
	}
	if err == nil {
		err = os.Remove(p)
	}
	if err != nil {
		if ferr := l.fail("delete", id, err); !errors.Is(ferr, ErrShardNotFound) {
			return ferr
		}
		return nil
	}
	// Pruning races with a concurrent Commit below the same directory; the
	// commit side retries, and os.Remove never removes a non-empty directory.
	for d := filepath.Dir(p); d != l.shardsDir && strings.HasPrefix(d, l.shardsDir); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

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

// Info implements ShardStore. An offline drive is reported with Online=false
// and a nil error: Info is how callers learn the state.
func (l *Local) Info(ctx context.Context) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	info := Info{ID: l.cfg.ID, Path: l.root}
	if l.ready() != nil {
		return info, nil
	}
	total, free, err := statfs(l.root)
	if err != nil {
		_ = l.fail("info", "", err)
		return info, nil
	}
	info.TotalBytes, info.FreeBytes, info.Online = total, free, l.online.Load()
	return info, nil
}

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

func discardLogger() *logrus.Entry {
	lg := logrus.New()
	lg.Out = io.Discard
	return logrus.NewEntry(lg)
}
