package meta

import (
	"context"
	"sync"
)

// appliedWaiters lets readers wait for the applied index to reach a point
// without polling: every change of the applied index (and Close) closes the
// current channel, and waiters re-check.
type appliedWaiters struct {
	mu sync.Mutex
	ch chan struct{} // nil while nobody waits
}

// wake wakes every current waiter.
func (w *appliedWaiters) wake() {
	w.mu.Lock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
	w.mu.Unlock()
}

// channel returns the channel closed by the next wake.
func (w *appliedWaiters) channel() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

func (f *FSM) closed() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.db == nil
}

// WaitApplied blocks until the applied index is at least index, ctx ends
// (ctx.Err()) or the FSM is closed (ErrClosed).
func (f *FSM) WaitApplied(ctx context.Context, index uint64) error {
	for {
		if f.applied.Load() >= index {
			return nil
		}
		ch := f.waiters.channel()
		// Re-check after registering: a wake between the first check and
		// channel() would otherwise be missed.
		if f.applied.Load() >= index {
			return nil
		}
		if f.closed() {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// verifyRounds lets concurrent reads share leadership confirmations: a read
// joins the next round to start (never one already under way: its
// heartbeats may predate the read), and one round runs at a time, so any
// number of reads arriving during a round cost one more round between them.
type verifyRounds struct {
	mu      sync.Mutex
	running bool
	next    *verifyRound // the round new readers join; nil until one does
}

type verifyRound struct {
	done chan struct{}
	err  error
}

// join waits for the next round of verify (started here if none is
// running) or for ctx.
func (v *verifyRounds) join(ctx context.Context, verify func() error) error {
	v.mu.Lock()
	if v.next == nil {
		v.next = &verifyRound{done: make(chan struct{})}
	}
	r := v.next
	if !v.running {
		v.running, v.next = true, nil
		go v.run(r, verify)
	}
	v.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return &waitAbandoned{ctx.Err()}
	}
}

// run runs r, then every round readers joined meanwhile, one at a time.
func (v *verifyRounds) run(r *verifyRound, verify func() error) {
	for r != nil {
		r.err = verify()
		close(r.done)
		v.mu.Lock()
		r, v.next = v.next, nil
		if r == nil {
			v.running = false
		}
		v.mu.Unlock()
	}
}
