package sigv4

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
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
