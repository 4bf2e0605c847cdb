package cluster

import (
	"fmt"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
)

// Drive implements storage.Drives: local drives directly, others through
// the node-to-node API of the node that holds them.
func (n *Node) Drive(id string) (drive.ShardStore, error) {
	if d, ok := n.cfg.Drives[id]; ok {
		return d, nil
	}
	m := n.members.Load()
	rec, ok := m.NodeOf(id)
	if !ok {
		return nil, fmt.Errorf("%w: drive %s is not in the membership", drive.ErrOffline, id)
	}
	key := id + "@" + rec.ClusterAddr
	if d, ok := n.remotes.Load(key); ok {
		return d.(drive.ShardStore), nil
	}
	// Remote drives get the same decorator as local ones: deadlines and
	// offline marking, so reads and writes route around a silent node at
	// once instead of waiting on it call after call.
	icfg := drive.DefaultInstrumentedConfig()
	icfg.Timeout, icfg.Cooldown, icfg.Registerer, icfg.Logger = 10*time.Second, 3*time.Second, n.cfg.Registry, n.log
	d, err := drive.NewInstrumented(n.client.Drive(n.client.URL(rec.ClusterAddr), id), icfg)
	if err != nil {
		return nil, err
	}
	actual, _ := n.remotes.LoadOrStore(key, d)
	return actual.(drive.ShardStore), nil
}

// DriveIDs lists every drive of every member (storage.Drives), which
// garbage collection walks.
func (n *Node) DriveIDs() []string {
	m := n.members.Load()
	var ids []string
	for _, rec := range m.Nodes {
		for _, d := range rec.Drives {
			ids = append(ids, d.ID)
		}
	}
	return ids
}
