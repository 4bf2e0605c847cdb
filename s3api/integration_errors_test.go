package s3api_test

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// TestPreciseAuthErrors checks that the client sees what sigv4 found wrong,
// not the code's generic text, and the region to retry in.
func TestPreciseAuthErrors(t *testing.T) {
	f := newFixture(t)
	get := func(t *testing.T, u string) (*http.Response, []byte) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		return resp, readAll(t, resp.Body)
	}
	presign := func(t *testing.T, signedAt time.Time, expires string) string {
		req, _ := http.NewRequest("GET", f.PlainURL+"/b/k?X-Amz-Expires="+expires, nil)
		u, _, err := v4.NewSigner().PresignHTTP(ctx(t), aws.Credentials{AccessKeyID: f.AccessKey, SecretAccessKey: f.SecretKey},
			req, "UNSIGNED-PAYLOAD", "s3", s3test.Region, signedAt)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}

	t.Run("wrong-region", func(t *testing.T) {
		resp, body := f.do(t, rawReq{method: "GET", region: "eu-west-3"})
		doc := wantXMLError(t, resp, body, "AuthorizationHeaderMalformed", 400)
		if !strings.Contains(doc.Message, "the region 'eu-west-3' is wrong; expecting 'us-east-1'") {
			t.Errorf("message %q does not name the regions", doc.Message)
		}
		var withRegion struct{ Region string }
		if err := xml.Unmarshal(body, &withRegion); err != nil || withRegion.Region != "us-east-1" {
			t.Errorf("error body has no <Region>us-east-1</Region>: %s", body)
		}
	})
	t.Run("presigned-wrong-region", func(t *testing.T) {
		req, _ := http.NewRequest("GET", f.PlainURL+"/b/k?X-Amz-Expires=60", nil)
		u, _, err := v4.NewSigner().PresignHTTP(ctx(t), aws.Credentials{AccessKeyID: f.AccessKey, SecretAccessKey: f.SecretKey},
			req, "UNSIGNED-PAYLOAD", "s3", "ap-south-2", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp, body := get(t, u)
		doc := wantXMLError(t, resp, body, "AuthorizationQueryParametersError", 400)
		if !strings.Contains(doc.Message, "'ap-south-2' is wrong; expecting 'us-east-1'") {
			t.Errorf("message %q does not name the regions", doc.Message)
		}
	})
	t.Run("expired-presigned", func(t *testing.T) {
		resp, body := get(t, presign(t, time.Now().Add(-time.Hour), "60"))
		if doc := wantXMLError(t, resp, body, "AccessDenied", 403); doc.Message != "Request has expired" {
			t.Errorf("message %q, want \"Request has expired\"", doc.Message)
		}
	})
	t.Run("malformed-expires", func(t *testing.T) {
		resp, body := get(t, presign(t, time.Now(), "999999999"))
		if doc := wantXMLError(t, resp, body, "AuthorizationQueryParametersError", 400); !strings.Contains(doc.Message, "X-Amz-Expires") {
			t.Errorf("message %q does not name X-Amz-Expires", doc.Message)
		}
	})
	t.Run("missing-parameter", func(t *testing.T) {
		u := strings.Replace(presign(t, time.Now(), "60"), "X-Amz-Date=", "X-Amz-Dat=", 1)
		resp, body := get(t, u)
		if doc := wantXMLError(t, resp, body, "AuthorizationQueryParametersError", 400); !strings.Contains(doc.Message, "X-Amz-Date is missing") {
			t.Errorf("message %q does not say X-Amz-Date is missing", doc.Message)
		}
	})
	t.Run("sigv2-presigned", func(t *testing.T) {
		resp, body := get(t, f.PlainURL+"/b/k?AWSAccessKeyId="+f.AccessKey+"&Expires=1999999999&Signature=abc%3D")
		if doc := wantXMLError(t, resp, body, "InvalidArgument", 400); !strings.Contains(doc.Message, "Signature Version 2 presigned URLs") {
			t.Errorf("message %q does not say SigV2 presigned URLs are refused", doc.Message)
		}
	})
	t.Run("skew", func(t *testing.T) {
		req := f.newRaw(t, rawReq{method: "GET"})
		signer := v4.NewSigner()
		req.Header.Del("Authorization")
		if err := signer.SignHTTP(ctx(t), aws.Credentials{AccessKeyID: f.AccessKey, SecretAccessKey: f.SecretKey}, req,
			req.Header.Get("X-Amz-Content-Sha256"), "s3", s3test.Region, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp.Body)
		if doc := wantXMLError(t, resp, body, "RequestTimeTooSkewed", 403); !strings.Contains(doc.Message, "at most 15m0s") {
			t.Errorf("message %q does not say how much skew is allowed", doc.Message)
		}
	})
}

// queryError is the IAM/STS error document.
type queryError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct{ Type, Code, Message string }
	ReqID   string `xml:"RequestId"`
}

// TestQueryAPIErrors checks that IAM and STS requests the server does
// not serve get a fast 4xx in the Query APIs' own shape: unknown actions
// InvalidAction, real actions not built NotImplemented (status 400, so
// clients do not retry), anonymous requests MissingAuthenticationToken.
func TestQueryAPIErrors(t *testing.T) {
	f := newFixture(t)
	form := func(s string) []byte { return []byte(s) }
	formCT := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	const iamNS, stsNS = "https://iam.amazonaws.com/doc/2010-05-08/", "https://sts.amazonaws.com/doc/2011-06-15/"
	tests := []struct {
		name   string
		r      rawReq
		ns     string
		code   string
		status int
	}{
		{"iam-unknown", rawReq{method: "POST", service: "iam", body: form("Action=MakeCoffee&Version=2010-05-08"), header: formCT}, iamNS, "InvalidAction", 400},
		{"iam-not-built", rawReq{method: "POST", service: "iam", body: form("Action=ListEntitiesForPolicy&Version=2010-05-08"), header: formCT}, iamNS, "NotImplemented", 400},
		{"iam-no-action", rawReq{method: "POST", service: "iam", body: form("Version=2010-05-08"), header: formCT}, iamNS, "MissingAction", 400},
		{"iam-wrong-version", rawReq{method: "POST", service: "iam", body: form("Action=ListUsers&Version=2011-06-15"), header: formCT}, iamNS, "InvalidAction", 400},
		{"sts-unknown", rawReq{method: "POST", service: "sts", body: form("Action=Nope&Version=2011-06-15"), header: formCT}, stsNS, "InvalidAction", 400},
		{"sts-not-built", rawReq{method: "POST", service: "sts", body: form("Action=GetFederationToken&Version=2011-06-15&Name=x"), header: formCT}, stsNS, "NotImplemented", 400},
		{"sts-unsigned", rawReq{method: "POST", unsign: true, body: form("Action=AssumeRoleWithWebIdentity&Version=2011-06-15"), header: formCT}, stsNS, "NotImplemented", 400},
		{"sts-unsigned-query", rawReq{method: "GET", unsign: true, query: url.Values{"Action": {"AssumeRoleWithWebIdentity"}}}, stsNS, "NotImplemented", 400},
		{"sts-unsigned-caller", rawReq{method: "POST", unsign: true, body: form("Action=GetCallerIdentity&Version=2011-06-15"), header: formCT}, stsNS, "MissingAuthenticationToken", 403},
		{"iam-bad-key", rawReq{method: "POST", service: "iam", access: "AKIAIOSFODNN7EXAMPLE", body: form("Action=ListUsers&Version=2010-05-08"), header: formCT}, iamNS, "InvalidClientTokenId", 403},
		{"iam-missing-param", rawReq{method: "POST", service: "iam", body: form("Action=CreateUser&Version=2010-05-08"), header: formCT}, iamNS, "ValidationError", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, tc.r)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "text/xml" {
				t.Fatalf("got %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			var doc queryError
			if err := xml.Unmarshal(body, &doc); err != nil {
				t.Fatalf("not an ErrorResponse: %v: %s", err, body)
			}
			if doc.XMLName.Space != tc.ns || doc.Error.Type != "Sender" || doc.Error.Code != tc.code ||
				doc.Error.Message == "" || doc.ReqID == "" || doc.ReqID != resp.Header.Get("X-Amz-Request-Id") {
				t.Errorf("error document %+v: %s", doc, body)
			}
		})
	}
	// ListBuckets (GET /, S3 scope) is still S3.
	if _, err := f.sdk.ListBuckets(ctx(t), &s3.ListBucketsInput{}); err != nil {
		t.Errorf("ListBuckets: %v", err)
	}
}

// TestCreateBucketLocation checks that a client without a region (which
// sends "aws-global") or with an empty constraint creates a bucket in the
// server's region, and another region is refused with advice.
func TestCreateBucketLocation(t *testing.T) {
	f := newFixture(t)
	body := func(loc string) []byte {
		return []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>` +
			loc + `</LocationConstraint></CreateBucketConfiguration>`)
	}
	for i, loc := range []string{"aws-global", "", s3test.Region} {
		b := fmt.Sprintf("loc-%d-%d", i, time.Now().UnixNano()%1e9)
		if resp, out := f.do(t, rawReq{method: "PUT", bucket: b, body: body(loc)}); resp.StatusCode != 200 {
			t.Fatalf("LocationConstraint %q: %d %s", loc, resp.StatusCode, out)
		}
		got, err := f.sdk.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: &b})
		if err != nil || aws.ToString(got.BucketRegion) != s3test.Region {
			t.Errorf("LocationConstraint %q: bucket region %v, %v", loc, aws.ToString(got.BucketRegion), err)
		}
	}
	resp, out := f.do(t, rawReq{method: "PUT", bucket: "loc-elsewhere", body: body("eu-west-1")})
	if doc := wantXMLError(t, resp, out, "InvalidLocationConstraint", 400); !strings.Contains(doc.Message, "configure your client with region us-east-1") {
		t.Errorf("message %q gives no advice", doc.Message)
	}
	resp, out = f.do(t, rawReq{method: "PUT", bucket: "loc-tags", body: []byte(
		`<CreateBucketConfiguration><Tags><Tag><Key>a</Key><Value>b</Value></Tag></Tags></CreateBucketConfiguration>`)})
	wantXMLError(t, resp, out, "NotImplemented", 501)
	if _, err := f.sdk.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("loc-tags")}); err == nil {
		t.Errorf("a refused CreateBucket made the bucket")
	}
}

// TestListBucketsParameters checks prefix, bucket-region, max-buckets and
// continuation-token, which used to be ignored.
func TestListBucketsParameters(t *testing.T) {
	f := newFixture(t)
	for _, b := range []string{"lbp-a", "lbp-b", "lbp-c", "other-d"} {
		if _, err := f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(out *s3.ListBucketsOutput) string {
		var n []string
		for _, b := range out.Buckets {
			n = append(n, *b.Name)
		}
		return strings.Join(n, ",")
	}
	out, err := f.sdk.ListBuckets(ctx(t), &s3.ListBucketsInput{Prefix: aws.String("lbp-"), MaxBuckets: aws.Int32(2)})
	if err != nil || names(out) != "lbp-a,lbp-b" || out.ContinuationToken == nil {
		t.Fatalf("first page: %v %v", names(out), err)
	}
	out, err = f.sdk.ListBuckets(ctx(t), &s3.ListBucketsInput{Prefix: aws.String("lbp-"), MaxBuckets: aws.Int32(2), ContinuationToken: out.ContinuationToken})
	if err != nil || names(out) != "lbp-c" || out.ContinuationToken != nil {
		t.Fatalf("second page: %v %v", names(out), err)
	}
	out, err = f.sdk.ListBuckets(ctx(t), &s3.ListBucketsInput{BucketRegion: aws.String("eu-west-1")})
	if err != nil || len(out.Buckets) != 0 {
		t.Fatalf("bucket-region eu-west-1: %v %v", names(out), err)
	}
	_, err = f.sdk.ListBuckets(ctx(t), &s3.ListBucketsInput{MaxBuckets: aws.Int32(0)})
	wantErr(t, err, "InvalidArgument", 400)
}

// TestAccessLog checks the access log line: its fields, and that neither
// the secret nor a signature ever reaches the log.
func TestAccessLog(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.AccessLog, c.Log = true, logrus.NewEntry(logger) }))
	b := f.bucket(t)
	f.put(t, b, "dir/k", []byte("0123456789"))
	req, _ := http.NewRequest("GET", f.PlainURL+"/"+b+"/dir/k?X-Amz-Expires=60", nil)
	u, _, err := v4.NewSigner().PresignHTTP(ctx(t), aws.Credentials{AccessKeyID: f.AccessKey, SecretAccessKey: f.SecretKey},
		req, "UNSIGNED-PAYLOAD", "s3", s3test.Region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp.Body)
	sig := u[strings.Index(u, "X-Amz-Signature=")+len("X-Amz-Signature="):]

	var line *logrus.Entry
	for _, e := range hook.AllEntries() {
		if e.Message == "access" && e.Data["method"] == "GET" && e.Data["path"] == "/"+b+"/dir/k" {
			line = e
		}
	}
	if line == nil {
		t.Fatalf("no access line for the presigned GET among %d entries", len(hook.AllEntries()))
	}
	if line.Level != logrus.InfoLevel || line.Data["status"] != 200 || line.Data["bytes"] != int64(10) ||
		line.Data["access_key"] != f.AccessKey || line.Data["request_id"] != resp.Header.Get("X-Amz-Request-Id") ||
		line.Data["duration"] == "" {
		t.Errorf("access line %v %+v", line.Level, line.Data)
	}
	for _, e := range hook.AllEntries() {
		s, _ := e.String()
		for _, secret := range []string{f.SecretKey, sig, "X-Amz-Credential", "Signature="} {
			if strings.Contains(s, secret) {
				t.Errorf("log line contains %q: %s", secret, s)
			}
		}
	}
	// Without the flag there is no access line.
	logger2, hook2 := logtest.NewNullLogger()
	f2 := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.Log = logrus.NewEntry(logger2) }))
	f2.bucket(t)
	for _, e := range hook2.AllEntries() {
		if e.Message == "access" {
			t.Errorf("access line without AccessLog: %+v", e.Data)
		}
	}
}

// TestNotImplementedLogLevel checks that a refused feature is logged at
// info, not as a server error.
func TestNotImplementedLogLevel(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.Log = logrus.NewEntry(logger) }))
	b := f.bucket(t)
	resp, body := f.do(t, rawReq{method: "PUT", bucket: b, key: "k", body: []byte("x"),
		header: http.Header{"X-Amz-Website-Redirect-Location": {"/elsewhere"}}})
	wantXMLError(t, resp, body, "NotImplemented", 501)
	for _, e := range hook.AllEntries() {
		if e.Level <= logrus.ErrorLevel {
			t.Errorf("logged at %v: %s %+v", e.Level, e.Message, e.Data)
		}
		if e.Data["code"] == s3api.ErrNotImplemented && e.Level != logrus.InfoLevel {
			t.Errorf("NotImplemented logged at %v", e.Level)
		}
	}
}

// TestConditionalDeleteObjectsRefused checks that DeleteObjects with the
// conditions of a conditional delete is refused before deleting anything.
func TestConditionalDeleteObjectsRefused(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "a", []byte("a"))
	f.put(t, b, "b", []byte("b"))
	body := []byte(`<Delete><Object><Key>a</Key></Object><Object><Key>b</Key><ETag>"0123"</ETag></Object></Delete>`)
	resp, out := f.do(t, rawReq{method: "POST", bucket: b, query: url.Values{"delete": {""}}, body: body,
		header: http.Header{"Content-Md5": {contentMD5(body)}}})
	wantXMLError(t, resp, out, "NotImplemented", 501)
	if !f.exists(t, b, "a") || !f.exists(t, b, "b") {
		t.Errorf("a refused DeleteObjects deleted objects")
	}
}
