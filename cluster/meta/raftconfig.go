package meta

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
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
	RaftLogFile     = "raft.db"   // raft-boltdb: the log and the stable store
	RaftSnapshotDir = "snapshots" // raft.FileSnapshotStore (it adds this name itself)
	// RaftSnapshotsRetained is how many snapshots OpenRaftStores keeps.
	RaftSnapshotsRetained = 2
	// raftLogCacheSize is how many recent entries are cached in memory in
	// front of the log store (replication to followers reads them).
	raftLogCacheSize = 1024
)

// OpenRaftStores opens (creating if needed) the durable raft stores of a node
// under dir: the log and stable store in one raft-boltdb file (with an
// in-memory cache of recent entries in front of the log) and a file snapshot
// store. closeFn closes them; call it after raft has shut down.
func OpenRaftStores(dir string) (logStore raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore, closeFn func() error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("meta: raft stores: %w", err)
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(dir, RaftLogFile),
		BoltOptions: &bbolt.Options{
			Timeout:        DefaultLockTimeout,
			NoFreelistSync: true,
			FreelistType:   bbolt.FreelistMapType,
		},
	})
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("meta: open raft log %s: %w", dir, err)
	}
	cache, err := raft.NewLogCache(raftLogCacheSize, bolt)
	if err != nil {
		bolt.Close()
		return nil, nil, nil, nil, fmt.Errorf("meta: raft log cache: %w", err)
	}
	fss, err := raft.NewFileSnapshotStoreWithLogger(dir, RaftSnapshotsRetained, hclog.NewNullLogger())
	if err != nil {
		bolt.Close()
		return nil, nil, nil, nil, fmt.Errorf("meta: raft snapshot store %s: %w", dir, err)
	}
	return cache, bolt, fss, bolt.Close, nil
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
