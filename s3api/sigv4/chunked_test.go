package sigv4

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const (
	streamAK     = "AKIDSTREAM"
	streamSecret = "stream/secret+key"
)

// streamCase describes one streaming upload: the SDK signs the headers (the
// seed signature), the test encoder frames the payload, mutate damages it.
type streamCase struct {
	name      string
	mode      PayloadMode
	payload   []byte
	chunk     int
	declared  []string    // x-amz-trailer
	trailers  [][2]string // sent after the final chunk
	decoded   int64       // x-amz-decoded-content-length; -1 means len(payload), -2 not sent
	mutate    func([]byte) []byte
	slow      bool  // feed the body one byte per Read
	verifyErr error // from Verify
	readErr   error // from reading Body
	released  int   // bytes the reader may release before readErr; -1 unchecked
}

func modeHeader(m PayloadMode) string {
	switch m {
	case Streaming:
		return streamingPayload
	case StreamingTrailer:
		return streamingTrailerPayload
	case StreamingUnsignedTrailer:
		return streamingUnsignedTrailerPayload
	}
	panic("not a streaming mode")
}

func (c streamCase) encode(seed string) []byte {
	enc := newChunkEncoder(streamSecret, sdkTime, "us-east-1", seed)
	if c.mode == StreamingUnsignedTrailer {
		enc.key = nil
	}
	return enc.encode(c.payload, c.chunk, c.trailers, c.mode != Streaming)
}

// request returns the signed request, as the server parses it, with the
// (possibly damaged) encoded body.
func (c streamCase) request(t testing.TB) *http.Request {
	t.Helper()
	decoded := c.decoded
	if decoded < 0 {
		decoded = int64(len(c.payload))
	}
	// The encoded length does not depend on signature values, so encode once
	// with a dummy seed to learn the Content-Length to sign.
	length := len(c.encode(strings.Repeat("0", 64)))
	req, err := http.NewRequest("PUT", "http://s3.example.test/bucket/stream%20key", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(length)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Content-Sha256", modeHeader(c.mode))
	if c.decoded != -2 {
		req.Header.Set("X-Amz-Decoded-Content-Length", strconv.FormatInt(decoded, 10))
	}
	if len(c.declared) > 0 {
		req.Header.Set("X-Amz-Trailer", strings.Join(c.declared, ","))
	}
	creds := aws.Credentials{AccessKeyID: streamAK, SecretAccessKey: streamSecret}
	if err := s3Signer().SignHTTP(context.Background(), creds, req, modeHeader(c.mode), "s3", "us-east-1", sdkTime); err != nil {
		t.Fatal(err)
	}
	seed := regexp.MustCompile(`Signature=([0-9a-f]{64})`).FindStringSubmatch(req.Header.Get("Authorization"))[1]
	body := c.encode(seed)
	req.Body = io.NopCloser(bytes.NewReader(body))
	r := overWire(t, req)
	if c.mutate != nil {
		body = c.mutate(body)
	}
	// Replace the body after parsing so a damaged body can differ in length
	// from the signed Content-Length, as a truncated connection would.
	var src io.Reader = bytes.NewReader(body)
	if c.slow {
		src = iotest.OneByteReader(src)
	}
	r.Body = io.NopCloser(src)
	return r
}

// corrupt flips a bit of the byte at offset off from the start of the n-th
// (0-based) match of marker.
func corrupt(marker string, n, off int) func([]byte) []byte {
	return func(b []byte) []byte {
		b = bytes.Clone(b)
		at := -len(marker)
		for range n + 1 {
			j := bytes.Index(b[at+len(marker):], []byte(marker))
			if j < 0 {
				panic("marker not found: " + marker)
			}
			at += len(marker) + j
		}
		switch c := b[at+off]; {
		case c == '0':
			b[at+off] = '1'
		case '1' <= c && c <= '9' || 'a' <= c && c <= 'f':
			b[at+off] = '0' // stays a hex digit, so only the value is wrong
		default:
			b[at+off] ^= 1
		}
		return b
	}
}

func replace(old, new string) func([]byte) []byte {
	return func(b []byte) []byte {
		if !bytes.Contains(b, []byte(old)) {
			panic("not found: " + old)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
}

func truncate(n int) func([]byte) []byte {
	return func(b []byte) []byte {
		if n < 0 {
			return b[:len(b)+n]
		}
		return b[:n]
	}
}

func TestStreaming(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	payload := make([]byte, 200_000)
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	crc := [][2]string{{"x-amz-checksum-crc32", "AAAAAA=="}}
	crcDecl := []string{"x-amz-checksum-crc32"}
	const sig = ";chunk-signature="

	cases := []streamCase{
		{name: "signed", mode: Streaming, chunk: 65536},
		{name: "signed one byte at a time", mode: Streaming, chunk: 8192, slow: true},
		{name: "signed empty", mode: Streaming, payload: []byte{}, chunk: 65536},
		{name: "signed trailer", mode: StreamingTrailer, chunk: 65536, declared: crcDecl, trailers: crc},
		{name: "signed trailer two trailers", mode: StreamingTrailer, chunk: 100_000,
			declared: []string{"x-amz-checksum-crc32", "x-amz-checksum-sha256"},
			trailers: [][2]string{{"x-amz-checksum-crc32", "AAAAAA=="}, {"x-amz-checksum-sha256", "ZGF0YQ=="}}},
		{name: "signed trailer one byte at a time", mode: StreamingTrailer, chunk: 65536, declared: crcDecl, trailers: crc, slow: true},
		{name: "unsigned trailer", mode: StreamingUnsignedTrailer, chunk: 65536, declared: crcDecl, trailers: crc},
		{name: "unsigned trailer empty", mode: StreamingUnsignedTrailer, payload: []byte{}, chunk: 65536, declared: crcDecl, trailers: crc},

		{name: "wrong chunk signature", mode: Streaming, chunk: 65536, mutate: corrupt(sig, 1, len(sig)+3),
			readErr: ErrSignatureDoesNotMatch, released: 65536},
		{name: "wrong final chunk signature", mode: Streaming, chunk: 65536, mutate: corrupt(sig, 4, len(sig)),
			readErr: ErrSignatureDoesNotMatch, released: 200_000},
		{name: "tampered chunk data", mode: StreamingTrailer, chunk: 65536, declared: crcDecl, trailers: crc,
			mutate: corrupt(sig, 1, len(sig)+64+2+100), readErr: ErrSignatureDoesNotMatch, released: 65536},
		{name: "truncated in data", mode: Streaming, chunk: 65536, mutate: truncate(100_000), readErr: ErrIncompleteBody, released: 65536},
		{name: "truncated before final chunk", mode: Streaming, chunk: 50_000, mutate: func(b []byte) []byte {
			return b[:bytes.LastIndex(b, []byte("0"+sig))]
		}, readErr: ErrIncompleteBody, released: 200_000},
		{name: "truncated final CRLF", mode: Streaming, chunk: 65536, mutate: truncate(-2), readErr: ErrIncompleteBody, released: -1},
		{name: "truncated in size line", mode: StreamingUnsignedTrailer, chunk: 65536, declared: crcDecl, trailers: crc,
			mutate: func(b []byte) []byte { return b[:bytes.Index(b, []byte("\r\n"))] }, readErr: ErrIncompleteBody, released: 0},
		{name: "truncated in trailer signature", mode: StreamingTrailer, chunk: 65536, declared: crcDecl, trailers: crc,
			mutate: truncate(-10), readErr: ErrIncompleteBody, released: -1},
		{name: "oversize chunk", mode: Streaming, chunk: 65536, mutate: replace("10000"+sig, "1000001"+sig),
			readErr: ErrMalformedChunk, released: 0},
		{name: "oversize unsigned chunk", mode: StreamingUnsignedTrailer, chunk: 65536, declared: crcDecl, trailers: crc,
			mutate: replace("10000\r\n", "ffffffffffff\r\n"), readErr: ErrMalformedChunk, released: 0},
		{name: "overlong size line", mode: Streaming, chunk: 65536,
			mutate: replace("10000"+sig, "10000;"+strings.Repeat("x", 5000)+sig), readErr: ErrMalformedChunk, released: 0},
		{name: "garbage size", mode: Streaming, chunk: 65536, mutate: replace("10000"+sig, "1z000"+sig),
			readErr: ErrMalformedChunk, released: 0},
		{name: "size line without CR", mode: StreamingUnsignedTrailer, chunk: 65536, declared: crcDecl, trailers: crc,
			mutate: replace("10000\r\n", "10000\n"), readErr: ErrMalformedChunk, released: 0},
		{name: "missing chunk signature", mode: Streaming, chunk: 65536, mutate: func(b []byte) []byte {
			return bytes.Replace(b, b[5:5+len(sig)+64], nil, 1)
		}, readErr: ErrMalformedChunk, released: 0},
		{name: "signature in unsigned chunk", mode: StreamingUnsignedTrailer, chunk: 65536, declared: crcDecl, trailers: crc,
			mutate: replace("10000\r\n", "10000"+sig+strings.Repeat("a", 64)+"\r\n"), readErr: ErrMalformedChunk, released: 0},
		{name: "data not followed by CRLF", mode: Streaming, chunk: 65536, mutate: corrupt(sig, 1, -5-2),
			readErr: ErrMalformedChunk, released: 0},
		{name: "data after final chunk", mode: Streaming, chunk: 65536, mutate: func(b []byte) []byte {
			return append(bytes.Clone(b), "junk"...)
		}, readErr: ErrMalformedChunk, released: 200_000},
		{name: "wrong trailer signature", mode: StreamingTrailer, chunk: 65536, declared: crcDecl, trailers: crc,
			mutate: corrupt("x-amz-trailer-signature:", 0, 24+5), readErr: ErrSignatureDoesNotMatch, released: 200_000},
		{name: "trailer value changed", mode: StreamingTrailer, chunk: 65536, declared: crcDecl, trailers: crc,
			mutate: replace("AAAAAA==", "AAAAAB=="), readErr: ErrSignatureDoesNotMatch, released: 200_000},
		{name: "trailer not declared", mode: StreamingUnsignedTrailer, chunk: 65536, declared: []string{"x-amz-checksum-sha1"},
			trailers: crc, readErr: ErrMalformedTrailer, released: 200_000},
		{name: "declared trailer missing", mode: StreamingUnsignedTrailer, chunk: 65536,
			declared: []string{"x-amz-checksum-crc32", "x-amz-checksum-sha1"}, trailers: crc, readErr: ErrMalformedTrailer, released: 200_000},
		{name: "duplicate trailer", mode: StreamingUnsignedTrailer, chunk: 65536, declared: crcDecl,
			trailers: [][2]string{crc[0], crc[0]}, readErr: ErrMalformedTrailer, released: 200_000},
		{name: "missing trailer signature", mode: StreamingTrailer, chunk: 65536, declared: crcDecl, trailers: crc,
			mutate:  func(b []byte) []byte { return b[:bytes.Index(b, []byte("x-amz-trailer-signature"))] },
			readErr: ErrMalformedTrailer, released: 200_000},
		{name: "trailer signature in unsigned trailer", mode: StreamingUnsignedTrailer, chunk: 65536, declared: crcDecl, trailers: crc,
			mutate: func(b []byte) []byte {
				return append(b[:len(b)-2:len(b)-2], "x-amz-trailer-signature:"+strings.Repeat("0", 64)+"\r\n\r\n"...)
			}, readErr: ErrMalformedTrailer, released: 200_000},
		{name: "decoded length larger than sent", mode: Streaming, chunk: 65536, decoded: 200_001,
			readErr: ErrIncompleteBody, released: 200_000},
		{name: "decoded length smaller than sent", mode: StreamingTrailer, chunk: 65536, decoded: 199_999, declared: crcDecl, trailers: crc,
			readErr: ErrMalformedChunk, released: 3 * 65536},
		{name: "no decoded length", mode: Streaming, chunk: 65536, decoded: -2, verifyErr: ErrMissingContentLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.payload == nil {
				c.payload = payload
			}
			if c.decoded == 0 && len(c.payload) > 0 {
				c.decoded = -1
			}
			r := c.request(t)
			v := newTestVerifier(t, sdkTime, map[string]string{streamAK: streamSecret})
			res, err := v.Verify(r)
			wantErr(t, err, c.verifyErr)
			if err != nil {
				return
			}
			if res.Mode != c.mode {
				t.Fatalf("mode %v, want %v", res.Mode, c.mode)
			}
			got, err := readAll(res.Body)
			wantErr(t, err, c.readErr)
			if c.readErr != nil {
				if c.released >= 0 && len(got) != c.released {
					t.Fatalf("released %d bytes before the error (%v), want %d", len(got), err, c.released)
				}
				if res.Trailer() != nil {
					t.Fatalf("trailers available after a failed body")
				}
				// Errors are sticky.
				if _, err2 := res.Body.Read(make([]byte, 1)); err2 == nil || err2 == io.EOF {
					t.Fatalf("second read after error returned %v", err2)
				}
				return
			}
			if res.ContentLength != int64(len(c.payload)) || !bytes.Equal(got, c.payload) {
				t.Fatalf("decoded %d bytes (ContentLength %d), want %d", len(got), res.ContentLength, len(c.payload))
			}
			tr := res.Trailer()
			if c.mode == Streaming {
				if tr != nil {
					t.Fatalf("trailers %v in Streaming mode", tr)
				}
				return
			}
			if len(tr) != len(c.trailers) {
				t.Fatalf("trailers %v, want %v", tr, c.trailers)
			}
			for _, kv := range c.trailers {
				if g := tr.Get(kv[0]); g != kv[1] {
					t.Fatalf("trailer %s = %q, want %q", kv[0], g, kv[1])
				}
			}
		})
	}
}

// A declared but unsent 16 MiB chunk must not allocate 16 MiB: the buffer
// grows only as bytes arrive.
func TestChunkBufferGrowsWithData(t *testing.T) {
	body := "1000000\r\n" + strings.Repeat("a", 10)
	testing.AllocsPerRun(5, func() {
		cr := newChunkedReader(io.NopCloser(strings.NewReader(body)), StreamingUnsignedTrailer, 1<<30, nil, nil)
		if _, err := io.Copy(io.Discard, cr); err == nil {
			t.Fatal("no error")
		}
		if cap(cr.buf) > initialChunkBuf {
			t.Fatalf("buffer grew to %d", cap(cr.buf))
		}
	})
}

// The anonymous unsigned-trailer upload (SDKs with anonymous credentials and
// checksums enabled) decodes too.
func TestAnonymousUnsignedTrailer(t *testing.T) {
	enc := &chunkEncoder{}
	body := enc.encode([]byte("hello world"), 4, [][2]string{{"x-amz-checksum-crc32", "DUoRhQ=="}}, true)
	r := parseRaw(t, "PUT /b/k HTTP/1.1\nHost: h\nX-Amz-Content-Sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\n"+
		"X-Amz-Decoded-Content-Length: 11\nX-Amz-Trailer: x-amz-checksum-crc32\nContent-Encoding: aws-chunked", body)
	v := newTestVerifier(t, time.Now(), nil)
	res, err := v.Verify(r)
	if err != nil || !res.Anonymous {
		t.Fatalf("%+v, %v", res, err)
	}
	got, err := readAll(res.Body)
	if err != nil || string(got) != "hello world" || res.Trailer().Get("x-amz-checksum-crc32") != "DUoRhQ==" {
		t.Fatalf("%q %v %v", got, err, res.Trailer())
	}

	r = parseRaw(t, "PUT /b/k HTTP/1.1\nHost: h\nX-Amz-Content-Sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER", body)
	_, err = v.Verify(r)
	wantErr(t, err, ErrMissingContentLength)

	r = parseRaw(t, "PUT /b/k HTTP/1.1\nHost: h\nX-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\nX-Amz-Decoded-Content-Length: 11", body)
	_, err = v.Verify(r)
	wantErr(t, err, ErrAccessDenied)
}

// MaxBuffered bounds what the body reader holds: the chunk buffer (and
// the line reader) of aws-chunked bodies, nothing for pass-through bodies.
func TestMaxBuffered(t *testing.T) {
	v := newTestVerifier(t, time.Now(), nil)
	tests := []struct {
		name, headers string
		want          int64
	}{
		{"unsigned", "X-Amz-Content-Sha256: UNSIGNED-PAYLOAD\nContent-Length: 11", 0},
		{"anonymous", "Content-Length: 11", 0},
		// Unsigned chunks stream through: only the line reader is held.
		{"small unsigned chunked", "X-Amz-Content-Sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\nX-Amz-Decoded-Content-Length: 11", maxLineLen},
		{"large unsigned chunked", "X-Amz-Content-Sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\nX-Amz-Decoded-Content-Length: 1073741824", maxLineLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := v.Verify(parseRaw(t, "PUT /b/k HTTP/1.1\nHost: h\n"+tt.headers, []byte("hello world")))
			if err != nil {
				t.Fatal(err)
			}
			if res.MaxBuffered != tt.want {
				t.Fatalf("MaxBuffered = %d, want %d", res.MaxBuffered, tt.want)
			}
		})
	}
	// The bound holds while a large chunk streams in.
	enc := &chunkEncoder{}
	payload := bytes.Repeat([]byte("x"), 3<<20)
	body := enc.encode(payload, 1<<20, nil, true)
	r := parseRaw(t, "PUT /b/k HTTP/1.1\nHost: h\nX-Amz-Content-Sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\n"+
		"X-Amz-Decoded-Content-Length: 3145728\nContent-Encoding: aws-chunked", body)
	res, err := v.Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	cr := res.Body.(*chunkedReader)
	buf := make([]byte, 32<<10)
	for {
		_, err := cr.Read(buf)
		if int64(cap(cr.buf)) > res.MaxBuffered {
			t.Fatalf("chunk buffer %d exceeds MaxBuffered %d", cap(cr.buf), res.MaxBuffered)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Unsigned chunks of any size stream through without being buffered (the
// SDKs send a whole object as one chunk with a trailer checksum); their
// framing is still checked.
func TestUnsignedChunksStream(t *testing.T) {
	v := newTestVerifier(t, time.Now(), nil)
	payload := bytes.Repeat([]byte("0123456789abcdef"), (maxChunkSize+1<<20)/16)
	head := func(n int) string {
		return "PUT /b/k HTTP/1.1\nHost: h\nX-Amz-Content-Sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\n" +
			"Content-Encoding: aws-chunked\nX-Amz-Decoded-Content-Length: " + strconv.Itoa(n)
	}
	whole := (&chunkEncoder{}).encode(payload, len(payload), nil, true)
	cases := []struct {
		name string
		body []byte
		want error // nil: the payload reads back whole
	}{
		{"one chunk larger than the signed bound", whole, nil},
		{"truncated mid-chunk", whole[:len(whole)/2], ErrIncompleteBody},
		{"chunk not followed by CRLF", bytes.Replace(whole, []byte("\r\n0\r\n"), []byte("XX0\r\n"), 1), ErrMalformedChunk},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := v.Verify(parseRaw(t, head(len(payload)), tc.body))
			if err != nil {
				t.Fatal(err)
			}
			cr := res.Body.(*chunkedReader)
			got, err := io.ReadAll(cr)
			if cap(cr.buf) != 0 {
				t.Errorf("an unsigned chunk was buffered (%d bytes)", cap(cr.buf))
			}
			if tc.want != nil {
				wantErr(t, err, tc.want)
				return
			}
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("read %d of %d bytes, err %v", len(got), len(payload), err)
			}
		})
	}
}
