package meta

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Reads share rounds, and a read that arrives while a round runs gets a
// round that starts after it arrived.
func TestVerifyRoundsShareAndOrder(t *testing.T) {
	var v verifyRounds
	var rounds atomic.Int64
	var startedMu sync.Mutex
	var starts []time.Time
	release := make(chan struct{})
	verify := func() error {
		rounds.Add(1)
		startedMu.Lock()
		starts = append(starts, time.Now())
		startedMu.Unlock()
		<-release
		return nil
	}
	first := make(chan error, 1)
	go func() { first <- v.join(context.Background(), verify) }()
	for rounds.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	// 50 readers arrive while round 1 runs.
	arrived := time.Now()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := v.join(context.Background(), verify); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all join
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := rounds.Load(); got != 2 {
		t.Fatalf("%d rounds for 51 reads; want 2", got)
	}
	if !starts[1].After(arrived) {
		t.Fatal("later readers were answered by a round that started before them")
	}
	// A reader whose context ends stops waiting.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	block := make(chan struct{})
	defer close(block)
	if err := v.join(ctx, func() error { <-block; return nil }); ctx.Err() == nil || err == nil {
		t.Fatalf("cancelled join = %v", err)
	}
}
