package s3api_test

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
)

// The OAuth endpoints pass through the pipeline with their own answers
// (status, headers, cookies, body); their paths shadow no bucket; without
// a handler they answer NotImplemented.
func TestOAuthEndpointsThroughThePipeline(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "c", Value: "v", HttpOnly: true})
		w.Header().Set("Location", "http://127.0.0.1:1/cb?code=x")
		w.WriteHeader(http.StatusFound)
		_, _ = w.Write([]byte("moved"))
	})
	f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.OAuth = h }))
	for _, path := range []string{"/.well-known/openid-configuration", "/.filesphere/oauth/authorize", "/.filesphere/oauth/token"} {
		req, _ := http.NewRequest(http.MethodGet, f.PlainURL+path, nil)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Set-Cookie") == "" || resp.Header.Get("X-Amz-Request-Id") == "" {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("handler saw %v", seen)
	}
	// Other paths under the reserved prefixes are not OAuth's.
	resp, _ := f.do(t, rawReq{method: "GET", bucket: ".well-known", key: "other", unsign: true})
	if resp.StatusCode == http.StatusFound {
		t.Fatal("a path outside the OAuth endpoints reached the handler")
	}
	off := newFixture(t)
	resp, b := off.do(t, rawReq{method: "GET", bucket: ".well-known", key: "openid-configuration", unsign: true})
	if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(string(b), "NotImplemented") {
		t.Fatalf("without a handler: %d %s", resp.StatusCode, b)
	}
}

type fakeWebIdentity struct {
	token string
	in    iam.AssumeRoleWithWebIdentityInput
	err   error
}

func (f *fakeWebIdentity) AssumeRoleWithWebIdentity(_ context.Context, token string, in iam.AssumeRoleWithWebIdentityInput) (iam.AssumeRoleWithWebIdentityOutput, error) {
	f.token, f.in = token, in
	if f.err != nil {
		return iam.AssumeRoleWithWebIdentityOutput{}, f.err
	}
	return iam.AssumeRoleWithWebIdentityOutput{AssumeRoleOutput: iam.AssumeRoleOutput{
		Credentials:    iam.TemporaryCredentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "s", SessionToken: "t", Expiration: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		AssumedRoleARN: "arn:aws:sts::123456789012:assumed-role/r/s", AssumedRoleID: "AROA:s"},
		SubjectFromWebIdentityToken: "sub-1", Audience: "aud-1", Provider: "idp"}, nil
}

// AssumeRoleWithWebIdentity is unsigned, reads its parameters and answers
// STS's document; the backend's refusals get STS's codes.
func TestAssumeRoleWithWebIdentityAction(t *testing.T) {
	wi := &fakeWebIdentity{}
	f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.WebIdentity = wi }))
	post := func(form url.Values) (*http.Response, []byte) {
		return f.do(t, rawReq{method: "POST", unsign: true, body: []byte(form.Encode()),
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}})
	}
	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::123456789012:role/r"},
		"RoleSessionName": {"s"}, "WebIdentityToken": {"the.jwt.token"}, "DurationSeconds": {"900"}, "PolicyArns.member.1.arn": {"arn:aws:iam::123456789012:policy/p"}}
	resp, b := post(form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var doc struct {
		Result struct {
			Credentials struct{ AccessKeyId, Expiration string }
			Subject     string `xml:"SubjectFromWebIdentityToken"`
			Audience    string
			Provider    string
			User        struct{ Arn string } `xml:"AssumedRoleUser"`
		} `xml:"AssumeRoleWithWebIdentityResult"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	r := doc.Result
	if r.Credentials.AccessKeyId != "ASIAEXAMPLE" || r.Credentials.Expiration != "2030-01-02T03:04:05Z" || r.Subject != "sub-1" || r.Audience != "aud-1" || r.User.Arn == "" {
		t.Fatalf("%+v", r)
	}
	if wi.token != "the.jwt.token" || wi.in.DurationSeconds != 900 || wi.in.RoleSessionName != "s" || len(wi.in.PolicyARNs) != 1 {
		t.Fatalf("backend got %q %+v", wi.token, wi.in)
	}
	if v, _ := wi.in.Context.Values("aws:SourceIp"); len(v) != 1 {
		t.Fatalf("no condition keys: %v", v)
	}
	tests := []struct {
		name   string
		drop   string
		err    error
		code   string
		status int
	}{
		{"no token", "WebIdentityToken", nil, "ValidationError", 400},
		{"invalid token", "", &iam.Error{Kind: iam.ErrInvalidIdentityToken, Message: "bad"}, "InvalidIdentityToken", 400},
		{"expired token", "", &iam.Error{Kind: iam.ErrExpiredIdentityToken, Message: "old"}, "ExpiredTokenException", 400},
		{"denied", "", &iam.Error{Kind: iam.ErrAccessDenied, Message: "no"}, "AccessDenied", 403},
		{"idp down", "", &iam.Error{Kind: iam.ErrIDPCommunication, Message: "down", Err: errors.New("x")}, "IDPCommunicationError", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wi.err = tc.err
			fm := url.Values{}
			for k, v := range form {
				if k != tc.drop {
					fm[k] = v
				}
			}
			resp, b := post(fm)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), "<Code>"+tc.code+"</Code>") {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		})
	}
	// Other STS actions still need a signature.
	resp, b = post(url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "MissingAuthenticationToken") {
		t.Fatalf("unsigned GetCallerIdentity: %d %s", resp.StatusCode, b)
	}
}
