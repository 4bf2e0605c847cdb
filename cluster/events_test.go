package cluster

import (
	"testing"
	"time"
)

// TestBrokerQueuesInOrderWithoutBlocking: publishing never waits for a
// subscriber that is not reading; it later gets every event in order, and
// its channel closes with the broker.
func TestBrokerQueuesInOrderWithoutBlocking(t *testing.T) {
	var b broker
	slow, idle := b.subscribe(), b.subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			b.publish(Event{Kind: RingChanged, RingVersion: uint64(i + 1)})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publish blocked on subscribers that do not read")
	}
	for i := range 1000 {
		ev := <-slow
		if ev.Kind != RingChanged || ev.RingVersion != uint64(i+1) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	b.close()
	if _, ok := <-idle; ok {
		// A queued event may be delivered before the close is seen; the
		// channel must still close after it.
		for range idle {
		}
	}
	if _, ok := <-b.subscribe(); ok {
		t.Fatal("subscribing to a closed broker gave an open channel")
	}
}
