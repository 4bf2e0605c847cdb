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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
)

// documentedHeaders are the request headers the Amazon S3 API Reference
// documents for each write operation (Request Syntax of PutObject,
// CopyObject, CreateMultipartUpload, UploadPart, UploadPartCopy,
// CreateBucket and CompleteMultipartUpload; the same list as the AWS SDK
// models), and for GetObjectAttributes. Every one must be honoured or refused: the walk below fails on
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
	"GetObjectAttributes": {
		"x-amz-max-parts", "x-amz-part-number-marker", "x-amz-server-side-encryption-customer-algorithm",
		"x-amz-server-side-encryption-customer-key", "x-amz-server-side-encryption-customer-key-md5",
		"x-amz-request-payer", "x-amz-expected-bucket-owner", "x-amz-object-attributes",
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
	// The lock headers run against a lock-enabled bucket (see walkEnv.run),
	// mode and date each with the other.
	lockCases = append(refusedAll("ON", "x-amz-object-lock-event-hold"),
		headerCase{"x-amz-object-lock-event-hold-duration-days", "1", ni},
		headerCase{"x-amz-object-lock-event-hold-duration-years", "1", ni},
		headerCase{"x-amz-object-lock-legal-hold", "ON", ""}, headerCase{"x-amz-object-lock-legal-hold", "OFF", ""},
		headerCase{"x-amz-object-lock-legal-hold", "MAYBE", inv},
		headerCase{"x-amz-object-lock-mode", "GOVERNANCE", ""}, headerCase{"x-amz-object-lock-mode", "COMPLIANCE", ""},
		headerCase{"x-amz-object-lock-mode", "FOREVER", inv},
		headerCase{"x-amz-object-lock-retain-until-date", "{until}", ""},
		headerCase{"x-amz-object-lock-retain-until-date", "{past}", inv},
		headerCase{"x-amz-object-lock-retain-until-date", "tomorrow", inv})
	taggingCases = []headerCase{
		{"x-amz-tagging", "a=b", ""}, {"x-amz-tagging", "colour=blue%20green&empty=", ""},
		{"x-amz-tagging", "a=b&a=c", inv}, {"x-amz-tagging", "{11tags}", "BadRequest"},
		{"x-amz-tagging", "aws%3Ax=y", "InvalidTag"},
	}
	// The KMS key id and context go with x-amz-server-side-encryption:
	// aws:kms (see walkEnv.run); walkKey exists, other keys do not.
	sseCases = []headerCase{
		{"x-amz-server-side-encryption", "AES256", ""}, {"x-amz-server-side-encryption", "aws:kms", ""},
		{"x-amz-server-side-encryption", "aws:kms:dsse", ni}, {"x-amz-server-side-encryption", "rot13", inv},
		{"x-amz-server-side-encryption-context", "{ssecontext}", ""}, {"x-amz-server-side-encryption-context", "bm90IGpzb24=", inv},
		{"x-amz-server-side-encryption-aws-kms-key-id", walkKey, ""},
		{"x-amz-server-side-encryption-aws-kms-key-id", "alias/" + walkKey, ""},
		{"x-amz-server-side-encryption-aws-kms-key-id", "no-such-key", "KMS.NotFoundException"},
		{"x-amz-server-side-encryption-bucket-key-enabled", "false", ""},
		{"x-amz-server-side-encryption-bucket-key-enabled", "true", ni},
		{"x-amz-server-side-encryption-bucket-key-enabled", "maybe", inv},
	}
	// An SSE-C header is sent with the other two of its set (see
	// walkEnv.run), over TLS: a good value stores an SSE-C object, a bad
	// one is refused.
	ssecCases = []headerCase{
		{"x-amz-server-side-encryption-customer-algorithm", "AES256", ""},
		{"x-amz-server-side-encryption-customer-algorithm", "AES512", inv},
		{"x-amz-server-side-encryption-customer-key", "{ssekey}", ""},
		{"x-amz-server-side-encryption-customer-key", "c2hvcnQ=", inv},
		{"x-amz-server-side-encryption-customer-key-md5", "{ssekeymd5}", ""},
		{"x-amz-server-side-encryption-customer-key-md5", "{badmd5}", inv},
	}
	// The copy source's SSE-C headers are sent with a copy of an SSE-C
	// source.
	copySSECCases = []headerCase{
		{"x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256", ""},
		{"x-amz-copy-source-server-side-encryption-customer-algorithm", "AES512", inv},
		{"x-amz-copy-source-server-side-encryption-customer-key", "{ssekey}", ""},
		{"x-amz-copy-source-server-side-encryption-customer-key", "{otherkey}", "AccessDenied"},
		{"x-amz-copy-source-server-side-encryption-customer-key-md5", "{ssekeymd5}", ""},
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
		newChecksumCases, ownerCases, payerCases, taggingCases, []headerCase{
			{"if-match", `"0123456789abcdef0123456789abcdef"`, "NoSuchKey"},
			{"if-none-match", "*", ""}, {"if-none-match", `"0123"`, ni},
			{"x-amz-website-redirect-location", "/elsewhere", ni},
			{"x-amz-write-offset-bytes", "0", ni},
		}),
	"CopyObject": cases(contentCases, aclCases, grantCases, lockCases, sseCases, ssecCases, copySSECCases, classCases,
		ownerCases, payerCases, taggingCases, []headerCase{
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
			{"x-amz-website-redirect-location", "/elsewhere", ni},
			{"x-amz-object-annotation-directive", "COPY", ni},
		}),
	"CreateMultipartUpload": cases(contentCases, aclCases, grantCases, lockCases, sseCases, ssecCases, classCases,
		ownerCases, payerCases, taggingCases, []headerCase{
			{"x-amz-checksum-algorithm", "CRC32C", ""}, {"x-amz-checksum-algorithm", "SHA512", ni},
			{"x-amz-checksum-algorithm", "ADLER32", "InvalidRequest"},
			{"x-amz-checksum-type", "COMPOSITE", ""}, {"x-amz-checksum-type", "FULL_OBJECT", ""},
			{"x-amz-checksum-type", "PARTIAL", "InvalidRequest"},
			{"x-amz-website-redirect-location", "/elsewhere", ni},
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
		{"x-amz-bucket-object-lock-enabled", "true", ""}, {"x-amz-bucket-object-lock-enabled", "True", ""},
		{"x-amz-bucket-object-lock-enabled", "false", ""},
		{"x-amz-bucket-object-lock-enabled", "yes", inv},
		{"x-amz-object-ownership", "BucketOwnerEnforced", ""}, {"x-amz-object-ownership", "ObjectWriter", ""},
		{"x-amz-object-ownership", "BucketOwnerPreferred", ""},
		{"x-amz-object-ownership", "Anyone", inv},
	},
	"CompleteMultipartUpload": cases(newChecksumCases, ssecCases, ownerCases, payerCases, []headerCase{
		{"x-amz-checksum-crc32", "{composite}", ""}, {"x-amz-checksum-crc32", "{badcomposite}", "BadDigest"},
		{"x-amz-checksum-crc32c", "{composite}", ""}, {"x-amz-checksum-crc64nvme", "{composite}", ""},
		{"x-amz-checksum-sha1", "{composite}", ""}, {"x-amz-checksum-sha256", "{composite}", ""},
		{"x-amz-checksum-crc32", "{fullobject}", ""}, {"x-amz-checksum-crc32", "{badfullobject}", "BadDigest"},
		{"x-amz-checksum-type", "COMPOSITE", ""}, {"x-amz-checksum-type", "FULL_OBJECT", ""},
		{"x-amz-checksum-type", "PARTIAL", "InvalidRequest"},
		{"if-match", `"0123456789abcdef0123456789abcdef"`, "NoSuchKey"},
		{"if-none-match", "*", ""}, {"if-none-match", `"0123"`, ni},
		{"x-amz-mp-object-size", "4", ni},
	}),
	"GetObjectAttributes": cases(ssecCases, ownerCases, payerCases, []headerCase{
		{"x-amz-object-attributes", "ETag", ""}, {"x-amz-object-attributes", "ObjectSize,StorageClass", ""},
		{"x-amz-object-attributes", "Checksum", ""}, {"x-amz-object-attributes", "ObjectParts", ""},
		{"x-amz-object-attributes", "Colour", inv}, {"x-amz-object-attributes", " ", "InvalidRequest"},
		{"x-amz-max-parts", "1", ""}, {"x-amz-part-number-marker", "1", ""}, {"x-amz-part-number-marker", "minus", inv},
	}),
}

// walkEnv is what the values in braces are computed from.
type walkEnv struct {
	f       *fixture
	bucket  string
	locked  string // a lock-enabled bucket, for the object lock headers
	src     string // source object key (tagged srcTags)
	srcETag string
	body    []byte
	part    []byte // the one part of a CompleteMultipartUpload
	// mp is a two-part object with CRC32 part checksums, for
	// GetObjectAttributes.
	mp      string
	mpParts [][]byte
	// fullObject creates the upload of a CompleteMultipartUpload case
	// with x-amz-checksum-type: FULL_OBJECT.
	fullObject bool
	// srcC is an SSE-C object (walkSSECKey), the source of the copy
	// source SSE-C cases; ssec makes the upload of a part case SSE-C.
	srcC string
	ssec bool
}

// walkKey is the KMS key of the walk; walkSSECKey its SSE-C key.
const walkKey = "walk-key"

var walkSSECKey = []byte(strings.Repeat("k", 32))

const srcCBody = "SSE-C source of the walk"

// setSSEC sets an SSE-C header set (prefix "x-amz-" or
// "x-amz-copy-source-") for key.
func setSSEC(h http.Header, prefix string, key []byte) {
	h.Set(prefix+"server-side-encryption-customer-algorithm", "AES256")
	h.Set(prefix+"server-side-encryption-customer-key", base64.StdEncoding.EncodeToString(key))
	h.Set(prefix+"server-side-encryption-customer-key-md5", contentMD5(key))
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
	key := walkSSECKey
	switch tc.value {
	case "{date}":
		return time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	case "{future}":
		return time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	case "{past}":
		if strings.HasPrefix(tc.header, "x-amz-object-lock-") {
			return time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		}
		return time.Now().Add(-24 * time.Hour).UTC().Format(http.TimeFormat)
	case "{until}":
		return walkUntil
	case "{11tags}":
		var kv []string
		for i := range 11 {
			kv = append(kv, fmt.Sprintf("t%d=v", i))
		}
		return strings.Join(kv, "&")
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
		if alg == storage.ChecksumCRC64NVME { // full-object only
			return b64(sumOf(alg, e.part))
		}
		return b64(sumOf(alg, sumOf(alg, e.part))) + "-1"
	case "{fullobject}":
		return b64(sumOf(algOf(tc.header), e.part))
	case "{badfullobject}":
		return b64(sumOf(algOf(tc.header), []byte("other")))
	case "{badcomposite}":
		alg := algOf(tc.header)
		return b64(sumOf(alg, []byte("other"))) + "-1"
	case "{source}":
		return e.bucket + "/" + e.src
	case "{srcetag}":
		return e.srcETag
	case "{ssekey}":
		return b64(key)
	case "{otherkey}":
		return b64([]byte(strings.Repeat("o", 32)))
	case "{ssekeymd5}":
		return contentMD5(key)
	case "{ssecontext}":
		return b64([]byte(`{"project":"walk"}`))
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
	f := newFixture(t, s3test.WithEngineConfig(func(c *storage.EngineConfig) { c.MinPartSize = 1 }))
	e := &walkEnv{f: f, bucket: f.bucket(t), src: "walk-src", body: []byte("the body of the walk"), part: []byte("part"),
		mp: "walk-mp", mpParts: [][]byte{[]byte("first part"), []byte("second part")}}
	e.locked = f.lockBucket(t)
	src, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &e.bucket, Key: &e.src,
		Body: strings.NewReader("source object of the walk"), Tagging: aws.String(walkSrcTags)})
	if err != nil {
		t.Fatal(err)
	}
	e.srcETag = *src.ETag
	e.putMultipart(t)
	if _, err := f.KMS.CreateKey(ctx(t), walkKey); err != nil {
		t.Fatal(err)
	}
	e.srcC = "walk-src-c"
	h := http.Header{}
	setSSEC(h, "x-amz-", walkSSECKey)
	if resp, body := f.do(t, rawReq{method: "PUT", bucket: e.bucket, key: e.srcC, body: []byte(srcCBody), header: h, secure: true}); resp.StatusCode != 200 {
		t.Fatalf("SSE-C source: %d %s", resp.StatusCode, body)
	}

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
				e.fullObject = strings.Contains(tc.value, "fullobject") || tc.header == "x-amz-checksum-type" && tc.value == "FULL_OBJECT"
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

// walkSrcTags are the copy source's tags; walkUntil is the retain-until
// date the lock cases set.
const walkSrcTags = "src=walk"

var walkUntil = time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)

// run sends op with the header and checks the answer and what is stored.
// The object lock headers go to a lock-enabled bucket, a retention's mode
// and date each with the other, a PutObject body with its Content-MD5, as
// S3 requires.
func (e *walkEnv) run(t *testing.T, op, key, name, value, want string) {
	f, b := e.f, e.bucket
	h := http.Header{}
	if name != "content-length" { // sent with every body
		h.Set(name, value)
	}
	if strings.HasPrefix(name, "x-amz-object-lock-") && op != "CreateBucket" {
		b = e.locked
		switch name {
		case "x-amz-object-lock-mode":
			h.Set("x-amz-object-lock-retain-until-date", walkUntil)
		case "x-amz-object-lock-retain-until-date":
			h.Set("x-amz-object-lock-mode", "GOVERNANCE")
		}
		if op == "PutObject" {
			h.Set("content-md5", contentMD5(e.body))
		}
	}
	ssec := strings.HasPrefix(name, "x-amz-server-side-encryption-customer-")
	srcSSEC := strings.HasPrefix(name, "x-amz-copy-source-server-side-encryption-customer-")
	if ssec || srcSSEC {
		prefix := "x-amz-"
		if srcSSEC {
			prefix = "x-amz-copy-source-"
		}
		setSSEC(h, prefix, walkSSECKey)
		h.Set(name, value)
		if strings.HasSuffix(name, "-customer-key") {
			k, _ := base64.StdEncoding.DecodeString(value)
			h.Set(name+"-md5", contentMD5(k))
		}
	}
	if name == "x-amz-server-side-encryption-aws-kms-key-id" || name == "x-amz-server-side-encryption-context" {
		h.Set("x-amz-server-side-encryption", "aws:kms")
	}
	e.ssec = ssec
	exists := func() bool { return f.exists(t, b, key) }
	if ssec {
		exists = func() bool { return e.existsC(t, b, key) }
	}
	source := e.bucket + "/" + e.src
	if srcSSEC {
		source = e.bucket + "/" + e.srcC
	}
	var r rawReq
	var stored func() bool
	switch op {
	case "PutObject":
		r = rawReq{method: "PUT", bucket: b, key: key, body: e.body}
		stored = exists
	case "CopyObject":
		h.Set("x-amz-copy-source", source)
		if name == "x-amz-copy-source" {
			h.Set(name, value)
		}
		r = rawReq{method: "PUT", bucket: b, key: key}
		stored = exists
	case "CreateMultipartUpload":
		if name == "x-amz-checksum-type" { // a type needs an algorithm
			h.Set("x-amz-checksum-algorithm", "CRC32")
		}
		r = rawReq{method: "POST", bucket: b, key: key, query: url.Values{"uploads": {""}}}
		stored = func() bool { return len(e.uploads(t, b, key)) > 0 }
	case "UploadPart", "UploadPartCopy":
		id := e.createUpload(t, key, "")
		r = rawReq{method: "PUT", bucket: b, key: key, query: url.Values{"uploadId": {id}, "partNumber": {"1"}}, body: e.body}
		if op == "UploadPartCopy" {
			h.Set("x-amz-copy-source", source)
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
		alg := algOf(name)
		if name == "x-amz-checksum-type" {
			alg = storage.ChecksumCRC32
		}
		id := e.createUpload(t, key, alg)
		etag := e.uploadPart(t, key, id, alg)
		xmlBody := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>`, etag)
		r = rawReq{method: "POST", bucket: b, key: key, query: url.Values{"uploadId": {id}}, body: []byte(xmlBody)}
		stored = exists
	case "GetObjectAttributes":
		obj := e.mp
		switch {
		case ssec:
			obj = e.srcC
			h.Set("x-amz-object-attributes", "ObjectSize")
		case name != "x-amz-object-attributes":
			h.Set("x-amz-object-attributes", "ObjectParts")
		}
		r = rawReq{method: "GET", bucket: b, key: obj, query: url.Values{"attributes": {""}}}
		stored = func() bool { return false } // a read stores nothing
	default:
		t.Fatalf("no runner for %s", op)
	}
	r.header, r.secure = h, ssec || srcSSEC
	resp, body := f.do(t, r)
	if want == "" {
		if resp.StatusCode/100 != 2 {
			t.Fatalf("want success, got %d: %s", resp.StatusCode, body)
		}
		if op != "GetObjectAttributes" && !stored() {
			t.Fatalf("%s succeeded but stored nothing", op)
		}
		e.checkEffect(t, op, b, key, name, value, resp, body)
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

// checkEffect confirms a few honoured headers did what they say: content
// headers on PutObject, the object lock and tagging headers wherever they
// are sent (a multipart upload is completed to see them), checksum types
// and GetObjectAttributes.
func (e *walkEnv) checkEffect(t *testing.T, op, b, key, name, value string, resp *http.Response, body []byte) {
	lockOrTags := strings.HasPrefix(name, "x-amz-object-lock-") || strings.HasPrefix(name, "x-amz-tagging")
	if strings.Contains(name, "server-side-encryption") {
		e.checkSSE(t, op, b, key, name, value, resp, body)
		return
	}
	switch {
	case op == "GetObjectAttributes":
		e.checkAttributes(t, name, value, body)
		return
	case op == "CreateBucket" && name == "x-amz-bucket-object-lock-enabled":
		e.checkBucketLock(t, key, value)
		return
	case op == "CreateMultipartUpload" && lockOrTags:
		e.complete(t, b, key)
	case op == "CreateMultipartUpload", op == "CompleteMultipartUpload":
		e.checkChecksumType(t, op, key, name, value, resp)
		return
	case op != "PutObject" && !(op == "CopyObject" && lockOrTags):
		return
	}
	out, err := e.f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key})
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
	case "x-amz-object-lock-mode":
		got = string(out.ObjectLockMode)
		if until := aws.ToTime(out.ObjectLockRetainUntilDate).UTC().Format(time.RFC3339); until != walkUntil {
			t.Errorf("retain-until %s, sent %s", until, walkUntil)
		}
	case "x-amz-object-lock-retain-until-date":
		got = aws.ToTime(out.ObjectLockRetainUntilDate).UTC().Format(time.RFC3339)
	case "x-amz-object-lock-legal-hold":
		got = string(out.ObjectLockLegalHoldStatus)
	case "x-amz-tagging", "x-amz-tagging-directive":
		got = e.tags(t, b, key)
		switch {
		case name == "x-amz-tagging" && op != "CopyObject":
			value = decodeTags(value)
		case name == "x-amz-tagging", value == "COPY":
			value = walkSrcTags // without REPLACE, S3 copies the source's tags
		default:
			value = "" // REPLACE without x-amz-tagging: none
		}
		if n := int(aws.ToInt32(out.TagCount)); n != len(strings.Split(got, "&")) && got != "" || got == "" && n != 0 {
			t.Errorf("x-amz-tagging-count %d for tags %q", n, got)
		}
	default:
		return
	}
	if got != value {
		t.Errorf("%s stored as %q, sent %q", name, got, value)
	}
}

// checkChecksumType confirms the checksum type of an upload, and of the
// object it completes to, is the one the header asked for.
func (e *walkEnv) checkChecksumType(t *testing.T, op, key, name, value string, resp *http.Response) {
	if name != "x-amz-checksum-type" && (!e.fullObject || algOf(name) != storage.ChecksumCRC32) {
		return
	}
	want := value
	if name != "x-amz-checksum-type" {
		want = "FULL_OBJECT"
	}
	if op == "CreateMultipartUpload" {
		if got := resp.Header.Get("X-Amz-Checksum-Type"); got != want {
			t.Errorf("x-amz-checksum-type in the answer %q, want %q", got, want)
		}
		ids := e.uploads(t, e.bucket, key)
		out, err := e.f.sdk.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &e.bucket, Key: &key, UploadId: &ids[0]})
		if err != nil || string(out.ChecksumType) != want {
			t.Errorf("ListParts checksum type %q (%v), want %q", out.ChecksumType, err, want)
		}
		return
	}
	out, err := e.f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &e.bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || string(out.ChecksumType) != want || aws.ToString(out.ChecksumCRC32) == "" {
		t.Errorf("object checksum type %q crc32 %q (%v), want %q", out.ChecksumType, aws.ToString(out.ChecksumCRC32), err, want)
	}
}

// putMultipart stores e.mp from e.mpParts with CRC32 part checksums.
func (e *walkEnv) putMultipart(t *testing.T) {
	id := e.createUpload(t, e.mp, storage.ChecksumCRC32)
	var xmlParts string
	for i, p := range e.mpParts {
		resp, body := e.f.do(t, rawReq{method: "PUT", bucket: e.bucket, key: e.mp,
			query: url.Values{"uploadId": {id}, "partNumber": {fmt.Sprint(i + 1)}}, body: p})
		if resp.StatusCode != 200 {
			t.Fatalf("UploadPart: %d %s", resp.StatusCode, body)
		}
		xmlParts += fmt.Sprintf("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, resp.Header.Get("Etag"))
	}
	resp, body := e.f.do(t, rawReq{method: "POST", bucket: e.bucket, key: e.mp, query: url.Values{"uploadId": {id}},
		body: []byte("<CompleteMultipartUpload>" + xmlParts + "</CompleteMultipartUpload>")})
	if resp.StatusCode != 200 {
		t.Fatalf("CompleteMultipartUpload: %d %s", resp.StatusCode, body)
	}
}

// attributesDoc is the GetObjectAttributes answer.
type attributesDoc struct {
	ETag     *string
	Checksum *struct{ ChecksumCRC32, ChecksumType string }
	Parts    *struct {
		IsTruncated          bool
		NextPartNumberMarker int
		PartsCount           int
		Part                 []struct {
			PartNumber    int
			Size          int64
			ChecksumCRC32 string
		}
	} `xml:"ObjectParts"`
	StorageClass *string
	ObjectSize   *int64
}

// checkAttributes confirms GetObjectAttributes answered what was asked.
func (e *walkEnv) checkAttributes(t *testing.T, name, value string, body []byte) {
	var doc attributesDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("GetObjectAttributes body: %v: %s", err, body)
	}
	asked := strings.Split(value, ",")
	if name != "x-amz-object-attributes" {
		asked = []string{"ObjectParts"}
	}
	got := map[string]bool{"ETag": doc.ETag != nil, "Checksum": doc.Checksum != nil, "ObjectParts": doc.Parts != nil,
		"StorageClass": doc.StorageClass != nil, "ObjectSize": doc.ObjectSize != nil}
	for a, present := range got {
		if present != slices.Contains(asked, a) {
			t.Errorf("%s present %v, asked %v: %s", a, present, asked, body)
		}
	}
	all := slices.Concat(e.mpParts...)
	switch {
	case doc.ETag != nil && *doc.ETag != strings.Trim(multipartETag(e.mpParts...), `"`):
		t.Errorf("ETag %s, want the unquoted multipart ETag", *doc.ETag)
	case doc.ObjectSize != nil && *doc.ObjectSize != int64(len(all)):
		t.Errorf("ObjectSize %d, want %d", *doc.ObjectSize, len(all))
	case doc.StorageClass != nil && *doc.StorageClass != "STANDARD":
		t.Errorf("StorageClass %s", *doc.StorageClass)
	case doc.Checksum != nil && doc.Checksum.ChecksumType != "COMPOSITE":
		t.Errorf("Checksum %+v", *doc.Checksum)
	}
	if doc.Parts == nil {
		return
	}
	first, n := 1, 2
	switch name {
	case "x-amz-max-parts":
		n = 1
	case "x-amz-part-number-marker":
		first, n = 2, 1
	}
	if doc.Parts.PartsCount != 2 || len(doc.Parts.Part) != n || doc.Parts.Part[0].PartNumber != first ||
		doc.Parts.IsTruncated != (name == "x-amz-max-parts") {
		t.Fatalf("ObjectParts: %s", body)
	}
	p := doc.Parts.Part[0]
	want := e.mpParts[first-1]
	if p.Size != int64(len(want)) || p.ChecksumCRC32 != base64.StdEncoding.EncodeToString(sumOf(storage.ChecksumCRC32, want)) {
		t.Errorf("part %d: %+v", first, p)
	}
}

// tags reads an object's tags with the SDK as "k=v&k=v" (unescaped).
func (e *walkEnv) tags(t *testing.T, b, key string) string {
	out, err := e.f.sdk.GetObjectTagging(ctx(t), &s3.GetObjectTaggingInput{Bucket: &b, Key: &key})
	if err != nil {
		t.Fatalf("GetObjectTagging: %v", err)
	}
	var kv []string
	for _, tg := range out.TagSet {
		kv = append(kv, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	return strings.Join(kv, "&")
}

// decodeTags unescapes an x-amz-tagging value the way tags reads them.
func decodeTags(v string) string {
	var kv []string
	for _, p := range strings.Split(v, "&") {
		k, val, _ := strings.Cut(p, "=")
		k, _ = url.QueryUnescape(k)
		val, _ = url.QueryUnescape(val)
		kv = append(kv, k+"="+val)
	}
	return strings.Join(kv, "&")
}

// complete finishes the one upload of key with one part.
func (e *walkEnv) complete(t *testing.T, b, key string) {
	ids := e.uploads(t, b, key)
	if len(ids) != 1 {
		t.Fatalf("uploads of %s: %v", key, ids)
	}
	part, err := e.f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &ids[0],
		PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
	if err != nil {
		t.Fatalf("UploadPart: %v", err)
	}
	_, err = e.f.sdk.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &ids[0],
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
}

// checkBucketLock checks that the bucket the walk created (named after
// key, as run names it) has object lock exactly when asked.
func (e *walkEnv) checkBucketLock(t *testing.T, key, value string) {
	out, err := e.f.sdk.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	prefix := strings.ToLower(strings.ReplaceAll(key, "_", "-")) + "-"
	for _, bk := range out.Buckets {
		if name := aws.ToString(bk.Name); strings.HasPrefix(name, prefix) {
			_, err := e.f.sdk.GetObjectLockConfiguration(ctx(t), &s3.GetObjectLockConfigurationInput{Bucket: &name})
			if strings.EqualFold(value, "true") {
				if err != nil {
					t.Errorf("bucket created with object lock: %v", err)
				}
			} else if errCode(err) != "ObjectLockConfigurationNotFoundError" {
				t.Errorf("bucket created without object lock: %v", err)
			}
			return
		}
	}
	t.Errorf("no bucket named %s*", prefix)
}

func (e *walkEnv) uploads(t *testing.T, b, key string) []string {
	out, err := e.f.sdk.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b, Prefix: &key})
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
		if e.fullObject {
			h.Set("x-amz-checksum-type", "FULL_OBJECT")
		}
	}
	if e.ssec {
		setSSEC(h, "x-amz-", walkSSECKey)
	}
	resp, body := e.f.do(t, rawReq{method: "POST", bucket: e.bucket, key: key, query: url.Values{"uploads": {""}}, header: h, secure: e.ssec})
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
	if e.ssec {
		setSSEC(h, "x-amz-", walkSSECKey)
	}
	resp, body := e.f.do(t, rawReq{method: "PUT", bucket: e.bucket, key: key,
		query: url.Values{"uploadId": {id}, "partNumber": {"1"}}, body: e.part, header: h, secure: e.ssec})
	if resp.StatusCode != 200 {
		t.Fatalf("UploadPart: %d %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Etag")
}

// existsC is exists for an SSE-C object of the walk's key.
func (e *walkEnv) existsC(t *testing.T, b, key string) bool {
	t.Helper()
	h := http.Header{}
	setSSEC(h, "x-amz-", walkSSECKey)
	resp, body := e.f.do(t, rawReq{method: "HEAD", bucket: b, key: key, header: h, secure: true})
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	}
	t.Fatalf("HEAD %s with the SSE-C key: %d %s", key, resp.StatusCode, body)
	return false
}

// checkSSE confirms an encryption header took effect: the answer reports
// it, and so does a HEAD of what was stored (with the SSE-C key when the
// object has one).
func (e *walkEnv) checkSSE(t *testing.T, op, b, key, name, value string, resp *http.Response, body []byte) {
	ssecMD5 := contentMD5(walkSSECKey)
	dest := strings.HasPrefix(name, "x-amz-server-side-encryption-customer-")
	want := func(h http.Header, where string) {
		t.Helper()
		switch {
		case dest:
			if h.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") != "AES256" || h.Get("X-Amz-Server-Side-Encryption-Customer-Key-Md5") != ssecMD5 {
				t.Errorf("%s: SSE-C headers %v", where, h)
			}
		case strings.HasPrefix(name, "x-amz-copy-source-"), name == "x-amz-server-side-encryption-bucket-key-enabled":
			if h.Get("X-Amz-Server-Side-Encryption") != "" || h.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") != "" {
				t.Errorf("%s: unasked encryption %v", where, h)
			}
		case name == "x-amz-server-side-encryption" && h.Get("X-Amz-Server-Side-Encryption") != value:
			t.Errorf("%s: x-amz-server-side-encryption %q, sent %q", where, h.Get("X-Amz-Server-Side-Encryption"), value)
		case name == "x-amz-server-side-encryption-aws-kms-key-id" &&
			(h.Get("X-Amz-Server-Side-Encryption") != "aws:kms" || !strings.HasSuffix(h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"), ":key/"+walkKey)):
			t.Errorf("%s: KMS headers %v", where, h)
		}
	}
	switch op {
	case "GetObjectAttributes":
		var doc attributesDoc
		if err := xml.Unmarshal(body, &doc); err != nil || doc.ObjectSize == nil || *doc.ObjectSize != int64(len(srcCBody)) {
			t.Errorf("GetObjectAttributes of the SSE-C source: %s", body)
		}
		return
	case "UploadPart", "UploadPartCopy", "CreateMultipartUpload":
		want(resp.Header, op+" answer")
		if op == "CreateMultipartUpload" && name == "x-amz-server-side-encryption-context" && resp.Header.Get("X-Amz-Server-Side-Encryption-Context") != value {
			t.Errorf("context %q in the answer, sent %q", resp.Header.Get("X-Amz-Server-Side-Encryption-Context"), value)
		}
		return
	}
	if !(dest && op == "CompleteMultipartUpload") { // S3 answers a completion without SSE-C headers
		want(resp.Header, op+" answer")
	}
	if name == "x-amz-server-side-encryption-context" && op != "CompleteMultipartUpload" && resp.Header.Get("X-Amz-Server-Side-Encryption-Context") != value {
		t.Errorf("context %q in the answer, sent %q", resp.Header.Get("X-Amz-Server-Side-Encryption-Context"), value)
	}
	h := http.Header{}
	if dest {
		setSSEC(h, "x-amz-", walkSSECKey)
	}
	hr, _ := e.f.do(t, rawReq{method: "GET", bucket: b, key: key, header: h, secure: dest})
	if hr.StatusCode != http.StatusOK {
		t.Fatalf("GET of what %s stored: %d", op, hr.StatusCode)
	}
	want(hr.Header, "GET of the stored object")
}
