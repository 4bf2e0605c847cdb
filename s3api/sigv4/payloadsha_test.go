package sigv4

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"
	"time"
)

// TestPayloadSHA256: a signed single-chunk payload exposes the SHA-256 it
// is verified against; presigned (unsigned payload) requests expose none.
func TestPayloadSHA256(t *testing.T) {
	c := sdkCase{name: "put", accessKey: "AKIDPLAIN", secret: "plainsecret", method: "PUT", key: "k", body: "the payload"}
	v := newTestVerifier(t, sdkTime.Add(time.Minute), c.keys())
	res, err := v.Verify(c.signHeader(t))
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte(c.body))
	if !bytes.Equal(res.PayloadSHA256, want[:]) {
		t.Fatalf("PayloadSHA256 %x, want %x", res.PayloadSHA256, want)
	}

	// The hash is only good once Body verified it: a different body of the
	// same length never reaches io.EOF.
	req := c.signHeader(t)
	req.Body = readCloser{bytes.NewReader([]byte("the pAyload"))}
	res, err = v.Verify(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(res.Body); !errors.Is(err, ErrContentSHA256Mismatch) {
		t.Fatalf("tampered body: %v, want ErrContentSHA256Mismatch", err)
	}

	res, err = v.Verify(c.presign(t, "300"))
	if err != nil {
		t.Fatal(err)
	}
	if res.PayloadSHA256 != nil {
		t.Fatalf("presigned: PayloadSHA256 %x, want none", res.PayloadSHA256)
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
