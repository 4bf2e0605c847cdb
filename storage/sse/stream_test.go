package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

var suites = []Suite{AES256GCM, ChaCha20Poly1305}

func testKey(seed byte) Key {
	var k Key
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

func testParams(t testing.TB, s Suite, part uint32) Params {
	t.Helper()
	p, err := NewParams(s, part)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// encrypt seals plain with a Writer fed in uneven writes.
func encrypt(t testing.TB, key Key, p Params, plain []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, key, p)
	if err != nil {
		t.Fatal(err)
	}
	for rest, i := plain, 1; len(rest) > 0; i++ {
		n := min(len(rest), i*7919%(3*PackageSize/2)+1)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(len(plain)) {
		t.Fatalf("Size = %d, want %d", w.Size(), len(plain))
	}
	return out.Bytes()
}

// decrypt reads [off, off+length) from the stream's ciphertext ct.
func decrypt(key Key, p Params, ct []byte, plainSize, off, length int64) ([]byte, error) {
	cr, err := RangeOf(plainSize, off, length)
	if err != nil {
		return nil, err
	}
	end := min(cr.Offset+cr.Length, int64(len(ct)))
	r, err := NewDecryptReader(bytes.NewReader(ct[min(cr.Offset, end):end]), key, p, plainSize, off, length)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

var roundTripSizes = []int{0, 1, 15, 16, 17, PackageSize - 1, PackageSize, PackageSize + 1,
	2*PackageSize - 1, 2 * PackageSize, 2*PackageSize + 1, 3<<20 + 12345, 4 << 20}

func TestRoundTrip(t *testing.T) {
	for _, s := range suites {
		for _, n := range roundTripSizes {
			t.Run(fmt.Sprintf("%v/%d", s, n), func(t *testing.T) {
				key, p := testKey(1), testParams(t, s, 0)
				plain := randBytes(n, uint64(n))
				ct := encrypt(t, key, p, plain)
				if got := int64(len(ct)); got != EncryptedSize(int64(n)) {
					t.Fatalf("ciphertext %d bytes, EncryptedSize says %d", got, EncryptedSize(int64(n)))
				}
				if ps, err := DecryptedSize(int64(len(ct))); err != nil || ps != int64(n) {
					t.Fatalf("DecryptedSize(%d) = %d, %v; want %d", len(ct), ps, err, n)
				}
				if n > 0 && bytes.Contains(ct, plain[:min(n, 64)]) && n >= 16 {
					t.Fatal("ciphertext contains the plaintext")
				}
				// The Reader, read in odd pieces, yields the same stream as the Writer.
				er, err := NewReader(iotest.HalfReader(bytes.NewReader(plain)), key, p, int64(n))
				if err != nil {
					t.Fatal(err)
				}
				ct2, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(er, 1<<40)))
				if n > 256<<10 { // one byte at a time is slow; read big streams whole
					er, _ = NewReader(iotest.HalfReader(bytes.NewReader(plain)), key, p, -1)
					ct2, err = io.ReadAll(er)
				}
				if err != nil || !bytes.Equal(ct, ct2) {
					t.Fatalf("Reader stream differs from Writer stream (err %v, %d vs %d bytes)", err, len(ct2), len(ct))
				}
				if er.Size() != int64(n) {
					t.Fatalf("Reader.Size = %d, want %d", er.Size(), n)
				}
				got, err := decrypt(key, p, ct, int64(n), 0, int64(n))
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("decrypt: %v (%d bytes, want %d)", err, len(got), n)
				}
				var out bytes.Buffer // io.Copy takes the WriteTo path
				dr, _ := NewDecryptReader(bytes.NewReader(ct), key, p, int64(n), 0, int64(n))
				if m, err := io.Copy(&out, dr); err != nil || m != int64(n) || !bytes.Equal(out.Bytes(), plain) {
					t.Fatalf("WriteTo: %d bytes, %v", m, err)
				}
			})
		}
	}
}

// A wrong size hint (too small or too large) changes nothing in the stream.
func TestReaderSizeHint(t *testing.T) {
	key, p := testKey(2), testParams(t, AES256GCM, 0)
	for _, n := range []int{0, 1, 100, PackageSize, PackageSize + 1, 3 * PackageSize} {
		plain := randBytes(n, 7)
		want := encrypt(t, key, p, plain)
		for _, hint := range []int64{-1, 0, 1, 99, 100, 101, int64(n), 10 << 20} {
			r, err := NewReader(bytes.NewReader(plain), key, p, hint)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("n=%d hint=%d: stream differs (err %v)", n, hint, err)
			}
		}
	}
}

func TestSizes(t *testing.T) {
	tests := []struct{ plain, enc int64 }{
		{0, 16}, {1, 17}, {PackageSize - 1, PackageSize + 15}, {PackageSize, PackageSize + 16},
		{PackageSize + 1, PackageSize + 33}, {10 * PackageSize, 10 * (PackageSize + 16)},
		{MaxSize, MaxSize + (1<<32)*16},
	}
	for _, tc := range tests {
		if got := EncryptedSize(tc.plain); got != tc.enc {
			t.Errorf("EncryptedSize(%d) = %d, want %d", tc.plain, got, tc.enc)
		}
		if got, err := DecryptedSize(tc.enc); err != nil || got != tc.plain {
			t.Errorf("DecryptedSize(%d) = %d, %v; want %d", tc.enc, got, err, tc.plain)
		}
	}
	for _, bad := range []int64{-1, MaxSize + 1} {
		if got := EncryptedSize(bad); got != -1 {
			t.Errorf("EncryptedSize(%d) = %d, want -1", bad, got)
		}
	}
	for _, bad := range []int64{-1, 0, 15, PackageSize + 16 + 15, PackageSize + 16 + 16, MaxSize + (1<<32)*16 + 17} {
		if _, err := DecryptedSize(bad); !errors.Is(err, ErrInvalidSize) {
			t.Errorf("DecryptedSize(%d) err = %v, want ErrInvalidSize", bad, err)
		}
	}
}

func TestRangesTable(t *testing.T) {
	const size = 3*PackageSize + 1000
	key, p := testKey(3), testParams(t, AES256GCM, 0)
	plain := randBytes(size, 3)
	ct := encrypt(t, key, p, plain)
	tests := []struct {
		off, length   int64
		wantCipherOff int64
		wantCipherLen int64
	}{
		{0, 1, 0, cipherPackage},
		{0, PackageSize, 0, cipherPackage},
		{0, PackageSize + 1, 0, 2 * cipherPackage},
		{PackageSize - 1, 2, 0, 2 * cipherPackage},
		{PackageSize, 1, cipherPackage, cipherPackage},
		{PackageSize + 5, PackageSize, cipherPackage, 2 * cipherPackage},
		{3 * PackageSize, 1000, 3 * cipherPackage, 1000 + TagSize},
		{3*PackageSize + 999, 1, 3 * cipherPackage, 1000 + TagSize},
		{2*PackageSize + 17, PackageSize + 983, 2 * cipherPackage, cipherPackage + 1000 + TagSize},
		{0, size, 0, EncryptedSize(size)},
		{12345, 0, 0, 0},
		{size, 0, 0, 0},
	}
	for _, tc := range tests {
		cr, err := RangeOf(size, tc.off, tc.length)
		if err != nil {
			t.Fatalf("RangeOf(%d, %d): %v", tc.off, tc.length, err)
		}
		if cr.Offset != tc.wantCipherOff || cr.Length != tc.wantCipherLen {
			t.Errorf("RangeOf(%d, %d) = %+v, want {%d %d}", tc.off, tc.length, cr, tc.wantCipherOff, tc.wantCipherLen)
		}
		got, err := decrypt(key, p, ct, size, tc.off, tc.length)
		if err != nil || !bytes.Equal(got, plain[tc.off:tc.off+tc.length]) {
			t.Errorf("range %d+%d: %v (%d bytes)", tc.off, tc.length, err, len(got))
		}
	}
	for _, bad := range [][2]int64{{-1, 1}, {0, -1}, {0, size + 1}, {size, 1}, {size + 1, 0}} {
		if _, err := RangeOf(size, bad[0], bad[1]); !errors.Is(err, ErrInvalidRange) {
			t.Errorf("RangeOf(%d, %d) err = %v, want ErrInvalidRange", bad[0], bad[1], err)
		}
		if _, err := NewDecryptReader(bytes.NewReader(ct), key, p, size, bad[0], bad[1]); !errors.Is(err, ErrInvalidRange) {
			t.Errorf("NewDecryptReader(%d, %d) err = %v, want ErrInvalidRange", bad[0], bad[1], err)
		}
	}
	// An empty stream's empty range covers its one package.
	if cr, err := RangeOf(0, 0, 0); err != nil || cr != (CipherRange{0, TagSize}) {
		t.Errorf("RangeOf(0, 0, 0) = %+v, %v", cr, err)
	}
}

// Every range of random streams equals the plaintext slice, and fetches
// only the packages it touches.
func TestRangesRandomized(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 40; iter++ {
		size := int64(r.IntN(6 * PackageSize))
		s := suites[iter%2]
		key, p := testKey(byte(iter)), testParams(t, s, uint32(iter))
		plain := randBytes(int(size), uint64(iter))
		ct := encrypt(t, key, p, plain)
		for j := 0; j < 50; j++ {
			off := r.Int64N(size + 1)
			length := r.Int64N(size - off + 1)
			cr, err := RangeOf(size, off, length)
			if err != nil {
				t.Fatal(err)
			}
			if length > 0 {
				first, last := off/PackageSize, (off+length-1)/PackageSize
				if cr.Offset != first*cipherPackage || cr.Offset+cr.Length > int64(len(ct)) ||
					cr.Length > (last-first+1)*cipherPackage {
					t.Fatalf("size %d range %d+%d: cipher range %+v not package-aligned", size, off, length, cr)
				}
			}
			got, err := decrypt(key, p, ct, size, off, length)
			if err != nil || !bytes.Equal(got, plain[off:off+length]) {
				t.Fatalf("size %d range %d+%d: %v", size, off, length, err)
			}
		}
	}
}

func TestParamsEncoding(t *testing.T) {
	p := testParams(t, ChaCha20Poly1305, 9999)
	text, err := p.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var q Params
	if err := q.UnmarshalText(text); err != nil || q != p {
		t.Fatalf("round trip: %+v, %v; want %+v", q, err, p)
	}
	bin, _ := p.MarshalBinary()
	for _, bad := range [][]byte{nil, bin[:len(bin)-1], append([]byte{2}, bin[1:]...), append([]byte{1, 9}, bin[2:]...)} {
		if err := q.UnmarshalBinary(bad); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("UnmarshalBinary(%x) err = %v, want ErrInvalidParams", bad, err)
		}
	}
	if _, err := NewParams(Suite(3), 0); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("NewParams(3) err = %v", err)
	}
	if _, err := NewWriter(io.Discard, testKey(1), Params{}); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("NewWriter with zero Params err = %v", err)
	}
	for _, open := range []func() error{
		func() error { _, err := NewWriter(io.Discard, Key{}, p); return err },
		func() error { _, err := NewReader(nil, Key{}, p, 0); return err },
		func() error { _, err := NewDecryptReader(nil, Key{}, p, 0, 0, 0); return err },
	} {
		if err := open(); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("zero key accepted: %v", err)
		}
	}
	q2 := testParams(t, ChaCha20Poly1305, 9999)
	if q2.IV == p.IV {
		t.Fatal("two NewParams drew the same IV")
	}
}

func TestWriterAfterClose(t *testing.T) {
	w, err := NewWriter(io.Discard, testKey(1), testParams(t, AES256GCM, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close err = %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestErrorsPassThrough(t *testing.T) {
	boom := errors.New("boom")
	key, p := testKey(1), testParams(t, AES256GCM, 0)
	w, _ := NewWriter(failWriter{boom}, key, p)
	w.Write(make([]byte, PackageSize+1))
	if err := w.Close(); !errors.Is(err, boom) {
		t.Fatalf("Writer err = %v, want boom", err)
	}
	r, _ := NewReader(iotest.ErrReader(boom), key, p, -1)
	if _, err := io.ReadAll(r); !errors.Is(err, boom) {
		t.Fatalf("Reader err = %v, want boom", err)
	}
	d, _ := NewDecryptReader(iotest.ErrReader(boom), key, p, 10, 0, 10)
	if _, err := io.ReadAll(d); !errors.Is(err, boom) {
		t.Fatalf("decrypt reader err = %v, want boom", err)
	}
	ct := encrypt(t, key, p, []byte("0123456789"))
	d, _ = NewDecryptReader(bytes.NewReader(ct), key, p, 10, 0, 10)
	if n, err := io.Copy(failWriter{boom}, d); !errors.Is(err, boom) || n != 0 {
		t.Fatalf("WriteTo into a failing writer: %d, %v", n, err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// Re-encryption (CopyObject to another key) is decrypt piped into encrypt.
func TestReencrypt(t *testing.T) {
	plain := randBytes(3*PackageSize+7, 11)
	k1, p1 := testKey(1), testParams(t, AES256GCM, 0)
	k2, p2 := testKey(2), testParams(t, ChaCha20Poly1305, 0)
	ct1 := encrypt(t, k1, p1, plain)
	n := int64(len(plain))
	dr, err := NewDecryptReader(bytes.NewReader(ct1), k1, p1, n, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	er, err := NewReader(dr, k2, p2, n)
	if err != nil {
		t.Fatal(err)
	}
	ct2, err := io.ReadAll(er)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decrypt(k2, p2, ct2, n, 0, n); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("re-encrypted stream: %v", err)
	}
	if _, err := decrypt(k1, p1, ct2, n, 0, n); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("old key on new stream: %v", err)
	}
}
