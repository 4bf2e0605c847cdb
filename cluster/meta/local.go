package meta

import (
	"context"
	"sync"
	"sync/atomic"
)

// MaxBatch is the largest number of Txns Local commits in one bbolt
// transaction.
const MaxBatch = 256

// Local is the in-process KV: the same FSM as the replicated store, without
// consensus. Txns are numbered by Local itself (index = revision) and applied
// by a single committer goroutine that groups concurrent Txns into one
// FSM.ApplyBatch, so N concurrent writers share one fsync instead of paying
// one each.
type Local struct {
	fsm     *FSM
	reqs    chan *localReq
	closing chan struct{} // closed by Close: stop accepting
	done    chan struct{} // closed when the committer has exited
	once    sync.Once
}

var (
	_ KV          = (*Local)(nil)
	_ MultiGetter = (*Local)(nil)
	_ Viewer      = (*Local)(nil)
)

type localReq struct {
	cmd       []byte
	cancelled atomic.Bool // the caller gave up before the committer took it
	res       chan Result // buffered(1)
}

// OpenLocal opens (creating if needed) a Local KV stored at path.
func OpenLocal(path string, opts ...Option) (*Local, error) {
	fsm, err := OpenFSM(path, opts...)
	if err != nil {
		return nil, err
	}
	l := &Local{
		fsm:     fsm,
		reqs:    make(chan *localReq, MaxBatch),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go l.commitLoop()
	return l, nil
}

// FSM returns the state machine under l, for tests and tools.
func (l *Local) FSM() *FSM { return l.fsm }

// Close stops the committer and closes the database. Txns not yet committed
// fail with ErrClosed.
func (l *Local) Close() error {
	var err error
	l.once.Do(func() {
		close(l.closing)
		<-l.done
		err = l.fsm.Close()
	})
	return err
}

// Get implements KV.
func (l *Local) Get(ctx context.Context, key string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	return l.fsm.Get(key)
}

// GetMany implements MultiGetter.
func (l *Local) GetMany(ctx context.Context, keys ...string) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.fsm.GetMany(keys)
}

// View implements Viewer.
func (l *Local) View(ctx context.Context, fn func(Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.fsm.View(fn)
}

// List implements KV.
func (l *Local) List(ctx context.Context, prefix, start string, limit int) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.fsm.List(prefix, start, limit)
}

// Txn implements KV. If ctx ends while the Txn waits, Txn returns ctx.Err()
// and the Txn may or may not have been committed (as with any replicated
// store whose reply is lost); if it had not yet been picked up by the
// committer it is dropped.
func (l *Local) Txn(ctx context.Context, t Txn) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := t.Validate(); err != nil {
		return 0, err
	}
	req := &localReq{cmd: EncodeTxn(t), res: make(chan Result, 1)}
	select {
	case l.reqs <- req:
	case <-l.closing:
		return 0, ErrClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	var r Result
	select {
	case r = <-req.res:
	case <-ctx.Done():
		req.cancelled.Store(true)
		return 0, ctx.Err()
	case <-l.done:
		select { // the committer may have answered just before exiting
		case r = <-req.res:
		default:
			return 0, ErrClosed
		}
	}
	if r.Err != nil {
		return 0, r.Err
	}
	return r.Revision, nil
}

// commitLoop is the single committer: it takes whatever Txns are queued (up
// to MaxBatch), numbers them and applies them in one FSM batch. While one
// batch is being fsynced, the next one queues up.
func (l *Local) commitLoop() {
	defer close(l.done)
	batch := make([]*localReq, 0, MaxBatch)
	cmds := make([]Command, 0, MaxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
		case <-l.closing:
			return
		}
	fill:
		for len(batch) < MaxBatch {
			select {
			case r := <-l.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		// Numbered from the FSM each time: Local is its only writer, and
		// after a storage failure the unused indexes are reused.
		next := l.fsm.AppliedIndex() + 1
		cmds = cmds[:0]
		live := batch[:0]
		for _, r := range batch {
			if r.cancelled.Load() {
				continue
			}
			cmds = append(cmds, Command{Index: next, Data: r.cmd})
			live = append(live, r)
			next++
		}
		results := l.fsm.ApplyBatch(cmds)
		for i, r := range live {
			r.res <- results[i]
		}
	}
}
