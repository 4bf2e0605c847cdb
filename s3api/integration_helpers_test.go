package s3api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/minio/minio-go/v7"
)

// fixture is one in-process server with both clients.
type fixture struct {
	*s3test.Env
	sdk *s3.Client
	mc  *minio.Client
}

func newFixture(t *testing.T, opts ...s3test.Option) *fixture {
	t.Helper()
	env := s3test.New(t, opts...)
	return &fixture{Env: env, sdk: env.SDK(t), mc: env.Minio(t)}
}

var bucketSeq atomic.Int64

// bucket creates a fresh bucket with a unique name.
func (f *fixture) bucket(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("it-%d-%08x", bucketSeq.Add(1), rand.Uint32())
	if _, err := f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
	return name
}

func ctx(t *testing.T) context.Context { return t.Context() }

// put stores body under key with the SDK and returns the output.
func (f *fixture) put(t *testing.T, bucket, key string, body []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

// get reads key with the SDK.
func (f *fixture) get(t *testing.T, bucket, key string) []byte {
	t.Helper()
	out, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("GetObject %s/%s body: %v", bucket, key, err)
	}
	return b
}

// randBytes returns n deterministic pseudo-random bytes.
func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5Hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// contentMD5 is the base64 Content-MD5 of b.
func contentMD5(b []byte) string { s := md5.Sum(b); return base64.StdEncoding.EncodeToString(s[:]) }

func quoted(s string) string { return `"` + s + `"` }

// errCode returns the S3 error code of an SDK error ("" if none).
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// errStatus returns the HTTP status of an SDK error (0 if none).
func errStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// wantErr checks an SDK error's S3 code and HTTP status.
func wantErr(t *testing.T, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s (%d), got success", code, status)
	}
	if got := errCode(err); got != code {
		t.Fatalf("want code %s, got %q (%v)", code, got, err)
	}
	if got := errStatus(err); got != status {
		t.Fatalf("want status %d, got %d (%v)", status, got, err)
	}
}

// wantMinioErr checks a minio-go error's code and status.
func wantMinioErr(t *testing.T, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s (%d), got success", code, status)
	}
	resp := minio.ToErrorResponse(err)
	if resp.Code != code || resp.StatusCode != status {
		t.Fatalf("want %s (%d), got %s (%d): %v", code, status, resp.Code, resp.StatusCode, err)
	}
}

// errorDoc is the S3 XML error body.
type errorDoc struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	Resource  string
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
	Key       string
	VersionID string `xml:"VersionId"`
}

// rawReq is a request sent with net/http to the plain-HTTP listener,
// optionally signed with the SDK's
// v4 signer the way the S3 client signs.
type rawReq struct {
	method  string
	bucket  string
	key     string
	query   url.Values
	header  http.Header
	body    []byte
	secret  string // overrides the Env's secret when set
	access  string // overrides the Env's access key when set
	unsign  bool   // send anonymously
	payload string // x-amz-content-sha256; default: hex sha256 of body
	chunked bool   // send with Transfer-Encoding: chunked, no Content-Length
	region  string // signing region; default s3test.Region
	service string // signing service; default "s3"
	secure  bool   // send to the TLS listener (SSE-C needs it)
	token   string // X-Amz-Security-Token (session credentials)
}

func (f *fixture) newRaw(t *testing.T, r rawReq) *http.Request {
	t.Helper()
	path := "/"
	if r.bucket != "" {
		path += r.bucket
		if r.key != "" {
			path += "/" + r.key
		}
	}
	base := f.PlainURL
	if r.secure {
		base = f.URL
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = path
	u.RawPath = httpbinding.EscapePath(path, false)
	u.RawQuery = strings.ReplaceAll(r.query.Encode(), "+", "%20")
	req, err := http.NewRequestWithContext(ctx(t), r.method, u.String(), bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(r.body))
	switch {
	case r.chunked:
		req.ContentLength = -1
		req.Body = io.NopCloser(bytes.NewReader(r.body))
	case len(r.body) == 0:
		req.Body = http.NoBody
	}
	for k, vs := range r.header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if r.unsign {
		return req
	}
	ph := r.payload
	if ph == "" {
		s := sha256.Sum256(r.body)
		ph = hex.EncodeToString(s[:])
	}
	req.Header.Set("X-Amz-Content-Sha256", ph)
	if r.token != "" {
		req.Header.Set("X-Amz-Security-Token", r.token)
	}
	ak, sk := f.AccessKey, f.SecretKey
	if r.access != "" {
		ak = r.access
	}
	if r.secret != "" {
		sk = r.secret
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}
	region, service := s3test.Region, "s3"
	if r.region != "" {
		region = r.region
	}
	if r.service != "" {
		service = r.service
	}
	if err := signer.SignHTTP(ctx(t), creds, req, ph, service, region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// do sends a raw request and returns the response with its body read.
func (f *fixture) do(t *testing.T, r rawReq) (*http.Response, []byte) {
	t.Helper()
	client := http.DefaultClient
	if r.secure {
		client = f.HTTPClient()
	}
	resp, err := client.Do(f.newRaw(t, r))
	if err != nil {
		t.Fatalf("%s %s/%s: %v", r.method, r.bucket, r.key, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s/%s body: %v", r.method, r.bucket, r.key, err)
	}
	return resp, b
}

// wantXMLError checks a raw error response: status, Code, and that the body
// and headers carry a request id.
func wantXMLError(t *testing.T, resp *http.Response, body []byte, code string, status int) errorDoc {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("want status %d, got %d: %s", status, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
		t.Fatalf("error Content-Type %q, want application/xml", ct)
	}
	var doc errorDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("error body is not S3 XML: %v: %q", err, body)
	}
	if doc.Code != code {
		t.Fatalf("want code %s, got %s (%s)", code, doc.Code, doc.Message)
	}
	if doc.Message == "" || doc.RequestID == "" {
		t.Fatalf("error without Message or RequestId: %s", body)
	}
	if h := resp.Header.Get("X-Amz-Request-Id"); h != doc.RequestID {
		t.Fatalf("x-amz-request-id %q differs from RequestId %q", h, doc.RequestID)
	}
	return doc
}

// headStatus sends HEAD for key and returns the status.
func (f *fixture) exists(t *testing.T, bucket, key string) bool {
	t.Helper()
	_, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err == nil {
		return true
	}
	if errStatus(err) != http.StatusNotFound {
		t.Fatalf("HeadObject %s/%s: %v", bucket, key, err)
	}
	return false
}

func readAll(t *testing.T, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return b
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u.Host
}
