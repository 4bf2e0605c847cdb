package clocktest

import (
	"testing"
	"time"
)

func TestClockFiresTimersWhenAdvanced(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(start)
	a, b := c.After(time.Minute), c.After(time.Hour)
	select {
	case <-c.After(0):
	default:
		t.Fatal("After(0) did not fire at once")
	}
	if err := c.WaitForWaiters(2, time.Second); err != nil {
		t.Fatal(err)
	}
	c.Advance(59 * time.Second)
	select {
	case <-a:
		t.Fatal("fired early")
	default:
	}
	c.Advance(time.Second)
	if got := <-a; !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("fired with %v", got)
	}
	if c.Waiters() != 1 {
		t.Fatalf("%d timers pending, want 1", c.Waiters())
	}
	select {
	case <-b:
		t.Fatal("hour timer fired after a minute")
	default:
	}
	if err := c.WaitForWaiters(2, 10*time.Millisecond); err == nil {
		t.Fatal("WaitForWaiters(2) returned with one timer pending")
	}
}
