package sigv4

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Lookup = staticLookup(nil)
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr bool
	}{
		{"default with lookup", func(*Config) {}, false},
		{"any region", func(c *Config) { c.Region = "" }, false},
		{"nil clock means time.Now", func(c *Config) { c.Now = nil }, false},
		{"no lookup", func(c *Config) { c.Lookup = nil }, true},
		{"zero skew", func(c *Config) { c.MaxSkew = 0 }, true},
		{"bad region", func(c *Config) { c.Region = "us east" }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			err := c.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v", err)
			}
			if _, err := New(c); (err != nil) != tc.wantErr {
				t.Fatalf("New() = %v", err)
			}
		})
	}
	if d := DefaultConfig(); d.Region != "us-east-1" || d.MaxSkew != 15*time.Minute || d.Now == nil {
		t.Fatalf("DefaultConfig() = %+v", d)
	}
}

// signedGet returns a GET signed by the SDK at time at for region.
func signedGet(t *testing.T, at time.Time, region string, edit func(*http.Request)) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", "http://s3.example.test/bucket/key?acl", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	if edit != nil {
		edit(req)
	}
	creds := aws.Credentials{AccessKeyID: exampleAccessKey, SecretAccessKey: exampleSecret}
	if err := s3Signer().SignHTTP(context.Background(), creds, req, req.Header.Get("X-Amz-Content-Sha256"), "s3", region, at); err != nil {
		t.Fatal(err)
	}
	return overWire(t, req)
}

func TestSkew(t *testing.T) {
	now := sdkTime
	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"now", now, nil},
		{"14m past", now.Add(-14 * time.Minute), nil},
		{"14m future", now.Add(14 * time.Minute), nil},
		{"exactly 15m", now.Add(-15 * time.Minute), nil},
		{"16m past", now.Add(-16 * time.Minute), ErrRequestTimeTooSkewed},
		{"16m future", now.Add(16 * time.Minute), ErrRequestTimeTooSkewed},
		{"a year ago", now.AddDate(-1, 0, 0), ErrRequestTimeTooSkewed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, now, nil)
			_, err := v.Verify(signedGet(t, tc.at, "us-east-1", nil))
			wantErr(t, err, tc.want)
		})
	}
}

func TestHeaderAuthChecks(t *testing.T) {
	tests := []struct {
		name   string
		region string // verifier region
		build  func(t *testing.T) *http.Request
		want   error
	}{
		{"ok", "us-east-1", func(t *testing.T) *http.Request { return signedGet(t, sdkTime, "us-east-1", nil) }, nil},
		{"other region rejected", "us-east-1", func(t *testing.T) *http.Request { return signedGet(t, sdkTime, "eu-west-1", nil) }, ErrAuthorizationHeaderMalformed},
		{"any region accepted", "", func(t *testing.T) *http.Request { return signedGet(t, sdkTime, "eu-west-1", nil) }, nil},
		{"missing x-amz-content-sha256", "us-east-1", func(t *testing.T) *http.Request {
			return signedGet(t, sdkTime, "us-east-1", func(r *http.Request) { r.Header.Del("X-Amz-Content-Sha256") })
		}, ErrMissingContentSHA256},
		{"invalid x-amz-content-sha256", "us-east-1", func(t *testing.T) *http.Request {
			return signedGet(t, sdkTime, "us-east-1", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "nope") })
		}, ErrInvalidContentSHA256},
		{"sigv4a streaming payload", "us-east-1", func(t *testing.T) *http.Request {
			return signedGet(t, sdkTime, "us-east-1", func(r *http.Request) {
				r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
			})
		}, ErrUnsupportedAlgorithm},
		{"missing date", "us-east-1", func(t *testing.T) *http.Request {
			r := signedGet(t, sdkTime, "us-east-1", nil)
			r.Header.Del("X-Amz-Date")
			return r
		}, ErrMissingDate},
		{"bad date", "us-east-1", func(t *testing.T) *http.Request {
			r := signedGet(t, sdkTime, "us-east-1", nil)
			r.Header.Set("X-Amz-Date", "2026-03-14T15:09:26Z")
			return r
		}, ErrMissingDate},
		{"scope date differs from x-amz-date", "us-east-1", func(t *testing.T) *http.Request {
			r := signedGet(t, sdkTime, "us-east-1", nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20260314/", "/20260313/", 1))
			return r
		}, ErrAuthorizationHeaderMalformed},
		{"service not s3", "us-east-1", func(t *testing.T) *http.Request {
			r := signedGet(t, sdkTime, "us-east-1", nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/s3/", "/iam/", 1))
			return r
		}, ErrAuthorizationHeaderMalformed},
		{"host not signed", "us-east-1", func(t *testing.T) *http.Request {
			r := signedGet(t, sdkTime, "us-east-1", nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=host;", "SignedHeaders=", 1))
			return r
		}, ErrAuthorizationHeaderMalformed},
		{"sigv2", "us-east-1", func(t *testing.T) *http.Request {
			return parseRaw(t, "GET /b/k HTTP/1.1\nHost: h\nDate: Sat, 14 Mar 2026 15:09:26 GMT\nAuthorization: AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", nil)
		}, ErrUnsupportedAlgorithm},
		{"sigv2 presigned", "us-east-1", func(t *testing.T) *http.Request {
			return parseRaw(t, "GET /b/k?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1141889120&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D HTTP/1.1\nHost: h", nil)
		}, ErrUnsupportedAlgorithm},
		{"two authorization headers", "us-east-1", func(t *testing.T) *http.Request {
			r := signedGet(t, sdkTime, "us-east-1", nil)
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return r
		}, ErrAuthorizationHeaderMalformed},
		{"unknown access key", "us-east-1", func(t *testing.T) *http.Request {
			r := signedGet(t, sdkTime, "us-east-1", nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), exampleAccessKey, "AKIDUNKNOWN", 1))
			return r
		}, ErrInvalidAccessKeyID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Region = tc.region
			c.Now = func() time.Time { return sdkTime }
			c.Lookup = staticLookup(map[string]string{exampleAccessKey: exampleSecret})
			v, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(tc.build(t))
			wantErr(t, err, tc.want)
		})
	}
}

// Clients without x-amz-date sign the Date header; it must then be signed.
func TestDateHeaderFallback(t *testing.T) {
	key := deriveSigningKey(exampleSecret, "20130524", "us-east-1", "s3")
	build := func(signed string) *http.Request {
		r := parseRaw(t, "GET /test.txt HTTP/1.1\nHost: examplebucket.s3.amazonaws.com\nDate: Fri, 24 May 2013 00:00:00 GMT\n"+
			"X-Amz-Content-Sha256: "+emptySHA256, nil)
		canon := canonicalRequest(r, nil, "", strings.Split(signed, ";"), emptySHA256)
		sig := signHex(key, stringToSign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", canon))
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+exampleAccessKey+"/20130524/us-east-1/s3/aws4_request, SignedHeaders="+signed+", Signature="+sig)
		return r
	}
	v := newTestVerifier(t, exampleTime, nil)
	_, err := v.Verify(build("date;host;x-amz-content-sha256"))
	wantErr(t, err, nil)
	_, err = v.Verify(build("host;x-amz-content-sha256"))
	wantErr(t, err, ErrAuthorizationHeaderMalformed)
}

func TestAnonymous(t *testing.T) {
	v := newTestVerifier(t, sdkTime, nil)
	r := parseRaw(t, "PUT /b/k?versionId=3 HTTP/1.1\nHost: h", []byte("public"))
	res, err := v.Verify(r)
	if err != nil || !res.Anonymous || res.AccessKey != "" || res.Mode != Unsigned || res.ContentLength != 6 {
		t.Fatalf("%+v, %v", res, err)
	}
	if got, err := readAll(res.Body); err != nil || string(got) != "public" {
		t.Fatalf("%q %v", got, err)
	}

	// A payload hash on an anonymous request is still checked.
	r = parseRaw(t, "PUT /b/k HTTP/1.1\nHost: h\nX-Amz-Content-Sha256: "+tSHA([]byte("other")), []byte("public"))
	res, err = v.Verify(r)
	if err != nil || res.Mode != SignedSingle {
		t.Fatalf("%+v, %v", res, err)
	}
	_, err = readAll(res.Body)
	wantErr(t, err, ErrContentSHA256Mismatch)
}

func TestSignedSingleBody(t *testing.T) {
	body := []byte("0123456789")
	tests := []struct {
		name   string
		sent   []byte
		length int64
		want   error
	}{
		{"exact", body, 10, nil},
		{"short", body[:4], 10, ErrIncompleteBody},
		{"different", []byte("0123456780"), 10, ErrContentSHA256Mismatch},
		{"unknown length", body, -1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, _ := hex.DecodeString(tSHA(body))
			b := &plainBody{src: io.NopCloser(bytes.NewReader(tc.sent)), length: tc.length, want: want}
			_, err := readAll(b)
			wantErr(t, err, tc.want)
			u := &plainBody{src: io.NopCloser(bytes.NewReader(tc.sent)), length: tc.length}
			_, err = readAll(u)
			if tc.want == ErrIncompleteBody {
				wantErr(t, err, ErrIncompleteBody)
			} else {
				wantErr(t, err, nil)
			}
		})
	}
}

func TestPresignedParameters(t *testing.T) {
	build := func(t *testing.T, expires string, edit func(url.Values)) *http.Request {
		req, _ := http.NewRequest("GET", "http://s3.example.test/bucket/key", nil)
		q := req.URL.Query()
		q.Set("X-Amz-Expires", expires)
		req.URL.RawQuery = q.Encode()
		creds := aws.Credentials{AccessKeyID: exampleAccessKey, SecretAccessKey: exampleSecret}
		u, _, err := s3Signer().PresignHTTP(context.Background(), creds, req, unsignedPayload, "s3", "us-east-1", sdkTime)
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		if edit != nil {
			q := pu.Query()
			edit(q)
			pu.RawQuery = q.Encode()
		}
		out, _ := http.NewRequest("GET", pu.String(), nil)
		return overWire(t, out)
	}
	tests := []struct {
		name    string
		expires string
		edit    func(url.Values)
		now     time.Time
		want    error
	}{
		{"ok", "3600", nil, sdkTime, nil},
		{"max expiry", "604800", nil, sdkTime.Add(604800 * time.Second), nil},
		{"expired", "3600", nil, sdkTime.Add(3601 * time.Second), ErrExpiredPresignedRequest},
		{"not yet valid", "3600", nil, sdkTime.Add(-16 * time.Minute), ErrAccessDenied},
		{"within skew before", "3600", nil, sdkTime.Add(-14 * time.Minute), nil},
		{"expires zero", "0", nil, sdkTime, ErrAuthorizationQueryParametersError},
		{"expires too long", "604801", nil, sdkTime, ErrAuthorizationQueryParametersError},
		{"expires not a number", "1h", nil, sdkTime, ErrAuthorizationQueryParametersError},
		{"missing credential", "60", func(q url.Values) { q.Del("X-Amz-Credential") }, sdkTime, ErrAuthorizationQueryParametersError},
		{"missing date", "60", func(q url.Values) { q.Del("X-Amz-Date") }, sdkTime, ErrAuthorizationQueryParametersError},
		{"bad date", "60", func(q url.Values) { q.Set("X-Amz-Date", "yesterday") }, sdkTime, ErrAuthorizationQueryParametersError},
		{"missing signature", "60", func(q url.Values) { q.Del("X-Amz-Signature") }, sdkTime, ErrAuthorizationQueryParametersError},
		{"short signature", "60", func(q url.Values) { q.Set("X-Amz-Signature", "abcd") }, sdkTime, ErrAuthorizationQueryParametersError},
		{"duplicate signature", "60", func(q url.Values) { q.Add("X-Amz-Signature", q.Get("X-Amz-Signature")) }, sdkTime, ErrAuthorizationQueryParametersError},
		{"other algorithm", "60", func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256") }, sdkTime, ErrUnsupportedAlgorithm},
		{"bad credential", "60", func(q url.Values) { q.Set("X-Amz-Credential", "AK/2026/us-east-1/s3") }, sdkTime, ErrAuthorizationQueryParametersError},
		{"payload hash given", "60", func(q url.Values) { q.Set("X-Amz-Content-Sha256", emptySHA256) }, sdkTime, ErrSignatureDoesNotMatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, tc.now, nil)
			_, err := v.Verify(build(t, tc.expires, tc.edit))
			wantErr(t, err, tc.want)
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	const (
		cred = "Credential=AKID/20130524/us-east-1/s3/aws4_request"
		sh   = "SignedHeaders=host;x-amz-date"
		sig  = "Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
	)
	tests := []struct {
		name string
		in   string
		want error
		ak   string
	}{
		{"canonical spacing", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig, nil, "AKID"},
		{"no spaces", "AWS4-HMAC-SHA256 " + cred + "," + sh + "," + sig, nil, "AKID"},
		{"any order", "AWS4-HMAC-SHA256 " + sig + ", " + cred + ", " + sh, nil, "AKID"},
		{"slash in access key", "AWS4-HMAC-SHA256 Credential=AK/ID/20130524/us-east-1/s3/aws4_request, " + sh + ", " + sig, nil, "AK/ID"},
		{"empty", "", ErrUnsupportedAlgorithm, ""},
		{"sigv2", "AWS AKID:c2ln", ErrUnsupportedAlgorithm, ""},
		{"sigv4a", "AWS4-ECDSA-P256-SHA256 " + cred + ", " + sh + ", " + sig, ErrUnsupportedAlgorithm, ""},
		{"lowercase algorithm", "aws4-hmac-sha256 " + cred + ", " + sh + ", " + sig, ErrUnsupportedAlgorithm, ""},
		{"algorithm only", "AWS4-HMAC-SHA256", ErrAuthorizationHeaderMalformed, ""},
		{"missing signature", "AWS4-HMAC-SHA256 " + cred + ", " + sh, ErrAuthorizationHeaderMalformed, ""},
		{"duplicate field", "AWS4-HMAC-SHA256 " + cred + ", " + cred + ", " + sig, ErrAuthorizationHeaderMalformed, ""},
		{"extra field", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig + ", Foo=bar", ErrAuthorizationHeaderMalformed, ""},
		{"trailing comma", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig + ",", ErrAuthorizationHeaderMalformed, ""},
		{"unknown field", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Sig=abc", ErrAuthorizationHeaderMalformed, ""},
		{"field without =", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature", ErrAuthorizationHeaderMalformed, ""},
		{"short credential", "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3, " + sh + ", " + sig, ErrAuthorizationHeaderMalformed, ""},
		{"empty access key", "AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request, " + sh + ", " + sig, ErrAuthorizationHeaderMalformed, ""},
		{"bad scope date", "AWS4-HMAC-SHA256 Credential=AKID/20131324/us-east-1/s3/aws4_request, " + sh + ", " + sig, ErrAuthorizationHeaderMalformed, ""},
		{"bad terminal", "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws5_request, " + sh + ", " + sig, ErrAuthorizationHeaderMalformed, ""},
		{"wrong service", "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/ec2/aws4_request, " + sh + ", " + sig, ErrAuthorizationHeaderMalformed, ""},
		{"empty region", "AWS4-HMAC-SHA256 Credential=AKID/20130524//s3/aws4_request, " + sh + ", " + sig, ErrAuthorizationHeaderMalformed, ""},
		{"uppercase signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=Host;x-amz-date, " + sig, ErrAuthorizationHeaderMalformed, ""},
		{"empty signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, " + sig, ErrAuthorizationHeaderMalformed, ""},
		{"duplicate signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;host, " + sig, ErrAuthorizationHeaderMalformed, ""},
		{"host not signed", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=x-amz-date, " + sig, ErrAuthorizationHeaderMalformed, ""},
		{"short signature", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=abc", ErrAuthorizationHeaderMalformed, ""},
		{"non-hex signature", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=" + strings.Repeat("g", 64), ErrAuthorizationHeaderMalformed, ""},
		{"huge", "AWS4-HMAC-SHA256 " + strings.Repeat("x", maxAuthLen), ErrAuthorizationHeaderMalformed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseAuthorization(tc.in)
			wantErr(t, err, tc.want)
			if err == nil && (a.cred.accessKey != tc.ak || a.cred.scope() != "20130524/us-east-1/s3/aws4_request" || len(a.signature) != 32) {
				t.Fatalf("parsed %+v", a)
			}
		})
	}
}

// A rotated secret must not be served a cached signing key derived from the
// old one.
func TestKeyCacheFollowsSecretRotation(t *testing.T) {
	keys := map[string]string{exampleAccessKey: exampleSecret}
	c := DefaultConfig()
	c.Now = func() time.Time { return sdkTime }
	c.Lookup = func(ak string) (string, error) { return keys[ak], nil }
	v, _ := New(c)
	if _, err := v.Verify(signedGet(t, sdkTime, "us-east-1", nil)); err != nil {
		t.Fatal(err)
	}
	keys[exampleAccessKey] = "rotated"
	_, err := v.Verify(signedGet(t, sdkTime, "us-east-1", nil))
	wantErr(t, err, ErrSignatureDoesNotMatch)
	var m *SignatureMismatchError
	if !errors.As(err, &m) || !strings.HasPrefix(m.StringToSign, "AWS4-HMAC-SHA256\n20260314T150926Z\n") ||
		!strings.HasPrefix(m.CanonicalRequest, "GET\n/bucket/key\nacl=\n") {
		t.Fatalf("mismatch detail %+v", m)
	}
}

func TestLookupFailurePassesThrough(t *testing.T) {
	boom := errors.New("iam unavailable")
	c := DefaultConfig()
	c.Now = func() time.Time { return sdkTime }
	c.Lookup = func(string) (string, error) { return "", boom }
	v, _ := New(c)
	_, err := v.Verify(signedGet(t, sdkTime, "us-east-1", nil))
	if !errors.Is(err, boom) || errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Fatalf("error %v", err)
	}
}

func TestCanonicalURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/test$file.text", "/test%24file.text"},
		{"/a%20b/c+d", "/a%20b/c%2Bd"},
		{"/a%2Fb", "/a%2Fb"},
		{"/~user/ü", "/~user/%C3%BC"},
		{"/a//b/", "/a//b/"},
		{"/bad%zz", "/bad%25zz"},
	}
	for _, tc := range tests {
		if got := canonicalURI(tc.in); got != tc.want {
			t.Errorf("canonicalURI(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"lifecycle", "lifecycle="},
		{"prefix=J&max-keys=2", "max-keys=2&prefix=J"},
		{"a=b+c&a=b%20a", "a=b%20a&a=b%20c"},
		{"k=%2B~%7E*", "k=%2B~~%2A"},
		{"b=1&&a=2&", "a=2&b=1"},
		{"x=%zz", "x=%25zz"},
		{"X-Amz-Signature=abc&b=1", "b=1"},
	}
	for _, tc := range tests {
		if got := canonicalQuery(parseQuery(tc.in), "X-Amz-Signature"); got != tc.want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCanonicalHeaderValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  a   b  c ", "a b c"},
		{"plain", "plain"},
		{"\ttab\t", "tab"},
	}
	for _, tc := range tests {
		if got := canonicalHeaderValue(tc.in); got != tc.want {
			t.Errorf("canonicalHeaderValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
