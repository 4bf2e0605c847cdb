package s3api

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// After the answer to a request whose body was left unread, the server
// lingers: it discards what the client still sends, for at most
// lingerTimeout and lingerBytes, before the connection closes. Closing on
// unread data resets the connection, and a reset can destroy the answer in
// the client's buffer before the client reads it; clients that send the
// body without waiting for "100 Continue" are still writing then.
const (
	lingerTimeout = time.Second
	lingerBytes   = 4 << 20
)

// deadlineStep is how far the body deadline must move before the
// connection's read deadline is set again (one call per Read is wasted work
// for a fast client).
const deadlineStep = 100 * time.Millisecond

// readDeadliner sets the connection's read deadline
// (*http.ResponseController).
type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// bodyGuard wraps a request body. It holds the client to a minimum rate
// by a read deadline that moves as bytes arrive: the deadline starts
// timeout after the first Read, each byte earns 1/rate seconds, and it is
// never more than timeout ahead, so a client may pause for up to timeout
// but cannot bank a fast start to trickle later. A missed deadline is
// RequestTimeout. It also records how much of the body was read, which
// decides how the connection ends (settle).
type bodyGuard struct {
	src     io.ReadCloser
	conn    readDeadliner
	now     func() time.Time
	sleep   func(time.Duration)
	timeout time.Duration
	rate    int64 // bytes per second
	length  int64 // Content-Length, -1 unknown
	// expect is a pending "Expect: 100-continue": net/http sends
	// "100 Continue" on the first Read, so a refused request is answered
	// without ever reading.
	expect   bool
	started  bool
	eof      bool
	n        int64
	deadline time.Time // the rule's deadline
	applied  time.Time // the deadline last set on the connection
	err      error     // sticky RequestTimeout
}

// newBodyGuard guards r.Body. Its clock is the real one, not Config.Now:
// the runtime poller compares socket deadlines with the wall clock.
func newBodyGuard(r *http.Request, conn readDeadliner, cfg Config) *bodyGuard {
	return &bodyGuard{
		src: r.Body, conn: conn, now: time.Now, sleep: time.Sleep, timeout: cfg.BodyReadTimeout, rate: cfg.MinBodyRate,
		length: r.ContentLength, expect: strings.EqualFold(r.Header.Get("Expect"), "100-continue"),
	}
}

func (g *bodyGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if !g.started {
		g.started = true
		g.deadline = g.now().Add(g.timeout)
		g.apply(g.deadline)
	}
	n, err := g.src.Read(p)
	g.n += int64(n)
	if n > 0 {
		g.earn(n)
	}
	switch {
	case err == io.EOF:
		// The handler may take long after the last byte (erasure writes,
		// the commit); net/http's background read must not time out then.
		g.eof = true
		g.apply(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		g.err = &APIError{Code: ErrRequestTimeout, Err: err}
		return n, g.err
	}
	return n, err
}

// earn moves the deadline by n bytes' worth of time, capped at timeout
// from now.
func (g *bodyGuard) earn(n int) {
	g.deadline = earnDeadline(g.deadline, g.now(), n, g.rate, g.timeout)
	if g.deadline.Sub(g.applied) >= deadlineStep {
		g.apply(g.deadline)
	}
}

// earnDeadline is the minimum-rate rule shared by request and response
// bodies: a deadline never in the past moves by n bytes at rate bytes/s,
// and is never more than timeout ahead of now.
func earnDeadline(deadline, now time.Time, n int, rate int64, timeout time.Duration) time.Time {
	if deadline.Before(now) {
		deadline = now
	}
	deadline = deadline.Add(time.Duration(int64(n) * int64(time.Second) / rate))
	if limit := now.Add(timeout); deadline.After(limit) {
		return limit
	}
	return deadline
}

func (g *bodyGuard) apply(t time.Time) {
	if g.conn == nil {
		return
	}
	// Servers without deadlines (httptest recorders) answer
	// ErrNotSupported; there is nothing to enforce then.
	_ = g.conn.SetReadDeadline(t)
	g.applied = t
}

func (g *bodyGuard) Close() error { return g.src.Close() }

// consumed reports whether the whole body was read.
func (g *bodyGuard) consumed() bool { return g.eof || (g.length >= 0 && g.n >= g.length) }

// timedOut reports whether the client missed the body deadline.
func (g *bodyGuard) timedOut() error { return g.err }

// settle runs after the handler and before the answer is written. A body
// left unread (a refused request, a failed upload) is never drained first:
// that could take as long as the client likes, and with a pending
// 100-continue the client sends nothing until it gets an answer. The
// answer says Connection: close instead, which also stops net/http from
// discarding up to 256 KiB before writing the answer. It reports whether
// the connection closes (and the caller should linger once the answer is
// on the wire).
func (g *bodyGuard) settle(h http.Header) (closing bool) {
	if g.consumed() {
		return false
	}
	h.Set("Connection", "close")
	return true
}

// linger discards the rest of the body, once the answer is on the wire,
// until the client stops sending or closes, or lingerTimeout passes; past
// lingerBytes it only waits out the time (the client's sends then stall
// in full socket buffers). Writing the answer ended any pending
// 100-continue, so no "100 Continue" goes out now. Well-behaved clients
// close as soon as they read an answer with Connection: close.
func (g *bodyGuard) linger() {
	deadline := g.now().Add(lingerTimeout)
	g.apply(deadline)
	if n, _ := io.CopyN(io.Discard, g.src, lingerBytes); n == lingerBytes {
		if d := deadline.Sub(g.now()); d > 0 {
			g.sleep(d)
		}
	}
}
