package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Records that can carry inline stream bytes (d/ parts records, p/ part
// records, k/ chunk records) are stored, when any of their streams is
// inline, in a binary envelope instead of plain JSON, so those bytes are
// not base64 inside JSON (decoding it was half the CPU of a small inline
// GET, BenchmarkSmallGet):
//
//	envelopeV1 | uvarint len(json) | json | uvarint n | n × (uvarint len | bytes)
//
// json is the record's JSON with every Inline field emptied; the n byte
// strings are its Inline fields in inlineSlots order (empty for a coded
// stream). Records written by encoding/json start with '{', never with
// envelopeV1, so decode tells the two apart by the first byte and reads
// both; a record without inline data is still written as plain JSON,
// byte for byte as before. Binaries before the envelope cannot read an
// enveloped record: a downgrade, or a cluster of mixed versions, breaks
// reads of inline data written by a newer node.
const envelopeV1 = 0x01

// inlineSplitter is a record that may hold inline bytes, as encode sees it.
type inlineSplitter interface {
	// splitInline returns a copy of the record with every Inline field
	// emptied and those fields in slot order; inl is nil when none holds
	// data (the record is then written as plain JSON). The receiver is
	// not changed.
	splitInline() (stripped any, inl [][]byte)
}

// inlineHolder is a record that may hold inline bytes, as decode sees it.
type inlineHolder interface {
	// inlineCount is how many Inline fields the record has, and
	// setInline sets the i-th, in the order splitInline returns them.
	inlineCount() int
	setInline(i int, b []byte)
}

func (pr partsRecord) splitInline() (any, [][]byte) {
	if !slices.ContainsFunc(pr.Parts, func(d dataRecord) bool { return len(d.Inline) > 0 }) {
		return pr, nil
	}
	parts := slices.Clone(pr.Parts)
	inl := make([][]byte, len(parts))
	for i := range parts {
		inl[i], parts[i].Inline = parts[i].Inline, nil
	}
	pr.Parts = parts
	return pr, inl
}

func (pr *partsRecord) inlineCount() int          { return len(pr.Parts) }
func (pr *partsRecord) setInline(i int, b []byte) { pr.Parts[i].Inline = b }

func (d dataRecord) splitInline() (any, [][]byte) {
	if len(d.Inline) == 0 {
		return d, nil
	}
	inl := d.Inline
	d.Inline = nil
	return d, [][]byte{inl}
}

func (d *dataRecord) inlineCount() int          { return 1 }
func (d *dataRecord) setInline(_ int, b []byte) { d.Inline = b }

func (c chunkRecord) splitInline() (any, [][]byte) {
	if len(c.Data.Inline) == 0 {
		return c, nil
	}
	inl := c.Data.Inline
	c.Data.Inline = nil
	return c, [][]byte{inl}
}

func (c *chunkRecord) inlineCount() int          { return 1 }
func (c *chunkRecord) setInline(_ int, b []byte) { c.Data.Inline = b }

// sealEnvelope frames a record's JSON (its Inline fields emptied) and its
// inline bytes.
func sealEnvelope(js []byte, inl [][]byte) []byte {
	n := 1 + binary.MaxVarintLen64*(2+len(inl)) + len(js)
	for _, b := range inl {
		n += len(b)
	}
	out := make([]byte, 0, n)
	out = append(out, envelopeV1)
	out = binary.AppendUvarint(out, uint64(len(js)))
	out = append(out, js...)
	out = binary.AppendUvarint(out, uint64(len(inl)))
	for _, b := range inl {
		out = binary.AppendUvarint(out, uint64(len(b)))
		out = append(out, b...)
	}
	return out
}

var errEnvelope = errors.New("malformed inline envelope")

// openEnvelope checks an envelope whole (any truncation, overlong length
// or trailing byte is an error) and returns its JSON, how many inline
// strings follow and the bytes holding them, for nextInline.
func openEnvelope(b []byte) (js []byte, n int, strs []byte, err error) {
	if len(b) == 0 || b[0] != envelopeV1 {
		return nil, 0, nil, errEnvelope
	}
	js, rest, ok := nextInline(b[1:])
	if !ok {
		return nil, 0, nil, fmt.Errorf("%w: record JSON", errEnvelope)
	}
	count, w := binary.Uvarint(rest)
	// Every string takes at least its length byte: a count beyond what is
	// left is corrupt.
	if w <= 0 || count > uint64(len(rest)-w) {
		return nil, 0, nil, fmt.Errorf("%w: inline count", errEnvelope)
	}
	strs = rest[w:]
	left := strs
	for i := range int(count) {
		if _, left, ok = nextInline(left); !ok {
			return nil, 0, nil, fmt.Errorf("%w: inline data %d of %d", errEnvelope, i, count)
		}
	}
	if len(left) != 0 {
		return nil, 0, nil, fmt.Errorf("%w: %d trailing bytes", errEnvelope, len(left))
	}
	return js, int(count), strs, nil
}

// nextInline splits the first length-prefixed string off b. The string
// shares b, capacity-limited so an append to it never overwrites what
// follows.
func nextInline(b []byte) (s, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	end := w + int(n)
	return b[w:end:end], b[end:], true
}

// decodeEnvelope decodes an enveloped record into v. A v that holds no
// inline fields (a partial view of the record, as placementOf decodes)
// gets the JSON alone, as JSON fields it lacks are skipped. Inline bytes
// share b.
func decodeEnvelope(b []byte, v any) error {
	js, n, strs, err := openEnvelope(b)
	if err != nil {
		return fmt.Errorf("storage: corrupt metadata record: %w", err)
	}
	if err := decodeJSON(js, v); err != nil {
		return err
	}
	h, ok := v.(inlineHolder)
	if !ok {
		return nil
	}
	if c := h.inlineCount(); c != n {
		return fmt.Errorf("storage: corrupt metadata record: %w: %d inline fields for %d streams", errEnvelope, n, c)
	}
	for i := range n {
		var s []byte
		s, strs, _ = nextInline(strs) // checked by openEnvelope
		if len(s) == 0 {
			s = nil // as JSON decodes an absent field
		}
		h.setInline(i, s)
	}
	return nil
}
