package cluster

import "sync"

// EventKind says what happened.
type EventKind int

const (
	// RingChanged: the membership changed and with it the ring (a node
	// joined, drains or was removed); Event.RingVersion is the new version.
	RingChanged EventKind = iota + 1
	// NodeLost: the leader gave up on a node silent for LostAfter and
	// removed it from the membership; Event.NodeID names it.
	NodeLost
	// BecameLeader: this node became the Raft leader, which runs the
	// cluster-wide background work.
	BecameLeader
)

func (k EventKind) String() string {
	switch k {
	case RingChanged:
		return "ring changed"
	case NodeLost:
		return "node lost"
	case BecameLeader:
		return "became leader"
	}
	return "unknown event"
}

// Event is a change of the cluster that other parts react to; cmd
// subscribes the storage engine's repair to them, so this package needs to
// know nothing of storage.
type Event struct {
	Kind        EventKind
	RingVersion uint64
	NodeID      string
}

// Subscribe returns a channel that receives every event from now on, in
// order, until the node closes; then it is closed. Publishing never waits
// for a subscriber: events queue until it reads them.
func (n *Node) Subscribe() <-chan Event { return n.events.subscribe() }

// broker fans events out to subscribers, each with its own queue.
type broker struct {
	mu     sync.Mutex
	subs   []*subscriber
	closed bool
	wg     sync.WaitGroup
}

type subscriber struct {
	out   chan Event
	wake  chan struct{} // capacity 1: the queue grew
	done  chan struct{}
	mu    sync.Mutex
	queue []Event
}

func (b *broker) subscribe() <-chan Event {
	s := &subscriber{out: make(chan Event), wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(s.out)
		return s.out
	}
	b.subs = append(b.subs, s)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		s.deliver()
	}()
	return s.out
}

func (b *broker) publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.subs {
		s.mu.Lock()
		s.queue = append(s.queue, ev)
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// close stops delivery; events still queued are dropped.
func (b *broker) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		for _, s := range b.subs {
			close(s.done)
		}
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (s *subscriber) deliver() {
	defer close(s.out)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		ev := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.out <- ev:
		case <-s.done:
			return
		}
	}
}
