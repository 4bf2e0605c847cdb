package meta

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Errors of the Raft-backed KV. ErrNoLeader, ErrNotLeader,
// ErrLeaderUnreachable and ErrApplyTimeout all mean the command was certainly
// not applied, so it is safe to send it again; RaftKV.Txn does so itself
// until its context ends. ErrOutcomeUnknown means it may or may not have been
// (or may still be) committed.
var (
	// ErrNoLeader: the cluster has no known leader right now.
	ErrNoLeader = errors.New("meta: no raft leader")
	// ErrNotLeader: the node asked is not the leader (the command was not
	// appended to its log).
	ErrNotLeader = errors.New("meta: not the raft leader")
	// ErrLeaderUnreachable: a Forwarder could not deliver the request to the
	// leader (e.g. connection refused). A Forwarder returns it only when the
	// request certainly did not reach the leader.
	ErrLeaderUnreachable = errors.New("meta: leader unreachable")
	// ErrApplyTimeout: the leader could not take the command into its log
	// within the apply timeout (overloaded); it was not appended.
	ErrApplyTimeout = errors.New("meta: timed out submitting to the raft log")
	// ErrOutcomeUnknown: the command may have been committed, or may still
	// be: leadership was lost while it was in flight, the reply of a
	// forwarded command was lost, or the context ended while waiting. Read
	// the state to find out; RaftKV never re-sends such a command.
	ErrOutcomeUnknown = errors.New("meta: transaction outcome unknown")
)

// Forwarder reaches the current leader from a follower (implemented by
// cluster/rpc).
//
// Errors must keep their identity across the wire (errors.Is / errors.As on
// the caller's side): ErrNotLeader, ErrNoLeader, ErrApplyTimeout,
// ErrOutcomeUnknown, ErrClosed, ErrInvalidTxn, ErrBadCommand and
// *CompareFailedError as returned by the leader's RaftKV.ApplyForwarded and
// RaftKV.ReadIndex. The Forwarder itself returns ErrLeaderUnreachable
// (wrapped) when the request certainly did not reach the leader, and any other
// error for a failure after it may have been sent (RaftKV then reports
// ErrOutcomeUnknown for a Txn).
type Forwarder interface {
	// ForwardTxn has the leader apply cmd (an EncodeTxn command) through
	// RaftKV.ApplyForwarded and returns the revision it committed at.
	ForwardTxn(ctx context.Context, leaderAddr raft.ServerAddress, leaderID raft.ServerID, cmd []byte) (uint64, error)
	// ReadIndex returns the leader's RaftKV.ReadIndex.
	ReadIndex(ctx context.Context, leaderAddr raft.ServerAddress, leaderID raft.ServerID) (uint64, error)
}

// TermForwarder is a Forwarder that can also ask any voter for its current
// Raft term (RaftKV.Term on that node). With it, a leader with more than two
// voters confirms its leadership for reads by asking the other voters
// directly, off raft's leader loop (RaftKV.ReadIndex); without it, or when
// too few voters answer, it falls back to raft.VerifyLeader.
type TermForwarder interface {
	Forwarder
	PeerTerm(ctx context.Context, addr raft.ServerAddress, id raft.ServerID) (uint64, error)
}

// termConfirmTimeout bounds how long a read waits for other voters' terms
// before falling back to raft.VerifyLeader.
const termConfirmTimeout = time.Second

// Defaults of the RaftKV options.
const (
	DefaultApplyTimeout = 5 * time.Second
	DefaultMinBackoff   = 5 * time.Millisecond
	DefaultMaxBackoff   = 250 * time.Millisecond
)

// RaftKVOption configures NewRaftKV.
type RaftKVOption func(*raftKVConfig)

type raftKVConfig struct {
	applyTimeout           time.Duration
	minBackoff, maxBackoff time.Duration
	staleReads             bool
}

// WithApplyTimeout bounds how long submitting a command (or a barrier) to the
// leader's log may take (raft's enqueue timeout); the wait for the commit
// itself is bounded by the caller's context only. d <= 0 keeps the default.
func WithApplyTimeout(d time.Duration) RaftKVOption {
	return func(c *raftKVConfig) {
		if d > 0 {
			c.applyTimeout = d
		}
	}
}

// WithRetryBackoff sets the wait between attempts while there is no leader
// or the leader changed: it starts at min and doubles up to max.
func WithRetryBackoff(min, max time.Duration) RaftKVOption {
	return func(c *raftKVConfig) {
		if min > 0 {
			c.minBackoff = min
		}
		if max >= c.minBackoff {
			c.maxBackoff = max
		}
	}
}

// WithStaleReads makes Get and List read the local state without asking the
// leader: fast and available without a quorum, but possibly behind the
// leader (never ahead of it, never torn). See also RaftKV.Stale.
func WithStaleReads() RaftKVOption {
	return func(c *raftKVConfig) { c.staleReads = true }
}

// RaftKV is the Raft-backed KV of one node. Every node runs one, the leader
// and the followers alike (a single node is a one-voter cluster).
//
// Writes: Txn on the leader appends the command to the Raft log and returns
// when it is committed and applied to the local FSM, with the FSM's verdict.
// On a follower it forwards the command to the leader (Forwarder), which runs
// ApplyForwarded. While there is no leader, or the node asked turns out not to
// be the leader, it waits (backoff) and tries again until ctx ends. It never
// sends a command twice unless the first attempt certainly did not append it
// (ErrNotLeader, ErrNoLeader, ErrLeaderUnreachable, ErrApplyTimeout); a
// command that may have been committed returns an error wrapping
// ErrOutcomeUnknown instead.
//
// Reads are linearizable by default: a Get or List sees every Txn that was
// acknowledged (on any node) before it started. The leader confirms it is
// still leader and reads locally; a follower asks the leader for a read index
// (the leader's applied index, confirmed the same way), waits until its own
// FSM has applied that far and reads locally. WithStaleReads (or Stale) reads
// locally without that round trip; Linearize does the round trip once for
// any number of Stale reads after it.
//
// How the leader confirms it leads (ReadIndex) without queueing each read
// behind the log writes of raft's leader loop: when the latest configuration
// has at most two voters and this node is one of them, no other node can win
// an election without this node's vote, and raft steps a node down before it
// grants a vote in a later term, so "State() == Leader" alone proves it —
// no round trip, no clock assumption. With more voters, the leader asks the
// others for their current term (TermForwarder): a voter answering a term at
// or below the leader's has not voted in any later term (raft raises its
// term before it grants a vote), so once a quorum, the leader included, has
// answered so after the read began, no later leader can have been elected
// before the read began. Those answers come from raft's atomics on each
// voter, so the check never queues behind a log write, where
// raft.VerifyLeader (the fallback) passes raft's leader loop twice.
//
// RaftKV owns neither the raft.Raft nor the FSM: shut raft down first, then
// close the FSM.
type RaftKV struct {
	r   *raft.Raft
	fsm *FSM
	fwd Forwarder
	cfg raftKVConfig

	// barrierTerm is the term in which this node, as leader, last had a
	// barrier applied: from then on its FSM holds every entry committed in
	// earlier terms, so its applied index is a valid read index.
	barrierTerm atomic.Uint64
}

var _ KV = (*RaftKV)(nil)

// NewRaftKV returns the KV of the node running r over fsm (the FSM inside the
// RaftFSM given to raft.NewRaft). fwd may be nil on a node that is never a
// follower; a follower without a Forwarder fails writes and linearizable
// reads with ErrNotLeader.
func NewRaftKV(r *raft.Raft, fsm *FSM, fwd Forwarder, opts ...RaftKVOption) *RaftKV {
	cfg := raftKVConfig{
		applyTimeout: DefaultApplyTimeout,
		minBackoff:   DefaultMinBackoff,
		maxBackoff:   DefaultMaxBackoff,
	}
	for _, o := range opts {
		o(&cfg)
	}
	return &RaftKV{r: r, fsm: fsm, fwd: fwd, cfg: cfg}
}

// Leader returns the address and id of the leader this node knows of, or
// empty values.
func (kv *RaftKV) Leader() (raft.ServerAddress, raft.ServerID) { return kv.r.LeaderWithID() }

// IsLeader reports whether this node currently believes it is the leader.
func (kv *RaftKV) IsLeader() bool { return kv.r.State() == raft.Leader }

// AppliedIndex is the local FSM's applied index (the log index of the last
// command it applied).
func (kv *RaftKV) AppliedIndex() uint64 { return kv.fsm.AppliedIndex() }

// FSM returns the local state machine.
func (kv *RaftKV) FSM() *FSM { return kv.fsm }

// Stale returns a view of kv whose reads are local and possibly stale (as
// WithStaleReads); its Txn is kv.Txn.
func (kv *RaftKV) Stale() KV { return staleKV{kv} }

type staleKV struct{ kv *RaftKV }

var (
	_ MultiGetter = staleKV{}
	_ Viewer      = staleKV{}
)

func (s staleKV) Get(ctx context.Context, key string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	return s.kv.fsm.Get(key)
}

// GetMany implements MultiGetter on the local replica.
func (s staleKV) GetMany(ctx context.Context, keys ...string) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.kv.fsm.GetMany(keys)
}

// View implements Viewer on the local replica.
func (s staleKV) View(ctx context.Context, fn func(Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.kv.fsm.View(fn)
}

func (s staleKV) List(ctx context.Context, prefix, start string, limit int) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.kv.fsm.List(prefix, start, limit)
}

func (s staleKV) Txn(ctx context.Context, t Txn) (uint64, error) { return s.kv.Txn(ctx, t) }

// Get implements KV.
func (kv *RaftKV) Get(ctx context.Context, key string) (Entry, error) {
	if err := kv.syncRead(ctx); err != nil {
		return Entry{}, err
	}
	return kv.fsm.Get(key)
}

// List implements KV.
func (kv *RaftKV) List(ctx context.Context, prefix, start string, limit int) ([]Entry, error) {
	if err := kv.syncRead(ctx); err != nil {
		return nil, err
	}
	return kv.fsm.List(prefix, start, limit)
}

// Txn implements KV; see RaftKV for leader resolution and retries. Errors:
// a *CompareFailedError, ErrInvalidTxn (wrapped) for a Txn that can never
// apply, ErrOutcomeUnknown (wrapped), ErrClosed when raft has shut down, or
// the context's error (wrapped together with the reason of the last attempt,
// e.g. ErrNoLeader) when ctx ended before any attempt could be made.
func (kv *RaftKV) Txn(ctx context.Context, t Txn) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := t.Validate(); err != nil {
		return 0, err
	}
	cmd := EncodeTxn(t)
	var rev uint64
	err := kv.withLeader(ctx, func(local bool, addr raft.ServerAddress, id raft.ServerID) error {
		var err error
		if local {
			rev, err = kv.apply(ctx, cmd)
			return err
		}
		rev, err = kv.fwd.ForwardTxn(ctx, addr, id, cmd)
		return forwardedTxnError(ctx, err)
	})
	if err != nil {
		return 0, err
	}
	return rev, nil
}

// ApplyForwarded is the leader's side of Forwarder.ForwardTxn: it decodes
// cmd, appends it to the log and returns the revision it was committed at. It
// returns ErrNotLeader (wrapped) without applying anything if this node is
// not the leader, and otherwise the errors of Txn; it never retries.
func (kv *RaftKV) ApplyForwarded(ctx context.Context, cmd []byte) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	t, err := DecodeTxn(cmd)
	if err != nil {
		return 0, err
	}
	if err := t.Validate(); err != nil {
		return 0, err
	}
	if kv.r.State() != raft.Leader {
		return 0, ErrNotLeader
	}
	return kv.apply(ctx, cmd)
}

// ReadIndex is the leader's side of Forwarder.ReadIndex: it returns an index
// such that a follower whose FSM has applied that far has seen every Txn
// acknowledged before the call. It fails with ErrNotLeader (wrapped) unless
// this node is the leader and a quorum confirms it.
//
// The index is the leader's FSM applied index, taken before leadership is
// confirmed. Every Txn this leader acknowledged was applied here before the
// acknowledgement; every Txn committed in earlier terms was applied here
// before the first barrier of this term, which ReadIndex waits for once per
// term (a new leader may not yet have applied its predecessor's last
// entries).
func (kv *RaftKV) ReadIndex(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if kv.r.State() != raft.Leader {
		return 0, ErrNotLeader
	}
	term := kv.r.CurrentTerm()
	if kv.barrierTerm.Load() != term {
		f := kv.r.Barrier(kv.enqueueTimeout(ctx))
		if err := waitFuture(ctx, f); err != nil {
			return 0, translateReadError(err)
		}
		kv.barrierTerm.Store(term)
	}
	idx := kv.fsm.AppliedIndex()
	if kv.soleElector() {
		return idx, nil
	}
	switch ok, err := kv.confirmByTerms(ctx, term); {
	case err != nil:
		return 0, err
	case ok:
		return idx, nil
	}
	if err := waitFuture(ctx, kv.r.VerifyLeader()); err != nil {
		return 0, translateReadError(err)
	}
	return idx, nil
}

// Term is this node's current Raft term: a voter's answer to
// TermForwarder.PeerTerm.
func (kv *RaftKV) Term() uint64 { return kv.r.CurrentTerm() }

// confirmByTerms asks the other voters of the latest configuration for their
// terms and reports whether a quorum (this leader included) is at or below
// term, with this node still leading in term afterwards. It reports false
// without error when it cannot tell (no TermForwarder, too few answers), and
// ErrNotLeader when a voter is in a later term or this node stepped down.
func (kv *RaftKV) confirmByTerms(ctx context.Context, term uint64) (bool, error) {
	tf, ok := kv.fwd.(TermForwarder)
	if !ok || kv.r.State() != raft.Leader {
		return false, nil
	}
	_, self := kv.r.LeaderWithID()
	f := kv.r.GetConfiguration()
	if f.Error() != nil {
		return false, nil
	}
	var others []raft.Server
	voters, voter := 0, false
	for _, s := range f.Configuration().Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		voters++
		if s.ID == self {
			voter = true
		} else {
			others = append(others, s)
		}
	}
	need := voters/2 + 1 - 1 // a quorum, less this node
	if !voter {
		return false, nil
	}
	cctx, cancel := context.WithTimeout(ctx, termConfirmTimeout)
	defer cancel()
	type answer struct {
		term uint64
		err  error
	}
	answers := make(chan answer, len(others))
	for _, s := range others {
		go func() {
			t, err := tf.PeerTerm(cctx, s.Address, s.ID)
			answers <- answer{t, err}
		}()
	}
	confirmed, failed := 0, 0
	for range others {
		a := <-answers
		switch {
		case a.err != nil:
			failed++
		case a.term > term:
			return false, fmt.Errorf("%w: voter in term %d, this leader in %d", ErrNotLeader, a.term, term)
		default:
			confirmed++
		}
		if confirmed >= need || failed > len(others)-need {
			break
		}
	}
	if confirmed < need {
		return false, nil
	}
	if kv.r.State() != raft.Leader || kv.r.CurrentTerm() != term {
		return false, fmt.Errorf("%w: stepped down while confirming", ErrNotLeader)
	}
	return true, nil
}

// soleElector reports whether this node leads and no leader can be elected
// without its vote: it is a voter of the latest configuration (the newest
// appended, committed or not), which has at most two voters. Checked after
// the read started, it proves no other leader acknowledged anything before.
func (kv *RaftKV) soleElector() bool {
	if kv.r.State() != raft.Leader {
		return false
	}
	_, self := kv.r.LeaderWithID() // a leader knows itself as leader
	f := kv.r.GetConfiguration()   // answered at once from raft's copy
	if f.Error() != nil {
		return false
	}
	voters, voter := 0, false
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
			voter = voter || s.ID == self
		}
	}
	return voter && voters <= 2 && kv.r.State() == raft.Leader
}

// Linearize returns once the local replica has applied every Txn
// acknowledged (on any node) before the call: after it, reads through Stale
// see at least that state (and never go back), so one Linearize followed by
// several Stale reads is as linearizable as each read on its own, at the
// cost of one read-index round instead of one per read.
func (kv *RaftKV) Linearize(ctx context.Context) error {
	return kv.syncRead(ctx)
}

// syncRead makes the local FSM current enough for a linearizable read.
func (kv *RaftKV) syncRead(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if kv.cfg.staleReads {
		return nil
	}
	return kv.withLeader(ctx, func(local bool, addr raft.ServerAddress, id raft.ServerID) error {
		if local {
			_, err := kv.ReadIndex(ctx)
			return err
		}
		idx, err := kv.fwd.ReadIndex(ctx, addr, id)
		if err != nil {
			return err
		}
		return kv.fsm.WaitApplied(ctx, idx)
	})
}

// withLeader runs fn against the leader — locally (local == true) or via the
// leader's address and id — and runs it again after a backoff as long as it
// fails with an error that means "not done, try elsewhere or later".
func (kv *RaftKV) withLeader(ctx context.Context, fn func(local bool, addr raft.ServerAddress, id raft.ServerID) error) error {
	backoff := kv.cfg.minBackoff
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var err error
		switch state := kv.r.State(); {
		case state == raft.Shutdown:
			return ErrClosed
		case state == raft.Leader:
			err = fn(true, "", "")
		default:
			addr, id := kv.r.LeaderWithID()
			switch {
			case addr == "":
				err = ErrNoLeader
			case kv.fwd == nil:
				return fmt.Errorf("%w: leader is %s and no forwarder is configured", ErrNotLeader, id)
			default:
				err = fn(false, addr, id)
			}
		}
		if err == nil || !retryable(err) {
			return err
		}
		if timer == nil {
			timer = time.NewTimer(backoff)
		} else {
			timer.Reset(backoff)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err)
		case <-timer.C:
		}
		backoff = min(backoff*2, kv.cfg.maxBackoff)
	}
}

// retryable reports whether err certainly left the log unchanged, so the
// request may be sent again.
func retryable(err error) bool {
	return errors.Is(err, ErrNoLeader) || errors.Is(err, ErrNotLeader) ||
		errors.Is(err, ErrLeaderUnreachable) || errors.Is(err, ErrApplyTimeout)
}

// apply appends cmd to the local (leader's) log and waits for its Result.
func (kv *RaftKV) apply(ctx context.Context, cmd []byte) (uint64, error) {
	f := kv.r.Apply(cmd, kv.enqueueTimeout(ctx))
	if err := waitFuture(ctx, f); err != nil {
		return 0, translateRaftError(err)
	}
	res, ok := f.Response().(Result)
	switch {
	case !ok:
		return 0, fmt.Errorf("%w: unexpected FSM response %T", ErrOutcomeUnknown, f.Response())
	case res.Skipped:
		// Cannot happen for a fresh entry; never report success for it.
		return 0, fmt.Errorf("%w: index %d reported as already applied", ErrOutcomeUnknown, res.Index)
	case res.Err == nil:
		return res.Revision, nil
	case isRejection(res.Err):
		return 0, res.Err
	default:
		// Committed to the log, but this FSM could not apply it: it will
		// be applied on the other replicas (and here after a restart),
		// with a verdict we do not know.
		return 0, fmt.Errorf("%w: committed at index %d but not applied locally: %w", ErrOutcomeUnknown, res.Index, res.Err)
	}
}

func (kv *RaftKV) enqueueTimeout(ctx context.Context) time.Duration {
	d := kv.cfg.applyTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < d {
			d = max(left, time.Millisecond)
		}
	}
	return d
}

// waitFuture waits for f or ctx. If ctx ends first the future keeps running
// (raft cannot cancel it) and ctx's error is returned, wrapped by the caller.
func waitFuture(ctx context.Context, f raft.Future) error {
	if ctx.Done() == nil {
		return f.Error()
	}
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return &waitAbandoned{ctx.Err()}
	}
}

// waitAbandoned marks a future whose result we stopped waiting for.
type waitAbandoned struct{ err error }

func (e *waitAbandoned) Error() string { return e.err.Error() }
func (e *waitAbandoned) Unwrap() error { return e.err }

// translateRaftError maps the error of a raft Apply or Barrier future.
func translateRaftError(err error) error {
	var ab *waitAbandoned
	switch {
	case errors.As(err, &ab):
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, ab.err)
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		// Refused before the entry was appended.
		return fmt.Errorf("%w: %v", ErrNotLeader, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %v", ErrApplyTimeout, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		// Either refused at once or abandoned in flight: we cannot tell.
		return fmt.Errorf("%w: %w: %v", ErrOutcomeUnknown, ErrClosed, err)
	default:
		// ErrLeadershipLost, ErrAbortedByRestore and anything else: the
		// entry was appended and may be committed by the next leader.
		return fmt.Errorf("%w: %v", ErrOutcomeUnknown, err)
	}
}

// translateReadError maps the error of a VerifyLeader or Barrier future
// taken for a read: a read changes nothing (a barrier changes no state), so
// every leadership error just means "ask again".
func translateReadError(err error) error {
	var ab *waitAbandoned
	switch {
	case errors.As(err, &ab):
		return ab.err
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrClosed
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %v", ErrApplyTimeout, err)
	default:
		return fmt.Errorf("%w: %v", ErrNotLeader, err)
	}
}

// forwardedTxnError classifies the error of a forwarded Txn.
func forwardedTxnError(ctx context.Context, err error) error {
	switch {
	case err == nil, retryable(err), isRejection(err), errors.Is(err, ErrOutcomeUnknown):
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
	default:
		// The request may have reached the leader.
		return fmt.Errorf("%w: forwarding: %w", ErrOutcomeUnknown, err)
	}
}
