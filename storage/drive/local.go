package drive

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Layout of a drive folder, relative to its root.
const (
	metaDirName = ".filesphere"
	tmpDirName  = ".filesphere/tmp"
	formatName  = ".filesphere/format.json"
	dataDirName = "data"   // format 2: shards in fan-out directories
	v1DirName   = "shards" // format 1: one path per id; migrated on start
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
	// Logger receives online/offline transitions. Required: a drive's own
	// view of why it went offline belongs in the server log.
	Logger *logrus.Entry
	// DirectIO writes shards with O_DIRECT where the filesystem allows
	// (local_direct.go). Off by default: it saves the page-cache copy on a
	// quiet disk, but each direct write waits for the device, which is
	// not yet measured on a busy disk shared by many servers.
	DirectIO bool
}

// DefaultLocalConfig returns defaults for the optional fields; ID, Root and
// Logger are the caller's to set.
func DefaultLocalConfig() LocalConfig {
	return LocalConfig{ProbeInterval: time.Second, Now: time.Now}
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
	case c.Logger == nil:
		return errors.New("drive: local: nil logger")
	}
	return nil
}

// Local stores shards as files in one folder (format 2):
//
//	<root>/.filesphere/format.json   {"id": ..., "version": 2, "instance": ...}
//	<root>/.filesphere/tmp/          shards being written
//	<root>/data/<fan>/<flat name>    committed shards
//
// <fan> is one of 256 directories 00..ff (a hash of the id), each created
// and synced on its first commit; <flat name> is the id with '/' spelled '+'
// (see layout.go). So committing a shard almost never creates a directory:
// it is write, fsync, rename into the fan-out directory and an fsync of
// that directory (shared by commits into the same directory that
// are concurrent with it) — two syncs, where one path per id (format 1:
// <root>/shards/<id segments>) cost three for every new object directory.
// A format 1 drive is migrated in place on its first probe.
//
// A shard is written to tmp and renamed into place on Commit, so a reader or
// a crash sees either the whole previous shard or the whole new one.
//
// An unusable folder does not make NewLocal fail: the drive starts offline,
// every operation returns ErrOffline, and the folder is probed again at most
// once per ProbeInterval, so a drive that comes back is used again without a
// restart.
type Local struct {
	cfg                               LocalConfig
	root, tmpDir, dataDir, formatPath string
	metaDir, v1Dir                    string
	log                               *logrus.Entry
	online                            atomic.Bool
	dirSync                           dirSyncer
	// fans marks the fan-out directories known to exist: each is made
	// (and its entry synced) on its first commit, not at format time.
	fans [fanOut]atomic.Bool
	// noDirect: direct I/O is off, or the folder's filesystem refused it
	// (local_direct.go).
	noDirect atomic.Bool
	direct   atomic.Int64 // staging buffers written with direct I/O (tests)

	mu        sync.Mutex // serialises probes and guards the fields below
	lastProbe time.Time
	lastErr   error
	cleaned   bool // leftover temp files removed (done once, see probe)
	// instance is format.json's, set by each successful probe.
	instance atomic.Value // string
}

// NewLocal opens (or initialises) a drive folder. It fails only on an
// invalid configuration; an unusable folder yields an offline Local.
func NewLocal(cfg LocalConfig) (*Local, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("drive: local: root %q: %w", cfg.Root, err)
	}
	l := &Local{
		cfg:        cfg,
		root:       root,
		metaDir:    filepath.Join(root, metaDirName),
		tmpDir:     filepath.Join(root, filepath.FromSlash(tmpDirName)),
		dataDir:    filepath.Join(root, dataDirName),
		v1Dir:      filepath.Join(root, v1DirName),
		formatPath: filepath.Join(root, filepath.FromSlash(formatName)),
		log:        cfg.Logger.WithFields(logrus.Fields{"component": "drive", "drive": cfg.ID, "path": root}),
	}
	l.noDirect.Store(!cfg.DirectIO)
	_ = l.ready() // an offline start is a state, not an error
	return l, nil
}

// ID implements ShardStore.
func (l *Local) ID() string { return l.cfg.ID }

// Root returns the absolute drive folder.
func (l *Local) Root() string { return l.root }
