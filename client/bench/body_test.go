package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"
)

func TestBodyRepeatsTheBufferAndHashes(t *testing.T) {
	buf := make([]byte, 1000)
	r := rand.New(rand.NewPCG(11, 12))
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for _, tc := range []struct {
		off  int
		size int64
	}{{0, 0}, {0, 1000}, {17, 983}, {17, 5000}, {999, 2}, {500, 100_000}} {
		b := Body{buf: buf, off: tc.off, size: tc.size}
		want := make([]byte, tc.size)
		for i := range want {
			want[i] = buf[(tc.off+i)%len(buf)]
		}
		// Read through odd-sized reads.
		var got bytes.Buffer
		rd := b.Reader()
		p := make([]byte, 333)
		for {
			n, err := rd.Read(p)
			got.Write(p[:n])
			if err == io.EOF {
				break
			}
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("off %d size %d: read %d bytes that differ from the pattern", tc.off, tc.size, got.Len())
		}
		sum := sha256.Sum256(want)
		if b.sha256Hex() != hex.EncodeToString(sum[:]) {
			t.Fatalf("off %d size %d: wrong SHA-256", tc.off, tc.size)
		}
		// Seek back and read again, as a client resending the body does.
		if pos, err := rd.Seek(0, io.SeekStart); err != nil || pos != 0 {
			t.Fatal(pos, err)
		}
		again, _ := io.ReadAll(rd)
		if !bytes.Equal(again, want) {
			t.Fatalf("off %d size %d: second read differs", tc.off, tc.size)
		}
		if end, _ := rd.Seek(0, io.SeekEnd); end != tc.size {
			t.Fatalf("seek end = %d, want %d", end, tc.size)
		}
	}
}

func TestPayloadIsBounded(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := newPayload(1<<30, r)
	if len(p.buf) != maxPayloadBuffer+payloadSlack {
		t.Fatalf("a 1 GiB payload holds a %d-byte buffer", len(p.buf))
	}
	if b := p.body(r); b.Len() != 1<<30 {
		t.Fatalf("body of %d bytes", b.Len())
	}
	small := newPayload(4096, r)
	if b := small.body(r); len(small.buf) != 4096+payloadSlack || b.Len() != 4096 || int64(b.off)+b.Len() > int64(len(small.buf)) {
		t.Fatalf("a small body must be one window of the buffer: off %d, buffer %d", b.off, len(small.buf))
	}
}
