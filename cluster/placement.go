package cluster

import "github.com/filesphere/filesphere/cluster/ring"

// Ring returns the current ring: an immutable snapshot, so one call gives a
// ring version and the placements it makes together (storage.Placement).
func (n *Node) Ring() *ring.Ring { return n.members.Load().Ring }
