package s3api_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
)

// A client that stops reading a GET is cut once it falls behind the
// minimum rate, instead of holding its connection and the decoder's
// buffers; one that reads steadily gets the whole object.
func TestIntegrationStalledReaderIsCut(t *testing.T) {
	const timeout, rate = time.Second, 256 << 10
	f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) {
		c.BodyReadTimeout, c.MinBodyRate = timeout, rate
	}))
	b := f.bucket(t)
	// Far more than loopback socket buffers hold, so the server's writes
	// block once the client stops reading.
	body := randBytes(48<<20, 7)
	f.put(t, b, "big", body)

	t.Run("stalled", func(t *testing.T) {
		rc := f.dial(t)
		rc.sendHead(f.signedHead(t, http.MethodGet, b, "big", nil, -1))
		_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(rc.br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		// Stall well past the timeout, then drain what is left: the
		// server must have hung up before sending everything.
		time.Sleep(4 * timeout)
		_ = rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _ := io.Copy(io.Discard, resp.Body)
		if n >= int64(len(body)) {
			t.Fatalf("stalled reader still got all %d bytes", n)
		}
		t.Logf("stalled reader got %d of %d bytes before the cut", n, len(body))
	})

	t.Run("steady", func(t *testing.T) {
		// A normal client on a kept-alive connection reads it all, twice:
		// the deadline is cleared between requests.
		for range 2 {
			if got := f.get(t, b, "big"); !bytes.Equal(got, body) {
				t.Fatalf("steady reader got %d bytes, want the %d stored", len(got), len(body))
			}
		}
	})
}
