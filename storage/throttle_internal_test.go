package storage

import (
	"context"
	"testing"
	"time"
)

// A throttle holds its rate for writes of any size, and a wait ends when
// its context does (a repair pass stops at once on shutdown).
func TestThrottle(t *testing.T) {
	if newThrottle(0) != nil || newThrottle(-1) != nil {
		t.Fatal("a zero or negative rate must not limit")
	}
	var unlimited *throttle
	if err := unlimited.wait(context.Background(), 1<<30); err != nil {
		t.Fatal(err)
	}

	th := newThrottle(4 << 20)
	start := time.Now()
	for range 8 {
		if err := th.wait(context.Background(), 256<<10); err != nil {
			t.Fatal(err)
		}
	}
	// 2 MiB at 4 MiB/s, less the first burst, cannot take under ~0.48 s
	// however fast the machine; only the lower bound is asserted.
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Errorf("2 MiB at 4 MiB/s took %v", d)
	}

	slow := newThrottle(1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	err := slow.wait(ctx, 1<<20)
	if err == nil {
		t.Fatal("a wait of days returned without error")
	}
	// rate.Limiter refuses at once when the wait would outlast ctx.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled wait returned %v after %v", err, d)
	}
}
