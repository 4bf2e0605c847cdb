package sse

import (
	"fmt"
	"io"
	"math"
)

// A multipart object is a sequence of streams, one per part, each with its
// own Params (part number and IV) under the upload's one object key. The
// object's plaintext is the parts' plaintexts back to back.

// Part is one encrypted part of a multipart object: its Params and its
// plaintext size.
type Part struct {
	Params Params
	Size   int64
}

// PartRange is the slice of one part that an object-level plaintext range
// covers.
type PartRange struct {
	Index  int         // index of the part in object order
	Offset int64       // plaintext offset within the part
	Length int64       // plaintext bytes of the part to return
	Cipher CipherRange // the part's ciphertext to fetch
}

// MapRange splits the object-level plaintext range [off, off+length) over
// parts of the given plaintext sizes (object order). Parts the range does
// not touch, and empty parts, are left out; a zero length yields none.
func MapRange(sizes []int64, off, length int64) ([]PartRange, error) {
	var total int64
	for i, s := range sizes {
		if s < 0 || s > MaxSize || total > math.MaxInt64-s {
			return nil, fmt.Errorf("%w: part %d has %d bytes", ErrInvalidSize, i, s)
		}
		total += s
	}
	if off < 0 || length < 0 || off > total || length > total-off {
		return nil, fmt.Errorf("%w: offset %d length %d of %d bytes", ErrInvalidRange, off, length, total)
	}
	var out []PartRange
	var start int64 // object offset of part i
	for i, s := range sizes {
		end := start + s
		if length > 0 && s > 0 && off < end && off+length > start {
			po := max(off, start) - start
			pl := min(off+length, end) - start - po
			cr, err := RangeOf(s, po, pl)
			if err != nil {
				return nil, err
			}
			out = append(out, PartRange{Index: i, Offset: po, Length: pl, Cipher: cr})
		}
		start = end
	}
	return out, nil
}

// OpenFunc opens the ciphertext span r of the part at index i (object
// order); the engine reads it through the erasure codec.
type OpenFunc func(i int, r CipherRange) (io.ReadCloser, error)

// NewMultipartReader returns the plaintext [off, off+length) of a multipart
// object sealed with key. It opens each part's ciphertext only when the read
// reaches it, and decrypts it as NewDecryptReader does. Close closes the
// part being read.
func NewMultipartReader(key Key, parts []Part, off, length int64, open OpenFunc) (io.ReadCloser, error) {
	sizes := make([]int64, len(parts))
	for i, p := range parts {
		if err := p.Params.validate(); err != nil {
			return nil, fmt.Errorf("part %d: %w", i, err)
		}
		sizes[i] = p.Size
	}
	ranges, err := MapRange(sizes, off, length)
	if err != nil {
		return nil, err
	}
	return &multiReader{key: key, parts: parts, ranges: ranges, open: open}, nil
}

type multiReader struct {
	key    Key
	parts  []Part
	ranges []PartRange
	open   OpenFunc
	src    io.ReadCloser // ciphertext of ranges[0], once opened
	cur    io.Reader     // its plaintext
	err    error
}

func (m *multiReader) Read(p []byte) (int, error) {
	for m.err == nil {
		if m.cur == nil {
			if len(m.ranges) == 0 {
				return 0, io.EOF
			}
			m.err = m.openNext()
			continue
		}
		n, err := m.cur.Read(p)
		if err == io.EOF {
			m.err = m.closeCurrent()
			m.ranges = m.ranges[1:]
			if n > 0 || m.err != nil {
				return n, m.err
			}
			continue
		}
		if err != nil {
			m.err = err
		}
		return n, err
	}
	return 0, m.err
}

// WriteTo copies part by part, each with the part reader's WriteTo.
func (m *multiReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for m.err == nil {
		if m.cur == nil {
			if len(m.ranges) == 0 {
				return total, nil
			}
			m.err = m.openNext()
			continue
		}
		n, err := io.Copy(w, m.cur)
		total += n
		if err != nil {
			m.err = err
			return total, err
		}
		m.err = m.closeCurrent()
		m.ranges = m.ranges[1:]
	}
	return total, m.err
}

func (m *multiReader) openNext() error {
	r := m.ranges[0]
	part := m.parts[r.Index]
	src, err := m.open(r.Index, r.Cipher)
	if err != nil {
		return err
	}
	cur, err := NewDecryptReader(src, m.key, part.Params, part.Size, r.Offset, r.Length)
	if err != nil {
		src.Close()
		return err
	}
	m.src, m.cur = src, cur
	return nil
}

func (m *multiReader) closeCurrent() error {
	var err error
	if m.src != nil {
		err = m.src.Close()
	}
	m.src, m.cur = nil, nil
	return err
}

// Close closes the part being read, if any.
func (m *multiReader) Close() error {
	if m.err == nil {
		m.err = ErrClosed
	}
	return m.closeCurrent()
}
