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
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/internal/clocktest"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
	"github.com/prometheus/client_golang/prometheus"
)

// readOnly allows reading one bucket.
func readOnly(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*"]}]}`
}

func TestAuthzIdentityPolicies(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "k", []byte("data"))
	reader := f.sdkAs(t, f.newUser(t, "reader", readOnly(b)))
	none := f.sdkAs(t, f.newUser(t, "none"))

	out, err := reader.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")})
	if err != nil {
		t.Fatalf("reader GetObject: %v", err)
	}
	out.Body.Close()
	if _, err := reader.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b}); err != nil {
		t.Fatalf("reader ListObjectsV2: %v", err)
	}
	before := f.ShardCount(t)
	_, err = reader.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("w"), Body: bytes.NewReader(make([]byte, 300<<10))})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	if got := f.ShardCount(t); got != before {
		t.Fatalf("a refused PutObject stored shards: %d → %d", before, got)
	}
	_, err = reader.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	_, err = none.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	_, err = none.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)

	// The message names the caller, the action and why, as S3 does.
	resp, body := f.do(t, rawReq{method: "GET", bucket: b, key: "k"}.as(f.newUser(t, "named")))
	doc := wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	if !strings.Contains(doc.Message, "user/named is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::"+b+"/k\"") {
		t.Errorf("message %q", doc.Message)
	}
	// The root key works as before.
	f.get(t, b, "k")
}

func TestAuthzCopyNeedsReadOnTheSource(t *testing.T) {
	f := newFixture(t)
	src, dst := f.bucket(t), f.bucket(t)
	f.put(t, src, "k", []byte("data"))
	writeDst := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + dst + `/*"}]}`
	c := f.sdkAs(t, f.newUser(t, "copier", writeDst))
	_, err := c.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &dst, Key: aws.String("c"), CopySource: aws.String(src + "/k")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	if _, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &dst, Key: aws.String("c")}); err == nil {
		t.Fatal("a refused copy stored the object")
	}
	if err := f.IAM.PutInlinePolicy(context.Background(), iam.UserEntity("copier"), "read", readOnly(src)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &dst, Key: aws.String("c"), CopySource: aws.String(src + "/k")}); err != nil {
		t.Fatalf("copy with read on the source: %v", err)
	}
}

func TestAuthzDeleteObjectsChecksEachKey(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	for _, k := range []string{"tmp/a", "keep/b"} {
		f.put(t, b, k, []byte("x"))
	}
	c := f.sdkAs(t, f.newUser(t, "cleaner", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::`+b+`/tmp/*"}]}`))
	out, err := c.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("tmp/a")}, {Key: aws.String("keep/b")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "tmp/a" || len(out.Errors) != 1 ||
		aws.ToString(out.Errors[0].Key) != "keep/b" || aws.ToString(out.Errors[0].Code) != "AccessDenied" {
		t.Fatalf("deleted %+v errors %+v", out.Deleted, out.Errors)
	}
	f.get(t, b, "keep/b")
}

func TestAuthzConditionKeys(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "home/alice/x", []byte("x"))
	f.put(t, b, "home/bob/y", []byte("y"))
	// The classic home-folder policy: list only your prefix, over TLS only.
	alice := f.newUser(t, "alice", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::`+b+`",
		 "Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}},
		{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/home/${aws:username}/*"},
		{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)
	c := f.sdkAs(t, alice)
	if _, err := c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("home/alice/")}); err != nil {
		t.Fatalf("own prefix: %v", err)
	}
	_, err := c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("home/bob/")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	_, err = c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	_, err = c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("home/bob/y")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	// The raw requests go over plain HTTP: aws:SecureTransport is false.
	resp, body := f.do(t, rawReq{method: "GET", bucket: b, key: "home/alice/x"}.as(alice))
	doc := wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	if !strings.Contains(doc.Message, "explicit deny in an identity-based policy") {
		t.Errorf("message %q", doc.Message)
	}
}

func TestAuthzBucketPolicy(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "pub/k", []byte("public"))
	f.put(t, b, "priv/k", []byte("private"))
	// No policy: anonymous is refused.
	resp, body := f.do(t, rawReq{method: "GET", bucket: b, key: "pub/k", unsign: true})
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)

	pol := `{"Version":"2012-10-17","Statement":[
		{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/pub/*"},
		{"Sid":"FriendWrites","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + f.IAM.Account().ID + `:user/friend"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::` + b + `/*"}]}`
	if _, err := f.sdk.PutBucketPolicy(ctx(t), &s3.PutBucketPolicyInput{Bucket: &b, Policy: aws.String(pol)}); err != nil {
		t.Fatalf("PutBucketPolicy: %v", err)
	}
	got, err := f.sdk.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: &b})
	if err != nil || aws.ToString(got.Policy) != pol {
		t.Fatalf("GetBucketPolicy = %v, %v", got, err)
	}
	st, err := f.sdk.GetBucketPolicyStatus(ctx(t), &s3.GetBucketPolicyStatusInput{Bucket: &b})
	if err != nil || !aws.ToBool(st.PolicyStatus.IsPublic) {
		t.Fatalf("GetBucketPolicyStatus = %+v, %v", st, err)
	}
	// Plain anonymous GET, as curl sends it.
	r, err := http.Get(f.PlainURL + "/" + b + "/pub/k")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || string(data) != "public" {
		t.Fatalf("anonymous GET of a public object: %d %q", r.StatusCode, data)
	}
	resp, body = f.do(t, rawReq{method: "GET", bucket: b, key: "priv/k", unsign: true})
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	resp, body = f.do(t, rawReq{method: "PUT", bucket: b, key: "pub/new", unsign: true, body: []byte("x")})
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	// A user named by the bucket policy writes without an identity policy.
	friend := f.sdkAs(t, f.newUser(t, "friend"))
	if _, err := friend.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("from-friend"), Body: strings.NewReader("hi")}); err != nil {
		t.Fatalf("friend PutObject: %v", err)
	}
	_, err = friend.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("priv/k")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)

	// Delete it: anonymous is refused again at once.
	if _, err := f.sdk.DeleteBucketPolicy(ctx(t), &s3.DeleteBucketPolicyInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	resp, body = f.do(t, rawReq{method: "GET", bucket: b, key: "pub/k", unsign: true})
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	_, err = f.sdk.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: &b})
	wantErr(t, err, "NoSuchBucketPolicy", http.StatusNotFound)
}

// An explicit Deny in the bucket policy binds every caller, the root too,
// except for managing the policy itself.
func TestAuthzBucketPolicyDenyBindsRoot(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "k", []byte("x"))
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":["s3:DeleteObject","s3:PutBucketPolicy","s3:DeleteBucketPolicy"],"Resource":["arn:aws:s3:::` + b + `","arn:aws:s3:::` + b + `/*"]}]}`
	if _, err := f.sdk.PutBucketPolicy(ctx(t), &s3.PutBucketPolicyInput{Bucket: &b, Policy: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	_, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	f.get(t, b, "k")
	if _, err := f.sdk.DeleteBucketPolicy(ctx(t), &s3.DeleteBucketPolicyInput{Bucket: &b}); err != nil {
		t.Fatalf("the root may always remove the policy: %v", err)
	}
	if _, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
}

func TestAuthzMalformedBucketPolicy(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	tests := []struct{ name, policy, msg string }{
		{"not json", `{"Version":`, "policy"},
		{"no principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}]}`, "Principal"},
		{"other bucket", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`, "invalid resource"},
		{"not s3", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"iam:CreateUser","Resource":"arn:aws:s3:::` + b + `"}]}`, "invalid action"},
		{"bad effect", `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}]}`, "Effect"},
		{"too large", `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("a", 21<<10) + `","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}]}`, "20 KB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, rawReq{method: "PUT", bucket: b, query: url.Values{"policy": {""}}, body: []byte(tc.policy)})
			doc := wantXMLError(t, resp, body, "MalformedPolicy", http.StatusBadRequest)
			if !strings.Contains(doc.Message, tc.msg) {
				t.Errorf("message %q does not mention %q", doc.Message, tc.msg)
			}
		})
	}
	_, err := f.sdk.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: &b})
	wantErr(t, err, "NoSuchBucketPolicy", http.StatusNotFound)
}

func TestAuthzPublicAccessBlock(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "k", []byte("x"))
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}]}`
	_, err := f.sdk.GetPublicAccessBlock(ctx(t), &s3.GetPublicAccessBlockInput{Bucket: &b})
	wantErr(t, err, "NoSuchPublicAccessBlockConfiguration", http.StatusNotFound)
	if _, err := f.sdk.PutPublicAccessBlock(ctx(t), &s3.PutPublicAccessBlockInput{Bucket: &b,
		PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{BlockPublicPolicy: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	got, err := f.sdk.GetPublicAccessBlock(ctx(t), &s3.GetPublicAccessBlockInput{Bucket: &b})
	if err != nil || !aws.ToBool(got.PublicAccessBlockConfiguration.BlockPublicPolicy) || aws.ToBool(got.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
		t.Fatalf("GetPublicAccessBlock = %+v, %v", got, err)
	}
	_, err = f.sdk.PutBucketPolicy(ctx(t), &s3.PutBucketPolicyInput{Bucket: &b, Policy: aws.String(public)})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	// A policy limited to an address range is not public.
	narrow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}`
	if _, err := f.sdk.PutBucketPolicy(ctx(t), &s3.PutBucketPolicyInput{Bucket: &b, Policy: aws.String(narrow)}); err != nil {
		t.Fatalf("a non-public policy: %v", err)
	}
	resp, body := f.do(t, rawReq{method: "GET", bucket: b, key: "k", unsign: true})
	if resp.StatusCode != 200 || string(body) != "x" {
		t.Fatalf("anonymous from 127.0.0.1: %d %s", resp.StatusCode, body)
	}

	// RestrictPublicBuckets: a public policy stops serving anonymous callers.
	if _, err := f.sdk.DeletePublicAccessBlock(ctx(t), &s3.DeletePublicAccessBlockInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sdk.PutBucketPolicy(ctx(t), &s3.PutBucketPolicyInput{Bucket: &b, Policy: aws.String(public)}); err != nil {
		t.Fatal(err)
	}
	resp, _ = f.do(t, rawReq{method: "GET", bucket: b, key: "k", unsign: true})
	if resp.StatusCode != 200 {
		t.Fatalf("public policy: %d", resp.StatusCode)
	}
	if _, err := f.sdk.PutPublicAccessBlock(ctx(t), &s3.PutPublicAccessBlockInput{Bucket: &b,
		PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	resp, body = f.do(t, rawReq{method: "GET", bucket: b, key: "k", unsign: true})
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
}

// Temporary credentials: a role session works with its token only, within
// the session policy, and stops at its expiry (the injected clock).
func TestAuthzSessions(t *testing.T) {
	clk := clocktest.New(time.Now())
	f := newFixture(t, s3test.WithIAMConfig(func(c *iam.Config) { c.Now = clk.Now }))
	b := f.bucket(t)
	f.put(t, b, "k", []byte("x"))
	acct := f.IAM.Account().ID
	c := context.Background()
	if _, err := f.IAM.CreateRole(c, iam.CreateRoleInput{Name: "reader", TrustPolicy: `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/dev"},"Action":"sts:AssumeRole"}]}`}); err != nil {
		t.Fatal(err)
	}
	if err := f.IAM.PutInlinePolicy(c, iam.RoleEntity("reader"), "read", readOnly(b)); err != nil {
		t.Fatal(err)
	}
	dev := f.newUser(t, "dev")
	devCred, err := f.IAM.Credentials(c, dev.id)
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.IAM.AssumeRole(c, devCred, iam.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/reader", RoleSessionName: "sess", DurationSeconds: 900})
	if err != nil {
		t.Fatal(err)
	}
	sess := key{id: out.Credentials.AccessKeyID, secret: out.Credentials.SecretAccessKey, token: out.Credentials.SessionToken}
	resp, body := f.do(t, rawReq{method: "GET", bucket: b, key: "k"}.as(sess))
	if resp.StatusCode != 200 {
		t.Fatalf("session GET: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, rawReq{method: "PUT", bucket: b, key: "w", body: []byte("x")}.as(sess))
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	noToken := sess
	noToken.token = ""
	resp, body = f.do(t, rawReq{method: "GET", bucket: b, key: "k"}.as(noToken))
	wantXMLError(t, resp, body, "InvalidToken", http.StatusBadRequest)
	wrong := sess
	wrong.token = sess.token[:len(sess.token)-2] + "xx"
	resp, body = f.do(t, rawReq{method: "GET", bucket: b, key: "k"}.as(wrong))
	wantXMLError(t, resp, body, "InvalidToken", http.StatusBadRequest)
	clk.Advance(901 * time.Second)
	resp, body = f.do(t, rawReq{method: "GET", bucket: b, key: "k"}.as(sess))
	wantXMLError(t, resp, body, "ExpiredToken", http.StatusBadRequest)
}

func TestAuthzDecisionsAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.Registry = reg }))
	b := f.bucket(t)
	none := f.newUser(t, "none")
	f.do(t, rawReq{method: "GET", bucket: b, key: "k"}.as(none))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "filesphere_s3_authz_decisions_total" {
			continue
		}
		for _, m := range mf.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["action"] == "s3:GetObject" && labels["effect"] == "Deny" && labels["reason"] == "implicit deny" {
				found = true
			}
		}
	}
	if !found {
		t.Fatal("the refused GetObject is not counted as an implicit deny")
	}
}
