package s3api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

func TestIntegrationAuth(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "secret.txt", []byte("classified"))

	withCreds := func(p aws.CredentialsProvider) *s3.Client {
		return f.SDK(t, func(o *s3.Options) { o.Credentials = p })
	}
	t.Run("wrong secret", func(t *testing.T) {
		c := withCreds(credentials.NewStaticCredentialsProvider(f.AccessKey, "not-the-secret", ""))
		_, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("secret.txt")})
		wantErr(t, err, "SignatureDoesNotMatch", http.StatusForbidden)
		_, err = c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("intruder"), Body: strings.NewReader("x")})
		wantErr(t, err, "SignatureDoesNotMatch", http.StatusForbidden)
		_, err = c.ListBuckets(ctx(t), &s3.ListBucketsInput{})
		wantErr(t, err, "SignatureDoesNotMatch", http.StatusForbidden)
		if f.exists(t, b, "intruder") {
			t.Fatal("PUT with a bad signature stored an object")
		}
		mc, err := minio.New(hostOf(f.PlainURL), &minio.Options{Creds: miniocreds.NewStaticV4(f.AccessKey, "nope", ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
		if err != nil {
			t.Fatal(err)
		}
		// A streamed (signed-chunk) upload with a wrong key.
		_, err = mc.PutObject(ctx(t), b, "intruder", bytes.NewReader(make([]byte, 100)), 100, minio.PutObjectOptions{})
		wantMinioErr(t, err, "SignatureDoesNotMatch", http.StatusForbidden)
	})
	t.Run("unknown access key", func(t *testing.T) {
		c := withCreds(credentials.NewStaticCredentialsProvider("AKIDUNKNOWN", f.SecretKey, ""))
		_, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("secret.txt")})
		wantErr(t, err, "InvalidAccessKeyId", http.StatusForbidden)
	})
	t.Run("anonymous", func(t *testing.T) {
		c := withCreds(aws.AnonymousCredentials{})
		_, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("secret.txt")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		_, err = c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("anon"), Body: strings.NewReader("x")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		for _, r := range []rawReq{
			{method: http.MethodGet, unsign: true},
			{method: http.MethodGet, bucket: b, unsign: true},
			{method: http.MethodGet, bucket: b, key: "secret.txt", unsign: true},
			{method: http.MethodPut, bucket: b, key: "anon", unsign: true, body: []byte("x")},
			{method: http.MethodDelete, bucket: b, key: "secret.txt", unsign: true},
		} {
			resp, body := f.do(t, r)
			wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
		}
		if !f.exists(t, b, "secret.txt") || f.exists(t, b, "anon") {
			t.Fatal("anonymous requests changed the bucket")
		}
	})
	t.Run("clock skew", func(t *testing.T) {
		req := f.newRaw(t, rawReq{method: http.MethodGet, bucket: b, key: "secret.txt"})
		s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		req.Header.Del("Authorization")
		req.Header.Del("X-Amz-Date")
		err := s.SignHTTP(ctx(t), aws.Credentials{AccessKeyID: f.AccessKey, SecretAccessKey: f.SecretKey}, req,
			req.Header.Get("X-Amz-Content-Sha256"), "s3", "us-east-1", time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantXMLError(t, resp, body, "RequestTimeTooSkewed", http.StatusForbidden)
	})
	t.Run("tampered request", func(t *testing.T) {
		req := f.newRaw(t, rawReq{method: http.MethodGet, bucket: b, key: "secret.txt"})
		req.URL.Path += "x"
		req.URL.RawPath = ""
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantXMLError(t, resp, body, "SignatureDoesNotMatch", http.StatusForbidden)
	})
	t.Run("health is open", func(t *testing.T) {
		for _, p := range []string{"/health/live", "/health/ready"} {
			resp, err := http.Get(f.PlainURL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", p, resp.StatusCode)
			}
		}
	})
}

// skewedPresigner signs presigned URLs as if at a different time.
type skewedPresigner struct {
	by time.Duration
}

func (p skewedPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string,
	signingTime time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return v4.NewSigner().PresignHTTP(ctx, creds, r, payloadHash, service, region, signingTime.Add(p.by), optFns...)
}

func TestIntegrationPresigned(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "dir/shared file+ü.txt", []byte("shared content"))
	// Presign against the plain listener so http.Get needs no TLS setup.
	sdk := f.SDK(t, func(o *s3.Options) { o.BaseEndpoint = aws.String(f.PlainURL) })
	ps := s3.NewPresignClient(sdk)

	t.Run("GET", func(t *testing.T) {
		req, err := ps.PresignGetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("dir/shared file+ü.txt"),
			ResponseContentDisposition: aws.String("attachment")}, s3.WithPresignExpires(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(req.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "shared content" || resp.Header.Get("Content-Disposition") != "attachment" {
			t.Fatalf("presigned GET: %d %q %v", resp.StatusCode, body, resp.Header)
		}
		// Any change to a signed part of the URL is refused.
		u, _ := url.Parse(req.URL)
		q := u.Query()
		q.Set("response-content-disposition", "inline")
		u.RawQuery = q.Encode()
		resp, err = http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		wantXMLError(t, resp, body, "SignatureDoesNotMatch", http.StatusForbidden)
	})
	t.Run("PUT", func(t *testing.T) {
		req, err := ps.PresignPutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("uploaded")})
		if err != nil {
			t.Fatal(err)
		}
		hr, _ := http.NewRequest(http.MethodPut, req.URL, strings.NewReader("via presigned put"))
		for k, vs := range req.SignedHeader {
			if !strings.EqualFold(k, "host") {
				hr.Header[k] = vs
			}
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("presigned PUT: %d %s", resp.StatusCode, body)
		}
		if got := f.get(t, b, "uploaded"); string(got) != "via presigned put" {
			t.Fatalf("presigned PUT stored %q", got)
		}
	})
	t.Run("expired", func(t *testing.T) {
		req, err := ps.PresignGetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("dir/shared file+ü.txt")},
			s3.WithPresignExpires(time.Minute), func(o *s3.PresignOptions) { o.Presigner = skewedPresigner{by: -2 * time.Minute} })
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(req.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	})
	t.Run("minio", func(t *testing.T) {
		u, err := f.mc.PresignedGetObject(ctx(t), b, "dir/shared file+ü.txt", time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "shared content" {
			t.Fatalf("minio presigned GET: %d %q", resp.StatusCode, body)
		}
	})
}

// Every error answer is an S3 XML document with Code, Message and RequestId,
// and the same id in x-amz-request-id.
func TestIntegrationErrorShape(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "k", []byte("v"))
	cases := []struct {
		req    rawReq
		code   string
		status int
	}{
		{rawReq{method: http.MethodGet, bucket: "missing-bucket"}, "NoSuchBucket", 404},
		{rawReq{method: http.MethodGet, bucket: b, key: "missing"}, "NoSuchKey", 404},
		{rawReq{method: http.MethodPut, bucket: "Bad_Name"}, "InvalidBucketName", 400},
		{rawReq{method: http.MethodDelete, bucket: b}, "BucketNotEmpty", 409},
		{rawReq{method: http.MethodGet, bucket: b, key: "k", header: http.Header{"Range": {"bytes=5-"}}}, "InvalidRange", 416},
		{rawReq{method: http.MethodGet, bucket: b, key: "k", header: http.Header{"If-Match": {`"x"`}}}, "PreconditionFailed", 412},
		{rawReq{method: http.MethodGet, bucket: b, key: "k", query: url.Values{"versionId": {"bogus"}}}, "InvalidArgument", 400},
		{rawReq{method: http.MethodGet, bucket: b, query: url.Values{"website": {""}}}, "NotImplemented", 501},
		{rawReq{method: http.MethodPost, bucket: b, key: "k"}, "NotImplemented", 501},
		{rawReq{method: http.MethodPut}, "MethodNotAllowed", 405},
		{rawReq{method: http.MethodGet, bucket: b, key: "k", secret: "wrong"}, "SignatureDoesNotMatch", 403},
		{rawReq{method: http.MethodGet, bucket: b, key: "k", access: "NOPE"}, "InvalidAccessKeyId", 403},
		{rawReq{method: http.MethodGet, bucket: b, key: "k", unsign: true}, "AccessDenied", 403},
		{rawReq{method: http.MethodGet, bucket: b, query: url.Values{"max-keys": {"abc"}}}, "InvalidArgument", 400},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			resp, body := f.do(t, c.req)
			doc := wantXMLError(t, resp, body, c.code, c.status)
			if seen[doc.RequestID] {
				t.Fatalf("request id %s reused", doc.RequestID)
			}
			seen[doc.RequestID] = true
			if doc.Resource == "" {
				t.Fatalf("no Resource: %s", body)
			}
			if strings.Contains(string(body), "storage:") || strings.Contains(string(body), ".go") {
				t.Fatalf("internal detail leaked into the error: %s", body)
			}
		})
	}
	t.Run("HEAD errors carry the request id", func(t *testing.T) {
		resp, body := f.do(t, rawReq{method: http.MethodHead, bucket: b, key: "missing"})
		if resp.StatusCode != 404 || len(body) != 0 || resp.Header.Get("X-Amz-Request-Id") == "" {
			t.Fatalf("HEAD error: %d %q %v", resp.StatusCode, body, resp.Header)
		}
	})
	t.Run("success carries the request id", func(t *testing.T) {
		resp, _ := f.do(t, rawReq{method: http.MethodGet, bucket: b, key: "k"})
		if resp.Header.Get("X-Amz-Request-Id") == "" {
			t.Fatal("no x-amz-request-id")
		}
	})
}
