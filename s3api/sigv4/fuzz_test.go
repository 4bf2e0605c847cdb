package sigv4

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024")
	f.Add("AWS4-HMAC-SHA256 Signature=00,Credential=a/b/c/d/e,SignedHeaders=host")
	f.Add("AWS AKID:sig")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/20130524/r/s3/aws4_request,SignedHeaders=host,Signature=" + strings.Repeat("A", 64))
	f.Fuzz(func(t *testing.T, in string) {
		a, err := parseAuthorization(in)
		if err != nil {
			if !errors.Is(err, ErrAuthorizationHeaderMalformed) && !errors.Is(err, ErrUnsupportedAlgorithm) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		// Whatever parses must be well formed, and reparse identically once
		// printed in the canonical layout.
		if a.cred.accessKey == "" || !knownService(a.cred.service) || len(a.signature) != 32 || len(a.signedHeaders) == 0 {
			t.Fatalf("accepted malformed %q: %+v", in, a)
		}
		out := algorithm + " Credential=" + a.cred.accessKey + "/" + a.cred.scope() +
			", SignedHeaders=" + strings.Join(a.signedHeaders, ";") + ", Signature=" + sha256HexOf(a.signature)
		b, err := parseAuthorization(out)
		if err != nil || b.cred != a.cred || !bytes.Equal(b.signature, a.signature) ||
			strings.Join(b.signedHeaders, ";") != strings.Join(a.signedHeaders, ";") {
			t.Fatalf("reparse of %q: %+v %v", out, b, err)
		}
	})
}

func sha256HexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// FuzzChunkedReader feeds arbitrary bodies to the decoder in every mode. It
// must not panic, must end with io.EOF or one of the package errors, must
// never release more than the declared length, and must never buffer more
// than one bounded chunk.
func FuzzChunkedReader(f *testing.F) {
	seed := strings.Repeat("0", 64)
	key := deriveSigningKey("secret", "20260314", "us-east-1", "s3")
	for _, m := range []PayloadMode{Streaming, StreamingTrailer, StreamingUnsignedTrailer} {
		enc := newChunkEncoder("secret", sdkTime, "us-east-1", seed)
		if m == StreamingUnsignedTrailer {
			enc.key = nil
		}
		body := enc.encode([]byte("hello, fuzzing world"), 7, [][2]string{{"x-amz-checksum-crc32", "AAAAAA=="}}, m != Streaming)
		f.Add(uint8(m), uint16(20), body)
	}
	f.Add(uint8(StreamingUnsignedTrailer), uint16(3), []byte("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:x\n\r\n"))
	f.Add(uint8(Streaming), uint16(0), []byte("1000000;chunk-signature="+seed+"\r\n"))
	f.Fuzz(func(t *testing.T, mode uint8, declared uint16, body []byte) {
		m := PayloadMode(mode%3) + Streaming
		var chain *chunkChain
		if m != StreamingUnsignedTrailer {
			chain = &chunkChain{key: key, amzDate: "20260314T150926Z", scope: "20260314/us-east-1/s3/aws4_request", prev: seed}
		}
		cr := newChunkedReader(io.NopCloser(bytes.NewReader(body)), m, int64(declared), []string{"x-amz-checksum-crc32"}, chain)
		n, err := io.Copy(io.Discard, cr)
		if n > int64(declared) {
			t.Fatalf("released %d bytes, declared %d", n, declared)
		}
		if cap(cr.buf) > maxChunkSize || cap(cr.buf) > 2*len(body)+initialChunkBuf {
			t.Fatalf("buffer capacity %d for a %d-byte body", cap(cr.buf), len(body))
		}
		if err == nil {
			if n != int64(declared) {
				t.Fatalf("clean EOF after %d of %d bytes", n, declared)
			}
			return
		}
		for _, known := range []error{ErrMalformedChunk, ErrMalformedTrailer, ErrIncompleteBody, ErrSignatureDoesNotMatch} {
			if errors.Is(err, known) {
				return
			}
		}
		t.Fatalf("unexpected error class: %v", err)
	})
}
