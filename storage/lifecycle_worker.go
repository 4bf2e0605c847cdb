package storage

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// The lifecycle worker runs on the leader. A pass reads the index from
// its start (the earliest due time) and stops at the first entry not yet
// due; each due entry is planned again on the key's current versions and
// rules, and its step is taken by compare-and-swap on the records planned
// from (a replay by a new leader, or a step raced by a client, changes
// nothing), in the same transaction that moves the key's entry. The index
// itself is the worker's persistent cursor. Rescans after configuration
// changes are resumable records in the KV too.

// lifecycleBatch is how many index entries or keys one read covers.
const lifecycleBatch = 100

// maxStepsPerKey bounds the steps taken on one key in one visit (one per
// version removed).
const maxStepsPerKey = 1000

// LifecycleReport is what one lifecycle pass did.
type LifecycleReport struct {
	Started  time.Time      `json:"started"`
	Duration string         `json:"duration"`
	Due      int            `json:"due"`     // entries found due
	Actions  map[string]int `json:"actions"` // steps taken, by action
	Failed   int            `json:"failed"`
	// Rescanned counts keys and uploads re-planned by rescans.
	Rescanned int `json:"rescanned"`
	// LagSeconds is how long the earliest entry still due at the end of
	// the pass has been due (0: none left).
	LagSeconds float64 `json:"lag_seconds"`
}

// LifecycleRescan is a re-plan under way after a configuration change.
type LifecycleRescan struct {
	Bucket  string    `json:"bucket"`
	Phase   string    `json:"phase"` // "keys", then "uploads"
	Scanned int64     `json:"scanned"`
	Changed int64     `json:"changed"`
	Started time.Time `json:"started"`
}

// LifecycleStatus is what `filesphere admin lifecycle status` shows.
type LifecycleStatus struct {
	Day     string            `json:"day"`
	Running bool              `json:"running"`
	Passes  int               `json:"passes"`
	Totals  map[string]int64  `json:"totals"`
	NextDue *time.Time        `json:"next_due,omitempty"`
	Last    *LifecycleReport  `json:"last,omitempty"`
	Rescans []LifecycleRescan `json:"rescans"`
	Error   string            `json:"error,omitempty"`
}

// lifecycleState is the worker's state for status and metrics.
type lifecycleState struct {
	mu      sync.Mutex
	running bool
	passes  int
	totals  map[string]int64
	last    *LifecycleReport
	lim     *rate.Limiter
	metrics *lifecycleMetrics
}

func (e *Engine) kickLifecycle() {
	select {
	case e.lcNow <- struct{}{}:
	default:
	}
}

// lifecycleInterval is the longest the worker sleeps.
func (e *Engine) lifecycleInterval() time.Duration {
	if e.cfg.LifecycleInterval > 0 {
		return e.cfg.LifecycleInterval
	}
	return min(time.Minute, e.cfg.LifecycleDay/2)
}

func (e *Engine) lifecycleLoop(ctx context.Context) {
	for {
		wait := e.lifecycleInterval()
		if e.leader() {
			rep, next, busy, err := e.lifecyclePass(ctx)
			if ctx.Err() != nil {
				return
			}
			switch {
			case err != nil:
				e.log.WithError(err).Warn("lifecycle pass stopped")
			case len(rep.Actions) > 0 || rep.Failed > 0:
				e.log.WithField("actions", rep.Actions).WithField("failed", rep.Failed).Info("lifecycle pass")
			}
			if busy && err == nil {
				wait = 0
			} else if !next.IsZero() {
				wait = min(wait, max(next.Sub(e.cfg.Now()), 0))
			}
		}
		if wait == 0 {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-e.lcNow:
		case <-e.cfg.After(wait):
		}
	}
}

// RunLifecycle runs lifecycle passes until nothing more is due at the
// engine's clock and no rescan is left, and reports the last one. The
// background worker does the same on the leader; tests call it directly.
func (e *Engine) RunLifecycle(ctx context.Context) (LifecycleReport, error) {
	total := LifecycleReport{Started: e.cfg.Now(), Actions: map[string]int{}}
	for {
		rep, _, busy, err := e.lifecyclePass(ctx)
		total.Due += rep.Due
		total.Failed += rep.Failed
		total.Rescanned += rep.Rescanned
		total.LagSeconds = rep.LagSeconds
		for k, n := range rep.Actions {
			total.Actions[k] += n
		}
		if err != nil || !busy {
			return total, err
		}
	}
}

// lifecyclePass takes every step due now, then advances each rescan by a
// batch. It returns the next due time it saw and whether work is left.
func (e *Engine) lifecyclePass(ctx context.Context) (LifecycleReport, time.Time, bool, error) {
	st := &e.lc
	st.mu.Lock()
	st.running = true
	st.mu.Unlock()
	now := e.cfg.Now()
	rep := LifecycleReport{Started: now, Actions: map[string]int{}}
	next, acted, err := e.dueSteps(ctx, now, &rep)
	busy := false
	if err == nil {
		busy, err = e.rescans(ctx, &rep)
	}
	if err == nil {
		rep.LagSeconds, err = e.lifecycleLag(ctx)
	}
	rep.Duration = e.cfg.Now().Sub(now).Round(time.Millisecond).String()
	st.mu.Lock()
	st.running = false
	st.passes++
	if st.totals == nil {
		st.totals = map[string]int64{}
	}
	for k, n := range rep.Actions {
		st.totals[k] += int64(n)
	}
	r := rep
	st.last = &r
	st.mu.Unlock()
	st.metrics.observe(rep)
	return rep, next, busy || acted > 0, err
}

// lifecycleLag is how long the earliest entry has been due (0: none).
func (e *Engine) lifecycleLag(ctx context.Context) (float64, error) {
	ents, err := e.kv.List(ctx, duePrefix(), "", 1)
	if err != nil || len(ents) == 0 {
		return 0, err
	}
	d, ok := parseDueKey(ents[0].Key)
	if !ok {
		return 0, nil
	}
	return max(e.cfg.Now().Sub(d.at).Seconds(), 0), nil
}

// wait paces the worker to LifecycleRate steps per second.
func (e *Engine) lcWait(ctx context.Context) error {
	if e.cfg.LifecycleRate <= 0 {
		return ctx.Err()
	}
	st := &e.lc
	st.mu.Lock()
	if st.lim == nil {
		st.lim = rate.NewLimiter(rate.Limit(e.cfg.LifecycleRate), max(1, int(e.cfg.LifecycleRate)))
	}
	now := e.cfg.Now()
	d := st.lim.ReserveN(now, 1).DelayFrom(now)
	st.mu.Unlock()
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-e.cfg.After(d):
		return nil
	}
}

// dueSteps visits every index entry due at now, once, in time order.
func (e *Engine) dueSteps(ctx context.Context, now time.Time, rep *LifecycleReport) (time.Time, int, error) {
	start, acted := "", 0
	for {
		ents, err := e.kv.List(ctx, duePrefix(), start, lifecycleBatch)
		if err != nil || len(ents) == 0 {
			return time.Time{}, acted, err
		}
		for _, ent := range ents {
			start = ent.Key + "\x00"
			d, ok := parseDueKey(ent.Key)
			if !ok {
				e.log.WithField("key", ent.Key).Warn("lifecycle: malformed index entry")
				continue
			}
			if d.at.After(now) {
				return d.at, acted, nil
			}
			if !e.leader() {
				return time.Time{}, acted, nil
			}
			rep.Due++
			for range maxStepsPerKey {
				if err := e.lcWait(ctx); err != nil {
					return time.Time{}, acted, err
				}
				kind, err := e.lifecycleStep(ctx, d, now)
				if err != nil {
					rep.Failed++
					e.lc.metrics.failed()
					e.log.WithError(err).WithField("bucket", d.bucket).WithField("key", d.key).Warn("lifecycle step failed")
					break
				}
				if kind == "" {
					break
				}
				rep.Actions[kind]++
				acted++
				// Planned again: continue while the key's new entry
				// is due too.
				if d, ok = e.entryOf(ctx, d); !ok || d.at.After(now) {
					break
				}
			}
		}
	}
}

// entryOf reads the index entry now named by the head (or upload) of d.
func (e *Engine) entryOf(ctx context.Context, d dueEntry) (dueEntry, bool) {
	var due string
	if d.upload {
		u, _, err := e.getUpload(ctx, d.bucket, d.key, d.uploadID)
		if err != nil {
			return d, false
		}
		due = u.Due
	} else {
		h, hrev, err := e.getHead(ctx, d.bucket, d.key)
		if err != nil || hrev == 0 {
			return d, false
		}
		due = h.Due
	}
	if due == "" {
		return d, false
	}
	return parseDueKey(due)
}

// The actions, as metrics and reports name them.
const (
	actDelete       = "delete"         // current version removed (unversioned bucket)
	actDeleteMarker = "delete_marker"  // delete marker added over the current version
	actNoncurrent   = "noncurrent"     // noncurrent version removed
	actMarker       = "expired_marker" // expired delete marker removed
	actAbort        = "abort_upload"
	actReindex      = "reindex" // nothing due under the rules in force: entry moved
	actOrphan       = "orphan"  // entry no record names: removed
)

// errStale: the key changed since it was planned; it is planned again.
var errStale = errors.New("storage: lifecycle plan stale")

// lifecycleStep takes the step due on d's key or upload, if any, and
// names what it did ("" when it did nothing).
func (e *Engine) lifecycleStep(ctx context.Context, d dueEntry, now time.Time) (string, error) {
	if d.upload {
		return e.uploadStep(ctx, d, now)
	}
	br, brev, lc, err := e.currentLifecycle(ctx, d.bucket)
	var bnf *BucketNotFoundError
	if errors.As(err, &bnf) {
		return e.dropOrphan(ctx, d.metaKey, headKey(d.bucket, d.key), 0)
	}
	if err != nil {
		return "", err
	}
	h, hrev, err := e.getHead(ctx, d.bucket, d.key)
	if err != nil {
		return "", err
	}
	if h.Due != d.metaKey {
		return e.dropOrphan(ctx, d.metaKey, headKey(d.bucket, d.key), hrev)
	}
	vs, err := e.listKeyVersions(ctx, d.bucket, d.key)
	if err != nil {
		return "", err
	}
	p := lc.plan(d.key, records(vs), false, now, e.days())
	if p.act == nil {
		due, val := e.restDue(lc, d.bucket, d.key, vs)
		h.Due = due
		err := e.txn(ctx, meta.Txn{
			Compares: []meta.Compare{{Key: bucketKey(d.bucket), Revision: brev}, {Key: headKey(d.bucket, d.key), Revision: hrev}},
			Ops:      append([]meta.Op{meta.Put(headKey(d.bucket, d.key), encode(h))}, dueOps(d.metaKey, due, val)...),
		})
		return stepResult(actReindex, err)
	}
	act, planned := *p.act, vs[p.act.idx]
	// sameStep re-plans what a commit read: the step stands only if it is
	// still the one due, on the same version.
	sameStep := func(lc *Lifecycle, vs []versionEntry) bool {
		q := lc.plan(d.key, records(vs), false, now, e.days())
		return q.act != nil && q.act.kind == act.kind && vs[q.act.idx].metaKey == planned.metaKey
	}
	switch act.kind {
	case lcExpire:
		if br.Versioning == VersioningUnset {
			_, err := e.removeVersionIf(ctx, d.bucket, d.key, planned.rec.VersionID, false,
				func(_ bucketRecord, lc *Lifecycle, vs []versionEntry, _ int) error {
					if !sameStep(lc, vs) {
						return errStale
					}
					return nil
				})
			return stepResult(actDelete, err)
		}
		_, err := e.commitVersionIf(ctx, d.bucket, d.key, versionRecord{DeleteMarker: true}, nil, meta.Txn{},
			func(_ bucketRecord, lc *Lifecycle, h headRecord) error {
				x, ok := lc.expiry(d.key, h.Latest, e.days())
				if h.LatestKey != planned.metaKey || !ok || ceilSecond(x.Date).After(now) {
					return errStale
				}
				return nil
			})
		return stepResult(actDeleteMarker, err)
	case lcNoncurrent, lcMarker:
		name := actNoncurrent
		if act.kind == lcMarker {
			name = actMarker
		}
		_, err := e.removeVersionIf(ctx, d.bucket, d.key, planned.rec.VersionID, false,
			func(_ bucketRecord, lc *Lifecycle, vs []versionEntry, idx int) error {
				if vs[idx].metaKey != planned.metaKey || !sameStep(lc, vs) {
					return errStale
				}
				return nil
			})
		return stepResult(name, err)
	}
	return "", nil
}

// stepResult names a step that committed; a stale plan is no failure
// (the next pass plans the key again).
func stepResult(name string, err error) (string, error) {
	switch {
	case errors.Is(err, errStale), errors.Is(err, errRetry), errors.Is(err, ErrConflict):
		return "", nil
	case err != nil:
		return "", err
	}
	return name, nil
}

// dropOrphan removes an index entry no record names, if the record it
// was checked against is still at rev.
func (e *Engine) dropOrphan(ctx context.Context, entry, owner string, rev uint64) (string, error) {
	err := e.txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: owner, Revision: rev}}, Ops: []meta.Op{meta.Delete(entry)}})
	if errors.Is(err, errRetry) {
		return "", nil
	}
	return stepResult(actOrphan, err)
}

func records(vs []versionEntry) []versionRecord {
	out := make([]versionRecord, len(vs))
	for i, ve := range vs {
		out[i] = ve.rec
	}
	return out
}

// uploadStep aborts a due upload.
func (e *Engine) uploadStep(ctx context.Context, d dueEntry, now time.Time) (string, error) {
	_, brev, lc, err := e.currentLifecycle(ctx, d.bucket)
	var bnf *BucketNotFoundError
	if errors.As(err, &bnf) {
		return e.dropOrphan(ctx, d.metaKey, uploadKey(d.bucket, d.key, d.uploadID), 0)
	}
	if err != nil {
		return "", err
	}
	u, urev, err := e.getUpload(ctx, d.bucket, d.key, d.uploadID)
	var unf *UploadNotFoundError
	if errors.As(err, &unf) {
		return e.dropOrphan(ctx, d.metaKey, uploadKey(d.bucket, d.key, d.uploadID), 0)
	}
	if err != nil {
		return "", err
	}
	if u.Due != d.metaKey {
		return e.dropOrphan(ctx, d.metaKey, uploadKey(d.bucket, d.key, d.uploadID), urev)
	}
	if s, ok := lc.uploadDue(u.Key, u.Initiated, e.days()); !ok || s.due.After(now) {
		var val []byte
		old := u.Due
		u.Due, val = e.uploadDueOf(lc, d.bucket, u)
		err := e.txn(ctx, meta.Txn{
			Compares: []meta.Compare{{Key: bucketKey(d.bucket), Revision: brev}, {Key: uploadKey(d.bucket, d.key, d.uploadID), Revision: urev}},
			Ops:      append([]meta.Op{meta.Put(uploadKey(d.bucket, d.key, d.uploadID), encode(u))}, dueOps(old, u.Due, val)...),
		})
		return stepResult(actReindex, err)
	}
	err = e.abortUploadIf(ctx, d.bucket, d.key, d.uploadID, []meta.Compare{{Key: bucketKey(d.bucket), Revision: brev}},
		func(cur uploadRecord) error {
			if cur.Due != d.metaKey {
				return errStale
			}
			return nil
		})
	if errors.As(err, &unf) {
		return "", nil // aborted or completed meanwhile
	}
	return stepResult(actAbort, err)
}

// rescans advances every rescan by a batch; busy reports work left.
func (e *Engine) rescans(ctx context.Context, rep *LifecycleReport) (bool, error) {
	ents, err := e.kv.List(ctx, meta.PrefixStorage+keyRescan, "", 0)
	if err != nil {
		return false, err
	}
	busy := false
	for _, ent := range ents {
		if !e.leader() {
			return false, nil
		}
		n, done, err := e.rescanBatch(ctx, ent)
		rep.Rescanned += n
		if err != nil {
			return false, err
		}
		busy = busy || !done
	}
	e.lc.metrics.rescansPending(len(ents))
	return busy, nil
}

// rescanBatch re-plans one batch of a bucket's keys (then uploads) and
// moves its cursor, so a rescan resumes where it stopped after a leader
// change; it reports the keys visited and whether the rescan is done.
func (e *Engine) rescanBatch(ctx context.Context, ent meta.Entry) (int, bool, error) {
	var rec rescanRecord
	if err := decode(ent.Value, &rec); err != nil {
		return 0, false, err
	}
	bucket := ent.Key[len(meta.PrefixStorage+keyRescan):]
	br, brev, lc, err := e.currentLifecycle(ctx, bucket)
	var bnf *BucketNotFoundError
	if errors.As(err, &bnf) || err == nil && br.LifecycleGen != rec.Gen {
		// The bucket is gone, or a newer change restarted the rescan.
		_, err := e.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: ent.Key, Revision: ent.Revision}}, Ops: []meta.Op{meta.Delete(ent.Key)}})
		var cf *meta.CompareFailedError
		if errors.As(err, &cf) {
			err = nil
		}
		return 0, true, err
	}
	if err != nil {
		return 0, false, err
	}
	base := headPrefix(bucket)
	if rec.Uploads {
		base = uploadPrefix(bucket)
	}
	page, err := e.kv.List(ctx, base, rec.After, lifecycleBatch)
	if err != nil {
		return 0, false, err
	}
	for _, p := range page {
		if err := e.lcWait(ctx); err != nil {
			return 0, false, err
		}
		changed, err := e.replan(ctx, bucket, brev, lc, p, rec.Uploads)
		if err != nil {
			return 0, false, err
		}
		rec.Scanned++
		if changed {
			rec.Changed++
		}
		rec.After = p.Key + "\x00"
	}
	e.lc.metrics.rescanned(len(page))
	done := false
	op := meta.Put(ent.Key, nil)
	switch {
	case len(page) == lifecycleBatch:
	case !rec.Uploads:
		rec.Uploads, rec.After = true, ""
	default:
		done = true
		op = meta.Delete(ent.Key)
	}
	if !done {
		op.Value = encode(rec)
	}
	err = e.txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: ent.Key, Revision: ent.Revision}}, Ops: []meta.Op{op}})
	if errors.Is(err, errRetry) {
		err = nil // restarted by a newer change meanwhile
	}
	return len(page), done, err
}

// replan sets the index entry of one head (or upload) read by a rescan
// to what the rules in force say, by compare-and-swap; a record changed
// meanwhile was planned by that change.
func (e *Engine) replan(ctx context.Context, bucket string, brev uint64, lc *Lifecycle, p meta.Entry, upload bool) (bool, error) {
	cmps := []meta.Compare{{Key: bucketKey(bucket), Revision: brev}, {Key: p.Key, Revision: p.Revision}}
	if upload {
		var u uploadRecord
		if err := decode(p.Value, &u); err != nil {
			return false, err
		}
		due, val := e.uploadDueOf(lc, bucket, u)
		if due == u.Due {
			return false, nil
		}
		old := u.Due
		u.Due = due
		err := e.txn(ctx, meta.Txn{Compares: cmps, Ops: append([]meta.Op{meta.Put(p.Key, encode(u))}, dueOps(old, due, val)...)})
		if errors.Is(err, errRetry) {
			return false, nil
		}
		return err == nil, err
	}
	var h headRecord
	if err := decode(p.Value, &h); err != nil {
		return false, err
	}
	key := p.Key[len(headPrefix(bucket)):]
	vs := []versionRecord{h.Latest}
	more := false
	if lc.needsHistory(key) || h.Latest.DeleteMarker {
		all, err := e.listKeyVersions(ctx, bucket, key)
		if err != nil {
			return false, err
		}
		vs = records(all)
	}
	due, val := e.keyDue(lc, bucket, key, vs, more)
	if due == h.Due {
		return false, nil
	}
	old := h.Due
	h.Due = due
	err := e.txn(ctx, meta.Txn{Compares: cmps, Ops: append([]meta.Op{meta.Put(p.Key, encode(h))}, dueOps(old, due, val)...)})
	if errors.Is(err, errRetry) {
		return false, nil
	}
	return err == nil, err
}

// LifecycleStatus reports the worker's state (meaningful on the leader).
func (e *Engine) LifecycleStatus(ctx context.Context) LifecycleStatus {
	st := &e.lc
	st.mu.Lock()
	out := LifecycleStatus{Day: e.cfg.LifecycleDay.String(), Running: st.running, Passes: st.passes,
		Totals: map[string]int64{}, Rescans: []LifecycleRescan{}}
	for k, n := range st.totals {
		out.Totals[k] = n
	}
	if st.last != nil {
		l := *st.last
		out.Last = &l
	}
	st.mu.Unlock()
	if ents, err := e.kv.List(ctx, duePrefix(), "", 1); err != nil {
		out.Error = err.Error()
	} else if len(ents) == 1 {
		if d, ok := parseDueKey(ents[0].Key); ok {
			out.NextDue = &d.at
		}
	}
	ents, err := e.kv.List(ctx, meta.PrefixStorage+keyRescan, "", 0)
	if err != nil {
		out.Error = err.Error()
	}
	for _, ent := range ents {
		var rec rescanRecord
		if decode(ent.Value, &rec) != nil {
			continue
		}
		r := LifecycleRescan{Bucket: ent.Key[len(meta.PrefixStorage+keyRescan):], Phase: "keys", Scanned: rec.Scanned,
			Changed: rec.Changed, Started: rec.Started}
		if rec.Uploads {
			r.Phase = "uploads"
		}
		out.Rescans = append(out.Rescans, r)
	}
	return out
}

// lifecycleMetrics exports the worker's progress.
type lifecycleMetrics struct {
	due       prometheus.Gauge
	lag       prometheus.Gauge
	actions   *prometheus.CounterVec
	errors    prometheus.Counter
	passes    prometheus.Counter
	rescanKey prometheus.Counter
	rescans   prometheus.Gauge
}

func newLifecycleMetrics(reg prometheus.Registerer) *lifecycleMetrics {
	if reg == nil {
		return nil
	}
	m := &lifecycleMetrics{
		due: prometheus.NewGauge(prometheus.GaugeOpts{Name: "filesphere_lifecycle_due_entries",
			Help: "Lifecycle index entries found due by the last pass."}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "filesphere_lifecycle_lag_seconds",
			Help: "How long the earliest lifecycle entry still due after the last pass has been due."}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "filesphere_lifecycle_actions_total",
			Help: "Lifecycle steps taken, by action."}, []string{"action"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_lifecycle_errors_total",
			Help: "Lifecycle steps that failed (retried on a later pass)."}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_lifecycle_passes_total", Help: "Lifecycle passes run."}),
		rescanKey: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_lifecycle_rescanned_keys_total",
			Help: "Keys and uploads re-planned after lifecycle configuration changes."}),
		rescans: prometheus.NewGauge(prometheus.GaugeOpts{Name: "filesphere_lifecycle_rescans",
			Help: "Buckets whose objects are being re-planned after a lifecycle configuration change."}),
	}
	reg.MustRegister(m.due, m.lag, m.actions, m.errors, m.passes, m.rescanKey, m.rescans)
	return m
}

func (m *lifecycleMetrics) observe(rep LifecycleReport) {
	if m == nil {
		return
	}
	m.passes.Inc()
	m.due.Set(float64(rep.Due))
	m.lag.Set(rep.LagSeconds)
	for k, n := range rep.Actions {
		m.actions.WithLabelValues(k).Add(float64(n))
	}
}

func (m *lifecycleMetrics) failed() {
	if m != nil {
		m.errors.Inc()
	}
}

func (m *lifecycleMetrics) rescanned(n int) {
	if m != nil {
		m.rescanKey.Add(float64(n))
	}
}

func (m *lifecycleMetrics) rescansPending(n int) {
	if m != nil {
		m.rescans.Set(float64(n))
	}
}
