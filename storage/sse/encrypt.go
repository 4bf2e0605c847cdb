package sse

import (
	"errors"
	"fmt"
	"io"
)

// sealer holds the state shared by the encrypting Writer and Reader: one
// package buffer (at most PackageSize+TagSize bytes, whatever the object's
// size) and the next package index.
type sealer struct {
	s    *streamCipher
	buf  []byte // plaintext being collected; sealed in place
	seq  uint64
	size int64 // plaintext bytes sealed or buffered so far
}

func newSealer(key Key, p Params, sizeHint int64) (*sealer, error) {
	s, err := newStreamCipher(key, p)
	if err != nil {
		return nil, err
	}
	n := int64(PackageSize)
	if sizeHint >= 0 && sizeHint < n {
		n = sizeHint // small objects get a small buffer; it grows if the hint lies
	}
	return &sealer{s: s, buf: make([]byte, 0, n+TagSize)}, nil
}

// seal seals buf in place as package seq and returns the ciphertext, valid
// until the next call.
func (z *sealer) seal(final bool) ([]byte, error) {
	if z.seq >= 1<<32 {
		return nil, fmt.Errorf("%w: stream exceeds %d bytes", ErrInvalidSize, MaxSize)
	}
	out := z.s.aead.Seal(z.buf[:0], z.s.nonceFor(uint32(z.seq), final), z.buf, nil)
	z.buf = out[:0] // keep the (possibly grown) buffer
	z.seq++
	return out, nil
}

// Writer encrypts what is written to it into dst. Close seals the last
// package; without Close the stream is truncated (and will not decrypt).
type Writer struct {
	z      *sealer
	dst    io.Writer
	err    error // sticky
	closed bool
}

// NewWriter returns a Writer sealing with key under p. dst receives
// EncryptedSize(n) bytes for n bytes written.
func NewWriter(dst io.Writer, key Key, p Params) (*Writer, error) {
	z, err := newSealer(key, p, 0) // the buffer grows with the writes
	if err != nil {
		return nil, err
	}
	return &Writer{z: z, dst: dst}, nil
}

// Write implements io.Writer. A full package is sealed and written once the
// next byte arrives (only then is it known not to be the last).
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		if len(w.z.buf) == PackageSize {
			if err := w.flush(false); err != nil {
				return n, err
			}
		}
		if len(w.z.buf) == cap(w.z.buf)-TagSize { // grow towards one package
			nb := make([]byte, len(w.z.buf), min(PackageSize, max(2*len(w.z.buf), len(w.z.buf)+len(p)))+TagSize)
			copy(nb, w.z.buf)
			w.z.buf = nb
		}
		c := copy(w.z.buf[len(w.z.buf):cap(w.z.buf)-TagSize], p)
		w.z.buf = w.z.buf[:len(w.z.buf)+c]
		w.z.size += int64(c)
		p = p[c:]
		n += c
	}
	return n, nil
}

func (w *Writer) flush(final bool) error {
	out, err := w.z.seal(final)
	if err == nil {
		_, err = w.dst.Write(out)
	}
	w.err = err
	return err
}

// Close seals and writes the final package. It does not close dst.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	return w.flush(true)
}

// Size is the number of plaintext bytes written.
func (w *Writer) Size() int64 { return w.z.size }

// Reader encrypts src: reading it yields the ciphertext stream of all of
// src's bytes. It reads one byte ahead to learn which package is the last.
type Reader struct {
	z    *sealer
	src  io.Reader
	out  []byte // sealed bytes not yet returned
	peek [1]byte
	held bool // peek holds the first byte of the next package
	done bool // the final package has been sealed
	err  error
}

// NewReader returns a Reader sealing src with key under p. sizeHint is the
// expected plaintext size (-1 if unknown); it only sizes the buffer.
func NewReader(src io.Reader, key Key, p Params, sizeHint int64) (*Reader, error) {
	z, err := newSealer(key, p, sizeHint)
	if err != nil {
		return nil, err
	}
	return &Reader{z: z, src: src}, nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.err = r.next()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// next reads and seals one package.
func (r *Reader) next() error {
	buf := r.z.buf[:0]
	if r.held { // only after a full package, so buf has full capacity
		buf = append(buf, r.peek[0])
		r.held = false
	}
	final := false
	for {
		limit := min(cap(buf)-TagSize, PackageSize)
		n, err := io.ReadFull(r.src, buf[len(buf):limit])
		buf = buf[:len(buf)+n]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			final = true
			break
		}
		if err != nil {
			return err
		}
		// The buffer is full: the package is the last only if src ends here.
		if m, err := io.ReadFull(r.src, r.peek[:]); m == 0 {
			if !errors.Is(err, io.EOF) {
				return err
			}
			final = true
			break
		}
		if len(buf) == PackageSize {
			r.held = true
			break
		}
		// The size hint was short: grow to a whole package and go on.
		nb := make([]byte, len(buf), PackageSize+TagSize)
		copy(nb, buf)
		buf = append(nb, r.peek[0])
	}
	r.z.buf = buf
	r.z.size += int64(len(buf))
	out, err := r.z.seal(final)
	if err != nil {
		return err
	}
	r.out, r.done = out, final
	return nil
}

// Size is the number of plaintext bytes read from src so far.
func (r *Reader) Size() int64 { return r.z.size }
