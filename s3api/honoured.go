package s3api

import (
	"fmt"
	"github.com/filesphere/filesphere/internal/ascii"
	"net/http"
	"slices"
	"strings"
)

// This file is the one table of the request headers FileSphere honours per
// operation, and of the headers S3 defines for that operation that it
// refuses. A request carrying a refused header (or a refused value of an
// honoured one) is answered NotImplemented, or with AWS's own error for a
// value S3 itself would reject, before authentication reads its body and
// before anything is stored. A header S3 does not define for an operation
// is ignored, as S3 ignores it.
//
// A feature lands by moving its entries from the refused to the honoured
// list of each operation, with tests on both sides (integration_headers_test.go walks
// every header AWS documents for the write operations).

// honour is a header FileSphere honours. With values, only those values
// are honoured (compared exactly, as S3 does); the operation's refusal of
// the same header answers any other value.
type honour struct {
	name   string // lower case; a trailing '*' matches any suffix
	values []string
	fold   bool // compare values case-insensitively
}

// refusal is a header S3 defines that FileSphere does not honour.
type refusal struct {
	name    string // lower case
	feature string // what is not built, for the message
	// valid lists every value S3 accepts; those not honoured are
	// NotImplemented and any other value is answered with invalid. Nil
	// means every value not honoured is NotImplemented.
	valid   []string
	invalid ErrorCode
	fold    bool // compare values case-insensitively
}

// headerRules are the honoured and refused headers of one operation.
type headerRules struct {
	honoured []honour
	refused  []refusal
}

func honoured(names ...string) []honour {
	out := make([]honour, len(names))
	for i, n := range names {
		out[i] = honour{name: n}
	}
	return out
}

func refused(feature string, names ...string) []refusal {
	out := make([]refusal, len(names))
	for i, n := range names {
		out[i] = refusal{name: n, feature: feature}
	}
	return out
}

// Values S3 accepts for enumerated headers (from the S3 API reference).
var (
	objectCannedACLs = []string{"private", "public-read", "public-read-write", "authenticated-read",
		"aws-exec-read", "bucket-owner-read", "bucket-owner-full-control"}
	bucketCannedACLs = []string{"private", "public-read", "public-read-write", "authenticated-read"}
	storageClasses   = []string{"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
		"INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW",
		"EXPRESS_ONEZONE", "FSX_OPENZFS", "FSX_ONTAP", "AWS_BACKUP_WARM", "AWS_BACKUP_LOW_COST_WARM"}
	sseAlgorithms = []string{"AES256", "aws:kms", "aws:kms:dsse", "aws:fsx", "aws:backup"}
	// builtAlgorithms are the checksums FileSphere computes; S3 defines
	// the rest of checksumAlgorithms too.
	builtAlgorithms    = []string{"CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"}
	checksumAlgorithms = append([]string{"MD5", "SHA512", "XXHASH64", "XXHASH3", "XXHASH128"}, builtAlgorithms...)
)

// hasValue reports whether v is in values, ignoring case when fold.
func hasValue(values []string, v string, fold bool) bool {
	return slices.ContainsFunc(values, func(w string) bool { return w == v || fold && strings.EqualFold(w, v) })
}

// Honoured groups.
var (
	// contentHeaders are stored with the object and returned on GET.
	contentHeaders = honoured("content-type", "content-encoding", "content-disposition",
		"content-language", "cache-control", "expires", "x-amz-meta-*")
	// payloadChecksums are verified while the body streams in.
	payloadChecksums = join(honoured("content-length", "content-md5",
		"x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme",
		"x-amz-checksum-sha1", "x-amz-checksum-sha256"), sdkAlgorithm)
	// The algorithm of a payload checksum, or of the checksums of a
	// multipart upload's parts.
	sdkAlgorithm      = []honour{{name: "x-amz-sdk-checksum-algorithm", values: builtAlgorithms, fold: true}}
	checksumAlgorithm = []honour{{name: "x-amz-checksum-algorithm", values: builtAlgorithms, fold: true}}
	// writeConditions are conditional writes: S3 supports only
	// If-None-Match: *.
	writeConditions = []honour{{name: "if-match"}, {name: "if-none-match", values: []string{"*"}}}
	readConditions  = honoured("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
	copyConditions  = honoured("x-amz-copy-source", "x-amz-copy-source-if-match", "x-amz-copy-source-if-none-match",
		"x-amz-copy-source-if-modified-since", "x-amz-copy-source-if-unmodified-since")
	// objectACL: the canned ACLs and grants of an object (acl.go); only
	// aws-exec-read, which grants to EC2, is not built.
	objectACL = append([]honour{{name: "x-amz-acl", values: []string{"private", "public-read", "public-read-write",
		"authenticated-read", "bucket-owner-read", "bucket-owner-full-control"}}},
		honoured("x-amz-grant-full-control", "x-amz-grant-read", "x-amz-grant-read-acp", "x-amz-grant-write-acp")...)
	// bucketACL: the canned ACLs and grants of a bucket.
	bucketACL = append([]honour{{name: "x-amz-acl", values: bucketCannedACLs}},
		honoured("x-amz-grant-full-control", "x-amz-grant-read", "x-amz-grant-read-acp", "x-amz-grant-write", "x-amz-grant-write-acp")...)
	// standardClass: every object is stored in the one STANDARD class.
	standardClass = []honour{{name: "x-amz-storage-class", values: []string{"STANDARD"}}}
	// requestPayer acknowledges requester-pays charges; no FileSphere
	// bucket charges requesters, where S3 too ignores it.
	requestPayer = honoured("x-amz-request-payer")
	// objectLock sets a new version's retention and legal hold.
	objectLock = []honour{
		{name: "x-amz-object-lock-mode", values: lockModes},
		{name: "x-amz-object-lock-retain-until-date"},
		{name: "x-amz-object-lock-legal-hold", values: legalHolds},
	}
	// contentCondition is FileSphere's content-hash precondition of GET
	// and HEAD (findhash.go); S3 defines x-amz-checksum-sha256 for
	// uploads only, and FileSphere reads it on reads as the same condition.
	contentCondition = honoured("x-filesphere-if-sha256", "x-amz-checksum-sha256")
	// tagging sets a new version's tags.
	taggingHeader = honoured("x-amz-tagging")
	// sseHeaders choose a new object's encryption: SSE-S3 or SSE-KMS with
	// a key id and an encryption context (S3 Bucket Keys are not built).
	sseHeaders = []honour{
		{name: "x-amz-server-side-encryption", values: []string{"AES256", "aws:kms"}},
		{name: "x-amz-server-side-encryption-aws-kms-key-id"}, {name: "x-amz-server-side-encryption-context"},
		{name: "x-amz-server-side-encryption-bucket-key-enabled", values: []string{"false"}, fold: true},
	}
	// ssecHeaders carry an SSE-C key: the object's, or a copy source's.
	ssecHeaders = honoured("x-amz-server-side-encryption-customer-algorithm",
		"x-amz-server-side-encryption-customer-key", "x-amz-server-side-encryption-customer-key-md5")
	copySSECHeaders = honoured("x-amz-copy-source-server-side-encryption-customer-algorithm",
		"x-amz-copy-source-server-side-encryption-customer-key",
		"x-amz-copy-source-server-side-encryption-customer-key-md5")
	// bypassGovernance takes effect for principals allowed
	// s3:BypassGovernanceRetention (see Server.bypassGovernance).
	bypassGovernance = []honour{{name: "x-amz-bypass-governance-retention", values: []string{"true", "false"}, fold: true}}
)

// Refused groups.
var (
	refuseObjectACL = []refusal{{name: "x-amz-acl", feature: "the canned ACL aws-exec-read",
		valid: objectCannedACLs, invalid: ErrInvalidArgument}}
	refuseBucketACL = []refusal{{name: "x-amz-acl", feature: "log delivery (the canned ACL log-delivery-write)",
		valid: append([]string{"log-delivery-write"}, bucketCannedACLs...), invalid: ErrInvalidArgument}}
	refuseStorageClass = []refusal{{name: "x-amz-storage-class", feature: "storage classes other than STANDARD",
		valid: storageClasses, invalid: ErrInvalidStorageClass}}
	// refuseSSE answers the encryption values not built: dual-layer and
	// other services' algorithms, S3 Bucket Keys.
	refuseSSE = []refusal{
		{name: "x-amz-server-side-encryption", feature: "this server-side encryption algorithm",
			valid: sseAlgorithms, invalid: ErrInvalidArgument},
		{name: "x-amz-server-side-encryption-bucket-key-enabled", feature: "S3 Bucket Keys",
			valid: []string{"true", "false"}, invalid: ErrInvalidArgument, fold: true},
	}
	// refusePostSSE: a POST upload's encryption fields are not read yet
	// (the bucket's default encryption applies to it).
	refusePostSSE = append([]refusal{{name: "x-amz-server-side-encryption", feature: "server-side encryption fields on POST uploads",
		valid: sseAlgorithms, invalid: ErrInvalidArgument}},
		refused("server-side encryption fields on POST uploads", "x-amz-server-side-encryption-aws-kms-key-id",
			"x-amz-server-side-encryption-context", "x-amz-server-side-encryption-bucket-key-enabled")...)
	// refuseSSEC: SSE-C headers where FileSphere does not take them.
	refuseSSEC = refused("server-side encryption with customer keys (SSE-C) on this operation",
		"x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key",
		"x-amz-server-side-encryption-customer-key-md5")
	// The lock headers take only the values S3 defines; event holds are
	// not built.
	refuseObjectLock = append([]refusal{
		{name: "x-amz-object-lock-mode", valid: lockModes, invalid: ErrInvalidArgument},
		{name: "x-amz-object-lock-legal-hold", valid: legalHolds, invalid: ErrInvalidArgument},
	}, refused("object lock event holds", "x-amz-object-lock-event-hold",
		"x-amz-object-lock-event-hold-duration-days", "x-amz-object-lock-event-hold-duration-years")...)
	refuseWebsite  = refused("website redirects", "x-amz-website-redirect-location")
	refuseOwner    = refused("expected bucket owner checks", "x-amz-expected-bucket-owner")
	refuseSrcOwner = refused("expected bucket owner checks", "x-amz-source-expected-bucket-owner")
	// refuseNewChecksums are algorithms S3 added that FileSphere does not
	// compute: a client sending them expects them verified.
	refuseNewChecksums = refused("this checksum algorithm", "x-amz-checksum-md5", "x-amz-checksum-sha512",
		"x-amz-checksum-xxhash64", "x-amz-checksum-xxhash3", "x-amz-checksum-xxhash128")
	// The algorithm header is x-amz-sdk-checksum-algorithm on requests with
	// a payload and x-amz-checksum-algorithm where an object's checksum is
	// chosen (copies, multipart uploads); each is refused only where S3
	// defines it (minio-go also sends the latter with PutObject).
	refuseSDKAlgorithm = []refusal{{name: "x-amz-sdk-checksum-algorithm", feature: "this checksum algorithm",
		valid: checksumAlgorithms, invalid: ErrInvalidRequest, fold: true}}
	refuseAlgorithm = []refusal{{name: "x-amz-checksum-algorithm", feature: "this checksum algorithm",
		valid: checksumAlgorithms, invalid: ErrInvalidRequest, fold: true}}
	refuseMFA        = refused("MFA delete", "x-amz-mfa")
	refuseGovernance = []refusal{{name: "x-amz-bypass-governance-retention", valid: []string{"true", "false"}, invalid: ErrInvalidArgument, fold: true}}
	refuseOptional   = refused("optional object attributes", "x-amz-optional-object-attributes")
	// checksumType: both multipart checksum types are built; the refusal
	// answers other values.
	checksumType = []honour{{name: "x-amz-checksum-type", values: []string{"COMPOSITE", "FULL_OBJECT"}}}
	// refuseDigests are the payload checksums a configuration PUT does not
	// compute.
	refuseDigests      = join(refuseOwner, refuseNewChecksums, refuseSDKAlgorithm)
	refuseChecksumType = []refusal{{name: "x-amz-checksum-type", feature: "checksum types",
		valid: []string{"COMPOSITE", "FULL_OBJECT"}, invalid: ErrInvalidRequest}}
	refuseWriteConditions  = []refusal{{name: "if-none-match", feature: "If-None-Match values other than *"}}
	refuseTaggingDirective = []refusal{{name: "x-amz-tagging-directive", valid: []string{"COPY", "REPLACE"}, invalid: ErrInvalidArgument}}
)

// The values S3 defines for the object lock headers.
var (
	lockModes  = []string{"GOVERNANCE", "COMPLIANCE"}
	legalHolds = []string{"ON", "OFF"}
)

func join[T any](groups ...[]T) []T {
	var out []T
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// headerTable is the one table: per operation, what is honoured and what
// is refused. Operations not listed define no headers beyond
// x-amz-expected-bucket-owner (refused for all, see common).
var headerTable = map[Operation]headerRules{
	OpPutObject: {
		honoured: join(contentHeaders, payloadChecksums, writeConditions, objectACL, standardClass, requestPayer,
			objectLock, taggingHeader, sseHeaders, ssecHeaders),
		refused: join(refuseObjectACL, refuseStorageClass, refuseSSE, refuseObjectLock,
			refuseWebsite, refuseOwner, refuseNewChecksums, refuseWriteConditions, refuseSDKAlgorithm,
			refused("appends", "x-amz-write-offset-bytes")),
	},
	OpCopyObject: {
		honoured: join(copyConditions, contentHeaders, writeConditions, objectACL, standardClass, requestPayer,
			honoured("x-amz-metadata-directive"), checksumAlgorithm, objectLock, taggingHeader,
			[]honour{{name: "x-amz-tagging-directive", values: []string{"COPY", "REPLACE"}}}, sseHeaders, ssecHeaders, copySSECHeaders),
		refused: join(refuseObjectACL, refuseStorageClass, refuseSSE,
			refuseObjectLock, refuseWebsite, refuseOwner, refuseSrcOwner, refuseWriteConditions, refuseAlgorithm,
			refuseTaggingDirective,
			refused("object annotations", "x-amz-object-annotation-directive")),
	},
	OpCreateMultipartUpload: {
		honoured: join(contentHeaders, objectACL, standardClass, requestPayer, checksumAlgorithm, checksumType, objectLock, taggingHeader,
			sseHeaders, ssecHeaders),
		refused: join(refuseObjectACL, refuseStorageClass, refuseSSE, refuseObjectLock,
			refuseWebsite, refuseOwner, refuseChecksumType, refuseAlgorithm),
	},
	OpUploadPart: {
		honoured: join(payloadChecksums, requestPayer, ssecHeaders),
		refused:  join(refuseOwner, refuseNewChecksums, refuseSDKAlgorithm),
	},
	OpUploadPartCopy: {
		honoured: join(copyConditions, requestPayer, honoured("x-amz-copy-source-range"), ssecHeaders, copySSECHeaders),
		refused:  join(refuseOwner, refuseSrcOwner),
	},
	OpCompleteMultipartUpload: {
		honoured: join(writeConditions, requestPayer, honoured("x-amz-checksum-crc32", "x-amz-checksum-crc32c",
			"x-amz-checksum-crc64nvme", "x-amz-checksum-sha1", "x-amz-checksum-sha256"), checksumType, ssecHeaders),
		refused: join(refuseOwner, refuseNewChecksums, refuseChecksumType, refuseWriteConditions,
			refused("object size checks", "x-amz-mp-object-size")),
	},
	OpCreateBucket: {
		honoured: join(bucketACL, []honour{
			{name: "x-amz-bucket-object-lock-enabled", values: []string{"true", "false"}, fold: true}, // botocore sends "True"
			{name: "x-amz-object-ownership", values: []string{"BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"}},
		}),
		refused: join(refuseBucketACL,
			[]refusal{
				{name: "x-amz-bucket-object-lock-enabled", valid: []string{"true", "false"}, invalid: ErrInvalidArgument, fold: true},
				{name: "x-amz-object-ownership", feature: "this object ownership", invalid: ErrInvalidArgument,
					valid: []string{"BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"}},
			},
			refused("bucket namespaces", "x-amz-bucket-namespace")),
	},
	OpPutBucketACL: {honoured: join(bucketACL, payloadChecksums), refused: join(refuseBucketACL, refuseOwner, refuseNewChecksums, refuseSDKAlgorithm)},
	OpPutObjectACL: {honoured: join(objectACL, payloadChecksums, requestPayer), refused: join(refuseObjectACL, refuseOwner, refuseNewChecksums, refuseSDKAlgorithm)},
	OpPutBucketPolicy: {honoured: payloadChecksums, refused: join(refuseOwner, refuseNewChecksums, refuseSDKAlgorithm,
		refused("the confirmation of removing the caller's own access", "x-amz-confirm-remove-self-bucket-access"))},
	OpPutPublicAccessBlock:       {honoured: payloadChecksums, refused: join(refuseOwner, refuseNewChecksums, refuseSDKAlgorithm)},
	OpPutBucketOwnershipControls: {honoured: payloadChecksums, refused: join(refuseOwner, refuseNewChecksums, refuseSDKAlgorithm)},
	OpGetObject:                  {honoured: join(readConditions, requestPayer, honoured("range", "x-amz-checksum-mode"), ssecHeaders, contentCondition), refused: refuseOwner},
	OpHeadObject:                 {honoured: join(readConditions, requestPayer, honoured("range", "x-amz-checksum-mode"), ssecHeaders, contentCondition), refused: refuseOwner},
	OpDeleteObject: {
		honoured: join(requestPayer, bypassGovernance),
		refused: join(refuseOwner, refuseMFA, refuseGovernance, refused("conditional deletes", "if-match",
			"x-amz-if-match-last-modified-time", "x-amz-if-match-size")),
	},
	OpDeleteObjects: {
		honoured: join(requestPayer, payloadChecksums, bypassGovernance),
		refused:  join(refuseOwner, refuseMFA, refuseGovernance, refuseNewChecksums, refuseSDKAlgorithm),
	},
	OpPutObjectTagging:    {honoured: join(payloadChecksums, requestPayer), refused: refuseDigests},
	OpGetObjectTagging:    {honoured: requestPayer, refused: refuseOwner},
	OpDeleteObjectTagging: {refused: refuseOwner},
	OpPutBucketTagging:    {honoured: payloadChecksums, refused: refuseDigests},
	OpGetBucketTagging:    {refused: refuseOwner},
	OpDeleteBucketTagging: {refused: refuseOwner},
	OpGetObjectLockConfig: {refused: refuseOwner},
	OpPutObjectLockConfig: {
		honoured: join(payloadChecksums, requestPayer),
		refused:  join(refuseDigests, refused("object lock tokens", "x-amz-bucket-object-lock-token")),
	},
	OpPutBucketLifecycle: {
		honoured: join(payloadChecksums, []honour{{name: "x-amz-transition-default-minimum-object-size", values: transitionMinSizes}}),
		refused: join(refuseDigests, []refusal{{name: "x-amz-transition-default-minimum-object-size",
			valid: transitionMinSizes, invalid: ErrInvalidArgument}}),
	},
	OpGetBucketLifecycle:    {refused: refuseOwner},
	OpFindBySHA256:          {refused: refuseOwner},
	OpDeleteBucketLifecycle: {refused: refuseOwner},
	OpPutObjectRetention: {
		honoured: join(payloadChecksums, requestPayer, bypassGovernance),
		refused:  join(refuseDigests, refuseGovernance),
	},
	OpGetObjectRetention: {honoured: requestPayer, refused: refuseOwner},
	OpPutObjectLegalHold: {honoured: join(payloadChecksums, requestPayer), refused: refuseDigests},
	OpGetObjectLegalHold: {honoured: requestPayer, refused: refuseOwner},
	OpPutBucketVersioning: {
		honoured: payloadChecksums,
		refused:  join(refuseOwner, refuseMFA, refuseNewChecksums, refuseSDKAlgorithm),
	},
	OpListObjectsV1:        {honoured: requestPayer, refused: join(refuseOwner, refuseOptional)},
	OpListObjectsV2:        {honoured: requestPayer, refused: join(refuseOwner, refuseOptional)},
	OpListObjectVersions:   {honoured: requestPayer, refused: join(refuseOwner, refuseOptional)},
	OpListMultipartUploads: {honoured: requestPayer, refused: refuseOwner},
	OpListParts:            {honoured: requestPayer, refused: join(refuseOwner, refuseSSEC)},
	OpGetObjectACL:         {honoured: requestPayer, refused: refuseOwner},
	OpGetObjectAttributes: {
		honoured: join(requestPayer, honoured("x-amz-object-attributes", "x-amz-max-parts", "x-amz-part-number-marker"), ssecHeaders),
		refused:  refuseOwner,
	},
	OpPutBucketEncryption:    {honoured: payloadChecksums, refused: refuseDigests},
	OpGetBucketEncryption:    {refused: refuseOwner},
	OpDeleteBucketEncryption: {refused: refuseOwner},
	OpAbortMultipartUpload: {
		honoured: requestPayer,
		refused:  join(refuseOwner, refused("conditional aborts", "x-amz-if-match-initiated-time")),
	},
	// A POST upload says what it stores in its form fields (postFields),
	// not in headers.
	OpPostObject:       {refused: refuseOwner},
	OpPutBucketCors:    {honoured: payloadChecksums, refused: join(refuseOwner, refuseNewChecksums, refuseSDKAlgorithm)},
	OpGetBucketCors:    {refused: refuseOwner},
	OpDeleteBucketCors: {refused: refuseOwner},
}

// postFields is the table of the form fields of a browser-based upload
// (POST Object), with the same meaning as headerTable: a field S3 defines
// is honoured or refused, a field S3 does not define is ignored (unless
// the policy forbids it). Field names are case-insensitive.
var postFields = headerRules{
	honoured: join(contentHeaders, honoured("content-md5", "x-amz-checksum-crc32", "x-amz-checksum-crc32c",
		"x-amz-checksum-crc64nvme", "x-amz-checksum-sha1", "x-amz-checksum-sha256"), checksumAlgorithm, standardClass,
		[]honour{{name: "acl", values: []string{"private", "bucket-owner-full-control"}}},
		honoured("key", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature",
			"x-amz-security-token", "success_action_redirect", "redirect", "success_action_status", "file")),
	refused: join(
		[]refusal{{name: "acl", feature: "ACLs other than the owner's full control", valid: objectCannedACLs, invalid: ErrInvalidArgument}},
		refuseStorageClass, refusePostSSE, refuseSSEC, refuseWebsite, refuseNewChecksums, refuseAlgorithm,
		// Refused here on their own, not through the PutObject groups: a
		// POST stores them only once postobject.go does.
		[]refusal{
			{name: "x-amz-object-lock-mode", feature: "object lock on POST uploads", valid: []string{"GOVERNANCE", "COMPLIANCE"}, invalid: ErrInvalidArgument},
			{name: "x-amz-object-lock-legal-hold", feature: "object lock on POST uploads", valid: []string{"ON", "OFF"}, invalid: ErrInvalidArgument},
		},
		refused("object lock on POST uploads", "x-amz-object-lock-retain-until-date"),
		refused("object tagging on POST uploads", "tagging")),
}

// common applies to every operation without its own rules.
var common = headerRules{refused: refuseOwner}

func (h honour) matches(name string) bool {
	if p, ok := strings.CutSuffix(h.name, "*"); ok {
		return strings.HasPrefix(name, p) && len(name) > len(p)
	}
	return h.name == name
}

// honours reports whether the rules honour header name with value v.
func (rs headerRules) honours(name, v string) bool {
	for _, h := range rs.honoured {
		if h.matches(name) && (h.values == nil || hasValue(h.values, v, h.fold)) {
			return true
		}
	}
	return false
}

// refusal returns the refusal of name, if the operation defines one.
func (rs headerRules) refusal(name string) (refusal, bool) {
	for _, r := range rs.refused {
		if r.name == name {
			return r, true
		}
	}
	return refusal{}, false
}

func rulesFor(op Operation) headerRules {
	if rs, ok := headerTable[op]; ok {
		return rs
	}
	return common
}

// refuse builds the error for a refused header value.
func (r refusal) refuse(name, v string) *APIError { return r.refuseAs("header", name, v) }

// refuseAs builds the error for a refused value of a header or form field
// (what).
func (r refusal) refuseAs(what, name, v string) *APIError {
	if r.valid != nil && !hasValue(r.valid, v, r.fold) {
		msg := fmt.Sprintf("The value of the %s %s is not valid.", name, what)
		if r.invalid == ErrInvalidStorageClass {
			msg = "The storage class you specified is not valid."
		}
		return apiErr(r.invalid, msg)
	}
	// Only enumerated values are echoed: others may be secrets (an SSE-C
	// key) and end up in logs.
	shown := name
	if r.valid != nil {
		shown = name + ": " + v
	}
	return apiErr(ErrNotImplemented, fmt.Sprintf(
		"A %s you provided implies functionality that is not implemented: FileSphere does not support %s (%s).",
		what, r.feature, shown))
}

// checkHonoured refuses a request that carries a header S3 defines for its
// operation which FileSphere does not honour, or a value of one it honours
// only in part. Headers are walked in sorted order so the answer is
// deterministic.
func checkHonoured(op Operation, h http.Header) error { return rulesFor(op).check("header", h) }

// check applies the rules to headers (or form fields, what says which).
func (rs headerRules) check(what string, h http.Header) error {
	if rs.allPass(h) {
		return nil
	}
	return rs.checkOrdered(what, h)
}

// checkOrdered is check walking the names in sorted order, so that the
// refusal answered is deterministic.
func (rs headerRules) checkOrdered(what string, h http.Header) error {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		name := strings.ToLower(k)
		for _, v := range h[k] {
			if rs.honours(name, v) {
				continue
			}
			if r, ok := rs.refusal(name); ok {
				return r.refuseAs(what, name, v)
			}
		}
	}
	return nil
}

// allPass is check's common case, every header honoured or not the
// operation's to refuse, told without sorting or lowering a copy of each
// name. A refusal, or a non-ASCII name (strings.ToLower folds some to
// ASCII), is left to check's ordered walk.
func (rs headerRules) allPass(h http.Header) bool {
	for k, vs := range h {
		if !ascii.Is(k) {
			return false
		}
		for _, v := range vs {
			if !rs.honoursFold(k, v) && rs.refusesFold(k) {
				return false
			}
		}
	}
	return true
}

// honoursFold is honours of strings.ToLower(k), for an ASCII k.
func (rs headerRules) honoursFold(k, v string) bool {
	for _, h := range rs.honoured {
		if h.matchesFold(k) && (h.values == nil || hasValue(h.values, v, h.fold)) {
			return true
		}
	}
	return false
}

// matchesFold is matches of strings.ToLower(k), for an ASCII k.
func (h honour) matchesFold(k string) bool {
	if p, ok := strings.CutSuffix(h.name, "*"); ok {
		return len(k) > len(p) && ascii.EqualLower(p, k[:len(p)])
	}
	return ascii.EqualLower(h.name, k)
}

// refusesFold reports whether the rules refuse strings.ToLower(k), for an
// ASCII k.
func (rs headerRules) refusesFold(k string) bool {
	for _, r := range rs.refused {
		if ascii.EqualLower(r.name, k) {
			return true
		}
	}
	return false
}
