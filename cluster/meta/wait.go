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
