package s3api

import (
	"errors"
	"io"
	"time"
)

// sendChunk is the most one write to the client carries; a larger write is
// split so the deadline moves with the bytes actually taken.
const sendChunk = 64 << 10

// writeDeadliner sets the connection's write deadline
// (*http.ResponseController).
type writeDeadliner interface {
	SetWriteDeadline(time.Time) error
}

// sendGuard holds a response body's reader to the same minimum rate as
// request bodies (see bodyGuard): a client that stops reading a GET is cut
// after BodyReadTimeout instead of holding its connection and the
// decoder's buffers for ever. It remembers write errors, so a client that
// went away is told apart from a failing read of the object.
type sendGuard struct {
	w        io.Writer
	conn     writeDeadliner
	now      func() time.Time
	timeout  time.Duration
	rate     int64
	deadline time.Time
	applied  time.Time
	werr     error
}

func newSendGuard(w io.Writer, conn writeDeadliner, cfg Config) *sendGuard {
	return &sendGuard{w: w, conn: conn, now: time.Now, timeout: cfg.BodyReadTimeout, rate: cfg.MinBodyRate}
}

func (g *sendGuard) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), sendChunk)
		g.allow(n)
		m, err := g.w.Write(p[:n])
		written += m
		if err != nil {
			g.werr = err
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// allow moves the deadline by n bytes' worth of time (earnDeadline)
// before those bytes are written.
func (g *sendGuard) allow(n int) {
	now := g.now()
	if g.deadline.IsZero() {
		g.deadline = now.Add(g.timeout)
	}
	g.deadline = earnDeadline(g.deadline, now, n, g.rate, g.timeout)
	if g.deadline.Sub(g.applied) >= deadlineStep {
		g.set(g.deadline)
	}
}

func (g *sendGuard) set(t time.Time) {
	if g.conn == nil {
		return
	}
	// Recorders without deadlines answer ErrNotSupported: nothing to enforce.
	_ = g.conn.SetWriteDeadline(t)
	g.applied = t
}

// done clears the deadline so the next request on a kept-alive
// connection starts without it.
func (g *sendGuard) done() {
	if !g.applied.IsZero() {
		g.set(time.Time{})
	}
}

// clientGone reports whether err came from writing to the client.
func (g *sendGuard) clientGone(err error) bool { return g.werr != nil && errors.Is(err, g.werr) }
