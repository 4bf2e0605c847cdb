package sse

import (
	"errors"
	"fmt"
	"io"
)

// CipherRange is a span of a stream's ciphertext, package-aligned.
type CipherRange struct {
	Offset, Length int64
}

// span is the packages [first, last] a plaintext range touches.
type span struct {
	first, last int64 // package indexes, inclusive
	final       int64 // index of the stream's last package
	skip        int64 // plaintext bytes to drop from the first package
	length      int64 // plaintext bytes to return
	plainSize   int64
}

func spanOf(plainSize, off, length int64) (span, error) {
	if plainSize < 0 || plainSize > MaxSize {
		return span{}, fmt.Errorf("%w: plaintext size %d", ErrInvalidSize, plainSize)
	}
	if off < 0 || length < 0 || off > plainSize || length > plainSize-off {
		return span{}, fmt.Errorf("%w: offset %d length %d of %d bytes", ErrInvalidRange, off, length, plainSize)
	}
	sp := span{final: packages(plainSize) - 1, length: length, plainSize: plainSize}
	switch {
	case plainSize == 0: // the one empty package: read it to authenticate the emptiness
		sp.first, sp.last = 0, 0
	case length == 0: // nothing to read
		sp.first, sp.last = 0, -1
	default:
		sp.first, sp.last = off/PackageSize, (off+length-1)/PackageSize
		sp.skip = off - sp.first*PackageSize
	}
	return sp, nil
}

// plainLen is the plaintext length of package i.
func (sp span) plainLen(i int64) int64 {
	if i < sp.final {
		return PackageSize
	}
	return sp.plainSize - sp.final*PackageSize
}

func (sp span) cipherRange() CipherRange {
	if sp.last < sp.first {
		return CipherRange{}
	}
	off := sp.first * cipherPackage
	end := sp.last*cipherPackage + sp.plainLen(sp.last) + TagSize
	return CipherRange{Offset: off, Length: end - off}
}

// RangeOf maps the plaintext range [off, off+length) of a stream holding
// plainSize bytes to the ciphertext to fetch: whole packages only. A zero
// length reads nothing, except on an empty stream, where it covers the one
// (empty) package so that reading it authenticates the emptiness.
func RangeOf(plainSize, off, length int64) (CipherRange, error) {
	sp, err := spanOf(plainSize, off, length)
	if err != nil {
		return CipherRange{}, err
	}
	return sp.cipherRange(), nil
}

// decReader decrypts the packages of one span.
type decReader struct {
	s    *streamCipher
	src  io.Reader
	sp   span
	seq  int64  // next package to read
	buf  []byte // one package's ciphertext, opened in place
	out  []byte // authenticated plaintext not yet returned
	left int64  // plaintext bytes still to return
	err  error
}

// NewDecryptReader returns the plaintext [off, off+length) of a stream of
// plainSize bytes sealed with key under p. src must yield the ciphertext of
// RangeOf(plainSize, off, length), from its Offset on; the reader reads no
// more than its Length. Every package is authenticated whole before any of
// its bytes are returned: a tampered, reordered, dropped, foreign or cut
// package ends the read with an error wrapping ErrAuthentication (or
// ErrTruncated when src ends early), and no byte of it is returned.
func NewDecryptReader(src io.Reader, key Key, p Params, plainSize, off, length int64) (io.Reader, error) {
	sp, err := spanOf(plainSize, off, length)
	if err != nil {
		return nil, err
	}
	s, err := newStreamCipher(key, p)
	if err != nil {
		return nil, err
	}
	return &decReader{s: s, src: src, sp: sp, seq: sp.first, left: length}, nil
}

func (r *decReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.seq > r.sp.last {
			return 0, io.EOF
		}
		r.err = r.next()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// WriteTo writes the remaining plaintext to w straight from the package
// buffer, saving io.Copy a copy of every byte.
func (r *decReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.out) > 0 {
			n, err := w.Write(r.out)
			total += int64(n)
			r.out = r.out[n:]
			if err == nil && len(r.out) > 0 {
				err = io.ErrShortWrite
			}
			if err != nil {
				return total, err
			}
			continue
		}
		if r.err != nil {
			return total, r.err
		}
		if r.seq > r.sp.last {
			return total, nil
		}
		r.err = r.next()
	}
}

// next reads, authenticates and trims package r.seq.
func (r *decReader) next() error {
	n := r.sp.plainLen(r.seq) + TagSize
	if r.buf == nil {
		r.buf = make([]byte, min(n, cipherPackage))
	}
	buf := r.buf[:n]
	if _, err := io.ReadFull(r.src, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: package %d", ErrTruncated, r.seq)
		}
		return err
	}
	plain, err := r.s.aead.Open(buf[:0], r.s.nonceFor(uint32(r.seq), r.seq == r.sp.final), buf, nil)
	if err != nil {
		return fmt.Errorf("%w: package %d", ErrAuthentication, r.seq)
	}
	if r.seq == r.sp.first {
		plain = plain[r.sp.skip:]
	}
	if int64(len(plain)) > r.left {
		plain = plain[:r.left]
	}
	r.left -= int64(len(plain))
	r.out = plain
	r.seq++
	return nil
}
