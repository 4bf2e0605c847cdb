package s3api_test

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
)

// documentedHeaders are the request headers the Amazon S3 API Reference
// documents for each write operation (Request Syntax of PutObject,
// CopyObject, CreateMultipartUpload, UploadPart, UploadPartCopy,
// CreateBucket and CompleteMultipartUpload; the same list as the AWS SDK
// models). Every one must be honoured or refused: the walk below fails on
// a header without a case, and on a case the server answers otherwise.
var documentedHeaders = map[string][]string{
	"PutObject": {
		"cache-control", "content-disposition", "content-encoding", "content-language", "content-length",
		"content-md5", "content-type", "expires", "if-match", "if-none-match",
		"x-amz-acl", "x-amz-grant-full-control", "x-amz-grant-read", "x-amz-grant-read-acp", "x-amz-grant-write-acp",
		"x-amz-sdk-checksum-algorithm", "x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme",
		"x-amz-checksum-md5", "x-amz-checksum-sha1", "x-amz-checksum-sha256", "x-amz-checksum-sha512",
		"x-amz-checksum-xxhash128", "x-amz-checksum-xxhash3", "x-amz-checksum-xxhash64",
		"x-amz-expected-bucket-owner", "x-amz-object-lock-event-hold", "x-amz-object-lock-event-hold-duration-days",
		"x-amz-object-lock-event-hold-duration-years", "x-amz-object-lock-legal-hold", "x-amz-object-lock-mode",
		"x-amz-object-lock-retain-until-date", "x-amz-request-payer", "x-amz-server-side-encryption",
		"x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key",
		"x-amz-server-side-encryption-customer-key-md5", "x-amz-server-side-encryption-context",
		"x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-bucket-key-enabled",
		"x-amz-storage-class", "x-amz-tagging", "x-amz-website-redirect-location", "x-amz-write-offset-bytes",
		"x-amz-meta-*",
	},
	"CopyObject": {
		"x-amz-acl", "x-amz-object-annotation-directive", "x-amz-server-side-encryption-bucket-key-enabled",
		"cache-control", "x-amz-checksum-algorithm", "content-disposition", "content-encoding", "content-language",
		"content-type", "x-amz-copy-source", "x-amz-copy-source-if-match", "x-amz-copy-source-if-modified-since",
		"x-amz-copy-source-if-none-match", "x-amz-copy-source-if-unmodified-since",
		"x-amz-copy-source-server-side-encryption-customer-algorithm",
		"x-amz-copy-source-server-side-encryption-customer-key",
		"x-amz-copy-source-server-side-encryption-customer-key-md5", "x-amz-expected-bucket-owner",
		"x-amz-source-expected-bucket-owner", "expires", "x-amz-grant-full-control", "x-amz-grant-read",
		"x-amz-grant-read-acp", "x-amz-grant-write-acp", "if-match", "if-none-match", "x-amz-metadata-directive",
		"x-amz-object-lock-event-hold", "x-amz-object-lock-event-hold-duration-days",
		"x-amz-object-lock-event-hold-duration-years", "x-amz-object-lock-legal-hold", "x-amz-object-lock-mode",
		"x-amz-object-lock-retain-until-date", "x-amz-request-payer", "x-amz-server-side-encryption",
		"x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key",
		"x-amz-server-side-encryption-customer-key-md5", "x-amz-server-side-encryption-context",
		"x-amz-server-side-encryption-aws-kms-key-id", "x-amz-storage-class", "x-amz-tagging",
		"x-amz-tagging-directive", "x-amz-website-redirect-location", "x-amz-meta-*",
	},
	"CreateMultipartUpload": {
		"x-amz-acl", "x-amz-server-side-encryption-bucket-key-enabled", "cache-control", "x-amz-checksum-algorithm",
		"x-amz-checksum-type", "content-disposition", "content-encoding", "content-language", "content-type",
		"x-amz-expected-bucket-owner", "expires", "x-amz-grant-full-control", "x-amz-grant-read",
		"x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-object-lock-event-hold",
		"x-amz-object-lock-event-hold-duration-days", "x-amz-object-lock-event-hold-duration-years",
		"x-amz-object-lock-legal-hold", "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date",
		"x-amz-request-payer", "x-amz-server-side-encryption", "x-amz-server-side-encryption-customer-algorithm",
		"x-amz-server-side-encryption-customer-key", "x-amz-server-side-encryption-customer-key-md5",
		"x-amz-server-side-encryption-context", "x-amz-server-side-encryption-aws-kms-key-id",
		"x-amz-storage-class", "x-amz-tagging", "x-amz-website-redirect-location", "x-amz-meta-*",
	},
	"UploadPart": {
		"x-amz-sdk-checksum-algorithm", "x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme",
		"x-amz-checksum-md5", "x-amz-checksum-sha1", "x-amz-checksum-sha256", "x-amz-checksum-sha512",
		"x-amz-checksum-xxhash128", "x-amz-checksum-xxhash3", "x-amz-checksum-xxhash64", "content-length",
		"content-md5", "x-amz-expected-bucket-owner", "x-amz-request-payer",
		"x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key",
		"x-amz-server-side-encryption-customer-key-md5",
	},
	"UploadPartCopy": {
		"x-amz-copy-source", "x-amz-copy-source-if-match", "x-amz-copy-source-if-modified-since",
		"x-amz-copy-source-if-none-match", "x-amz-copy-source-if-unmodified-since", "x-amz-copy-source-range",
		"x-amz-copy-source-server-side-encryption-customer-algorithm",
		"x-amz-copy-source-server-side-encryption-customer-key",
		"x-amz-copy-source-server-side-encryption-customer-key-md5", "x-amz-expected-bucket-owner",
		"x-amz-source-expected-bucket-owner", "x-amz-request-payer",
		"x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key",
		"x-amz-server-side-encryption-customer-key-md5",
	},
	"CreateBucket": {
		"x-amz-acl", "x-amz-bucket-namespace", "x-amz-grant-full-control", "x-amz-grant-read", "x-amz-grant-read-acp",
		"x-amz-grant-write", "x-amz-grant-write-acp", "x-amz-bucket-object-lock-enabled", "x-amz-object-ownership",
	},
	"CompleteMultipartUpload": {
		"x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme", "x-amz-checksum-md5",
		"x-amz-checksum-sha1", "x-amz-checksum-sha256", "x-amz-checksum-sha512", "x-amz-checksum-type",
		"x-amz-checksum-xxhash128", "x-amz-checksum-xxhash3", "x-amz-checksum-xxhash64",
		"x-amz-expected-bucket-owner", "if-match", "if-none-match", "x-amz-mp-object-size", "x-amz-request-payer",
		"x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key",
		"x-amz-server-side-encryption-customer-key-md5",
	},
}

// headerCase sends one documented header with one value. want is "" when
// the request must succeed and store, else the error code; a code on an
// honoured header is its effect (a condition that does not hold, a digest
// that does not match). Values in braces are computed for the request.
type headerCase struct {
	header, value, want string
}

const (
	ni  = "NotImplemented"
	inv = "InvalidArgument"
)

// refusedAll lists a refused header's case for each given name.
func refusedAll(value string, names ...string) []headerCase {
	out := make([]headerCase, len(names))
	for i, n := range names {
		out[i] = headerCase{n, value, ni}
	}
	return out
}

var (
	contentCases = []headerCase{
		{"cache-control", "no-cache", ""}, {"content-disposition", "attachment", ""}, {"content-encoding", "gzip", ""},
		{"content-language", "en", ""}, {"content-type", "text/x-walk", ""}, {"expires", "{date}", ""},
		{"x-amz-meta-*", "blue", ""},
	}
	// The walk's bucket has the default ownership, BucketOwnerEnforced:
	// ACLs beyond the owner's full control are AccessControlListNotSupported.
	aclCases = []headerCase{
		{"x-amz-acl", "private", ""}, {"x-amz-acl", "bucket-owner-full-control", ""}, {"x-amz-acl", "bucket-owner-read", ""},
		{"x-amz-acl", "public-read", "AccessControlListNotSupported"}, {"x-amz-acl", "authenticated-read", "AccessControlListNotSupported"},
		{"x-amz-acl", "aws-exec-read", ni}, {"x-amz-acl", "nonsense", inv},
	}
	grantCases = []headerCase{
		{"x-amz-grant-full-control", `id="0123"`, inv}, {"x-amz-grant-full-control", "{owner}", ""},
		{"x-amz-grant-read", `id="0123"`, inv}, {"x-amz-grant-read", `uri="http://acs.amazonaws.com/groups/global/AllUsers"`, "AccessControlListNotSupported"},
		{"x-amz-grant-read-acp", `id="0123"`, inv}, {"x-amz-grant-write-acp", `id="0123"`, inv},
	}
	lockCases = append(refusedAll("ON", "x-amz-object-lock-event-hold"),
		headerCase{"x-amz-object-lock-event-hold-duration-days", "1", ni},
		headerCase{"x-amz-object-lock-event-hold-duration-years", "1", ni},
		headerCase{"x-amz-object-lock-legal-hold", "ON", ni}, headerCase{"x-amz-object-lock-legal-hold", "MAYBE", inv},
		headerCase{"x-amz-object-lock-mode", "GOVERNANCE", ni}, headerCase{"x-amz-object-lock-mode", "FOREVER", inv},
		headerCase{"x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z", ni})
	sseCases = []headerCase{
		{"x-amz-server-side-encryption", "AES256", ni}, {"x-amz-server-side-encryption", "aws:kms", ni},
		{"x-amz-server-side-encryption", "rot13", inv},
		{"x-amz-server-side-encryption-context", "e30=", ni}, {"x-amz-server-side-encryption-aws-kms-key-id", "key-1", ni},
		{"x-amz-server-side-encryption-bucket-key-enabled", "true", ni},
	}
	ssecCases = []headerCase{
		{"x-amz-server-side-encryption-customer-algorithm", "AES256", ni},
		{"x-amz-server-side-encryption-customer-key", "{ssekey}", ni},
		{"x-amz-server-side-encryption-customer-key-md5", "{ssekeymd5}", ni},
	}
	copySSECCases = []headerCase{
		{"x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256", ni},
		{"x-amz-copy-source-server-side-encryption-customer-key", "{ssekey}", ni},
		{"x-amz-copy-source-server-side-encryption-customer-key-md5", "{ssekeymd5}", ni},
	}
	classCases = []headerCase{
		{"x-amz-storage-class", "STANDARD", ""}, {"x-amz-storage-class", "GLACIER", ni},
		{"x-amz-storage-class", "DEEP_ARCHIVE", ni}, {"x-amz-storage-class", "COLD", "InvalidStorageClass"},
	}
	payloadCases = []headerCase{
		{"content-length", "{len}", ""}, {"content-md5", "{md5}", ""}, {"content-md5", "{badmd5}", "BadDigest"},
		{"x-amz-sdk-checksum-algorithm", "SHA256", ""}, {"x-amz-sdk-checksum-algorithm", "XXHASH64", ni},
		{"x-amz-checksum-crc32", "{crc32}", ""}, {"x-amz-checksum-crc32", "{badcrc32}", "BadDigest"},
		{"x-amz-checksum-crc32c", "{crc32c}", ""}, {"x-amz-checksum-crc64nvme", "{crc64nvme}", ""},
		{"x-amz-checksum-sha1", "{sha1}", ""}, {"x-amz-checksum-sha256", "{sha256}", ""},
	}
	newChecksumCases = refusedAll("AAAAAAAAAAA=", "x-amz-checksum-md5", "x-amz-checksum-sha512",
		"x-amz-checksum-xxhash128", "x-amz-checksum-xxhash3", "x-amz-checksum-xxhash64")
	ownerCases = refusedAll("123456789012", "x-amz-expected-bucket-owner")
	payerCases = []headerCase{{"x-amz-request-payer", "requester", ""}}
)

func cases(groups ...[]headerCase) []headerCase {
	var out []headerCase
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

var headerCases = map[string][]headerCase{
	"PutObject": cases(contentCases, aclCases, grantCases, lockCases, sseCases, ssecCases, classCases, payloadCases,
		newChecksumCases, ownerCases, payerCases, []headerCase{
			{"if-match", `"0123456789abcdef0123456789abcdef"`, "NoSuchKey"},
			{"if-none-match", "*", ""}, {"if-none-match", `"0123"`, ni},
			{"x-amz-tagging", "a=b", ni}, {"x-amz-website-redirect-location", "/elsewhere", ni},
			{"x-amz-write-offset-bytes", "0", ni},
		}),
	"CopyObject": cases(contentCases, aclCases, grantCases, lockCases, sseCases, ssecCases, copySSECCases, classCases,
		ownerCases, payerCases, []headerCase{
			{"x-amz-copy-source", "{source}", ""},
			{"x-amz-copy-source-if-match", "{srcetag}", ""}, {"x-amz-copy-source-if-match", `"0123"`, "PreconditionFailed"},
			{"x-amz-copy-source-if-none-match", "{srcetag}", "PreconditionFailed"},
			{"x-amz-copy-source-if-modified-since", "{future}", "PreconditionFailed"},
			{"x-amz-copy-source-if-unmodified-since", "{past}", "PreconditionFailed"},
			{"x-amz-source-expected-bucket-owner", "123456789012", ni},
			{"x-amz-checksum-algorithm", "SHA256", ""}, {"x-amz-checksum-algorithm", "MD5", ni},
			{"if-match", `"0123456789abcdef0123456789abcdef"`, "NoSuchKey"},
			{"if-none-match", "*", ""}, {"if-none-match", `"0123"`, ni},
			{"x-amz-metadata-directive", "REPLACE", ""}, {"x-amz-metadata-directive", "MERGE", inv},
			{"x-amz-tagging-directive", "COPY", ""}, {"x-amz-tagging-directive", "REPLACE", ""},
			{"x-amz-tagging-directive", "MERGE", inv},
			{"x-amz-tagging", "a=b", ni}, {"x-amz-website-redirect-location", "/elsewhere", ni},
			{"x-amz-object-annotation-directive", "COPY", ni},
		}),
	"CreateMultipartUpload": cases(contentCases, aclCases, grantCases, lockCases, sseCases, ssecCases, classCases,
		ownerCases, payerCases, []headerCase{
			{"x-amz-checksum-algorithm", "CRC32C", ""}, {"x-amz-checksum-algorithm", "SHA512", ni},
			{"x-amz-checksum-algorithm", "ADLER32", "InvalidRequest"},
			{"x-amz-checksum-type", "COMPOSITE", ""}, {"x-amz-checksum-type", "FULL_OBJECT", ni},
			{"x-amz-checksum-type", "PARTIAL", "InvalidRequest"},
			{"x-amz-tagging", "a=b", ni}, {"x-amz-website-redirect-location", "/elsewhere", ni},
		}),
	"UploadPart": cases(payloadCases, newChecksumCases, ssecCases, ownerCases, payerCases),
	"UploadPartCopy": cases(copySSECCases, ssecCases, ownerCases, payerCases, []headerCase{
		{"x-amz-copy-source", "{source}", ""},
		{"x-amz-copy-source-if-match", "{srcetag}", ""}, {"x-amz-copy-source-if-match", `"0123"`, "PreconditionFailed"},
		{"x-amz-copy-source-if-none-match", "{srcetag}", "PreconditionFailed"},
		{"x-amz-copy-source-if-modified-since", "{future}", "PreconditionFailed"},
		{"x-amz-copy-source-if-unmodified-since", "{past}", "PreconditionFailed"},
		{"x-amz-copy-source-range", "bytes=0-3", ""}, {"x-amz-copy-source-range", "bytes=9-3", inv},
		{"x-amz-source-expected-bucket-owner", "123456789012", ni},
	}),
	"CreateBucket": {
		{"x-amz-acl", "private", ""}, {"x-amz-acl", "public-read", "InvalidBucketAclWithObjectOwnership"},
		{"x-amz-acl", "public-read-write", "InvalidBucketAclWithObjectOwnership"}, {"x-amz-acl", "log-delivery-write", ni},
		{"x-amz-acl", "nonsense", inv}, {"x-amz-bucket-namespace", "account-regional", ni},
		{"x-amz-grant-full-control", `id="0123"`, inv}, {"x-amz-grant-full-control", "{owner}", ""},
		{"x-amz-grant-read", `id="0123"`, inv}, {"x-amz-grant-read-acp", `id="0123"`, inv}, {"x-amz-grant-write", `id="0123"`, inv},
		{"x-amz-grant-write-acp", `uri="http://acs.amazonaws.com/groups/global/AuthenticatedUsers"`, "InvalidBucketAclWithObjectOwnership"},
		{"x-amz-bucket-object-lock-enabled", "true", ni}, {"x-amz-bucket-object-lock-enabled", "false", ""},
		{"x-amz-bucket-object-lock-enabled", "yes", inv},
		{"x-amz-object-ownership", "BucketOwnerEnforced", ""}, {"x-amz-object-ownership", "ObjectWriter", ""},
		{"x-amz-object-ownership", "BucketOwnerPreferred", ""},
		{"x-amz-object-ownership", "Anyone", inv},
	},
	"CompleteMultipartUpload": cases(newChecksumCases, ssecCases, ownerCases, payerCases, []headerCase{
		{"x-amz-checksum-crc32", "{composite}", ""}, {"x-amz-checksum-crc32", "{badcomposite}", "BadDigest"},
		{"x-amz-checksum-crc32c", "{composite}", ""}, {"x-amz-checksum-crc64nvme", "{composite}", ""},
		{"x-amz-checksum-sha1", "{composite}", ""}, {"x-amz-checksum-sha256", "{composite}", ""},
		{"x-amz-checksum-type", "COMPOSITE", ""}, {"x-amz-checksum-type", "FULL_OBJECT", ni},
		{"if-match", `"0123456789abcdef0123456789abcdef"`, "NoSuchKey"},
		{"if-none-match", "*", ""}, {"if-none-match", `"0123"`, ni},
		{"x-amz-mp-object-size", "4", ni},
	}),
}

// walkEnv is what the values in braces are computed from.
type walkEnv struct {
	f       *fixture
	bucket  string
	src     string // source object key
	srcETag string
	body    []byte
	part    []byte // the one part of a CompleteMultipartUpload
}

func sumOf(alg storage.ChecksumAlgorithm, b []byte) []byte {
	h := storage.NewChecksumHash(alg)
	h.Write(b)
	return h.Sum(nil)
}

// algOf is the checksum algorithm a header names ("" if none).
func algOf(header string) storage.ChecksumAlgorithm {
	name, ok := strings.CutPrefix(header, "x-amz-checksum-")
	if !ok {
		return ""
	}
	return storage.ChecksumAlgorithm(strings.ToUpper(name))
}

func (e *walkEnv) value(tc headerCase) string {
	b64 := base64.StdEncoding.EncodeToString
	key := []byte(strings.Repeat("k", 32))
	switch tc.value {
	case "{date}":
		return time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	case "{future}":
		return time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	case "{past}":
		return time.Now().Add(-24 * time.Hour).UTC().Format(http.TimeFormat)
	case "{len}":
		return fmt.Sprint(len(e.body))
	case "{md5}":
		return contentMD5(e.body)
	case "{badmd5}":
		return contentMD5([]byte("other"))
	case "{badcrc32}":
		return b64(sumOf(storage.ChecksumCRC32, []byte("other")))
	case "{crc32}", "{crc32c}", "{crc64nvme}", "{sha1}", "{sha256}":
		return b64(sumOf(storage.ChecksumAlgorithm(strings.ToUpper(strings.Trim(tc.value, "{}"))), e.body))
	case "{composite}":
		alg := algOf(tc.header)
		return b64(sumOf(alg, sumOf(alg, e.part))) + "-1"
	case "{badcomposite}":
		alg := algOf(tc.header)
		return b64(sumOf(alg, []byte("other"))) + "-1"
	case "{source}":
		return e.bucket + "/" + e.src
	case "{srcetag}":
		return e.srcETag
	case "{ssekey}":
		return b64(key)
	case "{ssekeymd5}":
		return contentMD5(key)
	case "{owner}":
		return `id="` + e.f.IAM.Account().CanonicalID + `"`
	}
	return tc.value
}

// TestDocumentedHeaders walks every header AWS documents for the write
// operations: each is honoured (the request succeeds and stores, or a
// condition it carries takes effect) or refused with the right code, and
// then nothing is stored.
func TestDocumentedHeaders(t *testing.T) {
	f := newFixture(t)
	e := &walkEnv{f: f, bucket: f.bucket(t), src: "walk-src", body: []byte("the body of the walk"), part: []byte("part")}
	e.srcETag = *f.put(t, e.bucket, e.src, []byte("source object of the walk")).ETag

	for op, names := range documentedHeaders {
		covered := map[string]bool{}
		for _, tc := range headerCases[op] {
			covered[tc.header] = true
		}
		for _, n := range names {
			if !covered[n] {
				t.Errorf("%s: documented header %s has no case", op, n)
			}
		}
	}
	n := 0
	for op, cs := range headerCases {
		for _, tc := range cs {
			n++
			name := strings.ReplaceAll(tc.header, "*", "color")
			value := e.value(tc)
			t.Run(op+"/"+tc.header+"="+strings.ReplaceAll(tc.value, "/", "_"), func(t *testing.T) {
				if !slices.Contains(documentedHeaders[op], tc.header) {
					t.Fatalf("case for a header AWS does not document for %s", op)
				}
				switch d := s3api.HeaderDisposition(s3api.Operation(op), name, value); {
				case d == "":
					t.Fatalf("the header table neither honours nor refuses %s on %s", name, op)
				case tc.want == ni && d != "refused", tc.want == "" && d != "honoured":
					t.Fatalf("the header table says %s, the case wants %q", d, tc.want)
				}
				e.run(t, op, fmt.Sprintf("walk-%d", n), name, value, tc.want)
			})
		}
	}
}

// run sends op with the header and checks the answer and what is stored.
func (e *walkEnv) run(t *testing.T, op, key, name, value, want string) {
	f, b := e.f, e.bucket
	h := http.Header{}
	if name != "content-length" { // sent with every body
		h.Set(name, value)
	}
	var r rawReq
	var stored func() bool
	switch op {
	case "PutObject":
		r = rawReq{method: "PUT", bucket: b, key: key, body: e.body}
		stored = func() bool { return f.exists(t, b, key) }
	case "CopyObject":
		h.Set("x-amz-copy-source", e.bucket+"/"+e.src)
		if name == "x-amz-copy-source" {
			h.Set(name, value)
		}
		r = rawReq{method: "PUT", bucket: b, key: key}
		stored = func() bool { return f.exists(t, b, key) }
	case "CreateMultipartUpload":
		r = rawReq{method: "POST", bucket: b, key: key, query: url.Values{"uploads": {""}}}
		stored = func() bool { return len(e.uploads(t, key)) > 0 }
	case "UploadPart", "UploadPartCopy":
		id := e.createUpload(t, key, "")
		r = rawReq{method: "PUT", bucket: b, key: key, query: url.Values{"uploadId": {id}, "partNumber": {"1"}}, body: e.body}
		if op == "UploadPartCopy" {
			h.Set("x-amz-copy-source", e.bucket+"/"+e.src)
			if name == "x-amz-copy-source" {
				h.Set(name, value)
			}
			r.body = nil
		}
		stored = func() bool {
			out, err := f.sdk.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id})
			if err != nil {
				t.Fatalf("ListParts: %v", err)
			}
			return len(out.Parts) > 0
		}
	case "CreateBucket":
		nb := strings.ToLower(strings.ReplaceAll(key, "_", "-")) + fmt.Sprintf("-%d", time.Now().UnixNano()%1e6)
		r = rawReq{method: "PUT", bucket: nb}
		stored = func() bool {
			_, err := f.sdk.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: &nb})
			return err == nil
		}
	case "CompleteMultipartUpload":
		id := e.createUpload(t, key, algOf(name))
		etag := e.uploadPart(t, key, id, algOf(name))
		xmlBody := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>`, etag)
		r = rawReq{method: "POST", bucket: b, key: key, query: url.Values{"uploadId": {id}}, body: []byte(xmlBody)}
		stored = func() bool { return f.exists(t, b, key) }
	default:
		t.Fatalf("no runner for %s", op)
	}
	r.header = h
	resp, body := f.do(t, r)
	if want == "" {
		if resp.StatusCode/100 != 2 {
			t.Fatalf("want success, got %d: %s", resp.StatusCode, body)
		}
		if !stored() {
			t.Fatalf("%s succeeded but stored nothing", op)
		}
		e.checkEffect(t, op, key, name, value)
		return
	}
	var doc errorDoc
	if resp.StatusCode/100 == 2 || xml.Unmarshal(body, &doc) != nil || doc.Code != want {
		t.Fatalf("want %s, got %d: %s", want, resp.StatusCode, body)
	}
	if want == ni && !strings.Contains(doc.Message, name) {
		t.Errorf("the NotImplemented message does not name %s: %s", name, doc.Message)
	}
	if stored() {
		t.Fatalf("refused with %s but stored", want)
	}
}

// checkEffect confirms a few honoured headers did what they say.
func (e *walkEnv) checkEffect(t *testing.T, op, key, name, value string) {
	if op != "PutObject" {
		return
	}
	out, err := e.f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &e.bucket, Key: &key})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	var got string
	switch name {
	case "content-type":
		got = *out.ContentType
	case "cache-control":
		got = *out.CacheControl
	case "content-language":
		got = *out.ContentLanguage
	case "x-amz-meta-color":
		got = out.Metadata["color"]
	default:
		return
	}
	if got != value {
		t.Errorf("%s stored as %q, sent %q", name, got, value)
	}
}

func (e *walkEnv) uploads(t *testing.T, key string) []string {
	out, err := e.f.sdk.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &e.bucket, Prefix: &key})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	var ids []string
	for _, u := range out.Uploads {
		if *u.Key == key {
			ids = append(ids, *u.UploadId)
		}
	}
	return ids
}

func (e *walkEnv) createUpload(t *testing.T, key string, alg storage.ChecksumAlgorithm) string {
	h := http.Header{}
	if alg != "" && slices.Contains([]storage.ChecksumAlgorithm{storage.ChecksumCRC32, storage.ChecksumCRC32C,
		storage.ChecksumSHA1, storage.ChecksumSHA256, storage.ChecksumCRC64NVME}, alg) {
		h.Set("x-amz-checksum-algorithm", string(alg))
	}
	resp, body := e.f.do(t, rawReq{method: "POST", bucket: e.bucket, key: key, query: url.Values{"uploads": {""}}, header: h})
	var res struct{ UploadId string }
	if resp.StatusCode != 200 || xml.Unmarshal(body, &res) != nil || res.UploadId == "" {
		t.Fatalf("CreateMultipartUpload: %d %s", resp.StatusCode, body)
	}
	return res.UploadId
}

func (e *walkEnv) uploadPart(t *testing.T, key, id string, alg storage.ChecksumAlgorithm) string {
	h := http.Header{}
	if alg != "" && storage.NewChecksumHash(alg) != nil {
		h.Set("x-amz-checksum-"+strings.ToLower(string(alg)), base64.StdEncoding.EncodeToString(sumOf(alg, e.part)))
	}
	resp, body := e.f.do(t, rawReq{method: "PUT", bucket: e.bucket, key: key,
		query: url.Values{"uploadId": {id}, "partNumber": {"1"}}, body: e.part, header: h})
	if resp.StatusCode != 200 {
		t.Fatalf("UploadPart: %d %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Etag")
}
