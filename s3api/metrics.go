package s3api

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts requests by operation and status, and the bytes of their
// bodies and answers.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	received prometheus.Counter
	sent     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "filesphere_s3_requests_total", Help: "S3 requests by operation and HTTP status.",
		}, []string{"op", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "filesphere_s3_request_duration_seconds", Help: "S3 request latency by operation.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"op"}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "filesphere_s3_received_bytes_total", Help: "Request body bytes read by the S3 API.",
		}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "filesphere_s3_sent_bytes_total", Help: "Answer bytes written by the S3 API (headers excluded).",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.received, m.sent)
	return m
}

func (m *metrics) observe(op Operation, status int, d time.Duration, received, sent int64) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(string(op), strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(string(op)).Observe(d.Seconds())
	m.received.Add(float64(received))
	m.sent.Add(float64(sent))
}
