package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The published examples of the Amazon S3 API reference, "Signature
// Calculations for the Authorization Header: Transferring Payload in a Single
// Chunk", "... in Multiple Chunks (Chunked Upload)", "Signature calculations
// for trailing headers" and "Query String Authentication". The requests live
// in testdata/sigv4 as raw HTTP so they parse exactly as a server sees them.

const vectorDir = "../../testdata/sigv4"

func loadVector(t testing.TB, name string, body []byte) *http.Request {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Fatal(err)
	}
	head, rest, _ := strings.Cut(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n\n")
	if body == nil && strings.TrimSpace(rest) != "" {
		body = []byte(strings.TrimSuffix(rest, "\n"))
	}
	return parseRaw(t, head, body)
}

func TestAWSSingleChunkExamples(t *testing.T) {
	tests := []struct {
		file     string
		wantMode PayloadMode
		wantBody string
	}{
		{"get-object.http", SignedSingle, ""},
		{"put-object.http", SignedSingle, "Welcome to Amazon S3."},
		{"get-bucket-lifecycle.http", SignedSingle, ""},
		{"list-objects.http", SignedSingle, ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			v := newTestVerifier(t, exampleTime, nil)
			res, err := v.Verify(loadVector(t, tc.file, nil))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.AccessKey != exampleAccessKey || res.Anonymous || res.Presigned || res.Mode != tc.wantMode {
				t.Fatalf("result %+v", res)
			}
			got, err := readAll(res.Body)
			if err != nil || string(got) != tc.wantBody {
				t.Fatalf("body %q, %v", got, err)
			}

			// The same request with one signature digit changed must fail.
			r := loadVector(t, tc.file, nil)
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-1]+flipHex(a[len(a)-1:]))
			_, err = v.Verify(r)
			wantErr(t, err, ErrSignatureDoesNotMatch)
		})
	}
}

func TestAWSPresignedExample(t *testing.T) {
	for _, tc := range []struct {
		name string
		now  time.Time
		want error
	}{
		{"at signing", exampleTime, nil},
		{"last second", exampleTime.Add(86400 * time.Second), nil},
		{"expired", exampleTime.Add(86401 * time.Second), ErrExpiredPresignedRequest},
		{"not yet valid", exampleTime.Add(-time.Hour), ErrAccessDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, tc.now, nil)
			res, err := v.Verify(loadVector(t, "presigned-get-object.http", nil))
			wantErr(t, err, tc.want)
			if err == nil && (!res.Presigned || res.Mode != Unsigned || res.AccessKey != exampleAccessKey) {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// exampleChunkedBody is the 66560 'a' payload of the chunked upload example,
// framed in 64 KiB chunks with the published chunk signatures, plus tail
// (the final CRLF or the trailer section).
func exampleChunkedBody(sigs [3]string, tail string) []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=" + sigs[0] + "\r\n")
	b.Write(bytes.Repeat([]byte{'a'}, 65536))
	b.WriteString("\r\n400;chunk-signature=" + sigs[1] + "\r\n")
	b.Write(bytes.Repeat([]byte{'a'}, 1024))
	b.WriteString("\r\n0;chunk-signature=" + sigs[2] + "\r\n")
	b.WriteString(tail)
	return b.Bytes()
}

var (
	exampleChunkSigs = [3]string{
		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
	}
	exampleTrailerChunkSigs = [3]string{
		"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
		"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
		"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
	}
	exampleTrailer = "x-amz-checksum-crc32c:sOO8/Q==\r\n" +
		"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n"
)

func TestAWSChunkedExamples(t *testing.T) {
	payload := bytes.Repeat([]byte{'a'}, 66560)
	tests := []struct {
		name, file  string
		body        []byte
		wantMode    PayloadMode
		wantTrailer string
		want        error
	}{
		{"signed", "chunked-put-object.http", exampleChunkedBody(exampleChunkSigs, "\r\n"), Streaming, "", nil},
		{"signed trailer", "chunked-put-object-trailer.http", exampleChunkedBody(exampleTrailerChunkSigs, exampleTrailer+"\r\n"), StreamingTrailer, "sOO8/Q==", nil},
		{"signed trailer without final CRLF", "chunked-put-object-trailer.http", exampleChunkedBody(exampleTrailerChunkSigs, exampleTrailer), StreamingTrailer, "sOO8/Q==", nil},
		{"chunk signatures swapped", "chunked-put-object.http",
			exampleChunkedBody([3]string{exampleChunkSigs[1], exampleChunkSigs[0], exampleChunkSigs[2]}, "\r\n"), Streaming, "", ErrSignatureDoesNotMatch},
		{"final signature of the other example", "chunked-put-object.http",
			exampleChunkedBody([3]string{exampleChunkSigs[0], exampleChunkSigs[1], exampleTrailerChunkSigs[2]}, "\r\n"), Streaming, "", ErrSignatureDoesNotMatch},
		{"trailer value changed", "chunked-put-object-trailer.http",
			exampleChunkedBody(exampleTrailerChunkSigs, strings.Replace(exampleTrailer, "sOO8", "sOO9", 1)), StreamingTrailer, "", ErrSignatureDoesNotMatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, exampleTime, nil)
			res, err := v.Verify(loadVector(t, tc.file, tc.body))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Mode != tc.wantMode || res.ContentLength != 66560 {
				t.Fatalf("mode %v length %d", res.Mode, res.ContentLength)
			}
			got, err := readAll(res.Body)
			wantErr(t, err, tc.want)
			if tc.want != nil {
				return
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("decoded %d bytes, want %d", len(got), len(payload))
			}
			if g := res.Trailer().Get("X-Amz-Checksum-Crc32c"); g != tc.wantTrailer {
				t.Fatalf("trailer %q, want %q", g, tc.wantTrailer)
			}
		})
	}
}

// TestAWSChunkSignatureChain checks the published chain directly from the
// seed, independent of the request the seed came from.
func TestAWSChunkSignatureChain(t *testing.T) {
	key := deriveSigningKey(exampleSecret, "20130524", "us-east-1", "s3")
	chain := &chunkChain{key: key, amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request",
		prev: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"}
	body := exampleChunkedBody(exampleChunkSigs, "\r\n")
	cr := newChunkedReader(io.NopCloser(bytes.NewReader(body)), Streaming, 66560, nil, chain)
	got, err := readAll(cr)
	if err != nil || len(got) != 66560 {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	if chain.prev != exampleChunkSigs[2] {
		t.Fatalf("final signature %s", chain.prev)
	}
}

func flipHex(s string) string {
	if s == "0" {
		return "1"
	}
	return "0"
}
