package drive_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/filesphere/filesphere/storage/drive"
	"github.com/filesphere/filesphere/storage/drive/drivetest"
)

func TestInstrumentedConformance(t *testing.T) {
	// Over Memory: the decorator is store-agnostic, and Local's own run
	// already covers the filesystem.
	drivetest.Run(t, func(t *testing.T) drive.ShardStore {
		return newInstrumented(t, drive.NewMemory("im"), nil, nil)
	})
}

func newInstrumented(t *testing.T, inner drive.ShardStore, reg prometheus.Registerer, clk *fakeClock) *drive.Instrumented {
	t.Helper()
	cfg := drive.DefaultInstrumentedConfig()
	cfg.Registerer, cfg.Logger = reg, testLog(t)
	cfg.Timeout = 5 * time.Second
	cfg.MaxFailures = 3
	cfg.Cooldown = time.Minute
	if clk != nil {
		cfg.Now = clk.Now
	}
	d, err := drive.NewInstrumented(inner, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestInstrumentedConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*drive.InstrumentedConfig)
		ok     bool
	}{
		{"default", func(*drive.InstrumentedConfig) {}, true},
		{"no timeout", func(c *drive.InstrumentedConfig) { c.Timeout = 0 }, true},
		{"negative timeout", func(c *drive.InstrumentedConfig) { c.Timeout = -1 }, false},
		{"zero failures", func(c *drive.InstrumentedConfig) { c.MaxFailures = 0 }, false},
		{"negative cooldown", func(c *drive.InstrumentedConfig) { c.Cooldown = -1 }, false},
		{"nil clock", func(c *drive.InstrumentedConfig) { c.Now = nil }, false},
		{"nil logger", func(c *drive.InstrumentedConfig) { c.Logger = nil }, false},
	}
	for _, tc := range tests {
		cfg := drive.DefaultInstrumentedConfig()
		cfg.Logger = testLog(t)
		tc.modify(&cfg)
		if err := cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
	}
}

// metric returns the value of a counter or gauge, or the sample count of a
// histogram, with the given labels; -1 if absent.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return -1
}

func TestInstrumentedMetrics(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	d := newInstrumented(t, drive.NewMemory("m1"), reg, nil)
	// A second drive on the same registry shares the collectors.
	d2 := newInstrumented(t, drive.NewMemory("m2"), reg, nil)

	drivetest.Put(t, d, "x", []byte("x"))
	d.Stat(ctx, "x")
	d.Stat(ctx, "missing")
	d.Stat(ctx, "../bad")
	d2.Stat(ctx, "x")

	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"filesphere_drive_ops_total", map[string]string{"drive": "m1", "op": "create", "result": "ok"}, 1},
		{"filesphere_drive_ops_total", map[string]string{"drive": "m1", "op": "commit", "result": "ok"}, 1},
		{"filesphere_drive_ops_total", map[string]string{"drive": "m1", "op": "stat", "result": "ok"}, 1},
		{"filesphere_drive_ops_total", map[string]string{"drive": "m1", "op": "stat", "result": "not_found"}, 1},
		{"filesphere_drive_ops_total", map[string]string{"drive": "m1", "op": "stat", "result": "invalid"}, 1},
		{"filesphere_drive_ops_total", map[string]string{"drive": "m2", "op": "stat", "result": "not_found"}, 1},
		{"filesphere_drive_op_duration_seconds", map[string]string{"drive": "m1", "op": "stat"}, 3},
		{"filesphere_drive_online", map[string]string{"drive": "m1"}, 1},
		{"filesphere_drive_online", map[string]string{"drive": "m2"}, 1},
	}
	for _, tc := range tests {
		if got := metric(t, reg, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}

var errIO = errors.New("input/output error")

func TestInstrumentedOfflineMarking(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	clk := newFakeClock()
	mem := drive.NewMemory("m")
	f := drive.NewFaulty(mem)
	d := newInstrumented(t, f, reg, clk)
	drivetest.Put(t, d, "x", []byte("x"))

	// Request errors never take a drive offline.
	for range 10 {
		_, err := d.Stat(ctx, "missing")
		wantErr(t, "stat missing", err, drive.ErrShardNotFound)
		_, err = d.Stat(ctx, "../x")
		wantErr(t, "stat invalid", err, drive.ErrInvalidID)
	}
	// A success in between resets the count.
	f.FailNth(drive.OpStat, 1, errIO)
	f.FailNth(drive.OpStat, 2, errIO)
	f.FailNth(drive.OpStat, 4, errIO)
	f.FailNth(drive.OpStat, 5, errIO)
	for range 5 {
		d.Stat(ctx, "x")
	}
	wantOnline(t, d, true)

	// MaxFailures consecutive failures: marked offline.
	f.FailAll(drive.OpStat, errIO)
	for range 3 {
		_, err := d.Stat(ctx, "x")
		wantErr(t, "failing stat", err, errIO)
	}
	calls := f.Calls(drive.OpStat)
	_, err := d.Stat(ctx, "x")
	wantErr(t, "stat while offline", err, drive.ErrOffline)
	_, err = d.Open(ctx, "x", 0, -1)
	wantErr(t, "open while offline", err, drive.ErrOffline)
	if f.Calls(drive.OpStat) != calls || f.Calls(drive.OpOpen) != 0 {
		t.Fatal("an offline-marked drive was called")
	}
	wantOnline(t, d, false)
	if got := metric(t, reg, "filesphere_drive_online", map[string]string{"drive": "m"}); got != 0 {
		t.Fatalf("online gauge = %v", got)
	}

	// After the cooldown a probe runs; the drive is still down, so it stays
	// offline for another cooldown.
	mem.SetOffline(true)
	clk.Advance(time.Minute)
	infoCalls := f.Calls(drive.OpInfo)
	_, err = d.Stat(ctx, "x")
	wantErr(t, "stat after failed probe", err, drive.ErrOffline)
	if f.Calls(drive.OpInfo) != infoCalls+1 {
		t.Fatal("no probe after the cooldown")
	}
	_, err = d.Stat(ctx, "x")
	wantErr(t, "stat in second cooldown", err, drive.ErrOffline)
	if f.Calls(drive.OpInfo) != infoCalls+1 {
		t.Fatal("probed again within the cooldown")
	}

	// Fixed: the next probe brings it back.
	mem.SetOffline(false)
	f.Reset()
	clk.Advance(time.Minute)
	if got := drivetest.Get(t, d, "x", 0, -1); string(got) != "x" {
		t.Fatalf("got %q", got)
	}
	wantOnline(t, d, true)
	if got := metric(t, reg, "filesphere_drive_online", map[string]string{"drive": "m"}); got != 1 {
		t.Fatalf("online gauge = %v", got)
	}

	// Back in service the count starts again (the lock-free path of a
	// healthy drive must not hide failures): a success between failures
	// resets it, MaxFailures in a row mark the drive offline once more.
	f.FailNth(drive.OpStat, 1, errIO)
	f.FailNth(drive.OpStat, 2, errIO)
	for range 3 {
		d.Stat(ctx, "x")
	}
	wantOnline(t, d, true)
	f.FailAll(drive.OpStat, errIO)
	for range 3 {
		d.Stat(ctx, "x")
	}
	_, err = d.Stat(ctx, "x")
	wantErr(t, "stat offline again", err, drive.ErrOffline)
	wantOnline(t, d, false)
}

func TestInstrumentedCallerCancelDoesNotCount(t *testing.T) {
	f := drive.NewFaulty(drive.NewMemory("m"))
	d := newInstrumented(t, f, nil, nil)
	f.SetLatency(drive.OpStat, time.Hour)
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		_, err := d.Stat(ctx, "x")
		wantErr(t, "stat", err, context.Canceled)
	}
	f.Reset()
	_, err := d.Stat(context.Background(), "x")
	wantErr(t, "stat", err, drive.ErrShardNotFound)
}

// hangingStore ignores contexts and blocks Stat and Open until released, as
// a drive stuck in the kernel does.
type hangingStore struct {
	*drive.Memory
	release chan struct{}
	closed  atomic.Bool
}

func (h *hangingStore) Stat(ctx context.Context, id string) (drive.ShardInfo, error) {
	<-h.release
	return h.Memory.Stat(context.Background(), id)
}

func (h *hangingStore) Open(ctx context.Context, id string, off, length int64) (io.ReadCloser, error) {
	<-h.release
	r, err := h.Memory.Open(context.Background(), id, off, length)
	if err != nil {
		return nil, err
	}
	return closeFlag{r, &h.closed}, nil
}

type closeFlag struct {
	io.ReadCloser
	closed *atomic.Bool
}

func (c closeFlag) Close() error { c.closed.Store(true); return c.ReadCloser.Close() }

func TestInstrumentedTimeout(t *testing.T) {
	h := &hangingStore{Memory: drive.NewMemory("h"), release: make(chan struct{})}
	drivetest.Put(t, h, "x", []byte("x"))
	cfg := drive.DefaultInstrumentedConfig()
	cfg.Logger = testLog(t)
	cfg.Timeout = 20 * time.Millisecond
	cfg.MaxFailures = 2
	d, err := drive.NewInstrumented(h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	_, err = d.Stat(ctx, "x")
	wantErr(t, "stat", err, drive.ErrTimeout)
	wantErr(t, "stat", err, context.DeadlineExceeded)
	_, err = d.Open(ctx, "x", 0, -1)
	wantErr(t, "open", err, drive.ErrTimeout)
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("timeouts took %v", el)
	}
	// Two timeouts: marked offline.
	_, err = d.Stat(ctx, "x")
	wantErr(t, "stat after timeouts", err, drive.ErrOffline)

	// The abandoned Open completes later; its reader is closed for us.
	close(h.release)
	deadline := time.Now().Add(5 * time.Second)
	for !h.closed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("reader of an abandoned Open was never closed")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkInstrumentedParallelStat measures the per-call overhead of the
// decorator on a healthy drive under concurrent callers (requests and
// background deletes all go through admit and record).
func BenchmarkInstrumentedParallelStat(b *testing.B) {
	ctx := context.Background()
	mem := drive.NewMemory("m")
	cfg := drive.DefaultInstrumentedConfig()
	cfg.Logger = testLog(b)
	d, err := drive.NewInstrumented(mem, cfg)
	if err != nil {
		b.Fatal(err)
	}
	w, err := d.Create(ctx, "x")
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := d.Stat(ctx, "x"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
