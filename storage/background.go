package storage

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
)

// RunBackground starts the engine's background work until ctx ends: heals
// queued by reads (on every node) and, on the leader, repair passes that
// rebalance to the current ring and, every ScrubEvery-th pass, scrub and
// collect orphaned shards. A pass runs at start, every RepairInterval, and
// at once when RingChanged, NodeLost or BecameLeader reports an event;
// and, on the leader, the lifecycle worker (lifecycle_worker.go).
func (e *Engine) RunBackground(ctx context.Context) {
	e.bg.Add(3)
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
	passes := 0
	for {
		if e.leader() {
			passes++
			deep := passes%e.cfg.ScrubEvery == 0
			rep, err := e.Heal(ctx, HealOptions{Rebalance: true, Deep: deep, BytesPerSecond: e.cfg.RepairBandwidth})
			if ctx.Err() != nil {
				return
			}
			entry := e.log.WithFields(map[string]any{"streams": rep.Streams, "healed": rep.Healed, "moved": rep.ShardsMoved, "failed": rep.Failed, "waiting": rep.Waiting, "deep": deep})
			switch {
			case err != nil:
				entry.WithError(err).Warn("repair pass stopped")
			case rep.Healed > 0 || rep.Failed > 0:
				entry.Info("repair pass")
			}
			if err == nil && e.cfg.PassDone != nil {
				e.cfg.PassDone(ctx, rep)
			}
			if deep { // orphans wait hours anyway: collect on scrub passes only
				e.collectOrphans(ctx)
			}
			e.collectChunks(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.passNow:
		case <-e.cfg.After(e.cfg.RepairInterval):
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

// collectChunks removes the chunks unreferenced for longer than their
// grace (and counts every bucket's chunks for the metrics).
func (e *Engine) collectChunks(ctx context.Context) {
	n, err := e.CollectChunks(ctx, e.cfg.ChunkGrace)
	switch {
	case err != nil && ctx.Err() == nil:
		e.log.WithError(err).Warn("chunk collection")
	case n > 0:
		e.log.WithField("chunks", n).Info("removed unreferenced chunks")
	}
}

func (e *Engine) healObject(ctx context.Context, it healItem) {
	v, _, err := e.resolve(ctx, it.bucket, it.key, it.versionID)
	if err != nil {
		return
	}
	pd, err := loadDataFrom(ctx, e.kv, v)
	if err != nil {
		return
	}
	results := e.healChunks(ctx, it.bucket, pd.Chunks)
	for _, p := range pd.Parts {
		if p.DataID != "" {
			results = append(results, e.repairData(ctx, p, HealOptions{Deep: true}, nil))
		}
	}
	for _, res := range results {
		if errors.Is(res.err, errTargetsOffline) {
			e.log.WithError(res.err).WithField("bucket", it.bucket).WithField("key", it.key).Debug("heal on read deferred")
		} else if res.err != nil {
			e.log.WithError(res.err).WithField("bucket", it.bucket).WithField("key", it.key).Warn("heal on read failed")
		} else if res.healed > 0 {
			e.log.WithField("bucket", it.bucket).WithField("key", it.key).WithField("shards", res.healed).Info("healed on read")
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
