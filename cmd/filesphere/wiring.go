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

// repairOnEvents subscribes the engine's repair to the node's events: a
// ring change, a lost node or gaining leadership starts a pass at once.
// It ends when the node closes.
func repairOnEvents(node *cluster.Node, engine *storage.Engine) {
	events := node.Subscribe()
	go func() {
		for ev := range events {
			switch ev.Kind {
			case cluster.RingChanged:
				engine.RingChanged()
			case cluster.NodeLost:
				engine.NodeLost(ev.NodeID)
			case cluster.BecameLeader:
				engine.BecameLeader()
			}
		}
	}()
}
