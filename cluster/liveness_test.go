package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/internal/clocktest"
	"github.com/filesphere/filesphere/storage/drive"
)

// eventLog collects the events of subscriptions.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) collect(ch <-chan Event) {
	go func() {
		for ev := range ch {
			l.mu.Lock()
			l.evs = append(l.evs, ev)
			l.mu.Unlock()
		}
	}()
}

func (l *eventLog) find(match func(Event) bool) (Event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.evs {
		if match(ev) {
			return ev, true
		}
	}
	return Event{}, false
}

// TestClusterDeclaresSilentNodeLost runs the membership loops on a test
// clock: a silent node stays a member until LostAfter has passed on that
// clock, then the leader removes it and publishes NodeLost and RingChanged.
func TestClusterDeclaresSilentNodeLost(t *testing.T) {
	const refresh, lostAfter = time.Second, time.Minute
	clk := clocktest.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	base := t.TempDir()
	var nodes []*Node
	events := &eventLog{}
	for i := range 3 {
		cfg := DefaultConfig()
		cfg.NodeID, cfg.ClusterAddr, cfg.DataDir, cfg.Secret = fmt.Sprintf("n%d", i+1), "127.0.0.1:0", filepath.Join(base, fmt.Sprint(i)), testSecret
		if i > 0 {
			cfg.Join = nodes[0].advertise
		}
		id := cfg.NodeID + "-d1"
		cfg.Drives = map[string]drive.ShardStore{id: drive.NewMemory(id)}
		cfg.RefreshInterval, cfg.LostAfter, cfg.JoinTimeout = refresh, lostAfter, 15*time.Second
		cfg.Now, cfg.After = clk.Now, clk.After
		nd, err := Start(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		events.collect(nd.Subscribe()) // before its loop first runs
		nodes = append(nodes, nd)
		t.Cleanup(func() { nd.Close() })
	}
	live := len(nodes)
	// tick advances the clock by d and waits until every live node's loop
	// has finished its round and waits on the clock again.
	tick := func(d time.Duration) {
		t.Helper()
		if err := clk.WaitForWaiters(live, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		clk.Advance(d)
		if err := clk.WaitForWaiters(live, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	var leader, victim *Node
	for i := 0; leader == nil || len(leader.Members().Nodes) < 3; i++ {
		if i == 100 {
			t.Fatal("no leader with 3 members")
		}
		tick(refresh)
		leader = nil
		for _, nd := range nodes {
			if nd.IsLeader() {
				leader = nd
			} else {
				victim = nd
			}
		}
	}
	tick(refresh) // the leader probes every member once
	if _, ok := events.find(func(ev Event) bool { return ev.Kind == BecameLeader }); !ok {
		t.Fatalf("no %v event", BecameLeader)
	}
	version := leader.Ring().Version()

	victim.Close()
	live--
	for _, d := range []time.Duration{20 * time.Second, 20 * time.Second, 19 * time.Second} {
		tick(d)
		if n := len(leader.Members().Nodes); n != 3 {
			t.Fatalf("%d members before LostAfter (%v) has passed", n, lostAfter)
		}
	}
	if _, ok := events.find(func(ev Event) bool { return ev.Kind == NodeLost }); ok {
		t.Fatal("NodeLost before LostAfter")
	}
	tick(2 * time.Second) // silent for 61 s
	tick(refresh)         // the next refresh sees the removal
	if n := len(leader.Members().Nodes); n != 2 {
		t.Fatalf("%d members after LostAfter, want 2", n)
	}
	eventually(t, 10*time.Second, "NodeLost and RingChanged events", func() bool {
		_, lost := events.find(func(ev Event) bool { return ev.Kind == NodeLost && ev.NodeID == victim.cfg.NodeID })
		_, changed := events.find(func(ev Event) bool { return ev.Kind == RingChanged && ev.RingVersion > version })
		return lost && changed
	})
}
