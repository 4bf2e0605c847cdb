package client

import (
	"context"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/time/rate"
)

// meter follows a transfer of several files: a total and one bar per
// file in flight.
type meter interface {
	// file starts the bar of one file of size bytes.
	file(name string, size int64) fileMeter
	// println prints a line above the bars (or plainly without them).
	println(w io.Writer, line string)
	// wait finishes drawing.
	wait()
}

type fileMeter interface {
	add(n int64)
	done(err error)
}

// newMeter draws bars on cfg.Stderr when cfg.Progress is set, for files
// bytes in total.
func (c *Client) newMeter(ctx context.Context, files int, total int64) meter {
	if !c.cfg.Progress || c.cfg.JSON || c.cfg.Quiet {
		return nopMeter{}
	}
	p := mpb.NewWithContext(ctx, mpb.WithOutput(c.cfg.Stderr), mpb.WithWidth(40),
		mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())
	m := &barMeter{p: p, files: files, last: time.Now()}
	label := "total"
	if files > 1 {
		label = "total (" + strconv.Itoa(files) + " files)"
	}
	m.total = p.AddBar(total, mpb.BarPriority(-1),
		mpb.PrependDecorators(decor.Name(label, decor.WCSyncSpaceR), decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace)),
		mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace), decor.EwmaSpeed(decor.SizeB1024(0), "% .1f", 30, decor.WCSyncSpace),
			decor.Name(" ETA "), decor.EwmaETA(decor.ET_STYLE_GO, 30, decor.WCSyncSpace)))
	return m
}

type barMeter struct {
	p     *mpb.Progress
	total *mpb.Bar
	files int
	mu    sync.Mutex
	last  time.Time
	lines []pending
}

type pending struct {
	w    io.Writer
	line string
}

func (m *barMeter) file(name string, size int64) fileMeter {
	if m.files == 1 {
		return &barFile{m: m} // the total is the file's bar
	}
	if len(name) > 40 {
		name = "…" + name[len(name)-39:]
	}
	b := m.p.AddBar(size, mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR), decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace)),
		mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace), decor.EwmaSpeed(decor.SizeB1024(0), "% .1f", 30, decor.WCSyncSpace),
			decor.Name(" ETA "), decor.EwmaETA(decor.ET_STYLE_GO, 30, decor.WCSyncSpace)))
	return &barFile{m: m, bar: b, start: time.Now()}
}

// println keeps the line until the bars are done: mpb prints lines above
// its bars only at its next refresh, and loses those written after the
// last one.
func (m *barMeter) println(w io.Writer, line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines = append(m.lines, pending{w, line})
}

func (m *barMeter) wait() {
	if !m.total.Completed() {
		m.total.Abort(false)
	}
	m.p.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.lines {
		_, _ = io.WriteString(l.w, l.line+"\n")
	}
}

type barFile struct {
	m     *barMeter
	bar   *mpb.Bar
	mu    sync.Mutex
	start time.Time
	n     int64
}

func (f *barFile) add(n int64) {
	f.mu.Lock()
	f.n += n
	f.mu.Unlock()
	now := time.Now()
	f.m.mu.Lock()
	dur := now.Sub(f.m.last)
	f.m.last = now
	f.m.mu.Unlock()
	f.m.total.EwmaIncrInt64(n, dur)
	if f.bar != nil {
		f.mu.Lock()
		own := now.Sub(f.start)
		f.start = now
		f.mu.Unlock()
		f.bar.EwmaIncrInt64(n, own)
	}
}

func (f *barFile) done(err error) {
	if f.bar == nil {
		return
	}
	if err != nil || !f.bar.Completed() {
		f.bar.Abort(true)
	}
}

type nopMeter struct{}

func (nopMeter) file(string, int64) fileMeter { return nopFile{} }
func (nopMeter) println(w io.Writer, line string) {
	_, _ = io.WriteString(w, line+"\n")
}
func (nopMeter) wait() {}

type nopFile struct{}

func (nopFile) add(int64)  {}
func (nopFile) done(error) {}

// countingReader reports the bytes read to a fileMeter and waits on the
// rate limiter. A Seek back (the SDK rewinding a body to retry it) takes
// the rewound bytes off again, so the bar shows what was sent.
type countingReader struct {
	ctx context.Context
	r   io.ReadSeeker
	m   fileMeter
	lim *rate.Limiter
	pos int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.lim != nil && len(p) > c.lim.Burst() {
		p = p[:c.lim.Burst()]
	}
	n, err := c.r.Read(p)
	if n > 0 {
		c.pos += int64(n)
		c.m.add(int64(n))
		if c.lim != nil {
			if werr := c.lim.WaitN(c.ctx, n); werr != nil {
				return n, werr
			}
		}
	}
	return n, err
}

func (c *countingReader) Seek(off int64, whence int) (int64, error) {
	n, err := c.r.Seek(off, whence)
	if err == nil && n != c.pos {
		c.m.add(n - c.pos)
		c.pos = n
	}
	return n, err
}

// countingWriter is the download side of countingReader.
type countingWriter struct {
	ctx context.Context
	w   io.Writer
	m   fileMeter
	lim *rate.Limiter
}

func (c *countingWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p
		if c.lim != nil && len(chunk) > c.lim.Burst() {
			chunk = chunk[:c.lim.Burst()]
		}
		if c.lim != nil {
			if err := c.lim.WaitN(c.ctx, len(chunk)); err != nil {
				return written, err
			}
		}
		n, err := c.w.Write(chunk)
		written += n
		c.m.add(int64(n))
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}
