package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Command encoding.
//
// A Txn travels through the log as a command. The encoding is compact,
// versioned and deterministic: one Txn has exactly one encoding, and every
// accepted input re-encodes to itself byte for byte.
//
//	command  = version(1 byte) ncompares compare* nops op*
//	compare  = bytes(key) uvarint(revision)
//	op       = kind(1 byte) bytes(key) [bytes(value) if kind == OpPut]
//	bytes(x) = uvarint(len(x)) x
//
// All integers are minimal (canonical) unsigned varints. The decoder rejects
// unknown versions and kinds, non-minimal varints and trailing bytes, and it
// checks every length and count against the remaining input before
// allocating, so a hostile command cannot make it allocate more than a small
// multiple of its own size.

// commandVersion is the first byte of every encoded command.
const commandVersion = 1

// Size limits of a key and a value. They follow bbolt's limits (the stored
// value carries an 8-byte revision header).
const (
	MaxKeySize   = 32 << 10
	MaxValueSize = 1<<31 - 2 - revisionSize
)

// ErrBadCommand is returned (wrapped) by DecodeTxn for input that is not a
// valid encoded command.
var ErrBadCommand = errors.New("meta: bad command encoding")

// Validate reports, wrapping ErrInvalidTxn, why t can never be applied.
func (t Txn) Validate() error {
	for i, c := range t.Compares {
		if err := validKey(c.Key); err != nil {
			return fmt.Errorf("%w: compare %d: %v", ErrInvalidTxn, i, err)
		}
	}
	for i, op := range t.Ops {
		if err := validKey(op.Key); err != nil {
			return fmt.Errorf("%w: op %d: %v", ErrInvalidTxn, i, err)
		}
		switch op.Kind {
		case OpPut:
			if len(op.Value) > MaxValueSize {
				return fmt.Errorf("%w: op %d: value of %d bytes exceeds %d", ErrInvalidTxn, i, len(op.Value), MaxValueSize)
			}
		case OpDelete:
		default:
			return fmt.Errorf("%w: op %d: unknown kind %d", ErrInvalidTxn, i, op.Kind)
		}
	}
	return nil
}

func validKey(k string) error {
	if k == "" {
		return errors.New("empty key")
	}
	if len(k) > MaxKeySize {
		return fmt.Errorf("key of %d bytes exceeds %d", len(k), MaxKeySize)
	}
	return nil
}

// EncodeTxn encodes t as a command. The value of a Delete op is not encoded.
// EncodeTxn does not validate t; see Txn.Validate.
func EncodeTxn(t Txn) []byte {
	n := 1 + binary.MaxVarintLen64*2
	for _, c := range t.Compares {
		n += 2*binary.MaxVarintLen64 + len(c.Key)
	}
	for _, op := range t.Ops {
		n += 1 + 2*binary.MaxVarintLen64 + len(op.Key)
		if op.Kind == OpPut {
			n += len(op.Value)
		}
	}
	b := make([]byte, 0, n)
	b = append(b, commandVersion)
	b = binary.AppendUvarint(b, uint64(len(t.Compares)))
	for _, c := range t.Compares {
		b = appendBytes(b, c.Key)
		b = binary.AppendUvarint(b, c.Revision)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Ops)))
	for _, op := range t.Ops {
		b = append(b, byte(op.Kind))
		b = appendBytes(b, op.Key)
		if op.Kind == OpPut {
			b = appendBytes(b, op.Value)
		}
	}
	return b
}

func appendBytes[T string | []byte](b []byte, s T) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeTxn decodes a command produced by EncodeTxn. The returned Txn does not
// alias cmd. A Put with an empty value decodes with a non-nil empty Value.
func DecodeTxn(cmd []byte) (Txn, error) {
	d := decoder{b: cmd}
	var t Txn
	v, ok := d.u8()
	if !ok {
		return Txn{}, fmt.Errorf("%w: empty", ErrBadCommand)
	}
	if v != commandVersion {
		return Txn{}, fmt.Errorf("%w: unknown version %d", ErrBadCommand, v)
	}
	// Each compare takes at least 2 bytes (key length, revision).
	nc, ok := d.count(2)
	if !ok {
		return Txn{}, d.fail("compare count")
	}
	if nc > 0 {
		t.Compares = make([]Compare, nc)
		for i := range t.Compares {
			k, ok := d.bytes()
			if !ok {
				return Txn{}, d.fail("compare key")
			}
			rev, ok := d.uvarint()
			if !ok {
				return Txn{}, d.fail("compare revision")
			}
			t.Compares[i] = Compare{Key: string(k), Revision: rev}
		}
	}
	// Each op takes at least 2 bytes (kind, key length).
	no, ok := d.count(2)
	if !ok {
		return Txn{}, d.fail("op count")
	}
	if no > 0 {
		t.Ops = make([]Op, no)
		for i := range t.Ops {
			kind, ok := d.u8()
			if !ok {
				return Txn{}, d.fail("op kind")
			}
			k, ok := d.bytes()
			if !ok {
				return Txn{}, d.fail("op key")
			}
			op := Op{Kind: OpKind(kind), Key: string(k)}
			switch op.Kind {
			case OpPut:
				val, ok := d.bytes()
				if !ok {
					return Txn{}, d.fail("op value")
				}
				op.Value = append([]byte{}, val...)
			case OpDelete:
			default:
				return Txn{}, fmt.Errorf("%w: unknown op kind %d", ErrBadCommand, kind)
			}
			t.Ops[i] = op
		}
	}
	if len(d.b) != 0 {
		return Txn{}, fmt.Errorf("%w: %d trailing bytes", ErrBadCommand, len(d.b))
	}
	return t, nil
}

// decoder reads from the front of b; every read is bounds-checked.
type decoder struct{ b []byte }

func (d *decoder) fail(what string) error {
	return fmt.Errorf("%w: truncated or malformed %s", ErrBadCommand, what)
}

func (d *decoder) u8() (byte, bool) {
	if len(d.b) == 0 {
		return 0, false
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c, true
}

// uvarint reads a minimal uvarint.
func (d *decoder) uvarint() (uint64, bool) {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		return 0, false
	}
	if n > 1 && d.b[n-1] == 0 { // non-minimal: a zero last group
		return 0, false
	}
	d.b = d.b[n:]
	return v, true
}

// count reads an element count and checks that the remaining input could hold
// that many elements of at least minSize bytes each.
func (d *decoder) count(minSize int) (int, bool) {
	v, ok := d.uvarint()
	if !ok || v > uint64(len(d.b)/minSize) {
		return 0, false
	}
	return int(v), true
}

// bytes reads a length-prefixed byte string, aliasing the input.
func (d *decoder) bytes() ([]byte, bool) {
	n, ok := d.uvarint()
	if !ok || n > uint64(len(d.b)) {
		return nil, false
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s, true
}
