package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

const (
	// payloadSlack is how far PUT bodies start apart in the shared buffer,
	// so consecutive objects differ while no body is allocated.
	payloadSlack = 64 << 10
	// maxPayloadBuffer caps the shared buffer; larger objects repeat it.
	maxPayloadBuffer = 16 << 20
	// scratchSize is each worker's buffer for draining GET bodies.
	scratchSize = 256 << 10
	// cleanupTimeout bounds removing a profile's objects, which runs even
	// after the run was interrupted.
	cleanupTimeout = 10 * time.Minute
	deleteBatch    = 1000
	cleanupRounds  = 5
)

// ErrorRateError is a run whose share of failed operations in a profile
// is above Config.MaxErrors (or that completed no operation at all).
type ErrorRateError struct {
	Profile      string
	Errors, Done int64 // failed, and all completed operations
	Max          float64
}

func (e *ErrorRateError) Error() string {
	if e.Done == 0 {
		return fmt.Sprintf("profile %s completed no operation in its duration", e.Profile)
	}
	return fmt.Sprintf("profile %s: %d of %d operations failed (%.3g%%), above the limit of %.3g%%",
		e.Profile, e.Errors, e.Done, 100*float64(e.Errors)/float64(e.Done), 100*e.Max)
}

// Run runs cfg's profiles one after another in one bucket. Each uploads
// its object set (not timed), applies its load for its duration, then
// deletes everything under its prefix; a bucket the run created is
// removed at the end. When ctx is cancelled (Ctrl-C) the run stops, still
// cleans up, and returns the partial report with ctx's error. A profile
// whose error rate is above MaxErrors makes Run return the full report and
// an *ErrorRateError.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ServerPID != 0 {
		if _, err := readRSS(cfg.ServerPID); err != nil {
			return nil, fmt.Errorf("server pid %d: %w", cfg.ServerPID, err)
		}
	}
	r := &runner{cfg: cfg, c: cfg.Target, seed: cfg.Seed, log: cfg.Log}
	if r.seed == 0 {
		r.seed = rand.Uint64()
	}
	runID := fmt.Sprintf("%08x", rand.Uint32())
	r.prefix, r.bucket = "fsbench-"+runID+"/", cfg.Bucket
	if r.bucket == "" {
		r.bucket = "fsbench-" + runID
	}
	if r.c == nil {
		conc := 1
		for _, p := range cfg.Profiles {
			conc = max(conc, p.Concurrency)
		}
		c, err := NewClient(cfg, conc)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		r.c = c
	}
	created, err := r.openBucket(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Version: ReportVersion, Endpoint: strings.Join(append([]string{cfg.Endpoint}, cfg.Endpoints...), ","), Client: cfg.Client, Payload: cfg.Payload,
		Bucket: r.bucket, Seed: r.seed, Started: cfg.Now().UTC()}
	var runErr error
	for i, p := range cfg.Profiles {
		res, err := r.profile(ctx, i, p)
		rep.Profiles = append(rep.Profiles, res)
		if err != nil {
			runErr = err
			break
		}
	}
	if created {
		if err := r.removeBucket(); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
		if !errors.Is(runErr, ctx.Err()) {
			runErr = errors.Join(ctx.Err(), runErr)
		}
	}
	if runErr == nil {
		runErr = rep.checkErrors(cfg.MaxErrors)
	}
	return rep, runErr
}

// runner is one Run's shared state.
type runner struct {
	cfg    Config
	c      Client
	seed   uint64
	log    *logrus.Entry
	bucket string
	prefix string // every key of the run starts with it
}

func (r *runner) rng(stream uint64) *rand.Rand { return rand.New(rand.NewPCG(r.seed, stream)) }

// call runs one request under the per-request timeout.
func (r *runner) call(ctx context.Context, f func(context.Context) error) error {
	if r.cfg.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.cfg.RequestTimeout)
		defer cancel()
	}
	return f(ctx)
}

// openBucket makes sure the bucket exists and says whether the run made it.
func (r *runner) openBucket(ctx context.Context) (created bool, err error) {
	if r.cfg.Bucket != "" {
		err := r.call(ctx, func(ctx context.Context) error { return r.c.HeadBucket(ctx, r.bucket) })
		var s3e *S3Error
		switch {
		case err == nil:
			return false, nil
		case !errors.As(err, &s3e) || s3e.Status != http.StatusNotFound:
			return false, fmt.Errorf("bucket %s: %w", r.bucket, err)
		}
	}
	if err := r.call(ctx, func(ctx context.Context) error { return r.c.CreateBucket(ctx, r.bucket) }); err != nil {
		return false, fmt.Errorf("creating bucket %s: %w", r.bucket, err)
	}
	r.log.WithField("bucket", r.bucket).Info("created bucket (removed at the end)")
	return true, nil
}

// removeBucket deletes the bucket the run created, after one more sweep
// of the run's prefix.
func (r *runner) removeBucket() error {
	if _, err := r.cleanup(r.prefix); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := r.c.DeleteBucket(ctx, r.bucket); err != nil {
		return fmt.Errorf("removing bucket %s: %w", r.bucket, err)
	}
	return nil
}

// profile runs one profile: upload, measure, clean up.
func (r *runner) profile(ctx context.Context, index int, p Profile) (ProfileResult, error) {
	log := r.log.WithField("profile", p.Name)
	res := ProfileResult{Name: p.Name, Op: p.Op, Size: p.Size, Concurrency: p.Concurrency,
		DurationS: p.Duration.Seconds()}
	if p.Op != OpPut {
		res.Objects = p.Objects
	}
	prefix := r.prefix + p.Name + "/"
	pl := newPayload(p.Size, r.rng(uint64(index)<<32|0xffffffff))
	var keys []string
	var err error
	if p.Op != OpPut {
		log.Infof("uploading %d objects of %s (not timed)", p.Objects, FormatSize(p.Size))
		keys, err = r.upload(ctx, index, p, prefix, pl)
	}
	if err == nil && ctx.Err() == nil {
		log.Infof("%s, %s objects, concurrency %d, for %s", p.Op, FormatSize(p.Size), p.Concurrency, p.Duration)
		r.measure(ctx, index, p, prefix, pl, keys, &res)
	}
	start := time.Now()
	n, cerr := r.cleanup(prefix)
	res.Cleanup = CleanupResult{Deleted: n, Seconds: time.Since(start).Seconds()}
	log.Infof("cleanup removed %d objects", n)
	if err == nil {
		err = cerr
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if err != nil {
		res.Error = err.Error()
		return res, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	return res, nil
}

// payload is the shared random buffer PUT bodies are cut from.
type payload struct {
	buf  []byte
	size int64
}

func newPayload(size int64, r *rand.Rand) payload {
	buf := make([]byte, min(size, maxPayloadBuffer)+payloadSlack)
	for i := 0; i+8 <= len(buf); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			buf[i+j] = byte(v >> (8 * j))
		}
	}
	return payload{buf: buf, size: size}
}

// body starts at a random offset, so consecutive objects differ.
func (p payload) body(r *rand.Rand) Body {
	return Body{buf: p.buf, off: r.IntN(payloadSlack + 1), size: p.size}
}

// upload PUTs the profile's object set with its concurrency; the first
// failure stops it.
func (r *runner) upload(ctx context.Context, index int, p Profile, prefix string, pl payload) ([]string, error) {
	keys := make([]string, p.Objects)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sobj%06d", prefix, i)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(p.Concurrency, len(keys)) {
		rng := r.rng(uint64(index)<<32 | uint64(p.Concurrency+w))
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(keys) {
					return
				}
				body := pl.body(rng)
				if err := r.call(ctx, func(ctx context.Context) error { return r.c.PutObject(ctx, r.bucket, keys[i], body) }); err != nil {
					cancel(fmt.Errorf("uploading %s: %w", keys[i], err))
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return keys, nil
}

// measure applies the load for the profile's duration and fills res.
func (r *runner) measure(ctx context.Context, index int, p Profile, prefix string, pl payload, keys []string, res *ProfileResult) {
	var pool *keyPool
	if p.Op == OpMixed {
		pool = newKeyPool(keys)
	}
	res.Load1Start = loadAvg1()
	rss := startRSS(r.cfg.ServerPID)
	start := r.cfg.Now()
	deadline := start.Add(p.Duration)
	workers := make([]*worker, p.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{r: r, p: p, id: i, rng: r.rng(uint64(index)<<32 | uint64(i)), prefix: prefix,
			pl: pl, keys: keys, pool: pool, scratch: make([]byte, scratchSize)}
		workers[i] = w
		wg.Go(func() {
			w.run(ctx, deadline)
			w.busy = r.cfg.Now().Sub(start)
		})
	}
	wg.Wait()
	res.ElapsedS = r.cfg.Now().Sub(start).Seconds()
	res.ServerRSS = rss.stop()
	res.Load1End = loadAvg1()
	res.Ops, res.Total = summarize(workers)
}

// cleanup deletes every key under prefix until a listing finds none. It
// runs on its own context, so an interrupted run still cleans up, and it
// lists again after deleting: requests cut off by an interrupt may still
// be committed by the server after the first listing.
func (r *runner) cleanup(prefix string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	deleted := 0
	for round := range cleanupRounds {
		var keys []string
		for token := ""; ; {
			page, err := r.c.ListObjects(ctx, r.bucket, prefix, token, deleteBatch)
			if err != nil {
				return deleted, fmt.Errorf("cleanup: listing %s: %w", prefix, err)
			}
			keys = append(keys, page.Keys...)
			if token = page.Next; token == "" {
				break
			}
		}
		if len(keys) == 0 {
			return deleted, nil
		}
		if err := r.deleteKeys(ctx, keys); err != nil {
			return deleted, fmt.Errorf("cleanup: %w", err)
		}
		deleted += len(keys)
		if round > 0 {
			time.Sleep(time.Duration(round) * 200 * time.Millisecond)
		}
	}
	return deleted, fmt.Errorf("cleanup: objects remain under %s after deleting %d in %d rounds", prefix, deleted, cleanupRounds)
}

// deleteKeys removes keys in DeleteObjects batches, four at a time, and
// falls back to single DELETEs where the endpoint does not implement the
// batch call.
func (r *runner) deleteKeys(ctx context.Context, keys []string) error {
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for len(keys) > 0 {
		batch := keys[:min(deleteBatch, len(keys))]
		keys = keys[len(batch):]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := r.c.DeleteObjects(ctx, r.bucket, batch)
			var s3e *S3Error
			if errors.As(err, &s3e) && s3e.Status == http.StatusNotImplemented {
				err = r.deleteEach(ctx, batch)
			}
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return first
}

func (r *runner) deleteEach(ctx context.Context, keys []string) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range min(16, len(keys)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(keys); i = int(next.Add(1) - 1) {
				if err := r.c.DeleteObject(ctx, r.bucket, keys[i]); err != nil {
					mu.Lock()
					first = cmpOr(first, fmt.Errorf("deleting %s: %w", keys[i], err))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
