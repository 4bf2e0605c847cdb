package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The key pair of the AWS documentation examples.
const (
	exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var exampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// staticLookup resolves keys from a map.
func staticLookup(keys map[string]string) Lookup {
	return func(ak string) (string, error) {
		if s, ok := keys[ak]; ok {
			return s, nil
		}
		return "", fmt.Errorf("%w: %q", ErrInvalidAccessKeyID, ak)
	}
}

// newTestVerifier returns a verifier for the example key pair whose clock
// reads now.
func newTestVerifier(t testing.TB, now time.Time, keys map[string]string) *Verifier {
	t.Helper()
	if keys == nil {
		keys = map[string]string{exampleAccessKey: exampleSecret}
	}
	c := DefaultConfig()
	c.Now = func() time.Time { return now }
	c.Lookup = staticLookup(keys)
	v, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// overWire sends req through its HTTP/1.1 wire form and parses it back the way
// net/http's server does, so tests see Host, Content-Length and the raw path
// exactly as a handler would.
func overWire(t testing.TB, req *http.Request) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatalf("parsing wire request: %v\n%s", err, buf.String())
	}
	return got
}

// parseRaw parses a raw HTTP request head plus body.
func parseRaw(t testing.TB, head string, body []byte) *http.Request {
	t.Helper()
	head = strings.TrimRight(strings.ReplaceAll(head, "\r\n", "\n"), "\n")
	if body != nil && !strings.Contains(strings.ToLower(head), "\ncontent-length:") {
		head += fmt.Sprintf("\nContent-Length: %d", len(body))
	}
	raw := strings.ReplaceAll(head, "\n", "\r\n") + "\r\n\r\n" + string(body)
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("parsing request: %v", err)
	}
	return r
}

// readAll drains a Result body, returning what was released before any error.
func readAll(r io.Reader) ([]byte, error) {
	var out bytes.Buffer
	_, err := io.Copy(&out, r)
	return out.Bytes(), err
}

// wantErr fails unless err matches want (nil means success).
func wantErr(t testing.TB, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error = %v, want %v", err, want)
	}
}

// Test-only SigV4 primitives, written independently of the package's own so
// the encoder below cannot share a bug with the decoder it tests.

func tHMAC(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, s)
	return m.Sum(nil)
}

func tSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func tSigningKey(secret, date, region string) []byte {
	return tHMAC(tHMAC(tHMAC(tHMAC([]byte("AWS4"+secret), date), region), "s3"), "aws4_request")
}

// chunkEncoder is a test-only aws-chunked encoder.
type chunkEncoder struct {
	key     []byte // nil: unsigned chunks
	amzDate string
	scope   string
	prev    string
}

func newChunkEncoder(secret string, t time.Time, region, seed string) *chunkEncoder {
	d := t.UTC().Format("20060102")
	return &chunkEncoder{
		key:     tSigningKey(secret, d, region),
		amzDate: t.UTC().Format("20060102T150405Z"),
		scope:   d + "/" + region + "/s3/aws4_request",
		prev:    seed,
	}
}

func (e *chunkEncoder) chunkSig(data []byte) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + e.amzDate + "\n" + e.scope + "\n" + e.prev + "\n" +
		tSHA(nil) + "\n" + tSHA(data)
	e.prev = hex.EncodeToString(tHMAC(e.key, sts))
	return e.prev
}

func (e *chunkEncoder) trailerSig(canon string) string {
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + e.amzDate + "\n" + e.scope + "\n" + e.prev + "\n" + tSHA([]byte(canon))
	return hex.EncodeToString(tHMAC(e.key, sts))
}

// encode frames data in chunks of chunkSize. With trailers (name, value
// pairs) it writes the trailer section of the trailer modes; signed says
// whether to sign chunks (and the trailer).
func (e *chunkEncoder) encode(data []byte, chunkSize int, trailers [][2]string, trailerMode bool) []byte {
	var b bytes.Buffer
	for {
		n := min(chunkSize, len(data))
		chunk := data[:n]
		data = data[n:]
		fmt.Fprintf(&b, "%x", n)
		if e.key != nil {
			fmt.Fprintf(&b, ";chunk-signature=%s", e.chunkSig(chunk))
		}
		b.WriteString("\r\n")
		b.Write(chunk)
		if n == 0 {
			break
		}
		b.WriteString("\r\n")
	}
	if !trailerMode {
		b.WriteString("\r\n")
		return b.Bytes()
	}
	var canon strings.Builder
	for _, tr := range trailers {
		fmt.Fprintf(&b, "%s:%s\r\n", tr[0], tr[1])
		canon.WriteString(tr[0] + ":" + tr[1] + "\n")
	}
	if e.key != nil {
		fmt.Fprintf(&b, "x-amz-trailer-signature:%s\r\n", e.trailerSig(canon.String()))
	}
	b.WriteString("\r\n")
	return b.Bytes()
}
