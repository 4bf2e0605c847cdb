package s3api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestIntegrationMalformedXML(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "keep", []byte("x"))
	id := f.createUpload(t, b, "mp")
	c := f.uploadPart(t, b, "mp", id, 1, []byte("part"))
	goodPart := fmt.Sprintf("<Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>", *c.ETag)

	cases := []struct {
		name string
		req  rawReq
	}{
		{"complete: truncated", rawReq{method: http.MethodPost, key: "mp", query: url.Values{"uploadId": {id}},
			body: []byte("<CompleteMultipartUpload>" + goodPart)}},
		{"complete: not xml", rawReq{method: http.MethodPost, key: "mp", query: url.Values{"uploadId": {id}}, body: []byte("{json: true}")}},
		{"complete: bad part number", rawReq{method: http.MethodPost, key: "mp", query: url.Values{"uploadId": {id}},
			body: []byte("<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>")}},
		{"complete: empty body", rawReq{method: http.MethodPost, key: "mp", query: url.Values{"uploadId": {id}}}},
		{"complete: no parts", rawReq{method: http.MethodPost, key: "mp", query: url.Values{"uploadId": {id}}, body: []byte("<CompleteMultipartUpload></CompleteMultipartUpload>")}},
		{"delete: truncated", rawReq{method: http.MethodPost, query: url.Values{"delete": {""}}, body: []byte("<Delete><Object><Key>keep</Key>")}},
		{"delete: garbage", rawReq{method: http.MethodPost, query: url.Values{"delete": {""}}, body: []byte("\x00\x01\x02")}},
		{"delete: empty body", rawReq{method: http.MethodPost, query: url.Values{"delete": {""}}}},
		{"delete: no objects", rawReq{method: http.MethodPost, query: url.Values{"delete": {""}}, body: []byte("<Delete><Quiet>true</Quiet></Delete>")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.req
			r.bucket = b
			resp, body := f.do(t, r)
			wantXMLError(t, resp, body, "MalformedXML", http.StatusBadRequest)
		})
	}
	if !f.exists(t, b, "keep") || f.exists(t, b, "mp") {
		t.Fatal("malformed requests changed the bucket")
	}
	// The upload survived every malformed complete.
	resp, body := f.do(t, rawReq{method: http.MethodPost, bucket: b, key: "mp", query: url.Values{"uploadId": {id}},
		body: []byte("<CompleteMultipartUpload>" + goodPart + "</CompleteMultipartUpload>")})
	if resp.StatusCode != 200 {
		t.Fatalf("well-formed complete after malformed ones: %d %s", resp.StatusCode, body)
	}
}

// sendTruncated writes a signed PUT that declares size bytes but sends only
// sent of them, then half-closes (so the server sees EOF and can answer) or
// closes the connection. It returns the response when there is one.
func sendTruncated(t *testing.T, f *fixture, bucket, key string, size, sent int, payload string, halfClose bool) *http.Response {
	t.Helper()
	body := randBytes(size, 99)
	req := f.newRaw(t, rawReq{method: http.MethodPut, bucket: bucket, key: key, body: body, payload: payload})
	conn, err := net.Dial("tcp", hostOf(f.PlainURL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req.Body = io.NopCloser(strings.NewReader(string(body[:sent])))
	// Write sends the headers with the declared Content-Length and then the
	// short body.
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(req.Write(pw))
	}()
	if _, err := io.Copy(conn, pr); err != nil && !strings.Contains(err.Error(), "ContentLength") {
		t.Fatalf("write request: %v", err)
	}
	if !halfClose {
		return nil
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("no response to a truncated body: %v", err)
	}
	return resp
}

func TestIntegrationTruncatedBody(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	shards := f.ShardCount(t)
	for _, c := range []struct {
		name      string
		size      int
		payload   string
		halfClose bool
	}{
		{"inline unsigned-payload", 8 << 10, "UNSIGNED-PAYLOAD", true},
		{"erasure-coded unsigned-payload", 3 << 20, "UNSIGNED-PAYLOAD", true},
		{"erasure-coded signed payload", 3 << 20, "", true},
		{"connection dropped", 3 << 20, "UNSIGNED-PAYLOAD", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := "trunc-" + strings.ReplaceAll(c.name, " ", "-")
			resp := sendTruncated(t, f, b, key, c.size, c.size/2+1, c.payload, c.halfClose)
			if resp != nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("truncated body answered %d: %s", resp.StatusCode, body)
				}
				wantXMLError(t, resp, body, "IncompleteBody", http.StatusBadRequest)
			}
			if f.exists(t, b, key) {
				t.Fatal("a truncated upload is visible")
			}
			if n := f.ShardCount(t); n != shards {
				t.Fatalf("a truncated upload left %d shards", n-shards)
			}
		})
	}
	// The server is still healthy afterwards.
	f.put(t, b, "after", []byte("fine"))
	if got := f.get(t, b, "after"); string(got) != "fine" {
		t.Fatalf("after truncated uploads: %q", got)
	}
}

func TestIntegrationOversizedHeaders(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	for _, size := range []int{17 << 10, 100 << 10} {
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "big-headers", body: []byte("x"),
			header: http.Header{"X-Filler": {strings.Repeat("f", size)}}})
		wantXMLError(t, resp, body, "RequestHeaderSectionTooLarge", http.StatusBadRequest)
	}
	resp, body := f.do(t, rawReq{method: http.MethodGet, bucket: b, query: url.Values{"prefix": {strings.Repeat("p", 20<<10)}}})
	wantXMLError(t, resp, body, "RequestHeaderSectionTooLarge", http.StatusBadRequest)
	if f.exists(t, b, "big-headers") {
		t.Fatal("request with oversized headers stored an object")
	}
	// Just under the limit is fine.
	resp, body = f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "ok-headers", body: []byte("x"),
		header: http.Header{"X-Filler": {strings.Repeat("f", 12<<10)}}})
	if resp.StatusCode != 200 {
		t.Fatalf("12 KiB of headers: %d %s", resp.StatusCode, body)
	}
}
