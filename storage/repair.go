package storage

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Incremental repair. A background pass (RepairPass) costs what is known to
// need work, not the size of the namespace:
//
//   - drive check (drivecheck.go): every drive's Info; offline drives are
//     noted, a drive that came back empty (a new instance) joins the
//     placement sweep;
//   - the repair queue (dirty.go): streams a write, a read or an earlier
//     repair left short of k+m good shards;
//   - the placement sweep (sweep.go): after a ring change or a wiped drive,
//     a cursor over the data records that resumes after restarts and
//     leader changes; it decodes every record but touches drives only for
//     streams the new ring moves or with a shard on a wiped drive;
//   - the scrub (scrub.go): every shard read and verified once per
//     ScrubPeriod, a slice per pass, its cursor in the KV.
//
// Each kind reads at most RepairBatch records per pass; a pass that leaves
// work over is followed by the next one at once (or as RepairRate allows).

// repairState is the leader's in-memory repair state; what must survive a
// restart or leader change is in the KV.
type repairState struct {
	mu         sync.Mutex // one background pass at a time
	dirtyAfter string     // where the next pass continues in the repair queue
	lastGC     time.Time
	repairTh   *throttle // RepairBandwidth, shared by consecutive passes
	scrubTh    *throttle // ScrubBandwidth, likewise
}

// passContext is one background pass.
type passContext struct {
	place   Placement // the one ring snapshot of the pass
	th      *throttle
	offline map[string]bool // drives the drive check found offline
	rep     HealReport
	sweep   *SweepStatus
	scrub   *ScrubStatus
	// scrubDone is set when the pass finished a scrub cycle.
	scrubDone *ScrubCycle
	more      bool // work left over for the next pass
}

func (pc *passContext) allOffline(ids []string) bool {
	for _, id := range ids {
		if !pc.offline[id] {
			return false
		}
	}
	return len(ids) > 0
}

// RepairPass runs one background repair pass (what the leader's loop
// runs): the drive check, a batch of the repair queue, of the placement
// sweep and of the scrub. Its report counts the streams it checked on
// drives and the records it read; HealStatus keeps the last full scan.
func (e *Engine) RepairPass(ctx context.Context) (HealReport, error) {
	rep, _, err := e.repairPass(ctx)
	return rep, err
}

func (e *Engine) repairPass(ctx context.Context) (HealReport, bool, error) {
	e.rs.mu.Lock()
	defer e.rs.mu.Unlock()
	pc := &passContext{place: e.placement.Placement(), th: e.rs.repairTh, offline: map[string]bool{},
		rep: newHealReport(e.cfg.Now().UTC(), false)}
	pc.rep.Incremental = true
	e.status.begin(pc.rep.Started, true)
	err := e.checkDrives(ctx, pc)
	for _, step := range []func(context.Context, *passContext) error{e.repairDirty, e.sweepPlacement, e.scrubStep} {
		if err != nil {
			break
		}
		err = step(ctx, pc)
	}
	pc.rep.Duration = e.cfg.Now().Sub(pc.rep.Started).String()
	e.status.endIncremental(pc)
	return pc.rep, pc.more, err
}

// pace is how long the loop waits before a pass that continues left-over
// work: as long as RepairRate needs for a batch, at most RepairInterval.
func (e *Engine) pace() time.Duration {
	if e.cfg.RepairRate <= 0 {
		return 0
	}
	d := time.Duration(float64(e.cfg.RepairBatch) / e.cfg.RepairRate * float64(time.Second))
	return min(d, e.cfg.RepairInterval)
}

// gcDue says whether a garbage collection is due (every GCInterval).
func (e *Engine) gcDue() bool {
	now := e.cfg.Now()
	e.rs.mu.Lock()
	defer e.rs.mu.Unlock()
	if now.Sub(e.rs.lastGC) < e.cfg.GCInterval {
		return false
	}
	e.rs.lastGC = now
	return true
}

// keyFraction estimates how far key is through the records under prefix:
// data record keys start with random UUIDs, so the first hex digits after
// the prefix spread uniformly over [0, 1). Progress figures and the scrub's
// pacing use it; correctness never depends on it.
func keyFraction(prefix, key string) float64 {
	if len(key) < len(prefix) || key[:len(prefix)] != prefix {
		if key > prefix {
			return 1
		}
		return 0
	}
	rest := key[len(prefix):]
	var hex []byte
	for i := 0; i < len(rest) && len(hex) < 8; i++ {
		c := rest[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			break
		}
		hex = append(hex, c)
	}
	for len(hex) < 8 {
		hex = append(hex, '0')
	}
	v, err := strconv.ParseUint(string(hex), 16, 32)
	if err != nil {
		return 0
	}
	return float64(v) / (1 << 32)
}

// fractionKey is the first key at fraction f (0 ≤ f < 1) of the records
// under prefix, the inverse of keyFraction; f ≥ 1 is the end of prefix.
func fractionKey(prefix string, f float64) string {
	if f >= 1 {
		return prefixEnd(prefix)
	}
	return prefix + strconv.FormatUint(uint64(max(f, 0)*(1<<32))|1<<32, 16)[1:]
}

// hasAny reports whether any of ids is in set.
func hasAny(ids, set []string) bool {
	for _, id := range ids {
		if slices.Contains(set, id) {
			return true
		}
	}
	return false
}
