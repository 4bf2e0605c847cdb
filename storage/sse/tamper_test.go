package sse

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
)

// tamperFixture is a stream of three full packages and a short final one.
type tamperFixture struct {
	key   Key
	p     Params
	plain []byte
	ct    []byte
	size  int64
}

func newTamperFixture(t *testing.T, s Suite) tamperFixture {
	f := tamperFixture{key: testKey(9), p: testParams(t, s, 4), plain: randBytes(3*PackageSize+100, 9)}
	f.size = int64(len(f.plain))
	f.ct = encrypt(t, f.key, f.p, f.plain)
	return f
}

// pkg returns package i of ct.
func pkg(ct []byte, i int) []byte {
	return ct[i*cipherPackage : min((i+1)*cipherPackage, len(ct))]
}

// wantRejected decrypts ct as a stream of plainSize bytes and requires an
// error matching one of want, having returned only genuine plaintext of
// packages before bad.
func wantRejected(t *testing.T, f tamperFixture, ct []byte, plainSize int64, bad int, want ...error) {
	t.Helper()
	got, err := decrypt(f.key, f.p, ct, plainSize, 0, plainSize)
	if !slices.ContainsFunc(want, func(w error) bool { return errors.Is(err, w) }) {
		t.Fatalf("err = %v, want one of %v", err, want)
	}
	if len(got) > bad*PackageSize || !bytes.Equal(got, f.plain[:len(got)]) {
		t.Fatalf("served %d bytes before the error; only the %d genuine bytes before package %d may be", len(got), bad*PackageSize, bad)
	}
	// The same through WriteTo (io.Copy's path).
	var out bytes.Buffer
	r, err := NewDecryptReader(bytes.NewReader(ct), f.key, f.p, plainSize, 0, plainSize)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(&out, r); !slices.ContainsFunc(want, func(w error) bool { return errors.Is(err, w) }) {
		t.Fatalf("WriteTo err = %v, want one of %v", err, want)
	}
	if out.Len() > bad*PackageSize || !bytes.Equal(out.Bytes(), f.plain[:out.Len()]) {
		t.Fatalf("WriteTo served %d bytes before the error", out.Len())
	}
}

func TestTamperBitFlips(t *testing.T) {
	for _, s := range suites {
		t.Run(s.String(), func(t *testing.T) {
			f := newTamperFixture(t, s)
			// Positions: first, middle and last ciphertext byte, and every tag
			// byte, of a full package (1) and of the final package (3).
			var positions []int
			for _, i := range []int{1, 3} {
				start := i * cipherPackage
				clen := len(pkg(f.ct, i)) - TagSize
				positions = append(positions, start, start+clen/2, start+clen-1)
				for j := range TagSize {
					positions = append(positions, start+clen+j)
				}
			}
			// And a sweep over the whole stream.
			for i := 0; i < len(f.ct); i += 4099 {
				positions = append(positions, i)
			}
			for _, pos := range positions {
				for _, bit := range []byte{0x01, 0x80} {
					ct := bytes.Clone(f.ct)
					ct[pos] ^= bit
					wantRejected(t, f, ct, f.size, pos/cipherPackage, ErrAuthentication)
					// A range inside the tampered package fails too; one that
					// avoids it is still served.
					bad := int64(pos / cipherPackage)
					if _, err := decrypt(f.key, f.p, ct, f.size, bad*PackageSize, 1); !errors.Is(err, ErrAuthentication) {
						t.Fatalf("pos %d: range in tampered package: %v", pos, err)
					}
					other := (bad + 1) % 4
					if got, err := decrypt(f.key, f.p, ct, f.size, other*PackageSize, 10); err != nil || !bytes.Equal(got, f.plain[other*PackageSize:][:10]) {
						t.Fatalf("pos %d: untouched package %d: %v", pos, other, err)
					}
				}
			}
		})
	}
}

// The Params (the stream's "header", kept in metadata) are bound too.
func TestTamperParams(t *testing.T) {
	f := newTamperFixture(t, AES256GCM)
	variants := map[string]func(p *Params){
		"iv bit 0":     func(p *Params) { p.IV[0] ^= 1 },
		"iv bit last":  func(p *Params) { p.IV[IVSize-1] ^= 0x80 },
		"part number":  func(p *Params) { p.Part++ },
		"part zero":    func(p *Params) { p.Part = 0 },
		"other suite":  func(p *Params) { p.Suite = ChaCha20Poly1305 },
		"wrong key":    nil,
		"key last bit": nil,
	}
	for name, mutate := range variants {
		t.Run(name, func(t *testing.T) {
			g := f
			switch name {
			case "wrong key":
				g.key = testKey(10)
			case "key last bit":
				g.key[KeySize-1] ^= 1
			default:
				mutate(&g.p)
			}
			wantRejected(t, g, f.ct, f.size, 0, ErrAuthentication)
		})
	}
}

func TestTamperStructure(t *testing.T) {
	f := newTamperFixture(t, AES256GCM)
	p0, p1, p2, p3 := pkg(f.ct, 0), pkg(f.ct, 1), pkg(f.ct, 2), pkg(f.ct, 3)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	other := newTamperFixture(t, AES256GCM) // same key, another stream (IV)
	other.key = f.key
	other.ct = encrypt(t, other.key, other.p, other.plain)
	otherPart := f.p // same key and IV, another part number
	otherPart.Part = f.p.Part + 1
	otherPartCT := encrypt(t, f.key, otherPart, f.plain)
	otherKeyCT := encrypt(t, testKey(77), f.p, f.plain)

	tests := []struct {
		name      string
		ct        []byte
		plainSize int64 // the size the (trusted) record claims
		bad       int   // first package that must not be served
		want      []error
	}{
		{"empty", nil, f.size, 0, []error{ErrTruncated}},
		{"drop last byte", f.ct[:len(f.ct)-1], f.size, 3, []error{ErrTruncated}},
		{"cut mid package", f.ct[:cipherPackage+100], f.size, 1, []error{ErrTruncated}},
		{"cut at boundary", join(p0, p1, p2), f.size, 3, []error{ErrTruncated}},
		// The record agreeing with a cut stream: the final flag catches it.
		{"cut at boundary, size agrees", join(p0, p1, p2), 3 * PackageSize, 2, []error{ErrAuthentication}},
		{"cut final to empty, size agrees", join(p0, p1, p2, p3[:TagSize]), 3 * PackageSize, 2, []error{ErrAuthentication}},
		{"drop package", join(p0, p2, p3), f.size, 1, []error{ErrAuthentication, ErrTruncated}},
		{"drop package, size agrees", join(p0, p2, p3), 2*PackageSize + 100, 1, []error{ErrAuthentication}},
		{"swap packages", join(p1, p0, p2, p3), f.size, 0, []error{ErrAuthentication}},
		{"duplicate package", join(p0, p0, p1, p2, p3), f.size, 1, []error{ErrAuthentication}},
		{"final moved", join(p0, p1, p3, p2), f.size, 2, []error{ErrAuthentication, ErrTruncated}},
		{"extra package claimed", join(p0, p1, p2, p3, p3), f.size + 100, 3, []error{ErrAuthentication}},
		{"splice other stream", join(p0, pkg(other.ct, 1), p2, p3), f.size, 1, []error{ErrAuthentication}},
		{"splice other part", join(p0, p1, pkg(otherPartCT, 2), p3), f.size, 2, []error{ErrAuthentication}},
		{"splice other key", join(p0, p1, p2, pkg(otherKeyCT, 3)), f.size, 3, []error{ErrAuthentication}},
		{"whole other part", otherPartCT, f.size, 0, []error{ErrAuthentication}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantRejected(t, f, tc.ct, tc.plainSize, tc.bad, tc.want...)
		})
	}
}

// An empty object is one authenticated package: replacing it, or claiming
// a stream is empty when it is not, is detected.
func TestTamperEmpty(t *testing.T) {
	key, p := testKey(5), testParams(t, AES256GCM, 0)
	empty := encrypt(t, key, p, nil)
	f := tamperFixture{key: key, p: p}
	wantRejected(t, f, nil, 0, 0, ErrTruncated)
	bad := bytes.Clone(empty)
	bad[3] ^= 1
	wantRejected(t, f, bad, 0, 0, ErrAuthentication)
	full := encrypt(t, key, p, []byte("not empty"))
	wantRejected(t, f, full, 0, 0, ErrAuthentication)
	f.plain = make([]byte, 9)
	wantRejected(t, f, empty, 9, 0, ErrTruncated)
}
