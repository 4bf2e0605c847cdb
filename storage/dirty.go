package storage

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
)

// The repair queue (the dirty set): streams known to need a repair, kept
// in the KV under q/ so that no restart or leader change forgets one. A
// write that commits fewer than k+m shards queues its stream in the same
// transaction as the record; a read that had to reconstruct queues what
// its heal could not finish; a sweep, scrub or queued repair that could
// not finish queues the rest. The leader's passes work through the queue
// (repairDirty) and clear an entry by compare-and-swap once its streams
// are whole, so a stream queued again meanwhile is never dropped.

// dirtyReason says who queued a stream.
type dirtyReason string

const (
	dirtyWrite  dirtyReason = "write"  // committed with fewer than k+m shards
	dirtyRead   dirtyReason = "read"   // a read reconstructed and its heal did not finish
	dirtyRepair dirtyReason = "repair" // a sweep, scrub or queued repair did not finish
)

// dirtyRecord is one queue entry: streams of one data record to repair.
type dirtyRecord struct {
	// IDs are the data ids of the record's streams to repair; none: all.
	IDs []string `json:"ids,omitempty"`
	// Deep repairs verify every frame (a frame failed its hash).
	Deep   bool        `json:"deep,omitempty"`
	Reason dirtyReason `json:"why"`
	Since  time.Time   `json:"since"`
	// Wait lists offline drives the last attempt could not write to, when
	// that was all that kept it from finishing: the entry waits (no I/O)
	// while every one of them stays offline.
	Wait  []string `json:"wait,omitempty"`
	Tries int      `json:"tries,omitempty"`
	Err   string   `json:"err,omitempty"`
}

// dirtyOp queues the streams of parts whose write missed shards (or that
// carry a queued repair), for the transaction that records them at
// recordKey; ok is false when none needs one.
func (e *Engine) dirtyOp(recordKey string, parts []dataRecord, why dirtyReason) (meta.Op, bool) {
	var dr dirtyRecord
	for _, p := range parts {
		if p.repair.need && p.DataID != "" {
			dr.IDs = append(dr.IDs, p.DataID)
			dr.Deep = dr.Deep || p.repair.deep
		}
	}
	if len(dr.IDs) == 0 {
		return meta.Op{}, false
	}
	dr.Reason, dr.Since = why, e.cfg.Now().UTC()
	return meta.Put(dirtyKey(recordKey), encode(dr)), true
}

// carryDirtyParts finds the queue entries of an upload's parts: chosen
// parts named by one get repair set (so the version's record is queued in
// the completing transaction), and the returned ops delete every entry
// with the parts.
func (e *Engine) carryDirtyParts(ctx context.Context, uploadID string, chosen []dataRecord) ([]meta.Op, error) {
	ents, err := e.kv.List(ctx, dirtyKey(partPrefix(uploadID)), "", 0)
	if err != nil || len(ents) == 0 {
		return nil, err
	}
	byKey := map[string]*dataRecord{}
	for i := range chosen {
		byKey[partKey(uploadID, chosen[i].Number)] = &chosen[i]
	}
	ops := make([]meta.Op, 0, len(ents))
	for _, ent := range ents {
		ops = append(ops, meta.Delete(ent.Key))
		var dr dirtyRecord
		p := byKey[dirtyRecordKey(ent.Key)]
		if p == nil || decode(ent.Value, &dr) != nil {
			continue
		}
		if len(dr.IDs) == 0 || slices.Contains(dr.IDs, p.DataID) {
			p.repair = repairNeed{need: true, deep: dr.Deep}
		}
	}
	return ops, nil
}

// markDirty queues streams of the data record at recordKey (ids; none:
// all of them), merging with an entry already queued.
func (e *Engine) markDirty(ctx context.Context, recordKey string, ids []string, deep bool, why dirtyReason, wait []string, cause error) error {
	key := dirtyKey(recordKey)
	for range retries {
		var dr dirtyRecord
		var rev uint64
		ent, err := e.kv.Get(ctx, key)
		switch {
		case err == nil && decode(ent.Value, &dr) == nil:
			rev = ent.Revision
			if len(dr.IDs) > 0 && len(ids) > 0 {
				dr.IDs = union(dr.IDs, ids)
			} else {
				dr.IDs = nil
			}
		case err == nil: // an unreadable entry: replace it
			rev, dr = ent.Revision, dirtyRecord{IDs: ids, Since: e.cfg.Now().UTC()}
		case errors.Is(err, meta.ErrNotFound):
			dr = dirtyRecord{IDs: ids, Since: e.cfg.Now().UTC()}
		default:
			return err
		}
		dr.Deep, dr.Reason, dr.Wait = dr.Deep || deep, why, wait
		if cause != nil {
			dr.Err = cause.Error()
		}
		err = e.txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: key, Revision: rev}}, Ops: []meta.Op{meta.Put(key, encode(dr))}})
		if !errors.Is(err, errRetry) {
			return err
		}
	}
	return ErrConflict
}

// markRead queues every stream of a version a read had to reconstruct
// when the heal queue had no room for it.
func (e *Engine) markRead(ctx context.Context, it healItem) {
	v, _, err := e.resolve(ctx, it.bucket, it.key, it.versionID)
	if err != nil || v.DataKey == "" {
		return
	}
	if err := e.markDirty(ctx, dataKey(v.DataKey), nil, true, dirtyRead, nil, nil); err != nil {
		e.log.WithError(err).WithField("bucket", it.bucket).WithField("key", it.key).Warn("queueing a heal asked for by a read")
	}
}

// repairDirty works through the repair queue from where the last pass
// stopped, at most RepairBatch entries, and says how much is left.
func (e *Engine) repairDirty(ctx context.Context, pc *passContext) error {
	prefix := meta.PrefixStorage + keyDirty
	start := e.rs.dirtyAfter
	pc.rep.DirtyAll = start == ""
	budget := e.cfg.RepairBatch
	waiting := 0 // entries skipped for offline drives
	for budget > 0 {
		limit := min(listBatch, budget)
		ents, err := e.kv.List(ctx, prefix, max(start, prefix), limit)
		if err != nil {
			return err
		}
		for _, ent := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			pc.rep.Visited++
			pc.rep.Dirty++
			kept, skipped := e.repairQueued(ctx, pc, ent)
			if kept {
				pc.rep.DirtyLeft++
			}
			if skipped {
				waiting++
			}
		}
		budget -= len(ents)
		if len(ents) < limit {
			e.rs.dirtyAfter = "" // the end: the next pass starts over
			return nil
		}
		start = ents[len(ents)-1].Key + "\x00"
	}
	e.rs.dirtyAfter = start
	pc.rep.DirtyAll = false
	// More at once, unless all this batch did was wait for offline drives:
	// then the next batch waits for the interval.
	pc.more = pc.more || waiting < pc.rep.Dirty
	return nil
}

// repairQueued repairs the streams one queue entry names and clears or
// updates the entry; kept says it is still queued, skipped that it waits
// for offline drives and was left alone.
func (e *Engine) repairQueued(ctx context.Context, pc *passContext, ent meta.Entry) (kept, skipped bool) {
	var dr dirtyRecord
	if decode(ent.Value, &dr) != nil {
		e.clearDirty(ctx, ent)
		return false, false
	}
	if len(dr.Wait) > 0 && pc.allOffline(dr.Wait) {
		pc.rep.Waiting++
		return true, true
	}
	de, err := e.loadDataEntry(ctx, dirtyRecordKey(ent.Key))
	if errors.Is(err, meta.ErrNotFound) {
		e.clearDirty(ctx, ent) // the record is gone, and its data with it
		return false, false
	}
	if err != nil {
		return true, false
	}
	var sel func(dataRecord) bool
	if len(dr.IDs) > 0 {
		sel = func(d dataRecord) bool { return slices.Contains(dr.IDs, d.DataID) }
	}
	out := e.repairRecord(ctx, de, sel, HealOptions{Deep: dr.Deep, place: pc.place}, pc.th, &pc.rep)
	if len(out.unfinished) == 0 {
		return !e.clearDirty(ctx, ent), false
	}
	dr.IDs, dr.Wait, dr.Tries, dr.Reason = out.unfinished, out.wait, dr.Tries+1, dirtyRepair
	if out.err != nil {
		dr.Err = out.err.Error()
	}
	if err := e.txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: ent.Key, Revision: ent.Revision}},
		Ops: []meta.Op{meta.Put(ent.Key, encode(dr))}}); err != nil && !errors.Is(err, errRetry) {
		e.log.WithError(err).WithField("record", de.key).Debug("updating a repair queue entry")
	}
	return true, false
}

// clearDirty removes a queue entry unless it changed since it was read
// (queued again: it stays for the next pass); ok says it is gone.
func (e *Engine) clearDirty(ctx context.Context, ent meta.Entry) bool {
	err := e.txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: ent.Key, Revision: ent.Revision}}, Ops: []meta.Op{meta.Delete(ent.Key)}})
	if err != nil && !errors.Is(err, errRetry) {
		e.log.WithError(err).WithField("entry", ent.Key).Debug("clearing a repair queue entry")
	}
	return err == nil
}

// loadDataEntry reads one data record (d/ or p/) for repair.
func (e *Engine) loadDataEntry(ctx context.Context, key string) (dataEntry, error) {
	ent, err := e.kv.Get(ctx, key)
	if err != nil {
		return dataEntry{}, err
	}
	de, ok := decodeDataEntry(ent, strings.HasPrefix(key, dataPrefixes[0]))
	if !ok {
		return de, meta.ErrNotFound // unreadable: nothing a repair can act on
	}
	return de, nil
}

// union returns a with the elements of b it lacks appended.
func union(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}
