package cluster

import (
	"context"
	"sync"
	"time"
)

// liveness tracks, on the leader, when each node last answered, so that a
// node silent for longer than LostAfter is declared lost and removed from
// the membership; the ring change then makes the repairer rebuild its
// shards elsewhere. Reads and writes route around an unreachable node at
// once (its drives answer offline); this only decides when to give up on it.
type liveness struct {
	mu       sync.Mutex
	lastSeen map[string]time.Time
	// down holds the nodes whose last probe failed.
	down map[string]bool
}

// reset forgets what an earlier term saw: a node becoming leader again
// must give every node a full grace period, not count from stale times.
func (l *liveness) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastSeen, l.down = nil, nil
}

// failed records a failed probe of a node.
func (l *liveness) failed(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down == nil {
		l.down = map[string]bool{}
	}
	l.down[id] = true
}

func (l *liveness) seen(id string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastSeen == nil {
		l.lastSeen = map[string]time.Time{}
	}
	l.lastSeen[id] = t
	delete(l.down, id)
}

// silentFor returns how long a node has not answered; a node never probed
// counts from first, so a fresh leader gives every node a full grace period.
func (l *liveness) silentFor(id string, now, first time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastSeen == nil {
		l.lastSeen = map[string]time.Time{}
	}
	t, ok := l.lastSeen[id]
	if !ok {
		l.lastSeen[id] = first
		t = first
	}
	return now.Sub(t)
}

// LastSeen returns when each node last answered the leader's probe.
func (n *Node) LastSeen() map[string]time.Time {
	n.live.mu.Lock()
	defer n.live.mu.Unlock()
	out := make(map[string]time.Time, len(n.live.lastSeen))
	for k, v := range n.live.lastSeen {
		out[k] = v
	}
	return out
}

// probeNodes asks every other member for one drive's info and removes the
// ones silent for longer than LostAfter. Leader only.
func (n *Node) probeNodes(ctx context.Context, leaderSince time.Time) {
	m := n.members.Load()
	if m == nil || n.cfg.LostAfter <= 0 {
		return
	}
	now := n.cfg.Now()
	for _, rec := range m.Nodes {
		if rec.ID == n.cfg.NodeID {
			n.live.seen(rec.ID, now)
			continue
		}
		if n.reachable(ctx, rec) {
			n.live.seen(rec.ID, now)
			continue
		}
		n.live.failed(rec.ID)
		silent := n.live.silentFor(rec.ID, now, leaderSince)
		if silent < n.cfg.LostAfter {
			continue
		}
		n.log.WithField("node", rec.ID).WithField("silent", silent.Round(time.Second)).Warn("node lost: removing it from the membership")
		if err := n.Remove(ctx, rec.ID); err != nil {
			n.log.WithError(err).WithField("node", rec.ID).Warn("removing lost node")
			continue
		}
		n.events.publish(Event{Kind: NodeLost, NodeID: rec.ID})
	}
}

func (n *Node) reachable(ctx context.Context, rec NodeRecord) bool {
	if len(rec.Drives) == 0 {
		return false
	}
	d, err := n.Drive(rec.Drives[0].ID)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := d.Info(ctx)
	return err == nil && info.Online
}

// UnreachableNode is a member the leader cannot reach and has not yet
// declared lost: repairs of its shards wait until it is back or lost.
type UnreachableNode struct {
	Node      string        `json:"node"`
	For       time.Duration `json:"for"`
	LostAfter time.Duration `json:"lost_after"`
}

// Unreachable lists the members whose last probe failed, with how long
// they have been silent. Only the leader probes, so only its answer is
// current.
func (n *Node) Unreachable(now time.Time) []UnreachableNode {
	m := n.members.Load()
	if m == nil {
		return nil
	}
	n.live.mu.Lock()
	defer n.live.mu.Unlock()
	var out []UnreachableNode
	for _, rec := range m.Nodes {
		if !n.live.down[rec.ID] {
			continue
		}
		u := UnreachableNode{Node: rec.ID, LostAfter: n.cfg.LostAfter}
		if t, ok := n.live.lastSeen[rec.ID]; ok {
			u.For = now.Sub(t)
		}
		out = append(out, u)
	}
	return out
}
