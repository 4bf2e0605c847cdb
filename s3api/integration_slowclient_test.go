package s3api_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
)

// rawConn is one client connection driven byte by byte: headers, then as
// much of the body as a test wants, when it wants.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (f *fixture) dial(t *testing.T) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", hostOf(f.PlainURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

// sendHead writes req's request line and headers, not its body.
func (rc *rawConn) sendHead(req *http.Request) {
	rc.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), req.Host)
	if req.ContentLength >= 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", req.ContentLength)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	rc.send([]byte(b.String()))
}

func (rc *rawConn) send(p []byte) {
	rc.t.Helper()
	_ = rc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.c.Write(p); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// response reads one response (1xx included) and its body, failing unless
// it arrives within d.
func (rc *rawConn) response(d time.Duration) (*http.Response, []byte) {
	rc.t.Helper()
	start := time.Now()
	_ = rc.c.SetReadDeadline(start.Add(d))
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.t.Fatalf("no response within %v: %v", d, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("response body: %v", err)
	}
	return resp, body
}

// closed fails unless the server ends the connection within d.
func (rc *rawConn) closed(d time.Duration) {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, rc.br)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		rc.t.Fatalf("server kept the connection open for %v", d)
	}
}

// signedHead is a signed request whose body is declared (size bytes,
// UNSIGNED-PAYLOAD) but sent by the test itself.
func (f *fixture) signedHead(t *testing.T, method, bucket, key string, query url.Values, size int64) *http.Request {
	t.Helper()
	req := f.newRaw(t, rawReq{method: method, bucket: bucket, key: key, query: query, payload: "UNSIGNED-PAYLOAD"})
	req.ContentLength = size
	return req
}

// answerWithin is how fast a refused request must be answered: at once,
// with room for a loaded test machine.
const answerWithin = time.Second

// A refused request is answered before any of its body is read: with
// Expect: 100-continue the client sends nothing and still gets its error
// (no "100 Continue" first); without it, the answer comes while the body
// is still unsent. Either way Connection: close, and the server hangs up
// instead of reading the rest.
func TestIntegrationRefusedBeforeBody(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	shards := f.ShardCount(t)
	long := strings.Repeat("k", 1025)
	cases := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		code   string
		status int
	}{
		{"anonymous", func(t *testing.T) *http.Request {
			r := f.newRaw(t, rawReq{method: http.MethodPut, bucket: b, key: "k", unsign: true})
			r.ContentLength = 3 << 20
			return r
		}, "AccessDenied", http.StatusForbidden},
		{"missing bucket", func(t *testing.T) *http.Request {
			return f.signedHead(t, http.MethodPut, "no-such-bucket-x", "k", nil, 3<<20)
		}, "NoSuchBucket", http.StatusNotFound},
		{"key too long", func(t *testing.T) *http.Request {
			return f.signedHead(t, http.MethodPut, b, long, nil, 3<<20)
		}, "KeyTooLongError", http.StatusBadRequest},
		{"entity too large", func(t *testing.T) *http.Request {
			return f.signedHead(t, http.MethodPut, b, "big", nil, 6<<30)
		}, "EntityTooLarge", http.StatusBadRequest},
		{"missing upload", func(t *testing.T) *http.Request {
			return f.signedHead(t, http.MethodPut, b, "k", url.Values{"partNumber": {"1"}, "uploadId": {"nope"}}, 3<<20)
		}, "NoSuchUpload", http.StatusNotFound},
		{"bad signature", func(t *testing.T) *http.Request {
			r := f.newRaw(t, rawReq{method: http.MethodPut, bucket: b, key: "k", payload: "UNSIGNED-PAYLOAD", secret: "wrong"})
			r.ContentLength = 1 << 30
			return r
		}, "SignatureDoesNotMatch", http.StatusForbidden},
	}
	for _, c := range cases {
		for _, expect := range []bool{true, false} {
			name := c.name + map[bool]string{true: "/100-continue", false: "/body-sent"}[expect]
			t.Run(name, func(t *testing.T) {
				req := c.req(t)
				rc := f.dial(t)
				if expect {
					req.Header.Set("Expect", "100-continue")
				}
				start := time.Now()
				rc.sendHead(req)
				if !expect {
					rc.send(randBytes(1000, 1)) // a client that does not wait
				}
				resp, body := rc.response(answerWithin)
				if resp.StatusCode == http.StatusContinue {
					t.Fatal("the server asked for the body of a refused request")
				}
				wantXMLError(t, resp, body, c.code, c.status)
				if !resp.Close {
					t.Fatal("refused request with an unread body answered without Connection: close")
				}
				t.Logf("answered in %v", time.Since(start).Round(time.Millisecond))
				rc.closed(3 * time.Second)
			})
		}
	}
	if n := f.ShardCount(t); n != shards {
		t.Fatalf("refused requests left %d shards", n-shards)
	}
	// A refused request whose small body was sent whole is answered at once
	// too.
	t.Run("small body sent whole", func(t *testing.T) {
		body := []byte("tiny")
		req := f.newRaw(t, rawReq{method: http.MethodPut, bucket: b, key: "tiny", body: body, unsign: true})
		rc := f.dial(t)
		rc.sendHead(req)
		rc.send(body)
		resp, rb := rc.response(answerWithin)
		wantXMLError(t, resp, rb, "AccessDenied", http.StatusForbidden)
	})
}

// The minimum-rate deadline cuts a body that stalls or trickles, whatever
// the operation (object data or an XML document), with RequestTimeout, and
// the partial upload stores nothing. A client at a steady rate above the
// minimum finishes even when its upload lasts many timeouts.
func TestIntegrationBodyMinimumRate(t *testing.T) {
	const timeout, rate = time.Second, 32 << 10
	f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) {
		c.BodyReadTimeout, c.MinBodyRate = timeout, rate
	}))
	b := f.bucket(t)
	shards := f.ShardCount(t)
	cases := []struct {
		name string
		req  func(t *testing.T) *http.Request
		// feed sends the body the way the client under test does and
		// returns when it stops sending.
		feed func(rc *rawConn)
	}{
		{"PutObject stalls mid-body", func(t *testing.T) *http.Request {
			return f.signedHead(t, http.MethodPut, b, "stalled", nil, 1<<20)
		}, func(rc *rawConn) { rc.send(randBytes(100<<10, 2)) }},
		{"PutObject trickles 1 byte per 50ms", func(t *testing.T) *http.Request {
			return f.signedHead(t, http.MethodPut, b, "trickle", nil, 1<<20)
		}, func(rc *rawConn) {
			// 20 bytes/s: the deadline falls behind by almost a second a
			// second, so the cut comes shortly after timeout.
			for range 200 {
				_ = rc.c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := rc.c.Write([]byte{'x'}); err != nil {
					return
				}
				_ = rc.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, err := rc.br.Peek(1); err == nil {
					return // answered
				}
			}
		}},
		{"DeleteObjects stalls mid-document", func(t *testing.T) *http.Request {
			return f.signedHead(t, http.MethodPost, b, "", url.Values{"delete": {""}}, 2000)
		}, func(rc *rawConn) { rc.send([]byte("<Delete><Object><Key>")) }},
		{"stalls before the first byte", func(t *testing.T) *http.Request {
			return f.signedHead(t, http.MethodPut, b, "nothing", nil, 1<<20)
		}, func(*rawConn) {}},
	}
	// The clients run side by side, each on its own connection.
	t.Run("clients", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				cutClient(t, f, c.req(t), c.feed, timeout)
			})
		}
		t.Run("steady client above the rate finishes", func(t *testing.T) {
			t.Parallel()
			// 4x the minimum for 3 s: three timeouts long.
			const chunk, every, n = 16 << 10, 125 * time.Millisecond, 24
			data := randBytes(chunk*n, 3)
			rc := f.dial(t)
			rc.sendHead(f.signedHead(t, http.MethodPut, b, "steady", nil, int64(len(data))))
			for i := 0; i < n; i++ {
				rc.send(data[i*chunk : (i+1)*chunk])
				time.Sleep(every)
			}
			resp, body := rc.response(5 * time.Second)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("steady upload: %d %s", resp.StatusCode, body)
			}
			if got := f.get(t, b, "steady"); md5Hex(got) != md5Hex(data) {
				t.Fatal("steady upload stored other bytes")
			}
		})
	})
	for _, key := range []string{"stalled", "trickle", "nothing"} {
		if f.exists(t, b, key) {
			t.Fatalf("%s: a cut upload is visible", key)
		}
	}
	if n := f.ShardCount(t); n != shards+s3test.NumDrives { // the steady object: a shard per drive
		t.Fatalf("cut uploads left %d shards", n-shards-s3test.NumDrives)
	}
}

// cutClient sends req's headers, feeds its body the way the client under
// test does, and checks that the server cuts it with RequestTimeout about
// timeout after it stopped keeping up.
func cutClient(t *testing.T, f *fixture, req *http.Request, feed func(*rawConn), timeout time.Duration) {
	t.Helper()
	rc := f.dial(t)
	rc.sendHead(req)
	start := time.Now()
	feed(rc)
	resp, body := rc.response(timeout + 5*time.Second)
	took := time.Since(start)
	wantXMLError(t, resp, body, "RequestTimeout", http.StatusBadRequest)
	if !resp.Close {
		t.Fatal("RequestTimeout without Connection: close")
	}
	// Not before the deadline (a client may pause for timeout),
	// and not long after it.
	if took < timeout*9/10 || took > timeout+5*time.Second {
		t.Fatalf("cut after %v, want about %v", took, timeout)
	}
	t.Logf("cut %v after the headers", took.Round(time.Millisecond))
	rc.closed(3 * time.Second)
}

// Past the upload memory bound a request is refused with SlowDown at once,
// before its body is read (no "100 Continue"); requests that read no body
// are still served, and the budget comes back when the upload ends.
func TestIntegrationUploadBudget(t *testing.T) {
	const budget = 6 << 20
	f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.UploadMemory = budget }))
	// The premise: one erasure-coded upload fits the budget, two do not.
	if cost := f.Engine.WriteMemory(1 << 20); cost <= budget/2 || cost > budget {
		t.Fatalf("an upload costs %d bytes; the test needs (%d, %d]", cost, budget/2, budget)
	}
	b := f.bucket(t)
	data := randBytes(1<<20, 4)

	// A holds the budget: admitted (it got "100 Continue"), then stalls.
	a := f.dial(t)
	ra := f.signedHead(t, http.MethodPut, b, "a", nil, int64(len(data)))
	ra.Header.Set("Expect", "100-continue")
	a.sendHead(ra)
	if resp, _ := a.response(answerWithin); resp.StatusCode != http.StatusContinue {
		t.Fatalf("upload A: %d, want 100 Continue", resp.StatusCode)
	}
	a.send(data[:100<<10])

	put := func(key string) (*http.Response, []byte) {
		rc := f.dial(t)
		req := f.signedHead(t, http.MethodPut, b, key, nil, int64(len(data)))
		req.Header.Set("Expect", "100-continue")
		rc.sendHead(req)
		resp, body := rc.response(answerWithin)
		if resp.StatusCode == http.StatusContinue {
			rc.send(data)
			resp, body = rc.response(5 * time.Second)
		}
		return resp, body
	}
	resp, body := put("b")
	wantXMLError(t, resp, body, "SlowDown", http.StatusServiceUnavailable)
	if !resp.Close {
		t.Fatal("SlowDown without Connection: close")
	}
	// A small upload still fits, and reads cost nothing.
	f.put(t, b, "small", []byte("inline objects cost their size"))
	if got := f.get(t, b, "small"); len(got) == 0 {
		t.Fatal("small object lost")
	}
	// A copy writes a new data stream: it needs the budget too.
	_, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy"), CopySource: aws.String(b + "/small")})
	wantErr(t, err, "SlowDown", http.StatusServiceUnavailable)

	a.send(data[100<<10:])
	if resp, body := a.response(5 * time.Second); resp.StatusCode != http.StatusOK {
		t.Fatalf("upload A: %d %s", resp.StatusCode, body)
	}
	if resp, body := put("c"); resp.StatusCode != http.StatusOK {
		t.Fatalf("upload after the budget freed: %d %s", resp.StatusCode, body)
	}
	if _, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy"), CopySource: aws.String(b + "/small")}); err != nil {
		t.Fatalf("copy after the budget freed: %v", err)
	}
}
