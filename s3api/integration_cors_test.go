package s3api_test

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7/pkg/cors"
)

// corsRules is the configuration the preflight tests run against: the
// first rule that allows a request answers it.
var corsRules = &types.CORSConfiguration{CORSRules: []types.CORSRule{
	{
		ID:             aws.String("app"),
		AllowedOrigins: []string{"https://app.example.com"},
		AllowedMethods: []string{"GET", "PUT", "POST"},
		AllowedHeaders: []string{"content-type", "x-amz-*"},
		ExposeHeaders:  []string{"ETag", "x-amz-version-id"},
		MaxAgeSeconds:  aws.Int32(3000),
	},
	{
		AllowedOrigins: []string{"http://*.example.com"},
		AllowedMethods: []string{"GET", "HEAD"},
		AllowedHeaders: []string{"*"},
	},
	{
		AllowedOrigins: []string{"*"},
		AllowedMethods: []string{"GET"},
	},
}}

// TestIntegrationCORSConfiguration puts, gets and deletes a bucket's CORS
// configuration with both SDKs, and refuses each invalid document with
// S3's code and message, changing nothing.
func TestIntegrationCORSConfiguration(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	_, err := f.sdk.GetBucketCors(ctx(t), &s3.GetBucketCorsInput{Bucket: &b})
	wantErr(t, err, "NoSuchCORSConfiguration", http.StatusNotFound)
	if _, err := f.sdk.PutBucketCors(ctx(t), &s3.PutBucketCorsInput{Bucket: &b, CORSConfiguration: corsRules}); err != nil {
		t.Fatalf("PutBucketCors: %v", err)
	}
	out, err := f.sdk.GetBucketCors(ctx(t), &s3.GetBucketCorsInput{Bucket: &b})
	if err != nil {
		t.Fatalf("GetBucketCors: %v", err)
	}
	if len(out.CORSRules) != 3 || *out.CORSRules[0].ID != "app" || *out.CORSRules[0].MaxAgeSeconds != 3000 ||
		strings.Join(out.CORSRules[0].ExposeHeaders, ",") != "ETag,x-amz-version-id" ||
		strings.Join(out.CORSRules[1].AllowedMethods, ",") != "GET,HEAD" || out.CORSRules[2].AllowedOrigins[0] != "*" ||
		out.CORSRules[2].MaxAgeSeconds != nil {
		t.Fatalf("GetBucketCors returned %+v", out.CORSRules)
	}
	// minio-go reads what the SDK wrote, and writes its own.
	mcfg, err := f.mc.GetBucketCors(ctx(t), b)
	if err != nil || len(mcfg.CORSRules) != 3 || mcfg.CORSRules[0].AllowedOrigin[0] != "https://app.example.com" {
		t.Fatalf("minio GetBucketCors: %+v %v", mcfg, err)
	}
	mine := cors.NewConfig([]cors.Rule{{AllowedOrigin: []string{"https://minio.example"}, AllowedMethod: []string{"DELETE"}}})
	if err := f.mc.SetBucketCors(ctx(t), b, mine); err != nil {
		t.Fatalf("minio SetBucketCors: %v", err)
	}
	out, err = f.sdk.GetBucketCors(ctx(t), &s3.GetBucketCorsInput{Bucket: &b})
	if err != nil || len(out.CORSRules) != 1 || out.CORSRules[0].AllowedMethods[0] != "DELETE" {
		t.Fatalf("after minio SetBucketCors: %+v %v", out, err)
	}
	if _, err := f.sdk.DeleteBucketCors(ctx(t), &s3.DeleteBucketCorsInput{Bucket: &b}); err != nil {
		t.Fatalf("DeleteBucketCors: %v", err)
	}
	_, err = f.sdk.GetBucketCors(ctx(t), &s3.GetBucketCorsInput{Bucket: &b})
	wantErr(t, err, "NoSuchCORSConfiguration", http.StatusNotFound)
	if _, err := f.sdk.DeleteBucketCors(ctx(t), &s3.DeleteBucketCorsInput{Bucket: &b}); err != nil {
		t.Fatalf("DeleteBucketCors of none: %v", err)
	}
	missing := "no-such-bucket-cors"
	_, err = f.sdk.PutBucketCors(ctx(t), &s3.PutBucketCorsInput{Bucket: &missing, CORSConfiguration: corsRules})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
	_, err = f.sdk.GetBucketCors(ctx(t), &s3.GetBucketCorsInput{Bucket: &missing})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)

	rule := func(inner string) string {
		return "<CORSConfiguration><CORSRule>" + inner + "</CORSRule></CORSConfiguration>"
	}
	var hundredOne strings.Builder
	hundredOne.WriteString("<CORSConfiguration>")
	for range 101 {
		hundredOne.WriteString("<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>")
	}
	hundredOne.WriteString("</CORSConfiguration>")
	bad := []struct {
		name, doc, code, msg string
	}{
		{"unsupported method", rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"),
			"InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"},
		{"lower-case method", rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>"),
			"InvalidRequest", "Unsupported method is get"},
		{"two wildcards in an origin", rule("<AllowedOrigin>http://*.*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
			"InvalidRequest", `AllowedOrigin "http://*.*.example.com" can not have more than one wildcard.`},
		{"two wildcards in a header", rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>x-*-*</AllowedHeader>"),
			"InvalidRequest", `AllowedHeader "x-*-*" can not have more than one wildcard.`},
		{"wildcard expose header", rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>*</ExposeHeader>"),
			"InvalidRequest", `ExposeHeader "*" contains wildcard.`},
		{"no origin", rule("<AllowedMethod>GET</AllowedMethod>"), "MalformedXML", ""},
		{"no method", rule("<AllowedOrigin>*</AllowedOrigin>"), "MalformedXML", ""},
		{"no rules", "<CORSConfiguration></CORSConfiguration>", "MalformedXML", ""},
		{"101 rules", hundredOne.String(), "MalformedXML", ""},
		{"unknown element", rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedProtocol>https</AllowedProtocol>"),
			"MalformedXML", ""},
		{"not a number", rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>soon</MaxAgeSeconds>"),
			"MalformedXML", ""},
		{"long ID", rule("<ID>" + strings.Repeat("i", 256) + "</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
			"InvalidArgument", "ID length should not exceed allowed limit of 255"},
		{"not XML", "{cors: true}", "MalformedXML", ""},
		{"another document", "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>", "MalformedXML", ""},
	}
	if _, err := f.sdk.PutBucketCors(ctx(t), &s3.PutBucketCorsInput{Bucket: &b, CORSConfiguration: corsRules}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, query: url.Values{"cors": {""}}, body: []byte(tc.doc),
				header: http.Header{"Content-Md5": {contentMD5([]byte(tc.doc))}}})
			doc := wantXMLError(t, resp, body, tc.code, http.StatusBadRequest)
			if !strings.Contains(doc.Message, tc.msg) {
				t.Errorf("message %q lacks %q", doc.Message, tc.msg)
			}
		})
	}
	good := rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>")
	t.Run("no Content-MD5", func(t *testing.T) {
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, query: url.Values{"cors": {""}}, body: []byte(good)})
		doc := wantXMLError(t, resp, body, "InvalidRequest", http.StatusBadRequest)
		if !strings.Contains(doc.Message, "Content-Md5") {
			t.Errorf("message %q", doc.Message)
		}
	})
	t.Run("wrong Content-MD5", func(t *testing.T) {
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, query: url.Values{"cors": {""}}, body: []byte(good),
			header: http.Header{"Content-Md5": {contentMD5([]byte("other"))}}})
		wantXMLError(t, resp, body, "BadDigest", http.StatusBadRequest)
	})
	t.Run("over 64 KB", func(t *testing.T) {
		doc := rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>" + strings.Repeat("<AllowedHeader>x-h</AllowedHeader>", 2000))
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, query: url.Values{"cors": {""}}, body: []byte(doc),
			header: http.Header{"Content-Md5": {contentMD5([]byte(doc))}}})
		wantXMLError(t, resp, body, "MalformedXML", http.StatusBadRequest)
	})
	t.Run("anonymous", func(t *testing.T) {
		resp, body := f.do(t, rawReq{method: http.MethodDelete, bucket: b, query: url.Values{"cors": {""}}, unsign: true})
		wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	})
	// None of the refusals changed the configuration.
	out, err = f.sdk.GetBucketCors(ctx(t), &s3.GetBucketCorsInput{Bucket: &b})
	if err != nil || len(out.CORSRules) != 3 {
		t.Fatalf("after refused PUTs: %+v %v", out, err)
	}
	// The configuration goes with its bucket.
	if _, err := f.sdk.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	_, err = f.sdk.GetBucketCors(ctx(t), &s3.GetBucketCorsInput{Bucket: &b})
	wantErr(t, err, "NoSuchCORSConfiguration", http.StatusNotFound)
}

// preflight sends an unsigned OPTIONS request.
func (f *fixture) preflight(t *testing.T, bucket, key string, h map[string]string) (*http.Response, []byte) {
	t.Helper()
	header := http.Header{}
	for k, v := range h {
		header.Set(k, v)
	}
	return f.do(t, rawReq{method: http.MethodOptions, bucket: bucket, key: key, header: header, unsign: true})
}

// TestIntegrationCORSPreflight answers preflights from the rules: the
// first matching rule's headers, 403 when no rule allows the request or
// the bucket has no configuration, 400 for a request that is no preflight.
func TestIntegrationCORSPreflight(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	plain := f.bucket(t) // no configuration
	if _, err := f.sdk.PutBucketCors(ctx(t), &s3.PutBucketCorsInput{Bucket: &b, CORSConfiguration: corsRules}); err != nil {
		t.Fatal(err)
	}
	type hdrs = map[string]string
	tests := []struct {
		name   string
		bucket string
		key    string
		req    hdrs
		status int
		code   string
		want   hdrs // response headers ("" must be absent)
	}{
		{"exact origin", b, "photo.jpg", hdrs{"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT",
			"Access-Control-Request-Headers": "Content-Type, X-Amz-Date, x-amz-content-sha256"}, 200, "", hdrs{
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Methods": "GET, PUT, POST",
			"Access-Control-Allow-Headers": "content-type, x-amz-date, x-amz-content-sha256", "Access-Control-Allow-Credentials": "true",
			"Access-Control-Expose-Headers": "ETag, x-amz-version-id", "Access-Control-Max-Age": "3000",
			"Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"}},
		{"on the bucket", b, "", hdrs{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}, 200, "",
			hdrs{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Headers": ""}},
		{"wildcard origin", b, "o", hdrs{"Origin": "http://cdn.example.com", "Access-Control-Request-Method": "HEAD",
			"Access-Control-Request-Headers": "range"}, 200, "", hdrs{"Access-Control-Allow-Origin": "http://cdn.example.com",
			"Access-Control-Allow-Methods": "GET, HEAD", "Access-Control-Allow-Headers": "range", "Access-Control-Max-Age": "",
			"Access-Control-Expose-Headers": ""}},
		{"any origin", b, "o", hdrs{"Origin": "https://elsewhere.test", "Access-Control-Request-Method": "GET"}, 200, "",
			hdrs{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "", "Access-Control-Allow-Methods": "GET"}},
		{"first rule wins", b, "o", hdrs{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}, 200, "",
			hdrs{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Max-Age": "3000"}},
		{"header not allowed", b, "o", hdrs{"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT",
			"Access-Control-Request-Headers": "content-type, authorization"}, 403, "AccessForbidden", hdrs{"Access-Control-Allow-Origin": ""}},
		{"method not allowed", b, "o", hdrs{"Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE"}, 403, "AccessForbidden", nil},
		{"wildcard needs its parts", b, "o", hdrs{"Origin": "https://cdn.example.com", "Access-Control-Request-Method": "HEAD"}, 403, "AccessForbidden", nil},
		{"wildcard is no suffix match", b, "o", hdrs{"Origin": "http://example.com", "Access-Control-Request-Method": "HEAD"}, 403, "AccessForbidden", nil},
		{"no configuration", plain, "o", hdrs{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}, 403, "AccessForbidden", nil},
		{"no Origin", b, "o", hdrs{"Access-Control-Request-Method": "GET"}, 400, "BadRequest", nil},
		{"no method", b, "o", hdrs{"Origin": "https://app.example.com"}, 400, "BadRequest", nil},
		{"unsupported method", b, "o", hdrs{"Origin": "https://app.example.com", "Access-Control-Request-Method": "PATCH"}, 400, "BadRequest", nil},
		{"no bucket", "no-such-bucket-pre", "o", hdrs{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}, 404, "NoSuchBucket", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.preflight(t, tc.bucket, tc.key, tc.req)
			if tc.code != "" {
				wantXMLError(t, resp, body, tc.code, tc.status)
			} else if resp.StatusCode != tc.status || len(body) != 0 {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			for k, v := range tc.want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
	// The refusals say what S3 says, with the method and resource type.
	resp, body := f.preflight(t, b, "o", hdrs{"Origin": "https://nope.test", "Access-Control-Request-Method": "PUT"})
	var doc struct {
		Code, Message, Method, ResourceType string
	}
	if err := xml.Unmarshal(body, &doc); err != nil || resp.StatusCode != 403 ||
		!strings.HasPrefix(doc.Message, "CORSResponse: This CORS request is not allowed.") || doc.Method != "PUT" || doc.ResourceType != "OBJECT" {
		t.Errorf("not-allowed document: %d %s", resp.StatusCode, body)
	}
	_, body = f.preflight(t, plain, "", hdrs{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
	if err := xml.Unmarshal(body, &doc); err != nil || doc.Message != "CORSResponse: CORS is not enabled for this bucket." ||
		doc.ResourceType != "BUCKET" || doc.Method != "GET" {
		t.Errorf("not-enabled document: %s", body)
	}
	_, body = f.preflight(t, b, "o", hdrs{"Origin": "https://app.example.com"})
	if err := xml.Unmarshal(body, &doc); err != nil || doc.Message != "Invalid Access-Control-Request-Method: null" {
		t.Errorf("no-method document: %s", body)
	}
	// A preflight is unauthenticated: a signature is not needed, and a
	// wrong one does not matter.
	resp, _ = f.do(t, rawReq{method: http.MethodOptions, bucket: b, key: "o", secret: "wrong",
		header: http.Header{"Origin": {"https://app.example.com"}, "Access-Control-Request-Method": {"GET"}}})
	if resp.StatusCode != 200 {
		t.Errorf("signed preflight: %d", resp.StatusCode)
	}
}

// TestIntegrationCORSActual checks the CORS headers on actual requests:
// per the first rule allowing the origin and method, on success and error
// answers alike, none without Origin or configuration.
func TestIntegrationCORSActual(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	plain := f.bucket(t)
	if _, err := f.sdk.PutBucketCors(ctx(t), &s3.PutBucketCorsInput{Bucket: &b, CORSConfiguration: corsRules}); err != nil {
		t.Fatal(err)
	}
	f.put(t, b, "o", []byte("object"))
	f.put(t, plain, "o", []byte("object"))
	type hdrs = map[string]string
	tests := []struct {
		name   string
		r      rawReq
		status int
		want   hdrs
	}{
		{"GET, exact origin", rawReq{method: "GET", bucket: b, key: "o", header: http.Header{"Origin": {"https://app.example.com"}}}, 200,
			hdrs{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Expose-Headers": "ETag, x-amz-version-id",
				"Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Methods": "GET, PUT, POST", "Access-Control-Max-Age": "3000",
				"Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"}},
		{"PUT, exact origin", rawReq{method: "PUT", bucket: b, key: "p", body: []byte("x"), header: http.Header{"Origin": {"https://app.example.com"}}}, 200,
			hdrs{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{"HEAD, wildcard origin", rawReq{method: "HEAD", bucket: b, key: "o", header: http.Header{"Origin": {"http://img.example.com"}}}, 200,
			hdrs{"Access-Control-Allow-Origin": "http://img.example.com", "Access-Control-Expose-Headers": ""}},
		{"GET, any origin", rawReq{method: "GET", bucket: b, key: "o", header: http.Header{"Origin": {"https://other.test"}}}, 200,
			hdrs{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""}},
		{"DELETE, no rule", rawReq{method: "DELETE", bucket: b, key: "gone", header: http.Header{"Origin": {"https://other.test"}}}, 204,
			hdrs{"Access-Control-Allow-Origin": "", "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"}},
		{"error answer", rawReq{method: "GET", bucket: b, key: "missing", header: http.Header{"Origin": {"https://app.example.com"}}}, 404,
			hdrs{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{"anonymous refusal", rawReq{method: "GET", bucket: b, key: "o", unsign: true, header: http.Header{"Origin": {"https://app.example.com"}}}, 403,
			hdrs{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{"bucket listing", rawReq{method: "GET", bucket: b, query: url.Values{"list-type": {"2"}}, header: http.Header{"Origin": {"https://app.example.com"}}}, 200,
			hdrs{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{"no Origin", rawReq{method: "GET", bucket: b, key: "o"}, 200, hdrs{"Access-Control-Allow-Origin": "", "Vary": ""}},
		{"no configuration", rawReq{method: "GET", bucket: plain, key: "o", header: http.Header{"Origin": {"https://app.example.com"}}}, 200,
			hdrs{"Access-Control-Allow-Origin": "", "Vary": ""}},
		{"no bucket", rawReq{method: "GET", bucket: "no-such-bucket-act", key: "o", header: http.Header{"Origin": {"https://app.example.com"}}}, 404,
			hdrs{"Access-Control-Allow-Origin": ""}},
		{"service", rawReq{method: "GET", header: http.Header{"Origin": {"https://app.example.com"}}}, 200, hdrs{"Access-Control-Allow-Origin": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, tc.r)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			for k, v := range tc.want {
				if got := strings.Join(resp.Header.Values(k), ", "); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
	// A change made through this node applies to the next request.
	if _, err := f.sdk.DeleteBucketCors(ctx(t), &s3.DeleteBucketCorsInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	resp, _ := f.do(t, rawReq{method: "GET", bucket: b, key: "o", header: http.Header{"Origin": {"https://app.example.com"}}})
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Fatalf("after DeleteBucketCors: Access-Control-Allow-Origin %q", v)
	}
	resp, body := f.preflight(t, b, "o", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
	wantXMLError(t, resp, body, "AccessForbidden", http.StatusForbidden)
}
