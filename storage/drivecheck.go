package storage

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/storage/drive"
)

// The drive check: each pass asks every drive for its Info. An offline
// drive is noted (streams with a shard there wait for it; the cluster
// declares its node lost after a while and the ring moves on). A drive
// reporting another instance than the one recorded (g/<drive id>) came
// back empty, its folder emptied or replaced: the placement sweep rebuilds
// the shards records place there, in the transaction that records the new
// instance, so the finding cannot be lost. Drives that left the
// membership lose their entry; the ring change covers their shards.

// driveSeenRecord is the instance a drive was last seen with.
type driveSeenRecord struct {
	Instance string    `json:"instance"`
	Since    time.Time `json:"since"`
}

// driveInfoTimeout bounds each drive's Info in the check.
const driveInfoTimeout = 10 * time.Second

func (e *Engine) checkDrives(ctx context.Context, pc *passContext) error {
	ids := e.drives.DriveIDs()
	infos := e.driveInfos(ctx, ids)
	ents, err := e.kv.List(ctx, meta.PrefixStorage+keyDriveSeen, "", 0)
	if err != nil {
		return err
	}
	seen := make(map[string]meta.Entry, len(ents))
	for _, ent := range ents {
		seen[ent.Key] = ent
	}
	var t meta.Txn
	var wiped []string
	now := e.cfg.Now().UTC()
	for i, id := range ids {
		info := infos[i]
		if !info.Online {
			pc.offline[id] = true
			pc.rep.DrivesOffline = append(pc.rep.DrivesOffline, id)
			continue
		}
		if info.Instance == "" {
			continue // a drive that does not tell
		}
		key := driveSeenKey(id)
		ent, known := seen[key]
		var rec driveSeenRecord
		if known && decode(ent.Value, &rec) == nil && rec.Instance == info.Instance {
			continue
		}
		t.Compares = append(t.Compares, meta.Compare{Key: key, Revision: ent.Revision})
		t.Ops = append(t.Ops, meta.Put(key, encode(driveSeenRecord{Instance: info.Instance, Since: now})))
		if known && rec.Instance != "" {
			wiped = append(wiped, id)
		}
	}
	for key, ent := range seen {
		if !slices.Contains(ids, key[len(driveSeenKey("")):]) {
			t.Compares = append(t.Compares, meta.Compare{Key: key, Revision: ent.Revision})
			t.Ops = append(t.Ops, meta.Delete(key))
		}
	}
	if len(t.Ops) == 0 {
		return nil
	}
	if len(wiped) > 0 {
		cmp, op, err := e.addSweepDrives(ctx, wiped)
		if err != nil {
			return err
		}
		t.Compares, t.Ops = append(t.Compares, cmp), append(t.Ops, op)
	}
	err = e.txn(ctx, t)
	if errors.Is(err, errRetry) {
		return nil // another engine recorded the drives meanwhile; the next pass looks again
	}
	if err != nil {
		return err
	}
	if len(wiped) > 0 {
		e.log.WithField("drives", wiped).Warn("drives came back empty: rebuilding their shards")
		pc.rep.DrivesWiped = wiped
	}
	return nil
}

// driveInfos asks the drives for their Info in parallel; a drive that
// cannot be reached is offline.
func (e *Engine) driveInfos(ctx context.Context, ids []string) []drive.Info {
	infos := make([]drive.Info, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := e.drives.Drive(id)
			if err != nil {
				return
			}
			cctx, cancel := context.WithTimeout(ctx, driveInfoTimeout)
			defer cancel()
			if info, err := st.Info(cctx); err == nil {
				infos[i] = info
			}
		}()
	}
	wg.Wait()
	return infos
}
