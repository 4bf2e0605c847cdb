package sigv4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"
)

// Requests signed by aws-sdk-go-v2's own signer, configured the way its S3
// client is (no double path escaping), must verify; any change to a signed
// part must not.

var sdkTime = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

type sdkCase struct {
	name      string
	accessKey string
	secret    string
	method    string
	key       string // object key, escaped like the S3 client does
	query     url.Values
	header    http.Header
	body      string
}

func sdkCases() []sdkCase {
	return []sdkCase{
		{name: "plain get", accessKey: "AKIDPLAIN", secret: "plainsecret", method: "GET", key: "plain.txt"},
		{name: "spaces and range", accessKey: "AKIDPLAIN", secret: "plainsecret", method: "GET",
			key: "dir/sub dir/file with  spaces.txt", header: http.Header{"Range": {"bytes=0-9"}}},
		{name: "unicode key and secret", accessKey: "ÄKÏD-ünicode", secret: "ßecret/ünicode+=", method: "PUT",
			key: "ünïcödé/日本語.bin", body: "héllo wörld", header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}},
		{name: "plus tilde percent", accessKey: "AK+with~odd", secret: "s/e+c=r~", method: "PUT",
			key: "a+b=c&d~e%2Ff.txt", body: "x", header: http.Header{"X-Amz-Meta-Note": {"  two   spaces  inside "}}},
		{name: "reserved characters", accessKey: "AK%2Fencoded", secret: "x", method: "GET",
			key: "tilde~and$dollar!'()*,;:@=", query: url.Values{"versionId": {"v+1/2=="}}},
		{name: "access key with space", accessKey: "AK with space", secret: "y", method: "GET", key: "k"},
		{name: "double slash", accessKey: "AKIDPLAIN", secret: "plainsecret", method: "DELETE", key: "slash//double/"},
		{name: "list query", accessKey: "AKIDPLAIN", secret: "plainsecret", method: "GET", key: "",
			query: url.Values{"list-type": {"2"}, "prefix": {"a b+c/ü~%2F"}, "continuation-token": {"x+y/z=="}, "delimiter": {"/"}}},
		{name: "valueless and repeated params", accessKey: "AKIDPLAIN", secret: "plainsecret", method: "POST", key: "obj",
			query: url.Values{"uploads": {""}, "z": {"2", "1", "10"}}, body: "<xml/>"},
		{name: "multi-valued header", accessKey: "AKIDPLAIN", secret: "plainsecret", method: "PUT", key: "m",
			header: http.Header{"X-Amz-Meta-Multi": {"one", "two"}, "Cache-Control": {"no-cache"}}, body: strings.Repeat("z", 5000)},
	}
}

func (c sdkCase) request(t testing.TB) *http.Request {
	t.Helper()
	u := &url.URL{Scheme: "http", Host: "s3.example.test:9000", Path: "/bucket/" + c.key,
		RawPath: "/bucket/" + httpbinding.EscapePath(c.key, false), RawQuery: c.query.Encode()}
	var body *bytes.Reader
	if c.body != "" {
		body = bytes.NewReader([]byte(c.body))
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequest(c.method, u.String(), body)
	} else {
		req, err = http.NewRequest(c.method, u.String(), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range c.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	return req
}

func (c sdkCase) keys() map[string]string { return map[string]string{c.accessKey: c.secret} }

func s3Signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// signHeader signs like the S3 client: x-amz-content-sha256 set and signed.
func (c sdkCase) signHeader(t testing.TB) *http.Request {
	t.Helper()
	req := c.request(t)
	hash := tSHA([]byte(c.body))
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: c.accessKey, SecretAccessKey: c.secret}
	if err := s3Signer().SignHTTP(context.Background(), creds, req, hash, "s3", "us-east-1", sdkTime); err != nil {
		t.Fatal(err)
	}
	return overWire(t, req)
}

func (c sdkCase) presign(t testing.TB, expires string) *http.Request {
	t.Helper()
	req := c.request(t)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", expires)
	req.URL.RawQuery = q.Encode()
	creds := aws.Credentials{AccessKeyID: c.accessKey, SecretAccessKey: c.secret, SessionToken: "tok+en/=="}
	signed, hdr, err := s3Signer().PresignHTTP(context.Background(), creds, req, unsignedPayload, "s3", "us-east-1", sdkTime)
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	out, err := http.NewRequest(c.method, signed, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		if k != "Host" {
			out.Header[k] = vs
		}
	}
	return overWire(t, out)
}

func TestSDKSignedRequestsVerify(t *testing.T) {
	for _, c := range sdkCases() {
		t.Run(c.name, func(t *testing.T) {
			v := newTestVerifier(t, sdkTime.Add(time.Minute), c.keys())
			res, err := v.Verify(c.signHeader(t))
			if err != nil {
				var m *SignatureMismatchError
				if errors.As(err, &m) {
					t.Logf("canonical request:\n%s", m.CanonicalRequest)
				}
				t.Fatalf("Verify: %v", err)
			}
			if res.AccessKey != c.accessKey || res.Mode != SignedSingle || res.Presigned {
				t.Fatalf("result %+v", res)
			}
			got, err := readAll(res.Body)
			if err != nil || string(got) != c.body {
				t.Fatalf("body %q, %v", got, err)
			}
		})
	}
}

func TestSDKPresignedRequestsVerify(t *testing.T) {
	for _, c := range sdkCases() {
		t.Run(c.name, func(t *testing.T) {
			v := newTestVerifier(t, sdkTime.Add(time.Minute), c.keys())
			res, err := v.Verify(c.presign(t, "900"))
			if err != nil {
				var m *SignatureMismatchError
				if errors.As(err, &m) {
					t.Logf("canonical request:\n%s", m.CanonicalRequest)
				}
				t.Fatalf("Verify: %v", err)
			}
			if res.AccessKey != c.accessKey || !res.Presigned || res.Mode != Unsigned || res.SessionToken != "tok+en/==" {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

func TestSDKTamperedRequestsFail(t *testing.T) {
	base := sdkCases()[3] // PUT with a signed body, meta header and odd key
	tampers := []struct {
		name    string
		mutate  func(r *http.Request)
		want    error
		bodyErr error // error expected while reading the body instead
	}{
		{name: "untouched", mutate: func(*http.Request) {}},
		{name: "method", mutate: func(r *http.Request) { r.Method = "POST" }, want: ErrSignatureDoesNotMatch},
		{name: "path", mutate: func(r *http.Request) { r.URL.RawPath = ""; r.URL.Path += "x" }, want: ErrSignatureDoesNotMatch},
		{name: "path encoding of one char", mutate: func(r *http.Request) {
			r.URL.RawPath = strings.Replace(r.URL.EscapedPath(), "%2B", "%2C", 1)
			r.URL.Path, _ = url.PathUnescape(r.URL.RawPath)
		}, want: ErrSignatureDoesNotMatch},
		{name: "query added", mutate: func(r *http.Request) { r.URL.RawQuery = "acl" }, want: ErrSignatureDoesNotMatch},
		{name: "host", mutate: func(r *http.Request) { r.Host = "other.example.test:9000" }, want: ErrSignatureDoesNotMatch},
		{name: "signed header value", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Meta-Note", "changed") }, want: ErrSignatureDoesNotMatch},
		{name: "signed header removed", mutate: func(r *http.Request) { r.Header.Del("X-Amz-Meta-Note") }, want: ErrSignatureDoesNotMatch},
		{name: "unsigned x-amz header added", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Copy-Source", "/other/key") }, want: ErrAccessDenied},
		{name: "date within skew", mutate: func(r *http.Request) {
			r.Header.Set("X-Amz-Date", sdkTime.Add(time.Second).Format(amzDateLayout))
		}, want: ErrSignatureDoesNotMatch},
		{name: "payload hash header", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", tSHA([]byte("y"))) }, want: ErrSignatureDoesNotMatch},
		{name: "region in scope", mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/us-east-1/", "/eu-west-1/", 1))
		}, want: ErrAuthorizationHeaderMalformed},
		{name: "access key", mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AK+with~odd", "AK+with~odd2", 1))
		}, want: ErrInvalidAccessKeyID},
		{name: "content-length", mutate: func(r *http.Request) { r.Header.Set("Content-Length", "0"); r.ContentLength = 0 }, want: ErrSignatureDoesNotMatch},
		{name: "body truncated", mutate: func(r *http.Request) { r.Body = http.NoBody }, bodyErr: ErrIncompleteBody},
		{name: "body same length", mutate: func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("y")) }, bodyErr: ErrContentSHA256Mismatch},
	}
	for _, tc := range tampers {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, sdkTime, base.keys())
			r := base.signHeader(t)
			tc.mutate(r)
			res, err := v.Verify(r)
			wantErr(t, err, tc.want)
			if err != nil {
				return
			}
			_, err = readAll(res.Body)
			wantErr(t, err, tc.bodyErr)
		})
	}
}

func TestSDKTamperedPresignedFail(t *testing.T) {
	base := sdkCases()[4] // reserved characters and a versionId query
	tampers := []struct {
		name   string
		mutate func(r *http.Request)
		want   error
	}{
		{"untouched", func(*http.Request) {}, nil},
		{"expires raised", func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=900", "X-Amz-Expires=9000", 1)
		}, ErrSignatureDoesNotMatch},
		{"query value", func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "versionId=v", "versionId=w", 1)
		}, ErrSignatureDoesNotMatch},
		{"extra param", func(r *http.Request) { r.URL.RawQuery += "&acl=" }, ErrSignatureDoesNotMatch},
		{"signed headers dropped", func(r *http.Request) {
			q := r.URL.Query()
			q.Del("X-Amz-SignedHeaders")
			r.URL.RawQuery = q.Encode()
		}, ErrAuthorizationQueryParametersError},
		{"path", func(r *http.Request) { r.URL.RawPath = ""; r.URL.Path = "/bucket/other" }, ErrSignatureDoesNotMatch},
		{"host", func(r *http.Request) { r.Host = "evil.example.test" }, ErrSignatureDoesNotMatch},
		{"method", func(r *http.Request) { r.Method = "DELETE" }, ErrSignatureDoesNotMatch},
		{"session token", func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Security-Token=tok", "X-Amz-Security-Token=tak", 1)
		}, ErrSignatureDoesNotMatch},
		{"unsigned x-amz header", func(r *http.Request) { r.Header.Set("X-Amz-Acl", "public-read") }, ErrAccessDenied},
		{"also an Authorization header", func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 x") }, ErrAuthorizationQueryParametersError},
	}
	for _, tc := range tampers {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, sdkTime, base.keys())
			r := base.presign(t, "900")
			tc.mutate(r)
			_, err := v.Verify(r)
			wantErr(t, err, tc.want)
		})
	}
}
