package main

import (
	"fmt"
	"strconv"

	"github.com/filesphere/filesphere/storage/drive"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

// openDrives opens this node's drive folders as <node>-drive<i>, each
// logging its own online/offline transitions to log and wrapped with
// metrics, timeouts and offline marking.
func openDrives(nodeID string, paths []string, directIO bool, log *logrus.Entry, reg prometheus.Registerer) (map[string]drive.ShardStore, error) {
	set := map[string]drive.ShardStore{}
	for i, p := range paths {
		id := nodeID + "-drive" + strconv.Itoa(i+1)
		lcfg := drive.DefaultLocalConfig()
		lcfg.ID, lcfg.Root, lcfg.Logger, lcfg.DirectIO = id, p, log, directIO
		d, err := drive.NewLocal(lcfg)
		if err != nil {
			return nil, fmt.Errorf("drive %s: %w", p, err)
		}
		icfg := drive.DefaultInstrumentedConfig()
		icfg.Registerer, icfg.Logger = reg, log
		inst, err := drive.NewInstrumented(d, icfg)
		if err != nil {
			return nil, err
		}
		set[id] = inst
	}
	return set, nil
}
