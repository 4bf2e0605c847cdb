package s3api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/sirupsen/logrus"
)

// benchPayloads are the ways clients send a PUT body, by what the server
// must hash: a signed payload (s3cmd, minio-go over HTTP: x-amz-content-sha256
// is the body's hex SHA-256) with Content-MD5; a signed payload with an
// x-amz-checksum-sha256; an unsigned payload (SDKs over HTTPS) without and
// with a CRC32 checksum.
var benchPayloads = []struct {
	name          string
	signed        bool
	md5, sha, crc bool
}{
	{name: "signed+md5", signed: true, md5: true},
	{name: "signed+sha256", signed: true, sha: true},
	{name: "unsigned", signed: false},
	{name: "unsigned+crc32", signed: false, crc: true},
}

// benchRequest builds a signed request for the plain-HTTP listener; the
// body's digests are computed by the caller once, outside the timed loop.
func benchRequest(b *testing.B, env *s3test.Env, method, path string, body []byte, hdr http.Header, payloadHash string) *http.Request {
	req, err := http.NewRequestWithContext(context.Background(), method, env.PlainURL+path, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: env.AccessKey, SecretAccessKey: env.SecretKey}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), creds, req, payloadHash, "s3", s3test.Region, time.Now()); err != nil {
		b.Fatal(err)
	}
	return req
}

func pathBenchDo(b *testing.B, req *http.Request) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
	}
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// BenchmarkPathPut is a PUT through the whole server (HTTP, SigV4, the
// checksum reader, the engine at 2+2 on memory drives) for each payload
// kind. Profile it to see what hashing costs per byte received:
// go test -run x -bench PathPut -cpuprofile cpu.out ./s3api/
func BenchmarkPathPut(b *testing.B) {
	for _, size := range []int{1 << 20, 64 << 20} {
		data := randBytes(size, 1)
		sha := sha256.Sum256(data)
		m := md5.Sum(data)
		crc := crc32.ChecksumIEEE(data)
		for _, p := range benchPayloads {
			b.Run(sizeLabel(size)+"/"+p.name, func(b *testing.B) {
				env := s3test.New(b, s3test.WithLogLevel(logrus.ErrorLevel))
				pathBenchDo(b, benchRequest(b, env, http.MethodPut, "/bench", nil, nil, emptySHA256))
				hdr := http.Header{}
				payload := "UNSIGNED-PAYLOAD"
				if p.signed {
					payload = hex.EncodeToString(sha[:])
				}
				if p.md5 {
					hdr.Set("Content-Md5", base64.StdEncoding.EncodeToString(m[:]))
				}
				if p.sha {
					hdr.Set("X-Amz-Checksum-Sha256", base64.StdEncoding.EncodeToString(sha[:]))
				}
				if p.crc {
					hdr.Set("X-Amz-Checksum-Crc32", base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)}))
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				done := cpuMeter(b)
				for b.Loop() {
					pathBenchDo(b, benchRequest(b, env, http.MethodPut, "/bench/obj", data, hdr, payload))
				}
				done()
			})
		}
	}
}

// BenchmarkPathGet is a healthy GET of a whole object through the server
// over plain HTTP, on memory drives and on local drive folders (where the
// body can go from the shard files to the socket with sendfile).
func BenchmarkPathGet(b *testing.B) {
	drives := []struct {
		name string
		opts []s3test.Option
	}{
		{"memory", nil},
		{"local", []s3test.Option{s3test.WithLocalDrives()}},
	}
	for _, d := range drives {
		for _, size := range []int{1 << 20, 64 << 20} {
			b.Run(d.name+"/"+sizeLabel(size), func(b *testing.B) {
				env := s3test.New(b, append([]s3test.Option{s3test.WithLogLevel(logrus.ErrorLevel)}, d.opts...)...)
				pathBenchDo(b, benchRequest(b, env, http.MethodPut, "/bench", nil, nil, emptySHA256))
				pathBenchDo(b, benchRequest(b, env, http.MethodPut, "/bench/obj", randBytes(size, 2), nil, "UNSIGNED-PAYLOAD"))
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				done := cpuMeter(b)
				for b.Loop() {
					pathBenchDo(b, benchRequest(b, env, http.MethodGet, "/bench/obj", nil, nil, emptySHA256))
				}
				done()
			})
		}
	}
}

func sizeLabel(n int) string { return strconv.Itoa(n>>20) + "MiB" }
