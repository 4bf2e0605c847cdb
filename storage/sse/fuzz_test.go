package sse

import (
	"bytes"
	"io"
	"testing"
)

// FuzzDecryptReader feeds arbitrary ciphertext, claimed sizes and ranges to
// the decrypting reader. It must never panic, and never return a byte that
// is not the genuine plaintext: whatever it returns is genuine, and when it
// reports success the ciphertext it consumed is the genuine ciphertext.
func FuzzDecryptReader(f *testing.F) {
	key := testKey(0x5e)
	p := Params{Suite: AES256GCM, Part: 3, IV: [IVSize]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}
	plain := randBytes(PackageSize+300, 5)
	size := int64(len(plain))
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, key, p)
	w.Write(plain)
	w.Close()
	genuine := buf.Bytes()

	seed := func(claimed, off, length int64) {
		cr, err := RangeOf(claimed, off, length)
		if err != nil || cr.Offset > int64(len(genuine)) {
			f.Add([]byte{}, claimed, off, length)
			return
		}
		f.Add(bytes.Clone(genuine[cr.Offset:min(cr.Offset+cr.Length, int64(len(genuine)))]), claimed, off, length)
	}
	seed(size, 0, size)
	seed(size, 10, 5)
	seed(size, PackageSize-1, 2)
	seed(size, PackageSize+299, 1)
	seed(PackageSize, 0, PackageSize)
	seed(0, 0, 0)
	flipped := bytes.Clone(genuine)
	flipped[len(flipped)-1] ^= 1
	f.Add(flipped, size, int64(0), size)
	f.Add(genuine[:len(genuine)-TagSize], size, int64(0), size)

	f.Fuzz(func(t *testing.T, data []byte, claimed, off, length int64) {
		claimed %= 4 * PackageSize // keep buffers small; negative stays invalid
		r, err := NewDecryptReader(bytes.NewReader(data), key, p, claimed, off, length)
		if err != nil {
			return // invalid size or range, rejected up front
		}
		out, err := io.ReadAll(r)
		if len(out) > 0 && (off+int64(len(out)) > size || !bytes.Equal(out, plain[off:off+int64(len(out))])) {
			t.Fatalf("returned %d bytes that are not the genuine plaintext at %d (err %v)", len(out), off, err)
		}
		if err != nil {
			return
		}
		if int64(len(out)) != length {
			t.Fatalf("success with %d bytes, want %d", len(out), length)
		}
		cr, _ := RangeOf(claimed, off, length)
		if cr.Length > 0 && (int64(len(data)) < cr.Length || cr.Offset+cr.Length > int64(len(genuine)) ||
			!bytes.Equal(data[:cr.Length], genuine[cr.Offset:cr.Offset+cr.Length])) {
			t.Fatalf("success on ciphertext that is not genuine (claimed %d, range %d+%d)", claimed, off, length)
		}
	})
}
