package sigv4

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
)

// plainBody passes a single-chunk payload through. With want set it hashes
// the bytes and, at EOF, turns a hash mismatch into ErrContentSHA256Mismatch
// instead of io.EOF; it also turns a body shorter than Content-Length into
// ErrIncompleteBody. Errors are sticky.
type plainBody struct {
	src    io.ReadCloser
	length int64 // -1 unknown
	want   []byte
	h      hash.Hash
	n      int64
	err    error
}

func (b *plainBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.want != nil && b.h == nil {
		b.h = sha256.New()
	}
	n, err := b.src.Read(p)
	b.n += int64(n)
	if b.h != nil {
		b.h.Write(p[:n])
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		if b.length >= 0 && b.n < b.length {
			err = errorf(ErrIncompleteBody, "got %d of %d bytes", b.n, b.length)
		} else if b.h != nil && !bytes.Equal(b.h.Sum(nil), b.want) {
			err = ErrContentSHA256Mismatch
		}
	case errors.Is(err, io.ErrUnexpectedEOF):
		// What net/http returns when the connection ends mid-body.
		err = errorf(ErrIncompleteBody, "got %d of %d bytes", b.n, b.length)
	}
	b.err = err
	return n, err
}

func (b *plainBody) Close() error { return b.src.Close() }
