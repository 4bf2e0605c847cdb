package sigv4

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func BenchmarkVerifyHeader(b *testing.B) {
	v := newTestVerifier(b, exampleTime, nil)
	r := loadVector(b, "get-object.http", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifySDK verifies requests as aws-sdk-go-v2's S3 client signs
// them (its amz-sdk-* headers signed too), the common small-request shapes.
func BenchmarkVerifySDK(b *testing.B) {
	sdkHeaders := http.Header{
		"Accept-Encoding":       {"identity"},
		"Amz-Sdk-Invocation-Id": {"2a1c3b4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"},
		"Amz-Sdk-Request":       {"attempt=1; max=3"},
		"User-Agent":            {"aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.24 md/GOOS#linux md/GOARCH#amd64 api/s3#1.79.0"},
	}
	get := sdkCase{name: "get", accessKey: "AKIDPLAIN", secret: "plainsecret", method: "GET", key: "dir/object.txt", header: sdkHeaders}
	list := sdkCase{name: "list", accessKey: "AKIDPLAIN", secret: "plainsecret", method: "GET", key: "", header: sdkHeaders,
		query: url.Values{"list-type": {"2"}, "prefix": {"dir/"}, "delimiter": {"/"}, "max-keys": {"1000"}}}
	cases := []struct {
		name string
		c    sdkCase
		r    func(testing.TB) *http.Request
	}{
		{"get", get, get.signHeader},
		{"list", list, list.signHeader},
		{"presigned-get", get, func(t testing.TB) *http.Request { return get.presign(t, "900") }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			v := newTestVerifier(b, sdkTime.Add(time.Minute), tc.c.keys())
			r := tc.r(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseAuthorization(b *testing.B) {
	h := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
		"SignedHeaders=accept-encoding;amz-sdk-invocation-id;amz-sdk-request;host;x-amz-content-sha256;x-amz-date, " +
		"Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseAuthorization(h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkedReader(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		payload := bytes.Repeat([]byte{'x'}, 8<<20)
		enc := newChunkEncoder("secret", sdkTime, "us-east-1", strings.Repeat("0", 64))
		body := enc.encode(payload, size, nil, false)
		key := deriveSigningKey("secret", "20260314", "us-east-1", "s3")
		b.Run(fmt.Sprintf("chunk=%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				chain := &chunkChain{key: key, amzDate: "20260314T150926Z", scope: "20260314/us-east-1/s3/aws4_request", prev: strings.Repeat("0", 64)}
				cr := newChunkedReader(io.NopCloser(bytes.NewReader(body)), Streaming, int64(len(payload)), nil, chain)
				if _, err := io.Copy(io.Discard, cr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
