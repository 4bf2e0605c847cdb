package s3api_test

import (
	"bytes"
	"mime/multipart"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
)

// framed is a form split around its file's bytes, for tests that send the
// file themselves: head (the fields and the file part's header), then the
// file, then tail (the closing boundary).
type framed struct {
	head, tail []byte
	ctype      string
}

func frame(t *testing.T, fields []field) framed {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := w.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.CreateFormFile("file", "data.bin"); err != nil {
		t.Fatal(err)
	}
	n := b.Len()
	w.Close()
	all := b.Bytes()
	return framed{head: append([]byte{}, all[:n]...), tail: append([]byte{}, all[n:]...), ctype: w.FormDataContentType()}
}

// postHead is the request line and headers of a POST of size bytes.
func (f *fixture) postHead(t *testing.T, bucket, ctype string, size int64) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.PlainURL+"/"+bucket, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.ContentLength = size
	return req
}

// The policy's content-length-range is enforced as the file arrives: a
// file past the maximum is answered while the client is still sending it,
// and nothing is stored. A client that hangs up mid-file stores nothing
// either.
func TestIntegrationPostStreamLimits(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	shards := f.ShardCount(t)

	t.Run("past the maximum, answered mid-body", func(t *testing.T) {
		fr := frame(t, f.signed([]field{{"key", "too-big"}}, signing{}, anyKey, []any{"content-length-range", 0, 1 << 20}))
		const declared = 64 << 20
		rc := f.dial(t)
		rc.sendHead(f.postHead(t, b, fr.ctype, int64(len(fr.head))+declared+int64(len(fr.tail))))
		rc.send(fr.head)
		rc.send(randBytes(1<<20+64<<10, 5)) // past the limit; the rest never comes
		resp, body := rc.response(5 * time.Second)
		wantXMLError(t, resp, body, "EntityTooLarge", http.StatusBadRequest)
		if !resp.Close {
			t.Fatal("refused mid-body without Connection: close")
		}
		rc.closed(3 * time.Second)
		if f.exists(t, b, "too-big") {
			t.Fatal("an oversize file was stored")
		}
	})
	t.Run("client hangs up mid-file", func(t *testing.T) {
		fr := frame(t, f.signed([]field{{"key", "cut"}}, signing{}, anyKey))
		rc := f.dial(t)
		rc.sendHead(f.postHead(t, b, fr.ctype, int64(len(fr.head))+4<<20+int64(len(fr.tail))))
		rc.send(fr.head)
		rc.send(randBytes(1<<20, 6))
		if err := rc.c.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		resp, body := rc.response(5 * time.Second)
		wantXMLError(t, resp, body, "IncompleteBody", http.StatusBadRequest)
		if f.exists(t, b, "cut") {
			t.Fatal("a cut file was stored")
		}
	})
	t.Run("a file that stops before its boundary", func(t *testing.T) {
		fr := frame(t, f.signed([]field{{"key", "unterminated"}}, signing{}, anyKey))
		body := append(append([]byte{}, fr.head...), randBytes(300<<10, 7)...)
		resp, rb := f.postRaw(t, b, bytes.NewReader(body), fr.ctype, nil)
		wantXMLError(t, resp, rb, "IncompleteBody", http.StatusBadRequest)
		if f.exists(t, b, "unterminated") {
			t.Fatal("an unterminated file was stored")
		}
	})
	if n := f.ShardCount(t); n != shards {
		t.Fatalf("refused uploads left %d shards", n-shards)
	}

	t.Run("a large file streams", func(t *testing.T) {
		data := randBytes(9<<20+123, 8)
		resp, body := f.post(t, b, postForm{fields: f.signed([]field{{"key", "large"}}, signing{}, anyKey,
			[]any{"content-length-range", 1, 10 << 20}), file: data})
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if got := f.get(t, b, "large"); !bytes.Equal(got, data) {
			t.Fatal("large POST stored other bytes")
		}
	})
}

// A POST is held to the slow-client rules of every upload: what can be
// refused from the headers is refused before the body is read (no
// "100 Continue"), the body keeps the minimum rate in its fields as in its
// file, and the upload budget admits it or answers SlowDown at once.
func TestIntegrationPostSlowClients(t *testing.T) {
	const timeout = time.Second
	t.Run("not a form, before the body", func(t *testing.T) {
		f := newFixture(t)
		b := f.bucket(t)
		rc := f.dial(t)
		req := f.postHead(t, b, "text/plain", 1<<20)
		req.Header.Set("Expect", "100-continue")
		rc.sendHead(req)
		resp, body := rc.response(answerWithin)
		if resp.StatusCode == http.StatusContinue {
			t.Fatal("asked for the body of a POST that is no form")
		}
		wantXMLError(t, resp, body, "PreconditionFailed", http.StatusPreconditionFailed)
		if !resp.Close {
			t.Fatal("no Connection: close")
		}
	})
	t.Run("longer than any object, before the body", func(t *testing.T) {
		f := newFixture(t)
		b := f.bucket(t)
		rc := f.dial(t)
		req := f.postHead(t, b, "multipart/form-data; boundary=x", 6<<30)
		req.Header.Set("Expect", "100-continue")
		rc.sendHead(req)
		resp, body := rc.response(answerWithin)
		if resp.StatusCode == http.StatusContinue {
			t.Fatal("asked for the body of a POST longer than any object")
		}
		wantXMLError(t, resp, body, "EntityTooLarge", http.StatusBadRequest)
	})
	t.Run("minimum rate", func(t *testing.T) {
		f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.BodyReadTimeout, c.MinBodyRate = timeout, 32<<10 }))
		b := f.bucket(t)
		fr := frame(t, f.signed([]field{{"key", "slow"}}, signing{}, anyKey))
		size := int64(len(fr.head)) + 1<<20 + int64(len(fr.tail))
		for _, c := range []struct {
			name string
			feed func(rc *rawConn)
		}{
			{"stalls in the fields", func(rc *rawConn) { rc.send(fr.head[:len(fr.head)/2]) }},
			{"stalls in the file", func(rc *rawConn) { rc.send(fr.head); rc.send(randBytes(200<<10, 9)) }},
		} {
			t.Run(c.name, func(t *testing.T) {
				cutClient(t, f, f.postHead(t, b, fr.ctype, size), c.feed, timeout)
				if f.exists(t, b, "slow") {
					t.Fatal("a cut upload is visible")
				}
			})
		}
	})
	t.Run("upload budget", func(t *testing.T) {
		const budget = 6 << 20
		f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.UploadMemory = budget }))
		if cost := f.Engine.WriteMemory(-1); cost <= budget/2 || cost > budget-128<<10 {
			t.Fatalf("a POST costs about %d bytes; the test needs (%d, %d)", cost, budget/2, budget)
		}
		b := f.bucket(t)
		fr := frame(t, f.signed([]field{{"key", "held"}}, signing{}, anyKey))
		data := randBytes(1<<20, 10)
		size := int64(len(fr.head) + len(data) + len(fr.tail))
		// A holds the budget: admitted, then stalls in its file.
		a := f.dial(t)
		ra := f.postHead(t, b, fr.ctype, size)
		ra.Header.Set("Expect", "100-continue")
		a.sendHead(ra)
		if resp, _ := a.response(answerWithin); resp.StatusCode != http.StatusContinue {
			t.Fatalf("POST A: %d, want 100 Continue", resp.StatusCode)
		}
		a.send(fr.head)
		a.send(data[:100<<10])
		// B is refused at once, without being asked for its body.
		rc := f.dial(t)
		rb := f.postHead(t, b, fr.ctype, size)
		rb.Header.Set("Expect", "100-continue")
		rc.sendHead(rb)
		resp, body := rc.response(answerWithin)
		wantXMLError(t, resp, body, "SlowDown", http.StatusServiceUnavailable)
		// A finishes, and then the budget admits the next.
		a.send(data[100<<10:])
		a.send(fr.tail)
		if !resp.Close {
			t.Fatal("SlowDown without Connection: close")
		}
		if resp, body := a.response(5 * time.Second); resp.StatusCode != http.StatusNoContent || resp.Close {
			t.Fatalf("POST A: %d close=%v %s", resp.StatusCode, resp.Close, body)
		}
		if got := f.get(t, b, "held"); !bytes.Equal(got, data) {
			t.Fatal("POST A stored other bytes")
		}
		fr2 := frame(t, f.signed([]field{{"key", "after"}}, signing{}, anyKey))
		full := append(append(append([]byte{}, fr2.head...), data...), fr2.tail...)
		if resp, body := f.postRaw(t, b, bytes.NewReader(full), fr2.ctype, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST after the budget freed: %d %s", resp.StatusCode, body)
		}
	})
}

// After a success the connection serves the next request: the fields S3
// ignores after the file are read, not left to reset the connection.
func TestIntegrationPostKeepAlive(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	rc := f.dial(t)
	for i := range 3 {
		p := postForm{fields: f.signed([]field{{"key", "ka" + strconv.Itoa(i)}}, signing{}, anyKey), file: randBytes(50_000, uint64(i)),
			after: []field{{"submit", "Upload to FileSphere"}}}
		body, ctype := p.body(t)
		rc.sendHead(f.postHead(t, b, ctype, int64(body.Len())))
		rc.send(body.Bytes())
		resp, rb := rc.response(5 * time.Second)
		if resp.StatusCode != http.StatusNoContent || resp.Close {
			t.Fatalf("POST %d: %d close=%v %s", i, resp.StatusCode, resp.Close, rb)
		}
	}
}
