package rpc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
)

// Drive returns the drive driveID on the node at baseURL (e.g.
// "http://10.0.0.2:9001") as a drive.ShardStore. Nothing is contacted until
// a method is called.
//
// Shard bodies stream: Create's writer feeds an in-flight request through a
// pipe and Open's reader is the response body, so memory use does not grow
// with shard size. Neither is bound to the context given to Create or Open
// (that one bounds getting the peer's answer), as with local drives.
// Stat, Delete and Info are bounded by ClientConfig.Timeout per attempt and
// retried on connection errors; Walk and the start of Open are retried
// before any data has been delivered. An unreachable node gives errors
// wrapping drive.ErrOffline (Info: Online=false and a nil error).
func (c *Client) Drive(baseURL, driveID string) drive.ShardStore {
	return &remoteDrive{c: c, base: baseURL, id: driveID,
		prefix: endpoint(baseURL, "drives/"+url.PathEscape(driveID)+"/")}
}

type remoteDrive struct {
	c      *Client
	base   string
	id     string
	prefix string // …/rpc/v1/drives/{id}/
}

var _ drive.ShardStore = (*remoteDrive)(nil)

func (d *remoteDrive) ID() string { return d.id }

func (d *remoteDrive) String() string { return d.base + "/" + d.id }

func (d *remoteDrive) url(path string, q url.Values) string {
	return d.prefix + path + "?" + q.Encode()
}

// check mirrors the local drives' argument checks, so bad ids fail without
// a round trip (the server checks again).
func check(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return drive.ValidateID(id)
}

func (d *remoteDrive) Stat(ctx context.Context, id string) (drive.ShardInfo, error) {
	if err := check(ctx, id); err != nil {
		return drive.ShardInfo{}, err
	}
	var ws wireShard
	err := d.c.call(ctx, callSpec{op: "stat", method: http.MethodGet,
		url: d.url("stat", url.Values{"id": {id}}), idempotent: true}, &ws)
	if err != nil {
		return drive.ShardInfo{}, err
	}
	return ws.info(), nil
}

func (d *remoteDrive) Delete(ctx context.Context, id string) error {
	if err := check(ctx, id); err != nil {
		return err
	}
	return d.c.call(ctx, callSpec{op: "delete", method: http.MethodDelete,
		url: d.url("shard", url.Values{"id": {id}}), idempotent: true}, nil)
}

func (d *remoteDrive) Info(ctx context.Context) (drive.Info, error) {
	if err := ctx.Err(); err != nil {
		return drive.Info{}, err
	}
	var info drive.Info
	err := d.c.call(ctx, callSpec{op: "info", method: http.MethodGet,
		url: d.url("info", nil), idempotent: true}, &info)
	if err != nil {
		if errors.Is(err, drive.ErrOffline) && ctx.Err() == nil {
			// As with local drives, Info reports an absent drive as
			// offline rather than failing.
			return drive.Info{ID: d.id, Path: d.String(), Online: false}, nil
		}
		return drive.Info{}, err
	}
	return info, nil
}

// stream starts a streaming request: ctx (plus the client's Timeout) bounds
// getting the response header; the request itself lives on until the
// returned cancel is called. Failures before the header are retried as for
// idempotent calls when retry is set.
func (d *remoteDrive) stream(ctx context.Context, op, method, u string, body io.Reader, retry bool) (*http.Response, string, context.CancelFunc, error) {
	var err error
	for attempt := 0; ; attempt++ {
		if cerr := ctx.Err(); cerr != nil {
			if err != nil {
				return nil, "", nil, fmt.Errorf("rpc %s: %w (after %v)", op, cerr, err)
			}
			return nil, "", nil, fmt.Errorf("rpc %s: %w", op, cerr)
		}
		resp, sig, cancel, again, err := d.streamOnce(ctx, op, method, u, body)
		if err == nil {
			return resp, sig, cancel, nil
		}
		if !retry || !again || attempt >= d.c.cfg.Retries {
			return nil, "", nil, err
		}
		if werr := d.c.backoff(ctx, attempt); werr != nil {
			return nil, "", nil, fmt.Errorf("rpc %s: %w (after %v)", op, werr, err)
		}
	}
}

func (d *remoteDrive) streamOnce(ctx context.Context, op, method, u string, body io.Reader) (resp *http.Response, sig string, cancel context.CancelFunc, retry bool, err error) {
	// The request outlives ctx: it is canceled by AfterFunc only until the
	// header arrives, and by the returned cancel afterwards.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopCtx := context.AfterFunc(ctx, cancel)
	timer := timeAfterFunc(d.c.cfg.Timeout, cancel)
	var reqBody any
	if body != nil {
		reqBody = body
	}
	req, sig, err := d.c.newRequest(rctx, method, u, reqBody)
	if err != nil {
		stopCtx()
		timer.Stop()
		cancel()
		return nil, "", nil, false, err
	}
	resp, err = d.c.hc.Do(req)
	timedOut := !timer.Stop()
	ctxDone := !stopCtx()
	cs := callSpec{op: op, url: u, idempotent: true}
	switch {
	case err != nil:
		cancel()
		if ctxDone {
			return nil, "", nil, false, fmt.Errorf("rpc %s to %s: %w", op, d.base, ctx.Err())
		}
		if timedOut {
			err = fmt.Errorf("no answer within %v: %w", d.c.cfg.Timeout, context.DeadlineExceeded)
		}
		return nil, "", nil, !refused(err), d.c.transportError(ctx, cs, err, false)
	case ctxDone || timedOut:
		// The answer came, but only just too late: don't hand out a
		// stream whose context is already canceled.
		resp.Body.Close()
		cancel()
		if ctxDone {
			return nil, "", nil, false, fmt.Errorf("rpc %s to %s: %w", op, d.base, ctx.Err())
		}
		return nil, "", nil, true, d.c.transportError(ctx, cs, context.DeadlineExceeded, false)
	case resp.StatusCode/100 != 2:
		re := readError(d.base, resp)
		resp.Body.Close()
		cancel()
		return nil, "", nil, re.retryable(), fmt.Errorf("rpc %s: %w", op, re)
	}
	return resp, sig, cancel, false, nil
}

// Open streams a range of a shard. The reader is not bound to ctx.
func (d *remoteDrive) Open(ctx context.Context, id string, off, length int64) (io.ReadCloser, error) {
	if err := check(ctx, id); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("%w: offset %d", drive.ErrInvalidRange, off)
	}
	q := url.Values{"id": {id}, "off": {strconv.FormatInt(off, 10)}, "len": {strconv.FormatInt(length, 10)}}
	resp, _, cancel, err := d.stream(ctx, "open", http.MethodGet, d.url("shard", q), nil, true)
	if err != nil {
		return nil, err
	}
	return &remoteReader{d: d, resp: resp, cancel: cancel}, nil
}

// remoteReader is an Open stream. A clean end of the body is io.EOF unless
// the server reported a late error in the trailer; a broken stream is an
// error wrapping drive.ErrOffline, never a short clean read.
type remoteReader struct {
	d      *remoteDrive
	resp   *http.Response
	cancel context.CancelFunc
	err    error // sticky
}

func (r *remoteReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.resp.Body.Read(p)
	switch {
	case err == io.EOF:
		if te := trailerError(r.d.base, r.resp); te != nil {
			err = fmt.Errorf("rpc read: %w", te)
		}
	case err != nil:
		err = fmt.Errorf("rpc read: %w: stream from %s broken: %w", drive.ErrOffline, r.d.base, err)
	}
	r.err = err
	return n, err
}

func (r *remoteReader) Close() error {
	r.cancel()
	r.resp.Body.Close()
	if r.err == nil {
		r.err = errReaderClosed
	}
	return nil
}

var errReaderClosed = errors.New("rpc: read from closed shard reader")

func trailerError(node string, resp *http.Response) error {
	s := resp.Trailer.Get(TrailerError)
	if s == "" {
		return nil
	}
	var we wireError
	if err := json.Unmarshal([]byte(s), &we); err != nil || we.Code == "" {
		return fmt.Errorf("%w: bad error trailer from %s", ErrProtocol, node)
	}
	return decodeError(node, resp.StatusCode, we)
}

// Walk streams the listing; fn runs as lines arrive. The call is retried
// only if it fails before any shard was delivered.
func (d *remoteDrive) Walk(ctx context.Context, prefix string, fn func(drive.ShardInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Walk is bounded by ctx only: the client Timeout bounds its start.
	resp, _, cancel, err := d.stream(ctx, "walk", http.MethodGet, d.url("walk", url.Values{"prefix": {prefix}}), nil, true)
	if err != nil {
		return err
	}
	defer cancel()
	defer resp.Body.Close()
	stop := context.AfterFunc(ctx, cancel) // the walk itself is bound to ctx
	defer stop()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		var ws wireShard
		if err := json.Unmarshal(sc.Bytes(), &ws); err != nil {
			return fmt.Errorf("rpc walk: %w: bad line from %s: %v", ErrProtocol, d.base, err)
		}
		if err := fn(ws.info()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("rpc walk: %w", cerr)
		}
		return fmt.Errorf("rpc walk: %w: stream from %s broken: %w", drive.ErrOffline, d.base, err)
	}
	if te := trailerError(d.base, resp); te != nil {
		return fmt.Errorf("rpc walk: %w", te)
	}
	return nil
}

// Create starts streaming a shard to the peer. It returns once the peer has
// created its writer (so an unknown or offline drive fails here).
func (d *remoteDrive) Create(ctx context.Context, id string) (drive.ShardWriter, error) {
	if err := check(ctx, id); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	resp, sig, cancel, err := d.stream(ctx, "create", http.MethodPut, d.url("shard", url.Values{"id": {id}}), pr, false)
	if err != nil {
		pw.CloseWithError(err)
		return nil, err
	}
	return &remoteWriter{d: d, id: id, pw: pw, resp: resp, sig: sig, cancel: cancel}, nil
}

// remoteWriter streams into an in-flight PUT. Write blocks until the
// transport has taken the bytes (io.Pipe holds none), so at most the HTTP/2
// flow-control window is in flight.
type remoteWriter struct {
	d      *remoteDrive
	id     string
	pw     *io.PipeWriter
	resp   *http.Response
	sig    string
	cancel context.CancelFunc

	mu    sync.Mutex
	n     int64
	crc   uint32
	state int   // writerOpen, writerCommitted, writerAborted, writerFailed
	err   error // why the writer failed
}

const (
	writerOpen = iota
	writerCommitted
	writerAborted
	writerFailed
)

var errWriteAfterCommit = errors.New("rpc: write after commit")

func (w *remoteWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.state {
	case writerCommitted:
		return 0, errWriteAfterCommit
	case writerAborted:
		return 0, drive.ErrAborted
	case writerFailed:
		return 0, w.err
	}
	n, err := w.pw.Write(p)
	w.crc = crc32.Update(w.crc, castagnoli, p[:n])
	w.n += int64(n)
	if err != nil {
		// The stream ended early: the server refused the shard (its
		// verdict says why) or the connection broke.
		w.fail(w.verdictAfterBreak(err))
		return n, w.err
	}
	return n, nil
}

// fail records the writer's failure and releases the request.
func (w *remoteWriter) fail(err error) {
	w.state, w.err = writerFailed, err
	w.pw.CloseWithError(err)
	w.cancel()
	w.resp.Body.Close()
}

// verdictAfterBreak reads the server's verdict after the body pipe broke,
// waiting at most the client Timeout; without one, the stream broke.
func (w *remoteWriter) verdictAfterBreak(cause error) error {
	timer := timeAfterFunc(w.d.c.cfg.Timeout, w.cancel)
	defer timer.Stop()
	if ok, err := w.readVerdict(); ok && err != nil {
		return err
	}
	return fmt.Errorf("rpc create %s: %w: stream to %s broken: %w", w.id, drive.ErrOffline, w.d.base, cause)
}

// readVerdict reads the create response's body. ok is false if there was
// no verdict to read (broken stream).
func (w *remoteWriter) readVerdict() (ok bool, err error) {
	var v verdict
	if derr := json.NewDecoder(io.LimitReader(w.resp.Body, maxErrorBody)).Decode(&v); derr != nil {
		return false, derr
	}
	if v.Error != nil {
		return true, fmt.Errorf("rpc create %s: %w", w.id, decodeError(w.d.base, w.resp.StatusCode, *v.Error))
	}
	if v.Size != w.n {
		return true, fmt.Errorf("rpc create %s: %w: peer stored %d bytes, %d written", w.id, ErrProtocol, v.Size, w.n)
	}
	return true, nil
}

// Commit ends the body with the signed length/CRC footer and waits (up to
// the client Timeout) for the peer's verdict. If the wait times out the
// shard's fate is unknown: the peer may still commit it (callers treat it as
// failed; GC collects it).
func (w *remoteWriter) Commit() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.state {
	case writerCommitted:
		return nil
	case writerAborted:
		return drive.ErrAborted
	case writerFailed:
		return w.err
	}
	if _, err := w.pw.Write(w.d.c.auth.footer(w.sig, w.n, w.crc)); err != nil {
		w.fail(w.verdictAfterBreak(err))
		return w.err
	}
	w.pw.Close()
	timer := timeAfterFunc(w.d.c.cfg.Timeout, w.cancel)
	ok, err := w.readVerdict()
	timedOut := !timer.Stop()
	if !ok {
		if timedOut {
			err = fmt.Errorf("no verdict within %v: %w", w.d.c.cfg.Timeout, context.DeadlineExceeded)
		}
		err = fmt.Errorf("rpc create %s: %w: stream to %s broken before the verdict: %w", w.id, drive.ErrOffline, w.d.base, err)
	}
	if err != nil {
		w.fail(err)
		return err
	}
	w.state = writerCommitted
	w.cancel()
	w.resp.Body.Close()
	return nil
}

// Abort cancels the request; the peer aborts its writer and nothing is
// visible. It does not wait for the peer.
func (w *remoteWriter) Abort() error {
	w.cancel() // first, so an Abort from another goroutine unblocks a Write
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == writerOpen || w.state == writerFailed {
		if w.state == writerOpen {
			w.state = writerAborted
		}
		w.pw.CloseWithError(drive.ErrAborted)
		w.resp.Body.Close()
	}
	return nil
}

// timeAfterFunc is time.AfterFunc; a named seam keeps call sites short.
func timeAfterFunc(d time.Duration, f func()) *time.Timer { return time.AfterFunc(d, f) }
