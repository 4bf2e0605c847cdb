package storage

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
)

// RunBackground starts the engine's background work until ctx ends: heals
// queued by reads (on every node), the repair queue's intake for heals
// that found the heal queue full, and, on the leader, the incremental
// repair passes (repair.go) and garbage collection every GCInterval. A
// pass runs at start, every RepairInterval (at once or as RepairRate
// allows while work is left over), and at once when RingChanged, NodeLost
// or BecameLeader reports an event; and, on the leader, the lifecycle
// worker (lifecycle_worker.go).
func (e *Engine) RunBackground(ctx context.Context) {
	e.bg.Add(4)
	go func() {
		defer e.bg.Done()
		e.lifecycleLoop(ctx)
	}()
	go func() {
		defer e.bg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case it := <-e.healQueue:
				e.healObject(ctx, it)
			}
		}
	}()
	go func() {
		defer e.bg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case it := <-e.markQueue:
				e.markRead(ctx, it)
			}
		}
	}()
	go func() {
		defer e.bg.Done()
		e.repairLoop(ctx)
	}()
}

func (e *Engine) leader() bool { return e.cfg.IsLeader == nil || e.cfg.IsLeader() }

// RingChanged reports that the placement changed (a node joined, drains or
// left): the leader rebalances at once.
func (e *Engine) RingChanged() { e.requestPass() }

// NodeLost reports that the cluster gave up on a node: the leader rebuilds
// its shards elsewhere at once.
func (e *Engine) NodeLost(id string) {
	e.log.WithField("node", id).Warn("node lost: rebuilding its shards")
	e.requestPass()
}

// BecameLeader reports that this node now runs the cluster-wide passes.
func (e *Engine) BecameLeader() {
	e.requestPass()
	e.kickLifecycle()
}

func (e *Engine) requestPass() {
	select {
	case e.passNow <- struct{}{}:
	default: // a pass is already requested
	}
}

func (e *Engine) repairLoop(ctx context.Context) {
	for {
		wait := e.cfg.RepairInterval
		if e.leader() {
			rep, more, err := e.repairPass(ctx)
			if ctx.Err() != nil {
				return
			}
			entry := e.log.WithFields(map[string]any{"visited": rep.Visited, "streams": rep.Streams, "healed": rep.Healed,
				"moved": rep.ShardsMoved, "failed": rep.Failed, "waiting": rep.Waiting, "dirty_left": rep.DirtyLeft})
			switch {
			case err != nil:
				entry.WithError(err).Warn("repair pass stopped")
			case rep.Healed > 0 || rep.Failed > 0:
				entry.Info("repair pass")
			}
			// Drains finish once no sweep is moving shards any more; the
			// count they take is the truth either way.
			if err == nil && !rep.SweepActive && e.cfg.PassDone != nil {
				e.cfg.PassDone(ctx, rep)
			}
			if e.gcDue() {
				e.collectOrphans(ctx)
			}
			if more {
				wait = e.pace()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-e.passNow:
		case <-e.cfg.After(wait):
		}
	}
}

func (e *Engine) collectOrphans(ctx context.Context) {
	n, err := e.CollectGarbage(ctx, e.cfg.OrphanGrace)
	switch {
	case err != nil && ctx.Err() == nil:
		e.log.WithError(err).Warn("garbage collection")
	case n > 0:
		e.log.WithField("shards", n).Info("removed orphaned shards")
	}
}

// healObject repairs, in place, the streams of a version a read had to
// reconstruct. What it cannot finish is queued for the leader, unless
// offline drives are all that stop it: their shards are whole when the
// drives are back, and a drive that comes back empty is the drive check's.
func (e *Engine) healObject(ctx context.Context, it healItem) {
	v, _, err := e.resolve(ctx, it.bucket, it.key, it.versionID)
	if err != nil {
		return
	}
	parts, err := e.loadParts(ctx, v)
	if err != nil {
		return
	}
	log := e.log.WithField("bucket", it.bucket).WithField("key", it.key)
	var unfinished []string
	var cause error
	for _, p := range parts {
		if p.DataID == "" {
			continue
		}
		res := e.repairData(ctx, p, HealOptions{Deep: true}, nil)
		switch {
		case res.waitsOnly():
			log.WithError(res.err).Debug("heal on read deferred: drives offline")
		case res.err != nil:
			log.WithError(res.err).Warn("heal on read failed; queued for the leader")
			unfinished, cause = append(unfinished, p.DataID), res.err
		case res.healed > 0:
			log.WithField("shards", res.healed).Info("healed on read")
		}
	}
	if len(unfinished) > 0 && v.DataKey != "" && ctx.Err() == nil {
		if err := e.markDirty(ctx, dataKey(v.DataKey), unfinished, true, dirtyRead, nil, cause); err != nil {
			log.WithError(err).Warn("queueing an unfinished heal on read")
		}
	}
}

// CollectGarbage removes shards that no committed record references (failed
// uploads, deleted versions whose deletion was interrupted, copies left by
// moves) once they are older than grace. The grace must exceed the longest
// upload: a write's shards exist before its record commits. It returns how
// many shards it removed.
func (e *Engine) CollectGarbage(ctx context.Context, grace time.Duration) (int, error) {
	// Every shard a record points at: data id → drive per shard index.
	refs := map[string][]string{}
	err := e.walkData(ctx, func(ent dataEntry) {
		for _, d := range ent.parts {
			if d.DataID != "" {
				refs[d.DataID] = d.Drives
			}
		}
	})
	if err != nil {
		return 0, err
	}
	cutoff := e.cfg.Now().Add(-grace)
	removed := 0
	for _, id := range e.drives.DriveIDs() {
		st, err := e.drives.Drive(id)
		if err != nil {
			continue
		}
		var orphans []string
		err = st.Walk(ctx, "", func(si drive.ShardInfo) error {
			if si.ModTime.After(cutoff) || referenced(refs, id, si.ID) {
				return nil
			}
			orphans = append(orphans, si.ID)
			return nil
		})
		if err != nil {
			continue // an offline drive is collected on a later pass
		}
		for _, sid := range orphans {
			if st.Delete(ctx, sid) == nil {
				removed++
			}
		}
	}
	return removed, nil
}

// referenced reports whether shard sid on drive is the one a record names.
func referenced(refs map[string][]string, driveID, sid string) bool {
	dataID, idx, ok := parseShardID(sid)
	if !ok {
		return true // not ours to judge
	}
	drives, ok := refs[dataID]
	return ok && idx < len(drives) && drives[idx] == driveID
}

// parseShardID splits "<xx>/<data id>/<index>".
func parseShardID(sid string) (string, int, bool) {
	parts := strings.Split(sid, "/")
	if len(parts) != 3 || len(parts[1]) < 2 || parts[0] != parts[1][:2] {
		return "", 0, false
	}
	i, err := strconv.Atoi(parts[2])
	if err != nil || i < 0 {
		return "", 0, false
	}
	return parts[1], i, true
}

// ReferencedShards counts the shards that records place on the given
// drives; a drained node is safe to turn off when this reaches zero.
func (e *Engine) ReferencedShards(ctx context.Context, driveIDs []string) (int, error) {
	want := map[string]bool{}
	for _, id := range driveIDs {
		want[id] = true
	}
	n := 0
	err := e.walkData(ctx, func(ent dataEntry) {
		for _, d := range ent.parts {
			for _, id := range d.Drives {
				if want[id] {
					n++
				}
			}
		}
	})
	return n, err
}
