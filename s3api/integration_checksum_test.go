package s3api_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/crc64nvme"
	"github.com/minio/minio-go/v7"
)

// checksumOf computes an S3 checksum independently of the server's code.
func checksumOf(alg types.ChecksumAlgorithm, b []byte) string {
	var h hash.Hash
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		h = crc32.NewIEEE()
	case types.ChecksumAlgorithmCrc32c:
		h = crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case types.ChecksumAlgorithmSha1:
		h = sha1.New()
	case types.ChecksumAlgorithmSha256:
		h = sha256.New()
	case types.ChecksumAlgorithmCrc64nvme:
		h = crc64nvme.New()
	}
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// checksumField picks the value for alg from the SDK's five fields.
func checksumField(alg types.ChecksumAlgorithm, crc32v, crc32c, sha1v, sha256v, crc64 *string) string {
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		return aws.ToString(crc32v)
	case types.ChecksumAlgorithmCrc32c:
		return aws.ToString(crc32c)
	case types.ChecksumAlgorithmSha1:
		return aws.ToString(sha1v)
	case types.ChecksumAlgorithmSha256:
		return aws.ToString(sha256v)
	case types.ChecksumAlgorithmCrc64nvme:
		return aws.ToString(crc64)
	}
	return ""
}

// recorder keeps the headers of the requests a client sends.
type recorder struct {
	mu   sync.Mutex
	reqs []http.Header
	next http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Header.Clone())
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) last() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}

func TestIntegrationChecksums(t *testing.T) {
	f := newFixture(t)
	rec := &recorder{next: f.HTTPClient().Transport}
	sdk := f.SDK(t, func(o *s3.Options) { o.HTTPClient = &http.Client{Transport: rec} })
	b := f.bucket(t)
	algs := []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmSha1,
		types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmCrc64nvme}
	for i, alg := range algs {
		for _, size := range []int{0, 10, 100 << 10} {
			t.Run(fmt.Sprintf("%s/%d", alg, size), func(t *testing.T) {
				body := randBytes(size, uint64(i*1000+size))
				want := checksumOf(alg, body)
				key := fmt.Sprintf("sum-%s-%d", alg, size)
				// An io.Reader that is not seekable makes the SDK stream the
				// checksum in a trailer; a bytes.Reader lets it precompute.
				for _, r := range []interface{ Read([]byte) (int, error) }{bytes.NewReader(body), struct{ *bytes.Reader }{bytes.NewReader(body)}} {
					out, err := sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: &key, Body: r,
						ContentLength: aws.Int64(int64(size)), ChecksumAlgorithm: alg})
					if err != nil {
						t.Fatalf("PutObject: %v", err)
					}
					if got := checksumField(alg, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumSHA1, out.ChecksumSHA256, out.ChecksumCRC64NVME); got != want {
						t.Fatalf("PUT returned checksum %q, want %q (request headers %v)", got, want, rec.last())
					}
				}
				g, err := sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
				if err != nil {
					t.Fatal(err)
				}
				if got := readAll(t, g.Body); !bytes.Equal(got, body) {
					t.Fatal("body differs")
				}
				if got := checksumField(alg, g.ChecksumCRC32, g.ChecksumCRC32C, g.ChecksumSHA1, g.ChecksumSHA256, g.ChecksumCRC64NVME); got != want {
					t.Fatalf("GET checksum %q, want %q", got, want)
				}
				if g.ChecksumType != types.ChecksumTypeFullObject {
					t.Fatalf("GET checksum type %q", g.ChecksumType)
				}
				h, err := sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
				if err != nil {
					t.Fatal(err)
				}
				if got := checksumField(alg, h.ChecksumCRC32, h.ChecksumCRC32C, h.ChecksumSHA1, h.ChecksumSHA256, h.ChecksumCRC64NVME); got != want {
					t.Fatalf("HEAD checksum %q, want %q", got, want)
				}
				// Without checksum mode no checksum headers are sent.
				resp, _ := f.do(t, rawReq{method: http.MethodHead, bucket: b, key: key})
				if v := resp.Header.Get("X-Amz-Checksum-" + strings.ToLower(string(alg))); v != "" {
					t.Fatalf("checksum header without x-amz-checksum-mode: %s", v)
				}
			})
		}
	}
	t.Run("sdk uses trailers by default", func(t *testing.T) {
		key := "trailer-default"
		body := struct{ *bytes.Reader }{bytes.NewReader([]byte("hello trailer"))}
		if _, err := sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: &key, Body: body, ContentLength: aws.Int64(13)}); err != nil {
			t.Fatal(err)
		}
		h := rec.last()
		if !strings.Contains(h.Get("X-Amz-Content-Sha256"), "TRAILER") || h.Get("X-Amz-Trailer") == "" {
			t.Fatalf("the SDK did not send a trailer checksum: %v", h)
		}
		g, err := sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, g.Body); string(got) != "hello trailer" || aws.ToString(g.ChecksumCRC32) != checksumOf(types.ChecksumAlgorithmCrc32, got) {
			t.Fatalf("default CRC32 not stored: %q %v", got, aws.ToString(g.ChecksumCRC32))
		}
		if enc := aws.ToString(g.ContentEncoding); enc != "" {
			t.Fatalf("aws-chunked leaked into the stored Content-Encoding: %q", enc)
		}
	})
	t.Run("ranged GET has no full-object checksum", func(t *testing.T) {
		key := "sum-CRC32-102400"
		g, err := sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key, Range: aws.String("bytes=0-9"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, g.Body)
		if g.ChecksumCRC32 != nil {
			t.Fatalf("ranged GET returned the full-object checksum %s", aws.ToString(g.ChecksumCRC32))
		}
	})
	t.Run("copy keeps the checksum", func(t *testing.T) {
		src := b + "/sum-SHA1-102400"
		out, err := sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("sum-copy"), CopySource: &src})
		if err != nil {
			t.Fatal(err)
		}
		want := checksumOf(types.ChecksumAlgorithmSha1, randBytes(100<<10, uint64(2*1000+100<<10)))
		if got := aws.ToString(out.CopyObjectResult.ChecksumSHA1); got != want {
			t.Fatalf("CopyObjectResult SHA1 %q, want %q", got, want)
		}
		h, err := sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("sum-copy"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || aws.ToString(h.ChecksumSHA1) != want {
			t.Fatalf("copy HEAD SHA1 %q, %v", aws.ToString(h.ChecksumSHA1), err)
		}
	})
	t.Run("minio", func(t *testing.T) {
		body := randBytes(3000, 5)
		_, err := f.MinioTLS(t).PutObject(ctx(t), b, "minio-sum", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{Checksum: minio.ChecksumSHA256})
		if err != nil {
			t.Fatal(err)
		}
		h, err := sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("minio-sum"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || aws.ToString(h.ChecksumSHA256) != checksumOf(types.ChecksumAlgorithmSha256, body) {
			t.Fatalf("minio SHA256: %v %v", aws.ToString(h.ChecksumSHA256), err)
		}
	})
}

func TestIntegrationMultipartChecksum(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	key := "mp-sum"
	up, err := f.sdk.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
	if err != nil {
		t.Fatal(err)
	}
	if up.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32c {
		t.Fatalf("CreateMultipartUpload checksum algorithm %q", up.ChecksumAlgorithm)
	}
	p1, p2 := randBytes(5*mib, 1), randBytes(1000, 2)
	var parts []types.CompletedPart
	var raw []byte
	for i, p := range [][]byte{p1, p2} {
		n := int32(i + 1)
		out, err := f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumber: &n,
			Body: bytes.NewReader(p), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := aws.ToString(out.ChecksumCRC32C), checksumOf(types.ChecksumAlgorithmCrc32c, p); got != want {
			t.Fatalf("part %d checksum %s, want %s", n, got, want)
		}
		d, _ := base64.StdEncoding.DecodeString(aws.ToString(out.ChecksumCRC32C))
		raw = append(raw, d...)
		parts = append(parts, types.CompletedPart{PartNumber: &n, ETag: out.ETag, ChecksumCRC32C: out.ChecksumCRC32C})
	}
	done, err := f.complete(t, b, key, aws.ToString(up.UploadId), parts...)
	if err != nil {
		t.Fatal(err)
	}
	want := checksumOf(types.ChecksumAlgorithmCrc32c, raw) + "-2"
	if got := aws.ToString(done.ChecksumCRC32C); got != want {
		t.Fatalf("composite checksum %s, want %s", got, want)
	}
	h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(h.ChecksumCRC32C) != want || h.ChecksumType != types.ChecksumTypeComposite {
		t.Fatalf("HEAD composite checksum %s type %s", aws.ToString(h.ChecksumCRC32C), h.ChecksumType)
	}
	// The SDK skips validating composite checksums but must still read it.
	if got := f.get(t, b, key); len(got) != len(p1)+len(p2) {
		t.Fatalf("read %d bytes", len(got))
	}
}

func TestIntegrationBadDigest(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	body := randBytes(64<<10, 8) // above the inline threshold: shards are written
	good := checksumOf(types.ChecksumAlgorithmCrc32, body)
	wrong := checksumOf(types.ChecksumAlgorithmCrc32, []byte("other"))
	shards := f.ShardCount(t)

	cases := []struct {
		name   string
		req    rawReq
		code   string
		status int
	}{
		{"crc32 header", rawReq{header: http.Header{"X-Amz-Checksum-Crc32": {wrong}}}, "BadDigest", 400},
		{"sha256 header", rawReq{header: http.Header{"X-Amz-Checksum-Sha256": {checksumOf(types.ChecksumAlgorithmSha256, []byte("x"))}}}, "BadDigest", 400},
		{"content-md5", rawReq{header: http.Header{"Content-Md5": {contentMD5([]byte("other"))}}}, "BadDigest", 400},
		{"content-md5 ok, crc32 wrong", rawReq{header: http.Header{"Content-Md5": {contentMD5(body)}, "X-Amz-Checksum-Crc32": {wrong}}}, "BadDigest", 400},
		{"content-md5 malformed", rawReq{header: http.Header{"Content-Md5": {"not base64!"}}}, "InvalidDigest", 400},
		{"content-md5 wrong length", rawReq{header: http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString([]byte("short"))}}}, "InvalidDigest", 400},
		{"crc32 malformed", rawReq{header: http.Header{"X-Amz-Checksum-Crc32": {"AAAA"}}}, "InvalidRequest", 400},
		{"two algorithms", rawReq{header: http.Header{"X-Amz-Checksum-Crc32": {good}, "X-Amz-Checksum-Sha1": {checksumOf(types.ChecksumAlgorithmSha1, body)}}}, "InvalidRequest", 400},
		{"trailer wrong", chunkedTrailer(body, "x-amz-checksum-crc32", wrong), "BadDigest", 400},
		{"trailer missing", chunkedTrailer(body, "x-amz-checksum-crc32", ""), "MalformedTrailerError", 400},
		{"content sha256 wrong", rawReq{payload: strings.Repeat("ab", 32)}, "XAmzContentSHA256Mismatch", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.req
			r.method, r.bucket, r.key = http.MethodPut, b, "bad-"+strings.ReplaceAll(c.name, " ", "-")
			if r.body == nil {
				r.body = body
			}
			resp, rb := f.do(t, r)
			wantXMLError(t, resp, rb, c.code, c.status)
			if f.exists(t, b, r.key) {
				t.Fatal("refused upload is visible")
			}
			if n := f.ShardCount(t); n != shards {
				t.Fatalf("refused upload left %d shards behind", n-shards)
			}
		})
	}
	t.Run("sdk", func(t *testing.T) {
		_, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("sdk-bad-crc"), Body: bytes.NewReader(body), ChecksumCRC32: &wrong})
		wantErr(t, err, "BadDigest", http.StatusBadRequest)
		_, err = f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("sdk-bad-md5"), Body: bytes.NewReader(body), ContentMD5: aws.String(contentMD5([]byte("x")))})
		wantErr(t, err, "BadDigest", http.StatusBadRequest)
		id := f.createUpload(t, b, "sdk-bad-part")
		_, err = f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("sdk-bad-part"), UploadId: &id, PartNumber: aws.Int32(1),
			Body: bytes.NewReader(body), ChecksumCRC32: &wrong})
		wantErr(t, err, "BadDigest", http.StatusBadRequest)
		lp, err := f.sdk.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("sdk-bad-part"), UploadId: &id})
		if err != nil || len(lp.Parts) != 0 {
			t.Fatalf("refused part stored: %+v, %v", lp.Parts, err)
		}
		for _, k := range []string{"sdk-bad-crc", "sdk-bad-md5"} {
			if f.exists(t, b, k) {
				t.Fatalf("%s stored", k)
			}
		}
		if n := f.ShardCount(t); n != shards {
			t.Fatalf("refused uploads left %d shards behind", n-shards)
		}
	})
	t.Run("good values are accepted", func(t *testing.T) {
		r := rawReq{method: http.MethodPut, bucket: b, key: "good", body: body,
			header: http.Header{"Content-Md5": {contentMD5(body)}, "X-Amz-Checksum-Crc32": {good}}}
		resp, rb := f.do(t, r)
		if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Checksum-Crc32") != good {
			t.Fatalf("status %d crc %q: %s", resp.StatusCode, resp.Header.Get("X-Amz-Checksum-Crc32"), rb)
		}
		resp, rb = f.do(t, chunkedTrailerPut(b, "good-trailer", body, "x-amz-checksum-crc32", good))
		if resp.StatusCode != 200 {
			t.Fatalf("trailer upload: %d %s", resp.StatusCode, rb)
		}
		if got := f.get(t, b, "good-trailer"); !bytes.Equal(got, body) {
			t.Fatal("trailer upload stored different bytes")
		}
	})
}

// chunkedTrailer is an unsigned aws-chunked body with one trailer (omitted
// when value is empty), in two chunks.
func chunkedTrailer(body []byte, name, value string) rawReq {
	var sb bytes.Buffer
	half := len(body) / 2
	for _, c := range [][]byte{body[:half], body[half:]} {
		fmt.Fprintf(&sb, "%x\r\n", len(c))
		sb.Write(c)
		sb.WriteString("\r\n")
	}
	sb.WriteString("0\r\n")
	if value != "" {
		sb.WriteString(name + ":" + value + "\r\n")
	}
	sb.WriteString("\r\n")
	return rawReq{body: sb.Bytes(), payload: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", header: http.Header{
		"Content-Encoding":             {"aws-chunked"},
		"X-Amz-Decoded-Content-Length": {strconv.Itoa(len(body))},
		"X-Amz-Trailer":                {name},
	}}
}

func chunkedTrailerPut(bucket, key string, body []byte, name, value string) rawReq {
	r := chunkedTrailer(body, name, value)
	r.method, r.bucket, r.key = http.MethodPut, bucket, key
	return r
}
