package rpc

import (
	"fmt"
	"testing"

	"github.com/filesphere/filesphere/storage/drive"
	"github.com/filesphere/filesphere/storage/drive/drivetest"
)

func TestRemoteDriveConformance(t *testing.T) {
	e := newEnv(t)
	drivetest.Run(t, func(t *testing.T) drive.ShardStore {
		m := drive.NewMemory(fmt.Sprintf("mem-%d", driveSeq.Add(1)))
		e.drives.add(m)
		return e.client.Drive(e.ts.URL, m.ID())
	})
}
