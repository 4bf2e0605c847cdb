package storage

import (
	"context"
	"errors"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
)

// The scrub: every shard of every stream read and its frames verified
// once per ScrubPeriod, so bitrot and shards lost without any event
// (nothing failed, no drive changed) are found. Each pass scrubs the
// records due by then: data record keys start with random UUIDs, so the
// share of the key space a cycle has covered is the share of records, and
// a pass at time t reads up to the key at fraction (t - start) / period.
// Reads are throttled by ScrubBandwidth. The cursors and the cycle's
// findings live in the KV (w/scrub), so a restart or a new leader goes on
// where the scrub was, and a finished cycle's counts are a full scan of
// the namespace (each stream as it was when its turn came).

// scrubRecord is the scrub's state.
type scrubRecord struct {
	Cycle   int       `json:"cycle"`
	Started time.Time `json:"started"`
	// Cursor is the next key to read under each of dataPrefixes;
	// prefixEnd of it once that prefix is done for the cycle.
	Cursor [len(dataPrefixes)]string `json:"cursor"`
	Tally  ScrubCycle                `json:"tally"` // the cycle so far
	Last   *ScrubCycle               `json:"last,omitempty"`
}

// ScrubCycle is what a scrub cycle found: every stream checked once, deep.
type ScrubCycle struct {
	Cycle    int       `json:"cycle"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Records  int64     `json:"records"`
	Streams  int       `json:"streams"`
	Healthy  int       `json:"healthy"`
	Healed   int       `json:"healed"`
	Failed   int       `json:"failed"`
	Lost     int       `json:"lost"`
	// Redundancy counts streams by the good chunks of their worst block
	// when scrubbed (before any repair), as a deep HealReport does.
	Redundancy      map[int]int   `json:"redundancy"`
	RedundancyBytes map[int]int64 `json:"redundancy_bytes"`
}

func (c *ScrubCycle) add(r HealReport) {
	c.Streams += r.Streams
	c.Healthy += r.Healthy
	c.Healed += r.Healed
	c.Failed += r.Failed
	c.Lost += r.Lost
	if c.Redundancy == nil {
		c.Redundancy, c.RedundancyBytes = map[int]int{}, map[int]int64{}
	}
	for k, v := range r.Redundancy {
		c.Redundancy[k] += v
	}
	for k, v := range r.RedundancyBytes {
		c.RedundancyBytes[k] += v
	}
}

// ScrubStatus is the scrub in HealStatus.
type ScrubStatus struct {
	Period  string    `json:"period"`
	Cycle   int       `json:"cycle"`
	Started time.Time `json:"started"`
	// Progress estimates the share of records scrubbed this cycle, Due
	// the share due by now (both 0..1); Behind: the scrub cannot keep up
	// (ScrubBandwidth too low for the data, or the leader was away).
	Progress float64     `json:"progress"`
	Due      float64     `json:"due"`
	Behind   bool        `json:"behind"`
	Records  int64       `json:"records"` // scrubbed this cycle
	Streams  int         `json:"streams"`
	Last     *ScrubCycle `json:"last,omitempty"` // the last finished cycle
}

func newScrubRecord(cycle int, now time.Time) scrubRecord {
	return scrubRecord{Cycle: cycle, Started: now, Tally: ScrubCycle{Cycle: cycle, Started: now}}
}

func (s scrubRecord) status(now time.Time, period time.Duration) *ScrubStatus {
	due := min(float64(now.Sub(s.Started))/float64(period), 1)
	progress := keyFraction(dataPrefixes[0], s.Cursor[0])
	st := &ScrubStatus{Period: period.String(), Cycle: s.Cycle, Started: s.Started, Progress: progress, Due: due,
		Records: s.Tally.Records, Streams: s.Tally.Streams, Last: s.Last}
	// Behind by more than one batch's worth of slack (a hundredth).
	st.Behind = due-progress > 0.01
	return st
}

func (e *Engine) loadScrub(ctx context.Context) (scrubRecord, uint64, error) {
	var s scrubRecord
	ent, err := e.kv.Get(ctx, scrubKey())
	if errors.Is(err, meta.ErrNotFound) {
		return s, 0, nil
	}
	if err != nil {
		return s, 0, err
	}
	return s, ent.Revision, decode(ent.Value, &s)
}

func (e *Engine) saveScrub(ctx context.Context, s scrubRecord, rev uint64) (uint64, error) {
	return e.saveRepairState(ctx, scrubKey(), encode(s), rev)
}

// scrubStep scrubs the records due by now that earlier passes have not,
// up to RepairBatch, and starts the next cycle when one is finished.
func (e *Engine) scrubStep(ctx context.Context, pc *passContext) error {
	s, rev, err := e.loadScrub(ctx)
	if err != nil {
		return err
	}
	now := e.cfg.Now().UTC()
	if rev == 0 {
		s = newScrubRecord(1, now)
		if rev, err = e.saveScrub(ctx, s, rev); err != nil {
			return ignoreRetry(err)
		}
	}
	defer func() { pc.scrub = s.status(now, e.cfg.ScrubPeriod) }()
	due := float64(now.Sub(s.Started)) / float64(e.cfg.ScrubPeriod)
	budget := e.cfg.RepairBatch
	for i, prefix := range dataPrefixes {
		bound := fractionKey(prefix, due)
		for budget > 0 && s.Cursor[i] < bound {
			limit := min(listBatch, budget)
			ents, err := e.kv.List(ctx, prefix, max(s.Cursor[i], prefix), limit)
			if err != nil {
				return err
			}
			reached, n := len(ents) < limit, 0
			for _, ent := range ents {
				if ent.Key >= bound {
					reached = true
					break
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				pc.rep.Visited++
				pc.rep.Scrubbed++
				s.Tally.Records++
				e.scrubOne(ctx, pc, &s, ent, i == 0)
				n++
			}
			budget -= n
			if reached {
				s.Cursor[i] = bound
			} else {
				s.Cursor[i] = ents[n-1].Key + "\x00"
			}
			if n == 0 && s.Cursor[i] != prefixEnd(prefix) {
				continue // nothing scrubbed: no need to save a cursor that only moved over a gap
			}
			if rev, err = e.saveScrub(ctx, s, rev); err != nil {
				return ignoreRetry(err)
			}
		}
	}
	if due >= 1 && s.done() {
		last := s.Tally
		last.Finished = now
		e.log.WithField("cycle", s.Cycle).WithField("streams", last.Streams).WithField("healed", last.Healed).
			WithField("failed", last.Failed).Info("scrub cycle finished")
		s = newScrubRecord(s.Cycle+1, now)
		s.Last = &last
		if _, err := e.saveScrub(ctx, s, rev); err != nil {
			return ignoreRetry(err)
		}
		pc.scrubDone = &last
		return nil
	}
	pc.more = pc.more || budget == 0
	return nil
}

// done reports whether every prefix was scrubbed to its end this cycle.
func (s scrubRecord) done() bool {
	for i, p := range dataPrefixes {
		if s.Cursor[i] != prefixEnd(p) {
			return false
		}
	}
	return true
}

// scrubOne checks every stream of one record deep (and where the ring
// places it), and queues what it could not repair.
func (e *Engine) scrubOne(ctx context.Context, pc *passContext, s *scrubRecord, ent meta.Entry, multi bool) {
	de, ok := decodeDataEntry(ent, multi)
	if !ok {
		return
	}
	r := newHealReport(pc.rep.Started, true)
	out := e.repairRecord(ctx, de, nil, HealOptions{Deep: true, Rebalance: true, place: pc.place}, e.rs.scrubTh, &r)
	s.Tally.add(r)
	pc.rep.merge(r)
	if len(out.unfinished) > 0 {
		if err := e.markDirty(ctx, de.key, out.unfinished, true, dirtyRepair, out.wait, out.err); err != nil {
			e.log.WithError(err).WithField("record", de.key).Warn("scrub: queueing an unfinished repair")
		}
	}
}
