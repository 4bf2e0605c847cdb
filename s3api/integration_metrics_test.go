package s3api_test

import (
	"testing"
	"time"

	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
	"github.com/prometheus/client_golang/prometheus"
)

// The byte counters count request bodies and answers (the console's live
// graphs read them).
func TestRequestByteMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.Registry = reg }))
	counter := func(name string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatalf("no metric %s", name)
		return 0
	}
	b := f.bucket(t)
	in0, out0 := counter("filesphere_s3_received_bytes_total"), counter("filesphere_s3_sent_bytes_total")
	body := randBytes(100_000, 7)
	resp, _ := f.do(t, rawReq{method: "PUT", bucket: b, key: "k", body: body})
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	// The counters are added as the handler returns, which may be just
	// after the client has its whole answer.
	settled := func(name string, done func(float64) bool) float64 {
		deadline := time.Now().Add(5 * time.Second)
		for {
			v := counter(name)
			if done(v) || time.Now().After(deadline) {
				return v
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if got := settled("filesphere_s3_received_bytes_total", func(v float64) bool { return v-in0 >= float64(len(body)) }) - in0; got != float64(len(body)) {
		t.Errorf("received %v bytes, want %d", got, len(body))
	}
	resp, got := f.do(t, rawReq{method: "GET", bucket: b, key: "k"})
	if resp.StatusCode != 200 || len(got) != len(body) {
		t.Fatalf("GET: %d, %d bytes", resp.StatusCode, len(got))
	}
	if sent := settled("filesphere_s3_sent_bytes_total", func(v float64) bool { return v-out0 >= float64(len(body)) }) - out0; sent < float64(len(body)) || sent > float64(len(body)+4096) {
		t.Errorf("sent %v bytes for a %d-byte object and two small answers", sent, len(body))
	}
}
