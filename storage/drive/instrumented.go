package drive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

// ErrTimeout means a call did not finish within InstrumentedConfig.Timeout.
// The error also wraps context.DeadlineExceeded. The abandoned call may still
// complete later: a timed-out Commit may yet make its shard visible, which is
// harmless because the caller treats the shard as failed and GC collects it.
var ErrTimeout = errors.New("drive: operation timed out")

// InstrumentedConfig configures the Instrumented decorator.
type InstrumentedConfig struct {
	// Registerer receives the metrics; nil keeps them unregistered. Several
	// drives may share one registry: the collectors are shared, and each
	// drive adds its own "drive" label.
	Registerer prometheus.Registerer
	// Timeout bounds each Create, Commit, Abort, Open, Stat, Delete and Info
	// call; 0 disables it. Walk is not bounded (a full walk is legitimately
	// long), nor are single Reads and Writes (a timed-out call keeps running
	// in the background, and it must not touch the caller's buffer after we
	// returned).
	Timeout time.Duration
	// MaxFailures consecutive drive failures mark the drive offline. Errors
	// about the request (not found, invalid id or range, disk full,
	// cancellation by the caller) neither count nor reset the count.
	MaxFailures int
	// Cooldown is how long an offline-marked drive fails fast with ErrOffline
	// before one call probes it again (with Info).
	Cooldown time.Duration
	// Now is the clock for cooldowns and durations.
	Now func() time.Time
	// Logger receives online/offline transitions; required.
	Logger *logrus.Entry
}

// DefaultInstrumentedConfig returns production defaults, without metrics;
// the caller sets Logger.
func DefaultInstrumentedConfig() InstrumentedConfig {
	return InstrumentedConfig{
		Timeout:     30 * time.Second,
		MaxFailures: 3,
		Cooldown:    10 * time.Second,
		Now:         time.Now,
	}
}

// Validate reports configuration errors.
func (c InstrumentedConfig) Validate() error {
	switch {
	case c.Timeout < 0:
		return errors.New("drive: instrumented: negative timeout")
	case c.MaxFailures < 1:
		return errors.New("drive: instrumented: MaxFailures must be at least 1")
	case c.Cooldown < 0:
		return errors.New("drive: instrumented: negative cooldown")
	case c.Now == nil:
		return errors.New("drive: instrumented: nil clock")
	case c.Logger == nil:
		return errors.New("drive: instrumented: nil logger")
	}
	return nil
}

// Instrumented wraps a ShardStore with metrics, per-call timeouts and
// offline marking: after MaxFailures consecutive failures the drive answers
// ErrOffline at once for Cooldown, so a dying disk costs callers nothing
// while the erasure layer reconstructs from the others, then it is probed
// and used again if healthy.
type Instrumented struct {
	inner ShardStore
	cfg   InstrumentedConfig
	log   *logrus.Entry

	ops    *prometheus.CounterVec // op, result
	dur    prometheus.ObserverVec // op
	online prometheus.Gauge

	// clean mirrors "online with no failure counted" (failures == 0 and
	// not offline), written under mu: admit and record then take no lock
	// on a healthy drive, whose every call (and every background delete)
	// would otherwise contend on mu.
	clean        atomic.Bool
	mu           sync.Mutex
	failures     int
	offline      bool
	offlineUntil time.Time
	probing      bool
	lastInfo     Info
}

// NewInstrumented wraps inner.
func NewInstrumented(inner ShardStore, cfg InstrumentedConfig) (*Instrumented, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "filesphere_drive_ops_total",
		Help: "Drive operations by result.",
	}, []string{"drive", "op", "result"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "filesphere_drive_op_duration_seconds",
		Help:    "Drive operation latency.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10), // 0.5ms .. 131s
	}, []string{"drive", "op"})
	online := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "filesphere_drive_online",
		Help: "1 if the drive is in service, 0 if marked offline.",
	}, []string{"drive"})
	if r := cfg.Registerer; r != nil {
		var err error
		if ops, err = register(r, ops); err != nil {
			return nil, err
		}
		if dur, err = register(r, dur); err != nil {
			return nil, err
		}
		if online, err = register(r, online); err != nil {
			return nil, err
		}
	}
	id := inner.ID()
	d := &Instrumented{
		inner:    inner,
		cfg:      cfg,
		log:      cfg.Logger.WithFields(logrus.Fields{"component": "drive", "drive": id}),
		ops:      ops.MustCurryWith(prometheus.Labels{"drive": id}),
		dur:      dur.MustCurryWith(prometheus.Labels{"drive": id}),
		online:   online.WithLabelValues(id),
		lastInfo: Info{ID: id},
	}
	d.online.Set(1)
	d.clean.Store(true)
	return d, nil
}

// register registers c, or returns the identical collector a previous drive
// already registered.
func register[C prometheus.Collector](r prometheus.Registerer, c C) (C, error) {
	if err := r.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("drive: register metrics: %w", err)
	}
	return c, nil
}

// Inner returns the wrapped store.
func (d *Instrumented) Inner() ShardStore { return d.inner }

// ID implements ShardStore.
func (d *Instrumented) ID() string { return d.inner.ID() }

// admit lets a call through unless the drive is marked offline. After the
// cooldown one caller probes with Info; the others keep failing fast.
func (d *Instrumented) admit(ctx context.Context) error {
	if d.clean.Load() {
		return nil
	}
	d.mu.Lock()
	if !d.offline {
		d.mu.Unlock()
		return nil
	}
	if d.probing || d.cfg.Now().Before(d.offlineUntil) {
		d.mu.Unlock()
		return d.offlineErr()
	}
	d.probing = true
	d.mu.Unlock()

	info, err := timed(d, ctx, func(ctx context.Context) (Info, error) { return d.inner.Info(ctx) }, nil)

	d.mu.Lock()
	defer d.mu.Unlock()
	d.probing = false
	if err == nil && info.Online {
		d.offline, d.failures = false, 0
		d.clean.Store(true)
		d.lastInfo = info
		d.online.Set(1)
		d.log.Info("drive back online")
		return nil
	}
	d.offlineUntil = d.cfg.Now().Add(d.cfg.Cooldown)
	return d.offlineErr()
}

func (d *Instrumented) offlineErr() error {
	return fmt.Errorf("%w: %s marked offline after %d consecutive failures", ErrOffline, d.inner.ID(), d.cfg.MaxFailures)
}

// countsAsFailure tells drive failures from errors about the request.
func countsAsFailure(ctx context.Context, err error) bool {
	switch {
	case err == nil,
		errors.Is(err, ErrShardNotFound), errors.Is(err, ErrInvalidID),
		errors.Is(err, ErrInvalidRange), errors.Is(err, ErrAborted),
		errors.Is(err, ErrDiskFull), errors.Is(err, os.ErrClosed):
		return false
	case errors.Is(err, ErrTimeout):
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ctx.Err() == nil // the caller gave up: not the drive's fault
	}
	return true
}

// record updates the failure count after a call.
func (d *Instrumented) record(ctx context.Context, err error) {
	if err != nil && !countsAsFailure(ctx, err) {
		return
	}
	if err == nil && d.clean.Load() {
		return // nothing to reset
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		d.failures = 0
		d.clean.Store(!d.offline)
		return
	}
	d.clean.Store(false)
	d.failures++
	if d.failures >= d.cfg.MaxFailures && !d.offline {
		d.offline = true
		d.offlineUntil = d.cfg.Now().Add(d.cfg.Cooldown)
		d.online.Set(0)
		d.log.WithError(err).WithField("failures", d.failures).Warn("drive marked offline")
	}
}

func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrShardNotFound):
		return "not_found"
	case errors.Is(err, ErrInvalidID), errors.Is(err, ErrInvalidRange):
		return "invalid"
	case errors.Is(err, ErrOffline):
		return "offline"
	case errors.Is(err, ErrDiskFull):
		return "disk_full"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}

func (d *Instrumented) observe(op Op, start time.Time, err error) {
	d.ops.WithLabelValues(string(op), result(err)).Inc()
	d.dur.WithLabelValues(string(op)).Observe(d.cfg.Now().Sub(start).Seconds())
}

// call runs one bounded operation with admission, timeout, metrics and
// failure accounting. cleanup, if set, releases a result that arrives after
// the call timed out (a reader or writer nobody will close).
func call[T any](d *Instrumented, ctx context.Context, op Op, fn func(context.Context) (T, error), cleanup func(T)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		d.observe(op, d.cfg.Now(), err)
		return zero, err
	}
	start := d.cfg.Now()
	if err := d.admit(ctx); err != nil {
		d.observe(op, start, err)
		return zero, err
	}
	v, err := timed(d, ctx, fn, cleanup)
	d.observe(op, start, err)
	d.record(ctx, err)
	return v, err
}

// timed runs fn under the configured timeout. A drive stuck in a syscall
// ignores its context, so fn runs in its own goroutine and is abandoned at
// the deadline.
func timed[T any](d *Instrumented, ctx context.Context, fn func(context.Context) (T, error), cleanup func(T)) (T, error) {
	if d.cfg.Timeout <= 0 {
		return fn(ctx)
	}
	tctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	type res struct {
		v   T
		err error
	}
	done := make(chan res, 1)
	go func() {
		v, err := fn(tctx)
		done <- res{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil && ctx.Err() == nil && errors.Is(r.err, context.DeadlineExceeded) && !errors.Is(r.err, ErrTimeout) {
			r.err = fmt.Errorf("%w: %s after %v: %w", ErrTimeout, d.inner.ID(), d.cfg.Timeout, r.err)
		}
		return r.v, r.err
	case <-tctx.Done():
		select {
		case r := <-done: // finished just in time
			return r.v, r.err
		default:
		}
		go func() {
			if r := <-done; r.err == nil && cleanup != nil {
				cleanup(r.v)
			}
		}()
		var zero T
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		return zero, fmt.Errorf("%w: %s after %v: %w", ErrTimeout, d.inner.ID(), d.cfg.Timeout, context.DeadlineExceeded)
	}
}

// Create implements ShardStore.
func (d *Instrumented) Create(ctx context.Context, id string) (ShardWriter, error) {
	w, err := call(d, ctx, OpCreate, func(ctx context.Context) (ShardWriter, error) {
		return d.inner.Create(ctx, id)
	}, func(w ShardWriter) { w.Abort() })
	if err != nil {
		return nil, err
	}
	return &instrumentedWriter{d: d, w: w}, nil
}

// Open implements ShardStore.
func (d *Instrumented) Open(ctx context.Context, id string, off, length int64) (io.ReadCloser, error) {
	r, err := call(d, ctx, OpOpen, func(ctx context.Context) (io.ReadCloser, error) {
		return d.inner.Open(ctx, id, off, length)
	}, func(r io.ReadCloser) { r.Close() })
	if err != nil {
		return nil, err
	}
	return &instrumentedReader{d: d, r: r}, nil
}

// Stat implements ShardStore.
func (d *Instrumented) Stat(ctx context.Context, id string) (ShardInfo, error) {
	return call(d, ctx, OpStat, func(ctx context.Context) (ShardInfo, error) {
		return d.inner.Stat(ctx, id)
	}, nil)
}

// Delete implements ShardStore.
func (d *Instrumented) Delete(ctx context.Context, id string) error {
	_, err := call(d, ctx, OpDelete, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, d.inner.Delete(ctx, id)
	}, nil)
	return err
}

// Walk implements ShardStore. It is admitted and measured but not bounded by
// the timeout; an error returned by fn is the caller's and does not count
// against the drive.
func (d *Instrumented) Walk(ctx context.Context, prefix string, fn func(ShardInfo) error) error {
	start := d.cfg.Now()
	if err := ctx.Err(); err != nil {
		d.observe(OpWalk, start, err)
		return err
	}
	if err := d.admit(ctx); err != nil {
		d.observe(OpWalk, start, err)
		return err
	}
	var fnErr error
	err := d.inner.Walk(ctx, prefix, func(si ShardInfo) error {
		if err := fn(si); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	if fnErr != nil && errors.Is(err, fnErr) {
		d.observe(OpWalk, start, nil)
		return err
	}
	d.observe(OpWalk, start, err)
	d.record(ctx, err)
	return err
}

// Info implements ShardStore. While the drive is marked offline, or when the
// inner Info times out, it returns the last known info with Online=false and
// a nil error. An inner drive that reports itself offline counts as a failure.
func (d *Instrumented) Info(ctx context.Context) (Info, error) {
	info, err := call(d, ctx, OpInfo, func(ctx context.Context) (Info, error) {
		info, err := d.inner.Info(ctx)
		if err == nil && !info.Online {
			return info, fmt.Errorf("%w: %s reports itself offline", ErrOffline, info.ID)
		}
		return info, err
	}, nil)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err == nil:
		d.lastInfo = info
		return info, nil
	case errors.Is(err, ErrOffline), errors.Is(err, ErrTimeout):
		if info.ID == "" {
			info = d.lastInfo
		}
		info.Online = false
		return info, nil
	}
	return Info{}, err
}

type instrumentedWriter struct {
	d *Instrumented
	w ShardWriter
}

// Write is not bounded or measured per call (see InstrumentedConfig.Timeout),
// but its failures count against the drive.
func (w *instrumentedWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		w.d.record(context.Background(), err)
	}
	return n, err
}

func (w *instrumentedWriter) Commit() error {
	_, err := call(w.d, context.Background(), OpCommit, func(context.Context) (struct{}, error) {
		return struct{}{}, w.w.Commit()
	}, nil)
	if errors.Is(err, ErrOffline) && !errors.Is(err, ErrTimeout) {
		w.w.Abort() // refused by admission: nothing must be left behind
	}
	return err
}

func (w *instrumentedWriter) Abort() error {
	_, err := call(w.d, context.Background(), OpAbort, func(context.Context) (struct{}, error) {
		return struct{}{}, w.w.Abort()
	}, nil)
	if err != nil && errors.Is(err, ErrOffline) {
		// Refused by admission; abort anyway so the temp file goes.
		return w.w.Abort()
	}
	return err
}

type instrumentedReader struct {
	d *Instrumented
	r io.ReadCloser
}

func (r *instrumentedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.d.record(context.Background(), err)
	}
	return n, err
}

func (r *instrumentedReader) Close() error { return r.r.Close() }
