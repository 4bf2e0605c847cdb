package drive

import (
	"sync"
	"sync/atomic"
)

// dirSyncer shares directory fsyncs among concurrent commits into the same
// directory. A rename is durable once an fsync of its directory that
// started after the rename has returned; so a commit joins the next sync of
// its directory to start (never one already running), and one sync per
// directory runs at a time: n commits renaming into a directory while one
// sync runs cost one more sync between them, not n.
type dirSyncer struct {
	mu      sync.Mutex
	dirs    map[string]*dirRounds // only directories with a sync running
	syncs   atomic.Int64          // directory fsyncs done (tests)
	joined  atomic.Int64          // commits that joined a later round (tests)
	syncDir func(string) error    // nil: syncDir; tests slow it down
}

type dirRounds struct {
	next *syncRound // the round new commits join; nil until one does
}

type syncRound struct {
	done chan struct{}
	err  error
}

// sync returns once a sync of dir that started after the call has ended.
func (s *dirSyncer) sync(dir string) error {
	s.mu.Lock()
	if d, running := s.dirs[dir]; running {
		if d.next == nil {
			d.next = &syncRound{done: make(chan struct{})}
		}
		r := d.next
		s.mu.Unlock()
		s.joined.Add(1)
		<-r.done
		return r.err
	}
	if s.dirs == nil {
		s.dirs = map[string]*dirRounds{}
	}
	d := &dirRounds{}
	s.dirs[dir] = d
	s.mu.Unlock()
	// This caller runs its own round, then hands each round joined
	// meanwhile to a goroutine, so it never waits for others' rounds.
	err := s.syncOnce(dir)
	s.handOff(dir, d)
	return err
}

// handOff runs the rounds joined while the previous one ran, one at a time,
// and forgets dir when none is left.
func (s *dirSyncer) handOff(dir string, d *dirRounds) {
	s.mu.Lock()
	r := d.next
	d.next = nil
	if r == nil {
		delete(s.dirs, dir)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	go func() {
		r.err = s.syncOnce(dir)
		close(r.done)
		s.handOff(dir, d)
	}()
}

func (s *dirSyncer) syncOnce(dir string) error {
	s.syncs.Add(1)
	if s.syncDir != nil {
		return s.syncDir(dir)
	}
	return syncDir(dir)
}
