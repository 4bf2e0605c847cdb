package s3api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// fakeConn records the read deadlines a bodyGuard sets.
type fakeConn struct{ deadlines []time.Time }

func (c *fakeConn) SetReadDeadline(t time.Time) error {
	c.deadlines = append(c.deadlines, t)
	return nil
}

func (c *fakeConn) last() time.Time { return c.deadlines[len(c.deadlines)-1] }

// stepReader returns the next scripted result per Read, advancing the
// fake clock first.
type stepReader struct {
	clock *time.Time
	steps []step
}

type step struct {
	after time.Duration // time the Read takes
	n     int
	err   error
}

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.steps) == 0 {
		return 0, io.EOF
	}
	s := r.steps[0]
	r.steps = r.steps[1:]
	*r.clock = r.clock.Add(s.after)
	return min(s.n, len(p)), s.err
}

func (r *stepReader) Close() error { return nil }

// The deadline rule: timeout after the first Read, plus 1/rate per byte,
// never more than timeout ahead of now.
func TestBodyGuardDeadline(t *testing.T) {
	const timeout, rate = 10 * time.Second, 1000 // bytes/s: 1 ms per byte
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name  string
		steps []step
		want  time.Duration // deadline after the steps, from t0
	}{
		{"first read", nil, timeout},
		{"fast client stays capped", []step{{time.Second, 100_000, nil}}, time.Second + timeout},
		{"at the rate it keeps timeout ahead", []step{{time.Second, 1000, nil}, {time.Second, 1000, nil}}, 2*time.Second + timeout},
		{"at half the rate it falls behind", []step{{time.Second, 500, nil}, {time.Second, 500, nil}}, time.Second + timeout},
		{"a trickle earns almost nothing", []step{{5 * time.Second, 1, nil}, {5 * time.Second, 1, nil}}, timeout + 2*time.Millisecond},
		{"no banking: fast start then late bytes", []step{{0, 1 << 20, nil}, {8 * time.Second, 1, nil}}, timeout + time.Millisecond},
		{"behind the deadline bytes earn from now", []step{{12 * time.Second, 2000, nil}}, 14 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			conn := &fakeConn{}
			g := &bodyGuard{src: &stepReader{clock: &now, steps: tt.steps}, conn: conn, now: func() time.Time { return now },
				timeout: timeout, rate: rate, length: -1}
			buf := make([]byte, 1<<21)
			for range max(len(tt.steps), 1) {
				if _, err := g.Read(buf); err != nil && err != io.EOF {
					t.Fatal(err)
				}
			}
			if got := g.deadline.Sub(t0); got != tt.want {
				t.Fatalf("deadline t0+%v, want t0+%v", got, tt.want)
			}
			// What the connection got lags the rule by less than deadlineStep.
			if lag := g.deadline.Sub(conn.last()); !g.eof && (lag < 0 || lag >= deadlineStep) {
				t.Fatalf("connection deadline lags by %v", lag)
			}
		})
	}
}

// EOF clears the deadline (the handler's work after the body must not be
// cut); a deadline error becomes a sticky RequestTimeout.
func TestBodyGuardEndings(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	conn := &fakeConn{}
	g := &bodyGuard{src: &stepReader{clock: &now, steps: []step{{0, 10, nil}, {0, 0, io.EOF}}}, conn: conn,
		now: func() time.Time { return now }, timeout: time.Second, rate: 1, length: 10}
	buf := make([]byte, 64)
	for {
		if _, err := g.Read(buf); err == io.EOF {
			break
		}
	}
	if !conn.last().IsZero() || !g.consumed() {
		t.Fatalf("after EOF: deadline %v, consumed %v", conn.last(), g.consumed())
	}

	timeoutErr := fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded)
	g = &bodyGuard{src: &stepReader{clock: &now, steps: []step{{0, 3, nil}, {0, 0, timeoutErr}}}, conn: &fakeConn{},
		now: func() time.Time { return now }, timeout: time.Second, rate: 1, length: 10}
	g.Read(buf)
	for range 2 {
		_, err := g.Read(buf)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != ErrRequestTimeout || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v, want RequestTimeout wrapping the deadline error", err)
		}
	}
	if g.consumed() {
		t.Fatal("a cut body counts as consumed")
	}
}

// settle: a consumed body keeps the connection, any other closes it.
// linger then discards the rest within lingerTimeout, reading at most
// lingerBytes and waiting out the time after that.
func TestBodyGuardSettleAndLinger(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name      string
		expect    bool
		length    int64
		read      int
		wantClose bool
	}{
		{"consumed", false, 5, 5, false},
		{"refused, nothing read", false, 1 << 30, 0, true},
		{"refused, unknown length", false, -1, 0, true},
		{"pending 100-continue", true, 1 << 30, 0, true},
		{"100-continue sent, body part read", true, 100, 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := &fakeConn{}
			src := &countingReader{}
			var slept time.Duration
			g := &bodyGuard{src: src, conn: conn, now: func() time.Time { return now }, sleep: func(d time.Duration) { slept += d },
				timeout: time.Second, rate: 1 << 30, length: tt.length, expect: tt.expect}
			if tt.read > 0 {
				if _, err := io.ReadFull(g, make([]byte, tt.read)); err != nil {
					t.Fatal(err)
				}
			}
			h := http.Header{}
			if got := g.settle(h); got != tt.wantClose || (h.Get("Connection") == "close") != tt.wantClose {
				t.Fatalf("settle = %v, Connection %q; want close=%v", got, h.Get("Connection"), tt.wantClose)
			}
			if !tt.wantClose {
				return
			}
			before := src.n
			g.linger()
			if !conn.last().Equal(now.Add(lingerTimeout)) {
				t.Fatalf("linger deadline now+%v, want now+%v", conn.last().Sub(now), lingerTimeout)
			}
			if got := src.n - before; got != lingerBytes || slept != lingerTimeout {
				t.Fatalf("linger read %d bytes of an endless body and waited %v, want %d and the rest of %v", got, slept, lingerBytes, lingerTimeout)
			}
		})
	}
}

// countingReader is an endless body that counts what was read.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) { r.n += int64(len(p)); return len(p), nil }
func (r *countingReader) Close() error               { return nil }

// BenchmarkBodyGuard measures what the guard adds to each 32 KiB body Read
// (two clock reads, a deadline moved at most every deadlineStep).
func BenchmarkBodyGuard(b *testing.B) {
	buf := make([]byte, 32<<10)
	for _, guarded := range []bool{false, true} {
		b.Run(map[bool]string{false: "raw", true: "guarded"}[guarded], func(b *testing.B) {
			var r io.Reader = zeros{}
			if guarded {
				r = &bodyGuard{src: io.NopCloser(zeros{}), conn: &countingConn{}, now: time.Now,
					timeout: 20 * time.Second, rate: 4 << 10, length: -1}
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { return len(p), nil }

type countingConn struct{ n int }

func (c *countingConn) SetReadDeadline(time.Time) error { c.n++; return nil }
