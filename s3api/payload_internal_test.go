package s3api

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestUnknownLengthLimit: a body of unknown length (chunked transfer
// coding) is cut off with EntityTooLarge as soon as it runs past the
// limit, without reading the rest.
func TestUnknownLengthLimit(t *testing.T) {
	for _, tc := range []struct {
		size    int
		tooLong bool
	}{{0, false}, {10, false}, {11, true}, {1 << 20, true}} {
		src := &sizeCountingReader{r: bytes.NewReader(make([]byte, tc.size))}
		v := newVerifyingReader(src, -1, checksumSpec{}, nil)
		v.limit = 10
		n, err := io.Copy(io.Discard, v)
		var ae *APIError
		switch {
		case tc.tooLong && (!errors.As(err, &ae) || ae.Code != ErrEntityTooLarge):
			t.Errorf("%d bytes: %v, want EntityTooLarge", tc.size, err)
		case tc.tooLong && src.n > 10+32<<10:
			t.Errorf("%d bytes: read %d before refusing", tc.size, src.n)
		case !tc.tooLong && (err != nil || n != int64(tc.size)):
			t.Errorf("%d bytes: %d, %v", tc.size, n, err)
		}
	}
}

type sizeCountingReader struct {
	r io.Reader
	n int
}

func (c *sizeCountingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestStripAWSChunked(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"gzip":                  "gzip",
		"gzip, br":              "gzip, br",
		"aws-chunked":           "",
		"aws-chunked,gzip":      "gzip",
		"aws-chunked, gzip, br": "gzip, br",
		"gzip, aws-chunked":     "gzip",
		"gzip ,AWS-CHUNKED, br": "gzip , br",
	} {
		if got := stripAWSChunked(in); got != want {
			t.Errorf("stripAWSChunked(%q) = %q, want %q", in, got, want)
		}
	}
}
