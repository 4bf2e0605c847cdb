package cluster

import "github.com/filesphere/filesphere/cluster/ring"

// Version implements storage.Placement.
func (n *Node) Version() uint64 { return n.members.Load().Ring.Version() }

// Locate implements storage.Placement with the current ring.
func (n *Node) Locate(key string, count int) ([]string, error) {
	return n.members.Load().Ring.Locate(key, count)
}

// DriveIDs lists every drive of every member (storage.DriveLister).
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

// Ring returns the current ring.
func (n *Node) Ring() *ring.Ring { return n.members.Load().Ring }
