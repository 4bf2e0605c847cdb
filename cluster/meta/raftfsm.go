package meta

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
)

// ErrFSMFailed is returned (wrapped) for every command once the RaftFSM has
// stopped applying after a storage failure; see RaftFSM.
var ErrFSMFailed = errors.New("meta: state machine stopped after a storage failure")

// RaftFSM adapts an *FSM to hashicorp/raft: it is a raft.FSM and a
// raft.BatchingFSM. Each batch raft hands over is applied in one bbolt
// transaction. The response of every LogCommand entry is a
// Result; every other entry (configuration changes) gets a nil response and is
// not given to the FSM.
//
// Replay: raft replays the log from its last snapshot (or from the start)
// when a node restarts. The FSM stores its applied index with its data, so
// entries at or below it are skipped (Result.Skipped) without touching the
// data; Stats counts them.
//
// Storage failures: a batch that fails with a storage error (not a
// deterministic rejection) is retried a few times. If it still fails the
// adapter stops: that batch and every later one are answered with an error
// wrapping ErrFSMFailed and nothing more is applied, and Snapshot fails, so
// raft can never compact the log past the entries that were not applied.
// Applying later entries after skipping one would silently diverge from the
// other replicas; stopping keeps the FSM a correct prefix of the log, and a
// restart of the node replays the missing entries from the log. The failure
// hook (WithFailureHook) tells the node to do that (or at least to stop
// being a voter).
type RaftFSM struct {
	fsm       *FSM
	retries   int
	retryWait time.Duration
	onFailure func(error)

	failed atomic.Pointer[error]

	applied   atomic.Uint64 // commands applied (or deterministically rejected)
	skipped   atomic.Uint64 // commands skipped as already applied
	batches   atomic.Uint64 // bbolt transactions (ApplyBatch calls with work)
	restores  atomic.Uint64
	snapshots atomic.Uint64
}

var (
	_ raft.FSM         = (*RaftFSM)(nil)
	_ raft.BatchingFSM = (*RaftFSM)(nil)
)

// RaftFSMOption configures NewRaftFSM.
type RaftFSMOption func(*RaftFSM)

// WithFailureHook sets a function called once, from raft's FSM goroutine,
// when the adapter stops after a storage failure. It must not block.
func WithFailureHook(fn func(error)) RaftFSMOption {
	return func(a *RaftFSM) { a.onFailure = fn }
}

// WithApplyRetries sets how many times a batch that failed with a storage
// error is retried, and the wait before the first retry (doubled each time).
// Defaults: 3 retries, 10ms.
func WithApplyRetries(n int, wait time.Duration) RaftFSMOption {
	return func(a *RaftFSM) {
		if n >= 0 {
			a.retries = n
		}
		if wait > 0 {
			a.retryWait = wait
		}
	}
}

// NewRaftFSM wraps f for raft.NewRaft. f stays owned by the caller: close it
// only after raft has shut down.
func NewRaftFSM(f *FSM, opts ...RaftFSMOption) *RaftFSM {
	a := &RaftFSM{fsm: f, retries: 3, retryWait: 10 * time.Millisecond}
	for _, o := range opts {
		o(a)
	}
	return a
}

// FSM returns the wrapped state machine.
func (a *RaftFSM) FSM() *FSM { return a.fsm }

// Err returns the error that stopped the adapter, or nil.
func (a *RaftFSM) Err() error {
	if p := a.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// RaftFSMStats counts what the adapter did since it was created.
type RaftFSMStats struct {
	Applied   uint64 // commands applied or deterministically rejected
	Skipped   uint64 // commands at or below the applied index (replay)
	Batches   uint64 // FSM batches that reached bbolt (one transaction each)
	Restores  uint64 // snapshots restored
	Snapshots uint64 // snapshots taken
}

// Stats returns the counters.
func (a *RaftFSM) Stats() RaftFSMStats {
	return RaftFSMStats{
		Applied:   a.applied.Load(),
		Skipped:   a.skipped.Load(),
		Batches:   a.batches.Load(),
		Restores:  a.restores.Load(),
		Snapshots: a.snapshots.Load(),
	}
}

// Apply implements raft.FSM. Raft uses ApplyBatch instead; Apply exists for
// the interface and for tests.
func (a *RaftFSM) Apply(l *raft.Log) interface{} {
	return a.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch implements raft.BatchingFSM: the LogCommand entries of logs go
// to FSM.ApplyBatch in one bbolt transaction; the response of each is its
// Result. Other entries get nil.
func (a *RaftFSM) ApplyBatch(logs []*raft.Log) []interface{} {
	out := make([]interface{}, len(logs))
	cmds := make([]Command, 0, len(logs))
	pos := make([]int, 0, len(logs))
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		cmds = append(cmds, Command{Index: l.Index, Data: l.Data})
		pos = append(pos, i)
	}
	if len(cmds) == 0 {
		return out
	}
	res := a.applyWithRetry(cmds)
	var applied, skipped uint64
	for j, r := range res {
		switch {
		case r.Skipped:
			skipped++
		case r.Err == nil || isRejection(r.Err):
			applied++
		}
		out[pos[j]] = r
	}
	a.applied.Add(applied)
	a.skipped.Add(skipped)
	return out
}

func (a *RaftFSM) applyWithRetry(cmds []Command) []Result {
	if err := a.Err(); err != nil {
		return failedResults(cmds, err)
	}
	wait := a.retryWait
	for attempt := 0; ; attempt++ {
		res := a.fsm.ApplyBatch(cmds)
		err := storageFailure(res)
		if err == nil {
			if !allSkipped(res) {
				a.batches.Add(1)
			}
			return res
		}
		if attempt >= a.retries || errors.Is(err, ErrClosed) {
			ferr := fmt.Errorf("%w: at index %d: %w", ErrFSMFailed, cmds[0].Index, err)
			if a.failed.CompareAndSwap(nil, &ferr) && a.onFailure != nil {
				a.onFailure(ferr)
			}
			return failedResults(cmds, ferr)
		}
		time.Sleep(wait)
		wait *= 2
	}
}

// isRejection reports whether err is a deterministic rejection of a command
// (identical on every replica), as opposed to a storage failure.
func isRejection(err error) bool {
	var cf *CompareFailedError
	return errors.As(err, &cf) || errors.Is(err, ErrInvalidTxn) || errors.Is(err, ErrBadCommand)
}

// storageFailure returns the storage error of a failed batch, if any. A
// storage failure fails every command of the batch alike.
func storageFailure(res []Result) error {
	for _, r := range res {
		if r.Err != nil && !isRejection(r.Err) {
			return r.Err
		}
	}
	return nil
}

func allSkipped(res []Result) bool {
	for _, r := range res {
		if !r.Skipped {
			return false
		}
	}
	return true
}

func failedResults(cmds []Command, err error) []Result {
	res := make([]Result, len(cmds))
	for i, c := range cmds {
		res[i] = Result{Index: c.Index, Err: err}
	}
	return res
}

// Snapshot implements raft.FSM. Raft calls it on its FSM goroutine, between
// batches, so the bbolt read transaction it opens here is exactly the state
// at the snapshot's index. Opening it is cheap; the copy happens in Persist,
// concurrently with later applies (bbolt readers never block the writer,
// except that the file cannot be re-mapped larger while a reader is open, so
// a growing database waits for Persist to finish).
func (a *RaftFSM) Snapshot() (raft.FSMSnapshot, error) {
	if err := a.Err(); err != nil {
		return nil, err
	}
	tx, err := a.fsm.beginRead()
	if err != nil {
		return nil, fmt.Errorf("meta: snapshot: %w", err)
	}
	a.snapshots.Add(1)
	return &fsmSnapshot{tx: tx}, nil
}

// Restore implements raft.FSM: it replaces the whole state (FSM.Restore).
func (a *RaftFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := a.fsm.Restore(rc); err != nil {
		return err
	}
	a.restores.Add(1)
	return nil
}

// beginRead opens a read transaction on the current database. The caller
// must roll it back. A Restore or Close waits for it (bbolt's Close waits for
// open readers) while holding f.mu, so hold it only as long as needed.
func (f *FSM) beginRead() (*bbolt.Tx, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return nil, ErrClosed
	}
	return f.db.Begin(false)
}

// fsmSnapshot is a point-in-time read view of the FSM's database.
type fsmSnapshot struct {
	once sync.Once
	tx   *bbolt.Tx
}

// Persist writes the database as of the snapshot to sink (a bbolt file, the
// format FSM.Restore reads).
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	_, err := s.tx.WriteTo(sink)
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("meta: snapshot persist: %w", err)
	}
	return sink.Close()
}

// Release ends the read view. Raft always calls it, persisted or not.
func (s *fsmSnapshot) Release() {
	s.once.Do(func() { s.tx.Rollback() })
}
