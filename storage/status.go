package storage

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HealStatus is what `filesphere admin heal status` shows: the pass under
// way (or the last one), its rate and ETA, what is known to need repair,
// the sweep and scrub, and redundancy levels. Background passes are
// incremental: Last counts only what they checked. The counts per
// redundancy level of the whole namespace come from full scans only:
// LastFull (`admin heal`) and Scrub.Last (the last finished scrub cycle).
type HealStatus struct {
	Running bool      `json:"running"`
	Started time.Time `json:"started,omitempty"`
	// Incremental: the pass under way (or the last) is a background one.
	Incremental  bool    `json:"incremental"`
	Scanned      int     `json:"scanned"`
	Expected     int     `json:"expected"` // streams in the last full pass, for a full pass's ETA
	Healed       int     `json:"healed"`
	ShardsMoved  int     `json:"shards_moved"`
	Failed       int     `json:"failed"`
	Waiting      int     `json:"waiting"` // streams waiting for an offline drive (see HealReport)
	BytesWritten int64   `json:"bytes_written"`
	StreamsPerS  float64 `json:"streams_per_second"`
	ETA          string  `json:"eta,omitempty"`
	Queued       int     `json:"queued"` // objects reads asked to heal
	// ReadHealsDropped counts heals reads asked for that found both the
	// heal queue and the repair queue's intake full (the scrub finds
	// those streams in its cycle).
	ReadHealsDropped int         `json:"read_heals_dropped,omitempty"`
	Passes           int         `json:"passes"`
	Last             *HealReport `json:"last,omitempty"`
	LastFull         *HealReport `json:"last_full,omitempty"`
	// Dirty is how many streams the repair queue held after the last
	// background pass; when DirtyAll is false that pass saw only part of
	// the queue and Dirty is a lower bound.
	Dirty         int          `json:"dirty"`
	DirtyAll      bool         `json:"dirty_all"`
	DrivesOffline []string     `json:"drives_offline,omitempty"`
	Sweep         *SweepStatus `json:"sweep,omitempty"`
	Scrub         *ScrubStatus `json:"scrub,omitempty"`
	// Totals add up the passes this engine finished (a new leader's start
	// over), so a poller that misses short passes still sees their work.
	Totals HealTotals `json:"totals"`
}

// HealTotals are cumulative counts of finished passes.
type HealTotals struct {
	Streams      int   `json:"streams"`
	ShardsHealed int   `json:"shards_healed"`
	ShardsMoved  int   `json:"shards_moved"`
	BytesWritten int64 `json:"bytes_written"`
	Visited      int64 `json:"visited"`
}

func (t *HealTotals) add(r HealReport) {
	t.Streams += r.Streams
	t.ShardsHealed += r.ShardsHealed
	t.ShardsMoved += r.ShardsMoved
	t.BytesWritten += r.BytesWritten
	t.Visited += int64(r.Visited)
}

// healStatus tracks repair passes for status and metrics.
type healStatus struct {
	mu      sync.Mutex
	cur     HealStatus
	metrics *healMetrics
}

func (s *healStatus) begin(t time.Time, incremental bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	expected := s.cur.Expected
	if s.cur.LastFull != nil {
		expected = s.cur.LastFull.Streams
	}
	if incremental {
		expected = 0 // its work is not known up front: no ETA
	}
	next := s.cur
	next.Running, next.Started, next.Incremental, next.Expected = true, t, incremental, expected
	next.Scanned, next.Healed, next.ShardsMoved, next.Failed, next.Waiting, next.BytesWritten = 0, 0, 0, 0, 0, 0
	next.StreamsPerS, next.ETA = 0, ""
	s.cur = next
}

func (s *healStatus) progress(res repairResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Scanned++
	s.cur.BytesWritten += res.bytes
	switch {
	case errors.Is(res.err, errTargetsOffline):
		s.cur.Waiting++
	case res.err != nil:
		s.cur.Failed++
	case res.healed > 0 || res.moved != nil:
		s.cur.Healed++
	}
	if res.moved != nil {
		s.cur.ShardsMoved += len(res.moved.indices)
	}
	s.metrics.observe(res)
}

// end closes a full pass: its counts are the namespace's levels.
func (s *healStatus) end(rep HealReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Running = false
	s.cur.Passes++
	s.cur.Expected = rep.Streams
	r := rep
	s.cur.Last, s.cur.LastFull = &r, &r
	s.cur.Totals.add(rep)
	s.metrics.levels(rep.Redundancy)
}

// endIncremental closes a background pass.
func (s *healStatus) endIncremental(pc *passContext) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := pc.rep
	s.cur.Running = false
	s.cur.Passes++
	s.cur.Last = &r
	s.cur.Totals.add(r)
	s.cur.Dirty, s.cur.DirtyAll, s.cur.DrivesOffline = r.DirtyLeft, r.DirtyAll, r.DrivesOffline
	if pc.sweep != nil {
		s.cur.Sweep = pc.sweep
	}
	if pc.scrub != nil {
		s.cur.Scrub = pc.scrub
	}
	s.metrics.incremental(&s.cur, r.Visited)
	if c := pc.scrubDone; c != nil {
		s.metrics.levels(c.Redundancy)
	}
}

func (s *healStatus) droppedReadHeal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.ReadHealsDropped++
	if s.metrics != nil {
		s.metrics.dropped.Inc()
	}
}

func (s *healStatus) snapshot(queued int) HealStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.cur
	st.Queued = queued
	if st.Running {
		el := time.Since(st.Started).Seconds()
		if el > 0 {
			st.StreamsPerS = float64(st.Scanned) / el
		}
		if st.StreamsPerS > 0 && st.Expected > st.Scanned {
			st.ETA = time.Duration(float64(st.Expected-st.Scanned) / st.StreamsPerS * float64(time.Second)).Round(time.Second).String()
		}
	}
	return st
}

// HealStatus reports repair progress.
func (e *Engine) HealStatus() HealStatus { return e.status.snapshot(len(e.healQueue)) }

// healMetrics exports repair progress to Prometheus.
type healMetrics struct {
	streams       *prometheus.GaugeVec
	healed        prometheus.Counter
	moved         prometheus.Counter
	failed        prometheus.Counter
	waiting       prometheus.Counter
	bytes         prometheus.Counter
	visited       prometheus.Counter
	dropped       prometheus.Counter
	dirty         prometheus.Gauge
	drivesOffline prometheus.Gauge
	sweep         prometheus.Gauge
	scrub         prometheus.Gauge
	scrubDue      prometheus.Gauge
}

func newHealMetrics(reg prometheus.Registerer) *healMetrics {
	if reg == nil {
		return nil
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	m := &healMetrics{
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "filesphere_heal_streams",
			Help: "Data streams by number of good shards at the last full scan (admin heal, or a finished scrub cycle)."}, []string{"good_shards"}),
		healed: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_streams_healed_total", Help: "Data streams repaired or moved."}),
		moved:  prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_shards_moved_total", Help: "Shards moved to their new drive."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_failures_total", Help: "Data streams a repair could not fix."}),
		waiting: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_waiting_total",
			Help: "Data stream repairs deferred because a target drive was offline."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_written_bytes_total", Help: "Shard bytes written by repairs."}),
		visited: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_records_visited_total",
			Help: "Metadata records background repair passes read (queue entries, swept and scrubbed records)."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_read_heals_dropped_total",
			Help: "Heals asked for by reads that found no room in the heal queue nor the repair queue's intake."}),
		dirty:         gauge("filesphere_heal_dirty_streams", "Streams queued for repair after the last background pass."),
		drivesOffline: gauge("filesphere_heal_drives_offline", "Drives the last background pass found offline."),
		sweep:         gauge("filesphere_heal_sweep_progress_ratio", "Share of records the placement sweep under way has visited (1 when none is)."),
		scrub:         gauge("filesphere_heal_scrub_progress_ratio", "Share of records the current scrub cycle has verified."),
		scrubDue:      gauge("filesphere_heal_scrub_due_ratio", "Share of records the current scrub cycle should have verified by now."),
	}
	reg.MustRegister(m.streams, m.healed, m.moved, m.failed, m.waiting, m.bytes, m.visited, m.dropped,
		m.dirty, m.drivesOffline, m.sweep, m.scrub, m.scrubDue)
	return m
}

func (m *healMetrics) observe(res repairResult) {
	if m == nil {
		return
	}
	m.bytes.Add(float64(res.bytes))
	switch {
	case errors.Is(res.err, errTargetsOffline):
		m.waiting.Inc()
	case res.err != nil:
		m.failed.Inc()
	case res.healed > 0 || res.moved != nil:
		m.healed.Inc()
	}
	if res.moved != nil {
		m.moved.Add(float64(len(res.moved.indices)))
	}
}

func (m *healMetrics) incremental(st *HealStatus, visited int) {
	if m == nil {
		return
	}
	m.visited.Add(float64(visited))
	m.dirty.Set(float64(st.Dirty))
	m.drivesOffline.Set(float64(len(st.DrivesOffline)))
	if st.Sweep != nil {
		m.sweep.Set(st.Sweep.Progress)
	}
	if st.Scrub != nil {
		m.scrub.Set(st.Scrub.Progress)
		m.scrubDue.Set(st.Scrub.Due)
	}
}

func (m *healMetrics) levels(r map[int]int) {
	if m == nil {
		return
	}
	m.streams.Reset()
	for good, n := range r {
		m.streams.WithLabelValues(strconv.Itoa(good)).Set(float64(n))
	}
}
