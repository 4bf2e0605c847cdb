package s3api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/iam"
)

// TestConditionKeys: each condition key the request offers reaches the
// policy: one user per case, allowed only under the condition, sends a
// request that meets it or not.
func TestConditionKeys(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	if _, err := f.sdk.PutBucketVersioning(ctx(t), &s3.PutBucketVersioningInput{Bucket: &b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	v := f.put(t, b, "k", []byte("x"))
	acct := f.IAM.Account().ID
	getK := rawReq{method: "GET", bucket: b, key: "k"}
	list := func(q ...string) rawReq {
		vals := url.Values{"list-type": {"2"}}
		for i := 0; i+1 < len(q); i += 2 {
			vals.Set(q[i], q[i+1])
		}
		return rawReq{method: "GET", bucket: b, query: vals}
	}
	withHeader := func(r rawReq, k, val string) rawReq {
		r.header = http.Header{k: {val}}
		return r
	}
	withVersion := func(id string) rawReq {
		r := getK
		r.query = url.Values{"versionId": {id}}
		return r
	}
	unsignedPayload := getK
	unsignedPayload.payload = "UNSIGNED-PAYLOAD"
	tests := []struct {
		name, action, cond string
		req                rawReq
		allowed            bool
	}{
		{"SourceIp in", "s3:GetObject", `{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`, getK, true},
		{"SourceIp out", "s3:GetObject", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, getK, false},
		{"SecureTransport", "s3:GetObject", `{"Bool":{"aws:SecureTransport":"true"}}`, getK, false}, // plain HTTP
		{"CurrentTime", "s3:GetObject", `{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, getK, true},
		{"CurrentTime future", "s3:GetObject", `{"DateGreaterThan":{"aws:CurrentTime":"2999-01-01T00:00:00Z"}}`, getK, false},
		{"EpochTime", "s3:GetObject", `{"NumericGreaterThan":{"aws:EpochTime":"1577836800"}}`, getK, true},
		{"UserAgent", "s3:GetObject", `{"StringLike":{"aws:UserAgent":"matrix-agent*"}}`, withHeader(getK, "User-Agent", "matrix-agent/1.0"), true},
		{"UserAgent other", "s3:GetObject", `{"StringLike":{"aws:UserAgent":"matrix-agent*"}}`, withHeader(getK, "User-Agent", "curl/8"), false},
		{"Referer", "s3:GetObject", `{"StringEquals":{"aws:Referer":"https://example.com/"}}`, withHeader(getK, "Referer", "https://example.com/"), true},
		{"username", "s3:GetObject", `{"StringEquals":{"aws:username":"${aws:username}"}}`, getK, true},
		{"PrincipalType", "s3:GetObject", `{"StringEquals":{"aws:PrincipalType":"User"}}`, getK, true},
		{"PrincipalArn", "s3:GetObject", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::` + acct + `:user/cond-*"}}`, getK, true},
		{"PrincipalTag", "s3:GetObject", `{"StringEquals":{"aws:PrincipalTag/team":"blue"}}`, getK, true},
		{"userid", "s3:GetObject", `{"StringLike":{"aws:userid":"AIDA*"}}`, getK, true},
		{"prefix", "s3:ListBucket", `{"StringEquals":{"s3:prefix":"a/"}}`, list("prefix", "a/"), true},
		{"prefix other", "s3:ListBucket", `{"StringEquals":{"s3:prefix":"a/"}}`, list("prefix", "b/"), false},
		{"delimiter", "s3:ListBucket", `{"StringEquals":{"s3:delimiter":"/"}}`, list("delimiter", "/"), true},
		{"max-keys", "s3:ListBucket", `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, list("max-keys", "5"), true},
		{"max-keys too many", "s3:ListBucket", `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, list("max-keys", "500"), false},
		{"VersionId", "s3:GetObjectVersion", `{"StringEquals":{"s3:VersionId":"` + *v.VersionId + `"}}`, withVersion(*v.VersionId), true},
		{"authType header", "s3:GetObject", `{"StringEquals":{"s3:authType":"REST-HEADER"}}`, getK, true},
		{"authType query", "s3:GetObject", `{"StringEquals":{"s3:authType":"REST-QUERY-STRING"}}`, getK, false},
		{"signatureversion", "s3:GetObject", `{"StringEquals":{"s3:signatureversion":"AWS4-HMAC-SHA256"}}`, getK, true},
		{"signatureAge", "s3:GetObject", `{"NumericLessThan":{"s3:signatureAge":"600000"}}`, getK, true},
		{"content-sha256", "s3:GetObject", `{"StringNotEquals":{"s3:x-amz-content-sha256":"UNSIGNED-PAYLOAD"}}`, getK, true},
		{"content-sha256 unsigned", "s3:GetObject", `{"StringNotEquals":{"s3:x-amz-content-sha256":"UNSIGNED-PAYLOAD"}}`, unsignedPayload, false},
		// An ACL header also needs s3:PutObjectAcl, as in S3.
		{"x-amz-acl", "s3:PutObject,s3:PutObjectAcl", `{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}`,
			withHeader(rawReq{method: "PUT", bucket: b, key: "w1", body: []byte("x")}, "X-Amz-Acl", "bucket-owner-full-control"), true},
		{"x-amz-acl absent", "s3:PutObject", `{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}`,
			rawReq{method: "PUT", bucket: b, key: "w2", body: []byte("x")}, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("cond-%d", i)
			doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["` + strings.ReplaceAll(tc.action, ",", `","`) + `"],"Resource":["arn:aws:s3:::` + b +
				`","arn:aws:s3:::` + b + `/*"],"Condition":` + tc.cond + `}]}`
			k := f.newUser(t, name, doc)
			if err := f.IAM.TagEntity(t.Context(), iam.UserEntity(name), []iam.Tag{{Key: "team", Value: "blue"}}); err != nil {
				t.Fatal(err)
			}
			resp, body := f.do(t, tc.req.as(k))
			if got := resp.StatusCode < 300; got != tc.allowed {
				t.Fatalf("allowed=%v (%d %s), want %v", got, resp.StatusCode, body, tc.allowed)
			}
		})
	}
	// A presigned URL is REST-QUERY-STRING.
	pk := f.newUser(t, "cond-presign", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*",
		"Condition":{"StringEquals":{"s3:authType":"REST-QUERY-STRING"}}}]}`)
	pre, err := s3.NewPresignClient(f.sdkAs(t, pk)).PresignGetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	presp, err := f.HTTPClient().Get(pre.URL)
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	if presp.StatusCode != 200 {
		t.Fatalf("presigned GET under s3:authType REST-QUERY-STRING: %d", presp.StatusCode)
	}
	if _, err := f.sdkAs(t, pk).GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")}); errStatus(err) != http.StatusForbidden {
		t.Fatalf("header-signed GET under s3:authType REST-QUERY-STRING: %v", err)
	}

	// s3:ExistingObjectTag/* sees the version's tags; s3:RequestObjectTag/*
	// the tags a request sets.
	f.putTagged(t, b, "tagged", "public=yes&class=secret")
	tagged := rawReq{method: "GET", bucket: b, key: "tagged"}
	allowPublic := f.newUser(t, "cond-tags", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*",
		"Condition":{"StringEquals":{"s3:ExistingObjectTag/public":"yes"}}}]}`)
	if resp, body := f.do(t, tagged.as(allowPublic)); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET of an object tagged public=yes under a tag condition: %d %s", resp.StatusCode, body)
	}
	resp, body := f.do(t, getK.as(allowPublic))
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	// A Deny on a tag must not fail open.
	denySecret := f.newUser(t, "cond-deny-tags", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"s3:ExistingObjectTag/class":"secret"}}}]}`)
	resp, body = f.do(t, tagged.as(denySecret))
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	if resp, body := f.do(t, getK.as(denySecret)); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET of an untagged object under a tag Deny: %d %s", resp.StatusCode, body)
	}
	// The same Deny in a bucket policy binds the root too.
	f.putBucketPolicy(t, b, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject",
		"Resource":"arn:aws:s3:::`+b+`/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/class":"secret"}}}]}`)
	resp, body = f.do(t, tagged)
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	requestTags := f.newUser(t, "cond-request-tags", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["s3:PutObject","s3:PutObjectTagging"],"Resource":"*","Condition":{"StringEquals":{"s3:RequestObjectTag/team":"blue"}}}]}`)
	put := func(tags string) int {
		r := withHeader(rawReq{method: "PUT", bucket: b, key: "req-tags", body: []byte("x")}, "X-Amz-Tagging", tags)
		resp, _ := f.do(t, r.as(requestTags))
		return resp.StatusCode
	}
	if got := put("team=blue"); got != http.StatusOK {
		t.Fatalf("PUT with the tag the policy asks for: %d", got)
	}
	if got := put("team=red"); got != http.StatusForbidden {
		t.Fatalf("PUT with another tag: %d", got)
	}
}

// putTagged stores key with the x-amz-tagging tags given.
func (f *fixture) putTagged(t *testing.T, bucket, key, tags string) {
	t.Helper()
	if _, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader("tagged"),
		Tagging: aws.String(tags)}); err != nil {
		t.Fatal(err)
	}
}

// putBucketPolicy sets a bucket policy as root.
func (f *fixture) putBucketPolicy(t *testing.T, bucket, doc string) {
	t.Helper()
	if _, err := f.sdk.PutBucketPolicy(ctx(t), &s3.PutBucketPolicyInput{Bucket: &bucket, Policy: &doc}); err != nil {
		t.Fatal(err)
	}
}
