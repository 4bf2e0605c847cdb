package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
)

// The placement sweep: after the ring changes (a node joined, drains, was
// removed or lost) or a drive came back empty, every data record is read
// once, in key order, from a cursor kept in the KV (w/placement). With
// consistent hashing a ring change moves only the streams whose placement
// key falls on the changed part of the ring; the sweep finds them by
// asking the ring (CPU only) and touches drives for those alone, and for
// streams with a shard on a wiped drive. The cursor moves after each page,
// so a restart or a new leader continues where the sweep was; a new ring
// version or another wiped drive starts it over.
//
// A walk filtered this way decodes every record, where an index by drive
// (drive → streams) would read only the affected ones; but such an index
// costs k+m more keys per stream on every write for ever, to speed up a
// rare event whose drive I/O (rebuilding or moving shards) dwarfs the
// decoding (see BenchmarkSweep).

// sweepRecord is the placement sweep's state.
type sweepRecord struct {
	// Placed is the ring version the last finished sweep checked every
	// record against.
	Placed uint64 `json:"placed,omitempty"`
	// Active: a sweep to ring version Ring is under way, over the streams
	// the ring moves (CheckRing) and those with a shard on Drives.
	Active    bool     `json:"active,omitempty"`
	Ring      uint64   `json:"ring,omitempty"`
	CheckRing bool     `json:"check_ring,omitempty"`
	Drives    []string `json:"drives,omitempty"`
	// Phase indexes dataPrefixes; After is the next key to read in it.
	Phase   int       `json:"phase,omitempty"`
	After   string    `json:"after,omitempty"`
	Started time.Time `json:"started,omitzero"`
	Visited int64     `json:"visited,omitempty"` // records read
	Checked int64     `json:"checked,omitempty"` // streams checked on drives
}

// SweepStatus is the placement sweep in HealStatus.
type SweepStatus struct {
	Active    bool      `json:"active"`
	Ring      uint64    `json:"ring"`   // the ring version swept to
	Placed    uint64    `json:"placed"` // the version the last finished sweep reached
	CheckRing bool      `json:"check_ring"`
	Drives    []string  `json:"drives,omitempty"` // wiped drives being rebuilt
	Started   time.Time `json:"started,omitzero"`
	Visited   int64     `json:"visited"`
	Checked   int64     `json:"checked"`
	// Progress estimates the share of records visited (0..1), from the
	// cursor's place among the records' random keys.
	Progress float64 `json:"progress"`
}

func (s sweepRecord) status() *SweepStatus {
	st := &SweepStatus{Active: s.Active, Ring: s.Ring, Placed: s.Placed, CheckRing: s.CheckRing, Drives: s.Drives,
		Started: s.Started, Visited: s.Visited, Checked: s.Checked, Progress: 1}
	if s.Active && s.Phase == 0 {
		st.Progress = keyFraction(dataPrefixes[0], s.After)
	}
	return st
}

// restart begins the sweep again from the first record; a sweep that was
// checking the ring keeps doing so.
func (s *sweepRecord) restart(ring uint64, checkRing bool, now time.Time) {
	s.CheckRing = checkRing || s.Active && s.CheckRing
	s.Active, s.Ring = true, ring
	s.Phase, s.After, s.Started, s.Visited, s.Checked = 0, "", now, 0, 0
}

func (e *Engine) loadSweep(ctx context.Context) (sweepRecord, uint64, error) {
	var s sweepRecord
	ent, err := e.kv.Get(ctx, sweepKey())
	if errors.Is(err, meta.ErrNotFound) {
		return s, 0, nil
	}
	if err != nil {
		return s, 0, err
	}
	return s, ent.Revision, decode(ent.Value, &s)
}

// saveSweep writes the sweep's state by compare-and-swap and returns the
// new revision; errRetry means another engine moved it meanwhile.
func (e *Engine) saveSweep(ctx context.Context, s sweepRecord, rev uint64) (uint64, error) {
	return e.saveRepairState(ctx, sweepKey(), encode(s), rev)
}

// saveRepairState writes a repair cursor by compare-and-swap on rev and
// returns its new revision; errRetry means another engine (a leader
// before or after this one) wrote it meanwhile.
func (e *Engine) saveRepairState(ctx context.Context, key string, val []byte, rev uint64) (uint64, error) {
	t := meta.Txn{Compares: []meta.Compare{{Key: key, Revision: rev}}, Ops: []meta.Op{meta.Put(key, val)}}
	if err := e.txn(ctx, t); err != nil {
		return rev, err
	}
	ent, err := e.kv.Get(ctx, key)
	if err != nil {
		return rev, err
	}
	if !bytes.Equal(ent.Value, val) {
		return rev, errRetry
	}
	return ent.Revision, nil
}

// sweepPlacement starts a sweep when the ring moved on and advances the
// sweep under way by up to RepairBatch records.
func (e *Engine) sweepPlacement(ctx context.Context, pc *passContext) error {
	s, rev, err := e.loadSweep(ctx)
	if err != nil {
		return err
	}
	ver := pc.place.Version()
	if s.Active && s.Ring != ver || !s.Active && s.Placed != ver {
		e.log.WithField("ring", ver).WithField("placed", s.Placed).Info("placement sweep: ring changed")
		s.restart(ver, true, e.cfg.Now().UTC())
		if rev, err = e.saveSweep(ctx, s, rev); err != nil {
			return ignoreRetry(err)
		}
	}
	defer func() { pc.sweep, pc.rep.SweepActive = s.status(), s.Active }()
	if !s.Active {
		return nil
	}
	drives := jsonStrings(s.Drives)
	budget := e.cfg.RepairBatch
	for budget > 0 && s.Active {
		prefix := dataPrefixes[s.Phase]
		limit := min(listBatch, budget)
		ents, err := e.kv.List(ctx, prefix, max(s.After, prefix), limit)
		if err != nil {
			return err
		}
		for _, ent := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			pc.rep.Visited++
			pc.rep.Swept++
			s.Visited++
			s.Checked += int64(e.sweepOne(ctx, pc, &s, drives, ent, recordKind(s.Phase)))
		}
		budget -= len(ents)
		s.After = ""
		if len(ents) == limit {
			s.After = ents[len(ents)-1].Key + "\x00"
		} else if s.Phase++; s.Phase == len(dataPrefixes) {
			e.log.WithField("ring", s.Ring).WithField("records", s.Visited).WithField("checked", s.Checked).Info("placement sweep finished")
			s = sweepRecord{Placed: s.Ring}
		}
		if rev, err = e.saveSweep(ctx, s, rev); err != nil {
			return ignoreRetry(err)
		}
	}
	pc.more = pc.more || s.Active
	return nil
}

// sweepOne checks the streams of one record that the ring moves (when the
// sweep checks the ring) or that have a shard on a swept drive, and
// queues what it could not finish. It returns how many it checked. Only
// the placement fields are decoded to decide (most records need nothing);
// the record is decoded whole for the streams picked.
func (e *Engine) sweepOne(ctx context.Context, pc *passContext, s *sweepRecord, drives [][]byte, ent meta.Entry, kind recordKind) int {
	if !s.CheckRing && !containsAny(ent.Value, drives) {
		return 0 // names none of the drives: no shard on them
	}
	var picked []string
	for _, p := range placementOf(ent.Value, kind) {
		if p.ID != "" && (hasAny(p.Drives, s.Drives) || s.CheckRing && !slices.Equal(targetOf(p.PlaceKey, p.Drives, pc.place), p.Drives)) {
			picked = append(picked, p.ID)
		}
	}
	if len(picked) == 0 {
		return 0
	}
	de, ok := decodeDataEntry(ent, kind)
	if !ok {
		return 0
	}
	sel := func(d dataRecord) bool { return slices.Contains(picked, d.DataID) }
	out := e.repairRecord(ctx, de, sel, HealOptions{Rebalance: true, place: pc.place}, pc.th, &pc.rep)
	if len(out.unfinished) > 0 {
		if err := e.markDirty(ctx, de.key, out.unfinished, false, dirtyRepair, out.wait, out.err); err != nil {
			e.log.WithError(err).WithField("record", de.key).Warn("sweep: queueing an unfinished repair")
		}
	}
	return len(picked)
}

// streamPlacement is the part of a dataRecord that placement needs.
type streamPlacement struct {
	ID       string   `json:"id"`
	PlaceKey string   `json:"pk"`
	Drives   []string `json:"drives"`
}

// placementOf decodes the placement of a d/ record's streams, of a p/
// record's one or of a k/ chunk record's one; nothing for a record that
// does not decode.
func placementOf(val []byte, kind recordKind) []streamPlacement {
	switch kind {
	case kindData:
		var pr struct {
			Parts []streamPlacement `json:"parts"`
		}
		if decode(val, &pr) != nil {
			return nil
		}
		return pr.Parts
	case kindChunk:
		var c struct {
			Data streamPlacement `json:"data"`
		}
		if decode(val, &c) != nil {
			return nil
		}
		return []streamPlacement{c.Data}
	}
	var p streamPlacement
	if decode(val, &p) != nil {
		return nil
	}
	return []streamPlacement{p}
}

// addSweepDrives is the sweep state with wiped drives added (the sweep
// starting over), for the drive check's transaction.
// A ring change meanwhile is the next sweepPlacement's to notice.
func (e *Engine) addSweepDrives(ctx context.Context, wiped []string) (meta.Compare, meta.Op, error) {
	s, rev, err := e.loadSweep(ctx)
	if err != nil {
		return meta.Compare{}, meta.Op{}, err
	}
	ring := s.Ring
	if !s.Active {
		ring = s.Placed
	}
	s.Drives = union(s.Drives, wiped)
	s.restart(ring, false, e.cfg.Now().UTC())
	return meta.Compare{Key: sweepKey(), Revision: rev}, meta.Put(sweepKey(), encode(s)), nil
}

// jsonStrings encodes ids as they appear in stored records.
func jsonStrings(ids []string) [][]byte {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i], _ = json.Marshal(id)
	}
	return out
}

func containsAny(b []byte, subs [][]byte) bool {
	for _, s := range subs {
		if bytes.Contains(b, s) {
			return true
		}
	}
	return false
}

// ignoreRetry turns a lost compare-and-swap into "stop for this pass".
func ignoreRetry(err error) error {
	if errors.Is(err, errRetry) {
		return nil
	}
	return err
}
