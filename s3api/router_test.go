package s3api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// TestClassify checks request → operation classification with requests
// shaped like the examples of the S3 API reference.
func TestClassify(t *testing.T) {
	tests := []struct {
		method, target string
		header         map[string]string
		domain, host   string
		want           Route
	}{
		{"GET", "/", nil, "", "", Route{Op: OpListBuckets}},
		{"GET", "/.well-known/openid-configuration", nil, "", "", Route{Op: OpOAuth}},
		{"POST", "/.filesphere/oauth/token", nil, "", "", Route{Op: OpOAuth}},
		{"GET", "/.well-known/other", nil, "", "", Route{Op: OpGetObject, Bucket: ".well-known", Key: "other"}},
		{"PUT", "/", nil, "", "", Route{Op: OpMethodNotAllowed}},
		{"PUT", "/examplebucket", nil, "", "", Route{Op: OpCreateBucket, Bucket: "examplebucket"}},
		{"HEAD", "/examplebucket", nil, "", "", Route{Op: OpHeadBucket, Bucket: "examplebucket"}},
		{"DELETE", "/examplebucket/", nil, "", "", Route{Op: OpDeleteBucket, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?location", nil, "", "", Route{Op: OpGetBucketLocation, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?versioning", nil, "", "", Route{Op: OpGetBucketVersioning, Bucket: "examplebucket"}},
		{"PUT", "/examplebucket?versioning", nil, "", "", Route{Op: OpPutBucketVersioning, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?versions&prefix=a", nil, "", "", Route{Op: OpListObjectVersions, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?uploads", nil, "", "", Route{Op: OpListMultipartUploads, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?list-type=2&prefix=photos", nil, "", "", Route{Op: OpListObjectsV2, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?prefix=photos&max-keys=50&marker=puppy", nil, "", "", Route{Op: OpListObjectsV1, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?acl", nil, "", "", Route{Op: OpGetBucketACL, Bucket: "examplebucket"}},
		{"POST", "/examplebucket?delete", nil, "", "", Route{Op: OpDeleteObjects, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?tagging", nil, "", "", Route{Op: OpGetBucketTagging, Bucket: "examplebucket"}},
		{"PUT", "/examplebucket?tagging", nil, "", "", Route{Op: OpPutBucketTagging, Bucket: "examplebucket"}},
		{"DELETE", "/examplebucket?tagging", nil, "", "", Route{Op: OpDeleteBucketTagging, Bucket: "examplebucket"}},
		{"PUT", "/examplebucket?object-lock", nil, "", "", Route{Op: OpPutObjectLockConfig, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?object-lock", nil, "", "", Route{Op: OpGetObjectLockConfig, Bucket: "examplebucket"}},
		{"DELETE", "/examplebucket?object-lock", nil, "", "", Route{Op: OpMethodNotAllowed, Bucket: "examplebucket"}},
		{"PUT", "/examplebucket?lifecycle", nil, "", "", Route{Op: OpPutBucketLifecycle, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?lifecycle", nil, "", "", Route{Op: OpGetBucketLifecycle, Bucket: "examplebucket"}},
		{"DELETE", "/examplebucket?lifecycle", nil, "", "", Route{Op: OpDeleteBucketLifecycle, Bucket: "examplebucket"}},
		{"POST", "/examplebucket?lifecycle", nil, "", "", Route{Op: OpMethodNotAllowed, Bucket: "examplebucket"}},
		{"PUT", "/examplebucket/obj?lifecycle", nil, "", "", Route{Op: OpNotImplemented, Bucket: "examplebucket", Key: "obj", Sub: "lifecycle"}},
		// A version's subresources on a bucket are refused, never a CreateBucket.
		{"PUT", "/examplebucket?retention", nil, "", "", Route{Op: OpNotImplemented, Bucket: "examplebucket", Sub: "retention"}},
		{"PUT", "/examplebucket?legal-hold", nil, "", "", Route{Op: OpNotImplemented, Bucket: "examplebucket", Sub: "legal-hold"}},
		{"PUT", "/examplebucket?policy", nil, "", "", Route{Op: OpPutBucketPolicy, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?policy", nil, "", "", Route{Op: OpGetBucketPolicy, Bucket: "examplebucket"}},
		{"DELETE", "/examplebucket?policy", nil, "", "", Route{Op: OpDeleteBucketPolicy, Bucket: "examplebucket"}},
		{"POST", "/examplebucket?policy", nil, "", "", Route{Op: OpMethodNotAllowed, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?policyStatus", nil, "", "", Route{Op: OpGetBucketPolicyStatus, Bucket: "examplebucket"}},
		{"PUT", "/examplebucket?publicAccessBlock", nil, "", "", Route{Op: OpPutPublicAccessBlock, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?publicAccessBlock", nil, "", "", Route{Op: OpGetPublicAccessBlock, Bucket: "examplebucket"}},
		{"DELETE", "/examplebucket?publicAccessBlock", nil, "", "", Route{Op: OpDeletePublicAccessBlock, Bucket: "examplebucket"}},
		{"PUT", "/examplebucket?ownershipControls", nil, "", "", Route{Op: OpPutBucketOwnershipControls, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?ownershipControls", nil, "", "", Route{Op: OpGetBucketOwnershipControls, Bucket: "examplebucket"}},
		{"DELETE", "/examplebucket?ownershipControls", nil, "", "", Route{Op: OpDeleteBucketOwnershipControls, Bucket: "examplebucket"}},
		{"PUT", "/examplebucket?acl", nil, "", "", Route{Op: OpPutBucketACL, Bucket: "examplebucket"}},
		{"PUT", "/examplebucket/k?acl", nil, "", "", Route{Op: OpPutObjectACL, Bucket: "examplebucket", Key: "k"}},
		{"GET", "/examplebucket/k?acl&versionId=v", nil, "", "", Route{Op: OpGetObjectACL, Bucket: "examplebucket", Key: "k"}},
		{"GET", "/examplebucket/my-image.jpg", nil, "", "", Route{Op: OpGetObject, Bucket: "examplebucket", Key: "my-image.jpg"}},
		{"HEAD", "/examplebucket/my-image.jpg", nil, "", "", Route{Op: OpHeadObject, Bucket: "examplebucket", Key: "my-image.jpg"}},
		{"PUT", "/examplebucket/my-image.jpg", nil, "", "", Route{Op: OpPutObject, Bucket: "examplebucket", Key: "my-image.jpg"}},
		{"PUT", "/examplebucket/copy.jpg", map[string]string{"X-Amz-Copy-Source": "/examplebucket/my-image.jpg"}, "", "", Route{Op: OpCopyObject, Bucket: "examplebucket", Key: "copy.jpg"}},
		{"DELETE", "/examplebucket/my-image.jpg?versionId=v1", nil, "", "", Route{Op: OpDeleteObject, Bucket: "examplebucket", Key: "my-image.jpg"}},
		{"POST", "/examplebucket/example-object?uploads", nil, "", "", Route{Op: OpCreateMultipartUpload, Bucket: "examplebucket", Key: "example-object"}},
		{"PUT", "/examplebucket/example-object?partNumber=1&uploadId=abc", nil, "", "", Route{Op: OpUploadPart, Bucket: "examplebucket", Key: "example-object"}},
		{"PUT", "/examplebucket/example-object?partNumber=2&uploadId=abc", map[string]string{"X-Amz-Copy-Source": "/src/obj"}, "", "", Route{Op: OpUploadPartCopy, Bucket: "examplebucket", Key: "example-object"}},
		{"POST", "/examplebucket/example-object?uploadId=abc", nil, "", "", Route{Op: OpCompleteMultipartUpload, Bucket: "examplebucket", Key: "example-object"}},
		{"DELETE", "/examplebucket/example-object?uploadId=abc", nil, "", "", Route{Op: OpAbortMultipartUpload, Bucket: "examplebucket", Key: "example-object"}},
		{"GET", "/examplebucket/example-object?uploadId=abc&max-parts=2", nil, "", "", Route{Op: OpListParts, Bucket: "examplebucket", Key: "example-object"}},
		{"GET", "/examplebucket/example-object?tagging", nil, "", "", Route{Op: OpGetObjectTagging, Bucket: "examplebucket", Key: "example-object"}},
		{"PUT", "/examplebucket/example-object?tagging&versionId=v1", nil, "", "", Route{Op: OpPutObjectTagging, Bucket: "examplebucket", Key: "example-object"}},
		{"DELETE", "/examplebucket/example-object?tagging", nil, "", "", Route{Op: OpDeleteObjectTagging, Bucket: "examplebucket", Key: "example-object"}},
		{"PUT", "/examplebucket/example-object?retention", nil, "", "", Route{Op: OpPutObjectRetention, Bucket: "examplebucket", Key: "example-object"}},
		{"GET", "/examplebucket/example-object?retention&versionId=v1", nil, "", "", Route{Op: OpGetObjectRetention, Bucket: "examplebucket", Key: "example-object"}},
		{"DELETE", "/examplebucket/example-object?retention", nil, "", "", Route{Op: OpMethodNotAllowed, Bucket: "examplebucket", Key: "example-object"}},
		{"PUT", "/examplebucket/example-object?legal-hold", nil, "", "", Route{Op: OpPutObjectLegalHold, Bucket: "examplebucket", Key: "example-object"}},
		{"GET", "/examplebucket/example-object?legal-hold", nil, "", "", Route{Op: OpGetObjectLegalHold, Bucket: "examplebucket", Key: "example-object"}},
		{"PUT", "/examplebucket/example-object?object-lock", nil, "", "", Route{Op: OpNotImplemented, Bucket: "examplebucket", Key: "example-object", Sub: "object-lock"}},
		{"POST", "/examplebucket/example-object?select&select-type=2", nil, "", "", Route{Op: OpNotImplemented, Bucket: "examplebucket", Key: "example-object", Sub: "select"}},
		// Keys keep their shape: no cleaning of dots or double slashes.
		{"GET", "/b/../a", nil, "", "", Route{Op: OpGetObject, Bucket: "b", Key: "../a"}},
		{"GET", "/b/a//b/", nil, "", "", Route{Op: OpGetObject, Bucket: "b", Key: "a//b/"}},
		{"GET", "/b/a%2Fb%20c", nil, "", "", Route{Op: OpGetObject, Bucket: "b", Key: "a/b c"}},
		// Virtual-host style.
		{"GET", "/photo.jpg", nil, "s3.example.test", "examplebucket.s3.example.test:9000", Route{Op: OpGetObject, Bucket: "examplebucket", Key: "photo.jpg"}},
		{"GET", "/?list-type=2", nil, "s3.example.test", "examplebucket.s3.example.test", Route{Op: OpListObjectsV2, Bucket: "examplebucket"}},
		{"GET", "/", nil, "s3.example.test", "s3.example.test", Route{Op: OpListBuckets}},
		// Subresources S3 added: refused, not taken for ListObjects.
		{"GET", "/examplebucket?metadataConfiguration", nil, "", "", Route{Op: OpNotImplemented, Bucket: "examplebucket", Sub: "metadataConfiguration"}},
		{"PUT", "/examplebucket?abac", nil, "", "", Route{Op: OpNotImplemented, Bucket: "examplebucket", Sub: "abac"}},
		// The Query APIs, by credential scope or, unsigned, by their form.
		{"POST", "/", map[string]string{"Authorization": iamAuth, "Content-Type": "application/x-www-form-urlencoded"}, "", "", Route{Op: OpIAM, API: APIIAM}},
		{"POST", "/", map[string]string{"Authorization": strings.Replace(iamAuth, "/iam/", "/sts/", 1)}, "", "", Route{Op: OpSTS, API: APISTS}},
		{"GET", "/?Action=ListUsers&X-Amz-Credential=AK%2F20260101%2Fus-east-1%2Fiam%2Faws4_request", nil, "", "", Route{Op: OpIAM, API: APIIAM}},
		{"POST", "/", map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, "", "", Route{Op: OpSTS, API: APISTS}},
		{"GET", "/?Action=AssumeRoleWithWebIdentity", nil, "", "", Route{Op: OpSTS, API: APISTS}},
		// An S3 scope stays S3 whatever the form says.
		{"POST", "/", map[string]string{"Authorization": strings.Replace(iamAuth, "/iam/", "/s3/", 1), "Content-Type": "application/x-www-form-urlencoded"}, "", "", Route{Op: OpMethodNotAllowed}},
		// A POST to a bucket is a browser-based upload, whatever its
		// form (the handler refuses what is not multipart/form-data).
		{"POST", "/bucket", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "", "", Route{Op: OpPostObject, Bucket: "bucket"}},
		{"POST", "/examplebucket", map[string]string{"Content-Type": "multipart/form-data; boundary=9431149156168"}, "", "", Route{Op: OpPostObject, Bucket: "examplebucket"}},
		{"POST", "/", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, "s3.example.test", "examplebucket.s3.example.test", Route{Op: OpPostObject, Bucket: "examplebucket"}},
		// CORS: the configuration, and preflights on buckets and objects.
		{"PUT", "/examplebucket?cors", nil, "", "", Route{Op: OpPutBucketCors, Bucket: "examplebucket"}},
		{"GET", "/examplebucket?cors", nil, "", "", Route{Op: OpGetBucketCors, Bucket: "examplebucket"}},
		{"DELETE", "/examplebucket?cors", nil, "", "", Route{Op: OpDeleteBucketCors, Bucket: "examplebucket"}},
		{"OPTIONS", "/examplebucket/exampleobject", map[string]string{"Origin": "http://www.example.com", "Access-Control-Request-Method": "PUT"}, "", "", Route{Op: OpPreflight, Bucket: "examplebucket", Key: "exampleobject"}},
		{"OPTIONS", "/examplebucket", nil, "", "", Route{Op: OpPreflight, Bucket: "examplebucket"}},
		{"OPTIONS", "/examplebucket/o?tagging", nil, "", "", Route{Op: OpPreflight, Bucket: "examplebucket", Key: "o"}},
		{"OPTIONS", "/", nil, "", "", Route{Op: OpMethodNotAllowed}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.host != "" {
				r.Host = tc.host
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			if tc.want.API == "" {
				tc.want.API = APIS3
			}
			if got := classify(r, tc.domain); got != tc.want {
				t.Fatalf("classify = %+v, want %+v", got, tc.want)
			}
		})
	}
}

const iamAuth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=" +
	"0000000000000000000000000000000000000000000000000000000000000000"

// TestErrorTable checks every code has a status and message, and that the
// renderer writes XML with the request id.
func TestErrorTable(t *testing.T) {
	for code, def := range errorTable {
		if def.Status < 300 || def.Status > 599 || def.Message == "" {
			t.Errorf("%s: bad table entry %+v", code, def)
		}
	}
	s := &Server{log: logrus.NewEntry(logrus.New())}
	req := &request{Request: httptest.NewRequest("GET", "/b/k", nil), reqID: "REQ123"}
	w := httptest.NewRecorder()
	status := s.renderError(w, req, &APIError{Code: ErrNoSuchKey, Key: "k"})
	if status != http.StatusNotFound || w.Code != http.StatusNotFound {
		t.Fatalf("status %d", status)
	}
	body := w.Body.String()
	for _, want := range []string{"<Code>NoSuchKey</Code>", "<RequestId>REQ123</RequestId>", "<Resource>/b/k</Resource>", "<Key>k</Key>"} {
		if !contains(body, want) {
			t.Errorf("error body %q lacks %q", body, want)
		}
	}
	// Anything unmapped is InternalError.
	if got := toAPIError(errString("boom")).Code; got != ErrInternalError {
		t.Errorf("unmapped error became %s", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
