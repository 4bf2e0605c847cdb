package s3api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/filesphere/filesphere/s3api"
)

// authz/check answers from the decision a real request would get: the
// caller's identity policies, the bucket policy, an explicit deny; and it
// performs nothing.
func TestAuthzCheck(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "docs/a.txt", []byte("a"))
	reader := f.newUser(t, "reader", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::`+b+`","arn:aws:s3:::`+b+`/*"]},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/secret/*"}]}`)
	nobody := f.newUser(t, "nobody")
	// A bucket policy granting nobody writes under up/.
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + f.IAM.Account().ID +
		`:user/nobody"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::` + b + `/up/*"}]}`
	if resp, body := f.do(t, rawReq{method: "PUT", bucket: b, query: url.Values{"policy": {""}}, body: []byte(pol)}); resp.StatusCode != 204 {
		t.Fatalf("PutBucketPolicy: %d %s", resp.StatusCode, body)
	}
	check := func(k *key, resource string, actions ...string) (int, s3api.AuthzCheckResult, []byte) {
		q := url.Values{"resource": {resource}, "action": actions}
		r := rawReq{method: "GET", bucket: ".filesphere", key: "admin/v1/authz/check", query: q}
		if k != nil {
			r = r.as(*k)
		}
		resp, body := f.do(t, r)
		var out s3api.AuthzCheckResult
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatalf("answer: %v\n%s", err, body)
			}
		}
		return resp.StatusCode, out, body
	}
	tests := []struct {
		who      *key
		resource string
		want     map[string]bool
	}{
		{nil, "arn:aws:s3:::" + b + "/docs/a.txt", map[string]bool{"s3:GetObject": true, "s3:DeleteObject": true}},
		{&reader, "arn:aws:s3:::" + b + "/docs/a.txt", map[string]bool{"s3:GetObject": true, "s3:DeleteObject": false, "s3:PutObject": false}},
		{&reader, "arn:aws:s3:::" + b + "/secret/x", map[string]bool{"s3:GetObject": false}},
		{&reader, "arn:aws:s3:::" + b, map[string]bool{"s3:ListBucket": true, "s3:PutBucketPolicy": false}},
		{&reader, "*", map[string]bool{"iam:CreateUser": false, "admin:ServerInfo": false}},
		{&nobody, "arn:aws:s3:::" + b + "/up/f", map[string]bool{"s3:PutObject": true, "s3:GetObject": false}},
		{&nobody, "arn:aws:s3:::" + b + "/down/f", map[string]bool{"s3:PutObject": false}},
	}
	for _, tc := range tests {
		var actions []string
		for a := range tc.want {
			actions = append(actions, a)
		}
		status, out, body := check(tc.who, tc.resource, actions...)
		if status != 200 || out.Resource != tc.resource {
			t.Fatalf("check %s: %d %s", tc.resource, status, body)
		}
		for a, want := range tc.want {
			if got, ok := out.Allowed[a]; !ok || got != want {
				t.Errorf("check %v %s on %s: %v (present %v), want %v", tc.who != nil, a, tc.resource, got, ok, want)
			}
		}
	}
	// The check performed nothing.
	if !f.exists(t, b, "docs/a.txt") {
		t.Fatal("a check deleted the object")
	}
	// Refusals: unsigned, bad parameters, another method.
	q := url.Values{"resource": {"arn:aws:s3:::" + b}, "action": {"s3:ListBucket"}}
	resp, body := f.do(t, rawReq{method: "GET", bucket: ".filesphere", key: "admin/v1/authz/check", query: q, unsign: true})
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	for _, bad := range []url.Values{
		{"action": {"s3:ListBucket"}},
		{"resource": {"bucket"}, "action": {"s3:ListBucket"}},
		{"resource": {"*"}},
		{"resource": {"*"}, "action": {"not an action"}},
		{"resource": {"*"}, "action": {"s3:ListBucket"}, "extra": {"1"}},
	} {
		resp, body := f.do(t, rawReq{method: "GET", bucket: ".filesphere", key: "admin/v1/authz/check", query: bad})
		wantXMLError(t, resp, body, "InvalidArgument", http.StatusBadRequest)
	}
	resp, body = f.do(t, rawReq{method: "POST", bucket: ".filesphere", key: "admin/v1/authz/check", query: q})
	wantXMLError(t, resp, body, "MethodNotAllowed", http.StatusMethodNotAllowed)
}
