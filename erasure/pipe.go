package erasure

import (
	"errors"
	"io"
	"sync"
)

// Pipe is io.Pipe for handing Decode's output to another goroutine without
// copying it there: each Write hands its slice (a verified chunk, straight
// from the codec's block buffers) to the reader and blocks until the reader
// is done with it. PipeReader.WriteTo passes those slices to its writer as
// they are, so io.Copy(socket, r) moves a decoded block from the codec's
// buffers to the socket with no copy in between; Read copies once, into the
// caller's buffer, as io.Pipe does.
//
// A Write never returns while the reader still uses its slice, even when
// the reader is closed meanwhile from another goroutine, so the codec can
// never reuse a buffer that is still being sent.
//
// Use: pr, pw := erasure.Pipe(); go func() { _, err := codec.Decode(ctx,
// pw, ...); pw.CloseWithError(err) }(); then pr.Ready() to wait for the
// first bytes (or the error that prevented them), io.Copy(dst, pr), and
// pr.Close().
func Pipe() (*PipeReader, *PipeWriter) {
	p := &pipe{wr: make(chan []byte), ack: make(chan struct{}, 1), done: make(chan struct{})}
	return &PipeReader{p: p}, &PipeWriter{p: p}
}

type pipe struct {
	wr   chan []byte   // a Write's slice, to the reader
	ack  chan struct{} // one per slice taken: the reader is done with it
	done chan struct{} // closed by the first Close of either side

	mu     sync.Mutex
	held   bool  // the reader took a slice and has not acked it
	inUse  bool  // a Read or WriteTo is running (may be touching the slice)
	closed bool  // done is closed
	rerr   error // why the reader closed (ErrClosedPipe for a plain Close)
	werr   error // why the writer closed (io.EOF for a plain Close)
}

// closeWith records the first close and wakes everyone waiting.
func (p *pipe) closeWith(rerr, werr error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed, p.rerr, p.werr = true, rerr, werr
	close(p.done)
	if p.held && !p.inUse {
		p.release() // a slice left half-read: nobody will touch it again
	}
}

// release acks the held slice; p.mu is held.
func (p *pipe) release() {
	p.held = false
	p.ack <- struct{}{} // buffered: one ack per slice, never blocks
}

// err is why no more bytes come, for the reader.
func (p *pipe) readErr() error {
	if p.werr != nil {
		return p.werr
	}
	return p.rerr
}

// PipeReader is the read half of a Pipe. Read, WriteTo and Ready are for
// one goroutine; Close may be called from any.
type PipeReader struct {
	p   *pipe
	cur []byte // the unconsumed rest of the held slice
}

// begin marks a Read or WriteTo running; it fails once the pipe closed.
func (r *PipeReader) begin() error {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		if p.held {
			p.release()
		}
		return p.readErr()
	}
	p.inUse = true
	return nil
}

// end marks it finished, acking the slice when it is used up or the pipe
// closed meanwhile.
func (r *PipeReader) end() {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inUse = false
	if p.held && (len(r.cur) == 0 || p.closed) {
		p.release()
	}
}

// next takes the writer's next slice unless one is held; inside begin/end.
func (r *PipeReader) next() error {
	if len(r.cur) > 0 {
		return nil
	}
	select {
	case b := <-r.p.wr:
		r.p.mu.Lock()
		r.cur, r.p.held = b, true
		r.p.mu.Unlock()
		return nil
	case <-r.p.done:
		r.p.mu.Lock()
		defer r.p.mu.Unlock()
		return r.p.readErr()
	}
}

// Read implements io.Reader.
func (r *PipeReader) Read(b []byte) (int, error) {
	if err := r.begin(); err != nil {
		return 0, err
	}
	defer r.end()
	if err := r.next(); err != nil {
		return 0, err
	}
	n := copy(b, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: every slice the writer hands over goes to
// w in one Write, from the writer's own buffer. It returns nil when the
// writer closed with io.EOF.
func (r *PipeReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		n, err := r.writeOne(w)
		total += n
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (r *PipeReader) writeOne(w io.Writer) (int64, error) {
	if err := r.begin(); err != nil {
		return 0, err
	}
	defer r.end()
	if err := r.next(); err != nil {
		return 0, err
	}
	n, err := w.Write(r.cur)
	r.cur = r.cur[n:]
	if err == nil && len(r.cur) > 0 {
		err = io.ErrShortWrite
	}
	return int64(n), err
}

// Ready blocks until bytes can be read or the writer closed, and returns
// nil, or the writer's close error (io.EOF after a plain Close). It
// consumes nothing, so a caller can report a read that cannot start as an
// error before committing to a response.
func (r *PipeReader) Ready() error {
	if err := r.begin(); err != nil {
		return err
	}
	defer r.end()
	return r.next()
}

// Close closes the reader: a pending or later Write returns
// io.ErrClosedPipe (once the reader no longer touches its slice).
func (r *PipeReader) Close() error { return r.CloseWithError(nil) }

// CloseWithError closes the reader: a pending or later Write returns err
// (io.ErrClosedPipe if nil).
func (r *PipeReader) CloseWithError(err error) error {
	if err == nil {
		err = io.ErrClosedPipe
	}
	r.p.closeWith(err, nil)
	return nil
}

// PipeWriter is the write half of a Pipe, for one goroutine.
type PipeWriter struct{ p *pipe }

// Write hands b to the reader and blocks until the reader is done with all
// of it, or closed and no longer touches it; b may be reused once Write
// returns.
func (w *PipeWriter) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, w.closedErr()
	}
	select {
	case w.p.wr <- b:
	case <-w.p.done:
		return 0, w.closedErr()
	}
	// Taken: only the reader's ack (consumed, or released on close) ends
	// its use of b, so wait for exactly that.
	<-w.p.ack
	if err := w.closedErr(); err != nil {
		return 0, err
	}
	return len(b), nil
}

// closedErr is nil while the pipe is open, else what a Write returns.
func (w *PipeWriter) closedErr() error {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	switch {
	case !w.p.closed:
		return nil
	case w.p.rerr != nil:
		return w.p.rerr
	}
	return io.ErrClosedPipe // the writer itself closed
}

// Close closes the writer: the reader gets io.EOF once it consumed
// everything written.
func (w *PipeWriter) Close() error { return w.CloseWithError(nil) }

// CloseWithError closes the writer: the reader gets err (io.EOF if nil)
// after everything written.
func (w *PipeWriter) CloseWithError(err error) error {
	if err == nil {
		err = io.EOF
	}
	w.p.closeWith(nil, err)
	return nil
}
