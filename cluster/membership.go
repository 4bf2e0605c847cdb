package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
)

// The cluster's key space under meta.PrefixCluster.
const (
	keyNodes   = meta.PrefixCluster + "nodes/"   // nodes/<id> → NodeRecord
	keyRemoved = meta.PrefixCluster + "removed/" // removed/<id> → tombstone for the leader to act on
	keyRing    = meta.PrefixCluster + "ring"     // RingRecord
)

// NodeRecord is one member as replicated in Raft.
type NodeRecord struct {
	ID          string        `json:"id"`
	ClusterAddr string        `json:"cluster_addr"`
	APIAddr     string        `json:"api_addr"`
	Drives      []DriveRecord `json:"drives"`
	Joined      time.Time     `json:"joined"`
	// Draining nodes keep serving their shards but get no new placements;
	// the repairer moves their shards away.
	Draining bool `json:"draining,omitempty"`
}

// DriveRecord is one drive of a member.
type DriveRecord struct {
	ID     string `json:"id"`
	Weight int    `json:"weight"`
}

// RingRecord versions the placement: every membership change bumps it.
type RingRecord struct {
	Version uint64 `json:"version"`
}

// Membership is a snapshot of the members and the ring built from them.
type Membership struct {
	Nodes    []NodeRecord
	Ring     *ring.Ring
	Removed  []string
	byDrive  map[string]NodeRecord
	Revision uint64 // highest revision seen under the cluster prefix
}

// NodeOf returns the node holding a drive.
func (m *Membership) NodeOf(driveID string) (NodeRecord, bool) {
	n, ok := m.byDrive[driveID]
	return n, ok
}

// readMembership builds a Membership from the cluster key space.
func readMembership(ctx context.Context, kv meta.KV) (*Membership, error) {
	ents, err := kv.List(ctx, meta.PrefixCluster, "", 0)
	if err != nil {
		return nil, err
	}
	m := &Membership{byDrive: map[string]NodeRecord{}}
	var version uint64
	for _, e := range ents {
		m.Revision = max(m.Revision, e.Revision)
		switch {
		case e.Key == keyRing:
			var rr RingRecord
			if err := json.Unmarshal(e.Value, &rr); err != nil {
				return nil, fmt.Errorf("cluster: ring record: %w", err)
			}
			version = rr.Version
		case len(e.Key) > len(keyNodes) && e.Key[:len(keyNodes)] == keyNodes:
			var n NodeRecord
			if err := json.Unmarshal(e.Value, &n); err != nil {
				return nil, fmt.Errorf("cluster: node record %s: %w", e.Key, err)
			}
			m.Nodes = append(m.Nodes, n)
		case len(e.Key) > len(keyRemoved) && e.Key[:len(keyRemoved)] == keyRemoved:
			m.Removed = append(m.Removed, e.Key[len(keyRemoved):])
		}
	}
	sort.Slice(m.Nodes, func(i, j int) bool { return m.Nodes[i].ID < m.Nodes[j].ID })
	var members []ring.Member
	for _, n := range m.Nodes {
		for _, d := range n.Drives {
			m.byDrive[d.ID] = n
			if !n.Draining {
				members = append(members, ring.Member{DriveID: d.ID, NodeID: n.ID, Weight: d.Weight})
			}
		}
	}
	r, err := ring.New(version, members)
	if err != nil {
		return nil, err
	}
	m.Ring = r
	return m, nil
}

// errRetryTxn marks a compare-and-swap that lost a race.
var errRetryTxn = errors.New("cluster: retry")

// updateMembership applies change to the node records with
// compare-and-swap on the ring record, bumping the ring version.
func updateMembership(ctx context.Context, kv meta.KV, ops func(rev uint64) []meta.Op) error {
	for range 32 {
		var version, rev uint64
		ent, err := kv.Get(ctx, keyRing)
		switch {
		case err == nil:
			var rr RingRecord
			if err := json.Unmarshal(ent.Value, &rr); err != nil {
				return err
			}
			version, rev = rr.Version, ent.Revision
		case !errors.Is(err, meta.ErrNotFound):
			return err
		}
		next, _ := json.Marshal(RingRecord{Version: version + 1})
		t := meta.Txn{
			Compares: []meta.Compare{{Key: keyRing, Revision: rev}},
			Ops:      append(ops(rev), meta.Put(keyRing, next)),
		}
		_, err = kv.Txn(ctx, t)
		var cf *meta.CompareFailedError
		if errors.As(err, &cf) {
			continue
		}
		return err
	}
	return errRetryTxn
}

// putNodeOps writes a node record and clears any tombstone.
func putNodeOps(n NodeRecord) func(uint64) []meta.Op {
	b, _ := json.Marshal(n)
	return func(uint64) []meta.Op {
		return []meta.Op{meta.Put(keyNodes+n.ID, b), meta.Delete(keyRemoved + n.ID)}
	}
}

// removeNodeOps deletes a node record and leaves a tombstone for the
// leader's reconciler, which removes the node from the Raft configuration.
func removeNodeOps(id string) func(uint64) []meta.Op {
	return func(uint64) []meta.Op {
		return []meta.Op{meta.Delete(keyNodes + id), meta.Put(keyRemoved+id, []byte("{}"))}
	}
}
