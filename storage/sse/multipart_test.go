package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

func TestMapRange(t *testing.T) {
	sizes := []int64{100, PackageSize + 1, 0, 50}
	tests := []struct {
		off, length int64
		want        []PartRange
	}{
		{0, 0, nil},
		{0, 1, []PartRange{{0, 0, 1, CipherRange{0, 100 + TagSize}}}},
		{99, 2, []PartRange{
			{0, 99, 1, CipherRange{0, 100 + TagSize}},
			{1, 0, 1, CipherRange{0, cipherPackage}}}},
		{100 + PackageSize, 2, []PartRange{
			{1, PackageSize, 1, CipherRange{cipherPackage, 1 + TagSize}},
			{3, 0, 1, CipherRange{0, 50 + TagSize}}}},
		{0, 151 + PackageSize, []PartRange{
			{0, 0, 100, CipherRange{0, 100 + TagSize}},
			{1, 0, PackageSize + 1, CipherRange{0, cipherPackage + 1 + TagSize}},
			{3, 0, 50, CipherRange{0, 50 + TagSize}}}},
		{150 + PackageSize, 1, []PartRange{{3, 49, 1, CipherRange{0, 50 + TagSize}}}},
	}
	for _, tc := range tests {
		got, err := MapRange(sizes, tc.off, tc.length)
		if err != nil {
			t.Fatalf("MapRange(%d, %d): %v", tc.off, tc.length, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("MapRange(%d, %d) =\n %v, want\n %v", tc.off, tc.length, got, tc.want)
		}
	}
	for _, bad := range [][2]int64{{-1, 1}, {0, 152 + PackageSize}, {151 + PackageSize, 1}} {
		if _, err := MapRange(sizes, bad[0], bad[1]); !errors.Is(err, ErrInvalidRange) {
			t.Errorf("MapRange(%d, %d) err = %v, want ErrInvalidRange", bad[0], bad[1], err)
		}
	}
	if _, err := MapRange([]int64{1, -1}, 0, 0); !errors.Is(err, ErrInvalidSize) {
		t.Errorf("negative part size err = %v", err)
	}
}

// multipartObject seals each part as its own stream under one key.
type multipartObject struct {
	key   Key
	parts []Part
	cts   [][]byte
	plain []byte
}

func newMultipart(t *testing.T, sizes ...int) multipartObject {
	m := multipartObject{key: testKey(42)}
	for i, n := range sizes {
		plain := randBytes(n, uint64(100+i))
		p := testParams(t, suites[i%2], uint32(i+1))
		m.parts = append(m.parts, Part{Params: p, Size: int64(n)})
		m.cts = append(m.cts, encrypt(t, m.key, p, plain))
		m.plain = append(m.plain, plain...)
	}
	return m
}

// open serves ciphertext ranges from cts, counting bytes fetched.
func (m multipartObject) open(cts [][]byte, fetched *int64, opened *int) OpenFunc {
	return func(i int, r CipherRange) (io.ReadCloser, error) {
		*opened++
		*fetched += r.Length
		return io.NopCloser(bytes.NewReader(cts[i][r.Offset : r.Offset+r.Length])), nil
	}
}

func (m multipartObject) read(cts [][]byte, off, length int64) ([]byte, int64, error) {
	var fetched int64
	var opened int
	r, err := NewMultipartReader(m.key, m.parts, off, length, m.open(cts, &fetched, &opened))
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	// The WriteTo path (io.Copy) must agree with Read.
	r2, _ := NewMultipartReader(m.key, m.parts, off, length, m.open(cts, new(int64), new(int)))
	defer r2.Close()
	var out bytes.Buffer
	_, err2 := io.Copy(&out, r2)
	if !bytes.Equal(out.Bytes(), b) || !sameError(err, err2) {
		return nil, 0, fmt.Errorf("Read and WriteTo differ: %d bytes %v vs %d bytes %v", len(b), err, out.Len(), err2)
	}
	return b, fetched, err
}

func TestMultipartRanges(t *testing.T) {
	m := newMultipart(t, 3*PackageSize+5, 2*PackageSize, 777)
	total := int64(len(m.plain))
	r := rand.New(rand.NewPCG(3, 4))
	for j := 0; j < 200; j++ {
		off := r.Int64N(total + 1)
		length := r.Int64N(total - off + 1)
		got, fetched, err := m.read(m.cts, off, length)
		if err != nil || !bytes.Equal(got, m.plain[off:off+length]) {
			t.Fatalf("range %d+%d: %v", off, length, err)
		}
		// Only the packages touched are fetched: at most two partial
		// packages more than the range, per part crossed.
		if length > 0 && fetched > length+int64(2*len(m.parts))*cipherPackage {
			t.Fatalf("range %d+%d fetched %d ciphertext bytes", off, length, fetched)
		}
	}
}

func TestMultipartSwappedParts(t *testing.T) {
	m := newMultipart(t, 2*PackageSize, 2*PackageSize, 10)
	swapped := [][]byte{m.cts[1], m.cts[0], m.cts[2]}
	if _, _, err := m.read(swapped, 0, int64(len(m.plain))); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("swapped parts: err = %v", err)
	}
	// Same for a part's package moved into another part at the same index.
	spliced := [][]byte{m.cts[0], bytes.Join([][]byte{pkg(m.cts[0], 0), pkg(m.cts[1], 1)}, nil), m.cts[2]}
	got, _, err := m.read(spliced, 0, int64(len(m.plain)))
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("spliced part: err = %v", err)
	}
	if !bytes.Equal(got, m.plain[:len(got)]) || len(got) > 2*PackageSize {
		t.Fatalf("served %d bytes of the tampered part", len(got))
	}
}

func TestMultipartOpenError(t *testing.T) {
	m := newMultipart(t, 10, 10)
	boom := errors.New("boom")
	calls := 0
	r, err := NewMultipartReader(m.key, m.parts, 0, 20, func(i int, _ CipherRange) (io.ReadCloser, error) {
		calls++
		if i == 1 {
			return nil, boom
		}
		return io.NopCloser(bytes.NewReader(m.cts[i])), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if !errors.Is(err, boom) || !bytes.Equal(got, m.plain[:10]) || calls != 2 {
		t.Fatalf("got %d bytes, err %v, %d opens", len(got), err, calls)
	}
	if _, err := NewMultipartReader(m.key, []Part{{}}, 0, 0, nil); !errors.Is(err, ErrInvalidParams) {
		t.Fatalf("invalid part params err = %v", err)
	}
}

// sameError reports whether a and b are both nil or of the same kind.
func sameError(a, b error) bool {
	for _, e := range []error{ErrAuthentication, ErrTruncated} {
		if errors.Is(a, e) != errors.Is(b, e) {
			return false
		}
	}
	return (a == nil) == (b == nil)
}
