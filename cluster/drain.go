package cluster

import (
	"context"
	"fmt"
	"slices"
)

// ShardCounter counts the shards that committed records place on the
// given drives (the storage engine's ReferencedShards).
type ShardCounter func(ctx context.Context, driveIDs []string) (int, error)

// DrainStatus says how far a node's drain is.
type DrainStatus struct {
	Node     string
	Draining bool
	// ReferencedShards still placed on the node's drives.
	ReferencedShards int
	// Removed: the node is no longer a member (its drain finished, or it
	// was removed); it is safe to turn off.
	Removed bool
}

// DrainProgress reports a node's drain and changes nothing. An unknown
// node (neither a member nor removed) is ErrUnknownNode.
func (n *Node) DrainProgress(ctx context.Context, id string, count ShardCounter) (DrainStatus, error) {
	m, err := readMembership(ctx, n.kv)
	if err != nil {
		return DrainStatus{}, err
	}
	for _, rec := range m.Nodes {
		if rec.ID != id {
			continue
		}
		st := DrainStatus{Node: id, Draining: rec.Draining}
		st.ReferencedShards, err = count(ctx, driveIDs(rec))
		return st, err
	}
	if slices.Contains(m.Removed, id) {
		return DrainStatus{Node: id, Removed: true}, nil
	}
	return DrainStatus{}, fmt.Errorf("%w: %s", ErrUnknownNode, id)
}

// FinishDrains removes the draining members on which no record places a
// shard any more. It runs on the leader after each repair pass (the pass
// that moved the last shards away), never from a status request.
func (n *Node) FinishDrains(ctx context.Context, count ShardCounter) {
	if !n.IsLeader() {
		return
	}
	m, err := readMembership(ctx, n.kv)
	if err != nil {
		n.log.WithError(err).Warn("drain: reading membership")
		return
	}
	for _, rec := range m.Nodes {
		if !rec.Draining {
			continue
		}
		log := n.log.WithField("node", rec.ID)
		held, err := count(ctx, driveIDs(rec))
		switch {
		case err != nil:
			log.WithError(err).Warn("drain: counting shards")
		case held > 0:
			log.WithField("shards", held).Info("drain: shards still to move")
		default:
			if err := n.Remove(ctx, rec.ID); err != nil {
				log.WithError(err).Warn("drain: removing the drained node")
				continue
			}
			log.Info("drain finished: node removed from the membership, safe to turn off")
		}
	}
}

func driveIDs(rec NodeRecord) []string {
	ids := make([]string, 0, len(rec.Drives))
	for _, d := range rec.Drives {
		ids = append(ids, d.ID)
	}
	return ids
}
