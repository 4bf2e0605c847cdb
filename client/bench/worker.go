package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// recorder is one worker's tally of one operation kind.
type recorder struct {
	hist           *Histogram // successful operations only
	ops, errors    int64
	bytes, objects int64
	codes          map[string]int64
	lastErr        error
}

// worker sends one request at a time, back to back, until the deadline.
type worker struct {
	r       *runner
	p       Profile
	id      int
	rng     *rand.Rand
	prefix  string
	pl      payload
	keys    []string // the uploaded set (get, list, mixed)
	pool    *keyPool // mixed only
	scratch []byte
	rec     [numKinds]recorder
	seq     int
	busy    time.Duration // from the start to its last completion
	// a list pass in progress
	token  string
	listed int
}

func (w *worker) run(ctx context.Context, deadline time.Time) {
	for ctx.Err() == nil && w.r.cfg.Now().Before(deadline) {
		switch w.p.Op {
		case OpPut:
			w.put(ctx)
		case OpGet:
			w.get(ctx, w.keys[w.rng.IntN(len(w.keys))])
		case OpList:
			w.list(ctx)
		case OpMixed:
			w.mixed(ctx)
		}
	}
}

// record tallies one finished request. A request that failed because the
// run was interrupted is neither a result nor an error.
func (w *worker) record(ctx context.Context, k kind, lat time.Duration, bytes, objects int64, err error) {
	if err != nil && ctx.Err() != nil {
		return
	}
	rec := &w.rec[k]
	if err != nil {
		if rec.codes == nil {
			rec.codes = map[string]int64{}
		}
		rec.codes[ErrorCode(err)]++
		rec.errors++
		rec.lastErr = err
		return
	}
	if rec.hist == nil {
		rec.hist = new(Histogram)
	}
	rec.hist.Record(lat)
	rec.ops++
	rec.bytes += bytes
	rec.objects += objects
}

// timed runs one request and returns its error and latency.
func (w *worker) timed(ctx context.Context, f func(context.Context) error) (time.Duration, error) {
	t0 := w.r.cfg.Now()
	err := w.r.call(ctx, f)
	return w.r.cfg.Now().Sub(t0), err
}

// put uploads a new key and returns it, with whether it succeeded.
func (w *worker) put(ctx context.Context) (string, bool) {
	key := w.prefix + "w" + strconv.Itoa(w.id) + "/" + strconv.Itoa(w.seq)
	w.seq++
	body := w.pl.body(w.rng)
	lat, err := w.timed(ctx, func(ctx context.Context) error { return w.r.c.PutObject(ctx, w.r.bucket, key, body) })
	w.record(ctx, kindPut, lat, body.Len(), 1, err)
	return key, err == nil
}

// get downloads key whole; a body of the wrong size is an error.
func (w *worker) get(ctx context.Context, key string) {
	var n int64
	lat, err := w.timed(ctx, func(ctx context.Context) error {
		var err error
		n, err = w.r.c.GetObject(ctx, w.r.bucket, key, w.scratch)
		if err == nil && n != w.p.Size {
			err = &SizeError{Op: "GET", Key: key, Got: n, Want: w.p.Size}
		}
		return err
	})
	w.record(ctx, kindGet, lat, n, 1, err)
}

func (w *worker) stat(ctx context.Context, key string) {
	lat, err := w.timed(ctx, func(ctx context.Context) error {
		n, err := w.r.c.HeadObject(ctx, w.r.bucket, key)
		if err == nil && n != w.p.Size {
			err = &SizeError{Op: "HEAD", Key: key, Got: n, Want: w.p.Size}
		}
		return err
	})
	w.record(ctx, kindStat, lat, 0, 1, err)
}

// list fetches the next page of the worker's pass over the uploaded set;
// a finished pass that did not see exactly the uploaded keys is an error.
func (w *worker) list(ctx context.Context) {
	var page ListPage
	lat, err := w.timed(ctx, func(ctx context.Context) error {
		var err error
		page, err = w.r.c.ListObjects(ctx, w.r.bucket, w.prefix, w.token, w.r.cfg.ListMaxKeys)
		return err
	})
	if err == nil {
		w.listed += len(page.Keys)
		if page.Next == "" && w.listed != len(w.keys) {
			err = fmt.Errorf("%w: a full pass listed %d keys, %d were uploaded", ErrListMismatch, w.listed, len(w.keys))
		}
	}
	if err != nil || page.Next == "" {
		w.token, w.listed = "", 0
	} else {
		w.token = page.Next
	}
	w.record(ctx, kindList, lat, 0, int64(len(page.Keys)), err)
}

// mixed sends one operation drawn from the mix. GET and STAT read a
// leased key, DELETE removes a key nobody reads; with no key to use they
// upload a new one instead.
func (w *worker) mixed(ctx context.Context) {
	switch k := w.r.cfg.Mix.pick(w.rng); k {
	case kindGet, kindStat:
		key, ok := w.pool.lease(w.rng)
		if !ok {
			w.mixedPut(ctx)
			return
		}
		if k == kindGet {
			w.get(ctx, key)
		} else {
			w.stat(ctx, key)
		}
		w.pool.release(key)
	case kindDelete:
		key, ok := w.pool.take(w.rng)
		if !ok {
			w.mixedPut(ctx)
			return
		}
		lat, err := w.timed(ctx, func(ctx context.Context) error { return w.r.c.DeleteObject(ctx, w.r.bucket, key) })
		w.record(ctx, kindDelete, lat, 0, 1, err)
	default:
		w.mixedPut(ctx)
	}
}

func (w *worker) mixedPut(ctx context.Context) {
	if key, ok := w.put(ctx); ok {
		w.pool.add(key)
	}
}
