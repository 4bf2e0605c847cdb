package storage

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HealStatus is what `filesphere admin heal status` shows: the pass under
// way (or the last one), its rate and ETA, and redundancy levels.
type HealStatus struct {
	Running      bool        `json:"running"`
	Started      time.Time   `json:"started,omitempty"`
	Scanned      int         `json:"scanned"`
	Expected     int         `json:"expected"` // streams in the last full pass, for the ETA
	Healed       int         `json:"healed"`
	ShardsMoved  int         `json:"shards_moved"`
	Failed       int         `json:"failed"`
	Waiting      int         `json:"waiting"` // streams waiting for an offline drive (see HealReport)
	BytesWritten int64       `json:"bytes_written"`
	StreamsPerS  float64     `json:"streams_per_second"`
	ETA          string      `json:"eta,omitempty"`
	Queued       int         `json:"queued"` // objects reads asked to heal
	Passes       int         `json:"passes"`
	Last         *HealReport `json:"last,omitempty"`
}

// healStatus tracks repair passes for status and metrics.
type healStatus struct {
	mu      sync.Mutex
	cur     HealStatus
	metrics *healMetrics
}

func (s *healStatus) begin(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	expected := s.cur.Expected
	if s.cur.Last != nil {
		expected = s.cur.Last.Streams
	}
	s.cur = HealStatus{Running: true, Started: t, Expected: expected, Passes: s.cur.Passes, Last: s.cur.Last}
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

func (s *healStatus) end(rep HealReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Running = false
	s.cur.Passes++
	s.cur.Expected = rep.Streams
	r := rep
	s.cur.Last = &r
	s.metrics.levels(rep.Redundancy)
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
	streams *prometheus.GaugeVec
	healed  prometheus.Counter
	moved   prometheus.Counter
	failed  prometheus.Counter
	waiting prometheus.Counter
	bytes   prometheus.Counter
}

func newHealMetrics(reg prometheus.Registerer) *healMetrics {
	if reg == nil {
		return nil
	}
	m := &healMetrics{
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "filesphere_heal_streams",
			Help: "Data streams by number of good shards at the last repair pass."}, []string{"good_shards"}),
		healed: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_streams_healed_total", Help: "Data streams repaired or moved."}),
		moved:  prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_shards_moved_total", Help: "Shards moved to their new drive."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_failures_total", Help: "Data streams a repair could not fix."}),
		waiting: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_waiting_total",
			Help: "Data stream repairs deferred because a target drive was offline."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "filesphere_heal_written_bytes_total", Help: "Shard bytes written by repairs."}),
	}
	reg.MustRegister(m.streams, m.healed, m.moved, m.failed, m.waiting, m.bytes)
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

func (m *healMetrics) levels(r map[int]int) {
	if m == nil {
		return
	}
	m.streams.Reset()
	for good, n := range r {
		m.streams.WithLabelValues(strconv.Itoa(good)).Set(float64(n))
	}
}
