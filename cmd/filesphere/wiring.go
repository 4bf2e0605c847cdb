package main

import (
	"github.com/filesphere/filesphere/cluster"
	"github.com/filesphere/filesphere/storage"
)

// placementOf hands the engine the node's current ring: one immutable
// snapshot per call, so a write's ring version and drives agree.
func placementOf(node *cluster.Node) storage.PlacementSource {
	return storage.PlacementFunc(func() storage.Placement { return node.Ring() })
}
