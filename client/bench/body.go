package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
)

// Body is a PUT body of Len bytes cut from a shared random buffer: byte i
// is buf[(off+i) mod len(buf)]. Objects up to the buffer's size are one
// window of it; larger ones repeat it, so memory stays bounded whatever
// the object size and no body is ever allocated.
type Body struct {
	buf  []byte
	off  int
	size int64
}

// BytesBody is a Body holding exactly b.
func BytesBody(b []byte) Body { return Body{buf: b, size: int64(len(b))} }

// Len is the body's size in bytes.
func (b Body) Len() int64 { return b.size }

// segment returns the contiguous bytes from body position pos on.
func (b Body) segment(pos int64) []byte {
	i := (int64(b.off) + pos) % int64(len(b.buf))
	seg := b.buf[i:]
	if rest := b.size - pos; int64(len(seg)) > rest {
		seg = seg[:rest]
	}
	return seg
}

// sha256Hex is the SHA-256 of the body, hex-encoded.
func (b Body) sha256Hex() string {
	h := sha256.New()
	for pos := int64(0); pos < b.size; {
		seg := b.segment(pos)
		h.Write(seg)
		pos += int64(len(seg))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Reader returns a new reader over the body.
func (b Body) Reader() *BodyReader { return &BodyReader{b: b} }

// BodyReader reads a Body; it seeks, for clients that hash or resend.
type BodyReader struct {
	b   Body
	pos int64
}

func (r *BodyReader) Read(p []byte) (int, error) {
	if r.pos >= r.b.size {
		return 0, io.EOF
	}
	n := copy(p, r.b.segment(r.pos))
	r.pos += int64(n)
	return n, nil
}

// Seek implements io.Seeker.
func (r *BodyReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.b.size
	}
	if offset < 0 {
		return r.pos, errors.New("bench: seek before the start of a body")
	}
	r.pos = offset
	return offset, nil
}
