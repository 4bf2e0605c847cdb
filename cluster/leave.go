package cluster

import (
	"context"
	"errors"
	"fmt"
)

// Remove takes a node out of the membership; the leader then removes it
// from Raft. Moving its data is the healer's job.
func (n *Node) Remove(ctx context.Context, id string) error {
	m, err := readMembership(ctx, n.kv)
	if err != nil {
		return err
	}
	found := false
	for _, have := range m.Nodes {
		found = found || have.ID == id
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrUnknownNode, id)
	}
	if len(m.Nodes) == 1 {
		return fmt.Errorf("%w: %s", ErrLastNode, id)
	}
	return updateMembership(ctx, n.kv, removeNodeOps(id))
}

// ErrUnknownNode is returned for a node id that is not a member.
var ErrUnknownNode = errors.New("cluster: no such node")

// ErrLastNode refuses to remove the only member of a cluster.
var ErrLastNode = errors.New("cluster: cannot remove the last node")

// Drain marks a node as draining: it leaves the ring, so the repairer moves
// its shards to the other nodes; it stays a member until removed.
func (n *Node) Drain(ctx context.Context, id string) error {
	m, err := readMembership(ctx, n.kv)
	if err != nil {
		return err
	}
	for _, rec := range m.Nodes {
		if rec.ID == id {
			rec.Draining = true
			return updateMembership(ctx, n.kv, putNodeOps(rec))
		}
	}
	return fmt.Errorf("%w: %s", ErrUnknownNode, id)
}
