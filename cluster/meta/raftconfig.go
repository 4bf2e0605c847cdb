package meta

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/migrate"
	"go.etcd.io/bbolt"
)

// DefaultRaftConfig returns the raft.Config recommended for a metadata node
// with the given id, tuned for nodes on one LAN or loopback. Callers set the
// Logger and may adjust timeouts; raft.ValidateConfig checks the result.
//
//   - BatchApplyCh: concurrent Txns queue in a buffered channel and the
//     leader takes up to MaxAppendEntries of them into one log append (one
//     log-store commit) and the FSM applies them in one bbolt transaction
//     (not fsynced when opened WithLogDurability). Without it every Txn
//     waits for the leader loop to pick it up on its own.
//   - MaxAppendEntries 512: the size of those groups and of replication
//     batches (raft's default is 64, its maximum 1024).
//   - Heartbeat/election 500ms, leader lease 250ms: raft's defaults halved,
//     still far above LAN round trips and fsync stalls. The lease bounds
//     how long a partitioned leader keeps believing it leads (its writes
//     cannot commit meanwhile; reads verify leadership with a quorum).
//   - CommitTimeout 10ms: an idle leader tells followers the commit index
//     within this time; a linearizable read on a follower waits for it, so
//     it bounds follower read latency after a write (raft's default: 50ms).
//   - SnapshotThreshold 8192 / SnapshotInterval 2m / TrailingLogs 10240:
//     raft's defaults. A snapshot is a copy of the bbolt file, so it is taken
//     only after enough new entries; TrailingLogs keeps enough log for a
//     briefly absent follower to catch up without a full snapshot.
//   - NoSnapshotRestoreOnStart = true. The FSM is durable: its bbolt file
//     already holds the state up to its applied index, which is at or past
//     the newest local snapshot (the snapshot was read from it). If raft
//     restored the snapshot on start (the default), it would replace that
//     file with an older copy of itself and re-apply every entry since: a
//     full copy of the database on every restart, for nothing. With the
//     setting, raft only takes the snapshot's index, term and configuration
//     and replays the log after the snapshot index; the FSM skips the
//     entries it has already applied. The one case where the FSM is behind
//     the snapshot (its file was lost, or the node crashed after storing an
//     installed snapshot but before applying it) is handled by calling
//     RecoverFSM before raft.NewRaft.
func DefaultRaftConfig(id raft.ServerID) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = id
	c.BatchApplyCh = true
	c.MaxAppendEntries = 512
	c.HeartbeatTimeout = 500 * time.Millisecond
	c.ElectionTimeout = 500 * time.Millisecond
	c.LeaderLeaseTimeout = 250 * time.Millisecond
	c.CommitTimeout = 10 * time.Millisecond
	c.SnapshotThreshold = 8192
	c.SnapshotInterval = 2 * time.Minute
	c.TrailingLogs = 10240
	c.NoSnapshotRestoreOnStart = true
	c.LogLevel = "INFO"
	return c
}

// Files of OpenRaftStores under its directory.
const (
	// RaftWALDir holds the log and the stable store (hashicorp/raft-wal):
	// an append-only segment file, one fsync per log write.
	RaftWALDir = "wal"
	// RaftLogFile is where earlier versions kept the log and the stable
	// store (raft-boltdb: two fdatasyncs per log write); OpenRaftStores
	// moves it into RaftWALDir once.
	RaftLogFile     = "raft.db"
	RaftSnapshotDir = "snapshots" // raft.FileSnapshotStore (it adds this name itself)
	// RaftSnapshotsRetained is how many snapshots OpenRaftStores keeps.
	RaftSnapshotsRetained = 2
	// raftLogCacheSize is how many recent entries are cached in memory in
	// front of the log store (replication to followers reads them).
	raftLogCacheSize = 1024
)

// OpenRaftStores opens (creating if needed) the durable raft stores of a node
// under dir: the log and stable store in a raft-wal directory (with an
// in-memory cache of recent entries in front of the log) and a file snapshot
// store. A raft-boltdb log of an earlier version is migrated into the WAL
// first. closeFn closes them; call it after raft has shut down.
func OpenRaftStores(dir string) (logStore raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore, closeFn func() error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("meta: raft stores: %w", err)
	}
	if err := migrateBoltLog(dir); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("meta: migrate raft log %s: %w", dir, err)
	}
	w, closeWAL, err := openWAL(filepath.Join(dir, RaftWALDir))
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("meta: open raft log %s: %w", dir, err)
	}
	cache, err := raft.NewLogCache(raftLogCacheSize, w)
	if err != nil {
		closeWAL()
		return nil, nil, nil, nil, fmt.Errorf("meta: raft log cache: %w", err)
	}
	fss, err := raft.NewFileSnapshotStoreWithLogger(dir, RaftSnapshotsRetained, hclog.NewNullLogger())
	if err != nil {
		closeWAL()
		return nil, nil, nil, nil, fmt.Errorf("meta: raft snapshot store %s: %w", dir, err)
	}
	return cache, w, fss, closeWAL, nil
}

// openWAL opens the WAL in dir with a metadata store of our own: the WAL's
// Close leaves the one it would make itself open (and locked).
func openWAL(dir string) (*wal.WAL, func() error, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	md := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithLogger(hclog.NewNullLogger()), wal.WithMetaStore(md))
	if err != nil {
		md.Close()
		return nil, nil, err
	}
	return w, func() error { return errors.Join(w.Close(), md.Close()) }, nil
}

// migrateBoltLog moves the raft-boltdb log and stable store of an earlier
// version into a new WAL: copied into a temporary directory, which is then
// renamed into place (so a crash midway leaves the bolt file in charge and
// the copy is redone), after which the bolt file is removed.
func migrateBoltLog(dir string) error {
	boltPath := filepath.Join(dir, RaftLogFile)
	walDir := filepath.Join(dir, RaftWALDir)
	if _, err := os.Stat(boltPath); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := os.Stat(walDir); err == nil {
		// Migrated; the crash came before the bolt file was removed.
		return removeSynced(boltPath)
	}
	tmp := walDir + ".migrating"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{
		Path: boltPath,
		BoltOptions: &bbolt.Options{
			Timeout:        DefaultLockTimeout,
			NoFreelistSync: true,
			FreelistType:   bbolt.FreelistMapType,
		},
	})
	if err != nil {
		return err
	}
	boltOpen := true
	defer func() {
		if boltOpen {
			bolt.Close()
		}
	}()
	w, closeWAL, err := openWAL(tmp)
	if err != nil {
		return err
	}
	ctx := context.Background()
	err = copyStable(w, bolt)
	if err == nil {
		err = migrate.CopyLogs(ctx, w, bolt, 4<<20, nil)
	}
	if cerr := closeWAL(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, walDir); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	boltOpen = false
	if err := bolt.Close(); err != nil {
		return err
	}
	return removeSynced(boltPath)
}

// copyStable copies the keys raft keeps in its stable store: the current
// term and the last vote, each only if it was ever written (a node that never
// voted has no vote; migrate.CopyStable would refuse it).
func copyStable(dst raft.StableStore, src *raftboltdb.BoltStore) error {
	for _, k := range []string{"CurrentTerm", "LastVoteTerm"} {
		v, err := src.GetUint64([]byte(k))
		if errors.Is(err, raftboltdb.ErrKeyNotFound) {
			continue
		}
		if err == nil {
			err = dst.SetUint64([]byte(k), v)
		}
		if err != nil {
			return fmt.Errorf("stable key %s: %w", k, err)
		}
	}
	v, err := src.Get([]byte("LastVoteCand"))
	switch {
	case errors.Is(err, raftboltdb.ErrKeyNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("stable key LastVoteCand: %w", err)
	}
	return dst.Set([]byte("LastVoteCand"), v)
}

func removeSynced(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// RecoverFSM brings fsm up to the newest snapshot in snaps if it is behind
// it, and reports whether it restored. Call it before raft.NewRaft on every
// start when raft runs with NoSnapshotRestoreOnStart (DefaultRaftConfig):
// raft then assumes the FSM holds everything up to the snapshot index and
// replays only the log after it, which is wrong in two cases — the FSM's file
// was lost or replaced by an empty one, or the node crashed after raft stored
// a snapshot sent by the leader but before the FSM applied it (the log before
// it may already be gone).
//
// An FSM that OpenFSM discarded after an unclean stop (WithLogDurability)
// has applied index 0, so it is restored from the newest snapshot here, and
// raft replays the log after it once the commit index is known; without a
// snapshot the log was never compacted and is replayed from its start.
//
// The FSM counts only command entries, so its applied index can be a little
// below a snapshot taken from the same state (the last entries were
// configuration or no-op entries). RecoverFSM then restores anyway: a copy of
// the database, but never wrong, since the snapshot is at or past the FSM's
// state.
func RecoverFSM(fsm *FSM, snaps raft.SnapshotStore) (restored bool, err error) {
	list, err := snaps.List()
	if err != nil {
		return false, fmt.Errorf("meta: recover: list snapshots: %w", err)
	}
	// Raft (with NoSnapshotRestoreOnStart) takes the newest snapshot's index
	// as applied, so only the newest one can bring the FSM up to it.
	if len(list) == 0 || fsm.AppliedIndex() >= list[0].Index {
		return false, nil
	}
	m := list[0]
	_, rc, err := snaps.Open(m.ID)
	if err != nil {
		return false, fmt.Errorf("meta: recover: open snapshot %s: %w", m.ID, err)
	}
	defer rc.Close()
	if err := fsm.Restore(rc); err != nil {
		return false, fmt.Errorf("meta: recover: restore snapshot %s: %w", m.ID, err)
	}
	return true, nil
}
