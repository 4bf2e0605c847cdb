package s3api

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Operation is one S3 API action, decided from the request before anything
// else runs so that authorization and metrics see the same name.
type Operation string

// Operations FileSphere routes. Those without a handler answer NotImplemented.
const (
	OpListBuckets             Operation = "ListBuckets"
	OpCreateBucket            Operation = "CreateBucket"
	OpHeadBucket              Operation = "HeadBucket"
	OpDeleteBucket            Operation = "DeleteBucket"
	OpGetBucketLocation       Operation = "GetBucketLocation"
	OpGetBucketVersioning     Operation = "GetBucketVersioning"
	OpPutBucketVersioning     Operation = "PutBucketVersioning"
	OpGetBucketACL            Operation = "GetBucketAcl"
	OpListObjectsV1           Operation = "ListObjects"
	OpListObjectsV2           Operation = "ListObjectsV2"
	OpListObjectVersions      Operation = "ListObjectVersions"
	OpListMultipartUploads    Operation = "ListMultipartUploads"
	OpDeleteObjects           Operation = "DeleteObjects"
	OpPutObject               Operation = "PutObject"
	OpCopyObject              Operation = "CopyObject"
	OpGetObject               Operation = "GetObject"
	OpHeadObject              Operation = "HeadObject"
	OpDeleteObject            Operation = "DeleteObject"
	OpGetObjectACL            Operation = "GetObjectAcl"
	OpCreateMultipartUpload   Operation = "CreateMultipartUpload"
	OpUploadPart              Operation = "UploadPart"
	OpUploadPartCopy          Operation = "UploadPartCopy"
	OpCompleteMultipartUpload Operation = "CompleteMultipartUpload"
	OpAbortMultipartUpload    Operation = "AbortMultipartUpload"
	OpListParts               Operation = "ListParts"
	OpGetObjectAttributes     Operation = "GetObjectAttributes"
	OpPutObjectTagging        Operation = "PutObjectTagging"
	OpGetObjectTagging        Operation = "GetObjectTagging"
	OpDeleteObjectTagging     Operation = "DeleteObjectTagging"
	OpPutBucketTagging        Operation = "PutBucketTagging"
	OpGetBucketTagging        Operation = "GetBucketTagging"
	OpDeleteBucketTagging     Operation = "DeleteBucketTagging"
	OpPutObjectLockConfig     Operation = "PutObjectLockConfiguration"
	OpGetObjectLockConfig     Operation = "GetObjectLockConfiguration"
	OpPutObjectRetention      Operation = "PutObjectRetention"
	OpGetObjectRetention      Operation = "GetObjectRetention"
	OpPutObjectLegalHold      Operation = "PutObjectLegalHold"
	OpGetObjectLegalHold      Operation = "GetObjectLegalHold"
	// Access (bucket policies, public access blocks, ACLs, ownership).
	OpGetBucketPolicy               Operation = "GetBucketPolicy"
	OpPutBucketPolicy               Operation = "PutBucketPolicy"
	OpDeleteBucketPolicy            Operation = "DeleteBucketPolicy"
	OpGetBucketPolicyStatus         Operation = "GetBucketPolicyStatus"
	OpGetPublicAccessBlock          Operation = "GetPublicAccessBlock"
	OpPutPublicAccessBlock          Operation = "PutPublicAccessBlock"
	OpDeletePublicAccessBlock       Operation = "DeletePublicAccessBlock"
	OpGetBucketOwnershipControls    Operation = "GetBucketOwnershipControls"
	OpPutBucketOwnershipControls    Operation = "PutBucketOwnershipControls"
	OpDeleteBucketOwnershipControls Operation = "DeleteBucketOwnershipControls"
	OpPutBucketACL                  Operation = "PutBucketAcl"
	OpPutObjectACL                  Operation = "PutObjectAcl"
	// Lifecycle.
	OpPutBucketLifecycle    Operation = "PutBucketLifecycleConfiguration"
	OpGetBucketLifecycle    Operation = "GetBucketLifecycleConfiguration"
	OpDeleteBucketLifecycle Operation = "DeleteBucketLifecycle"
	// OpFindBySHA256 is FileSphere's content lookup, GET
	// /?x-filesphere-sha256=HEX (findhash.go): not an S3 operation.
	OpFindBySHA256     Operation = "FindBySHA256"
	OpNotImplemented   Operation = "NotImplemented"
	OpMethodNotAllowed Operation = "MethodNotAllowed"
)

// Operations of browser access: HTML form uploads and CORS.
const (
	OpPostObject       Operation = "PostObject"
	OpPutBucketCors    Operation = "PutBucketCors"
	OpGetBucketCors    Operation = "GetBucketCors"
	OpDeleteBucketCors Operation = "DeleteBucketCors"
	// OpPreflight is a CORS preflight (OPTIONS object): unauthenticated,
	// answered from the bucket's CORS rules.
	OpPreflight Operation = "PreflightRequest"
)

// Route is a classified request.
type Route struct {
	Op     Operation
	Bucket string
	Key    string
	// Sub is the unsupported subresource, for error messages.
	Sub string
	// API is the AWS API addressed: S3, or a Query API (IAM, STS).
	API API
}

// unsupported lists the bucket and object subresources FileSphere does not
// implement yet; any of them answers NotImplemented instead of being
// mistaken for a plain GET/PUT/DELETE.
var unsupported = []string{
	"accelerate", "analytics", "intelligent-tiering",
	"inventory", "logging", "metadataTableConfiguration", "metrics",
	"notification", "replication", "requestPayment", "restore", "select",
	"torrent", "website", "session", "renameObject", "abac", "annotation",
	"metadataConfiguration", "metadataTable", "metadataAnnotationTable", "metadataInventoryTable",
	"metadataJournalTable",
}

// splitTarget extracts bucket and key from a request. domain enables
// virtual-host style: "bucket.domain" hosts address that bucket.
func splitTarget(r *http.Request, domain string) (bucket, key string) {
	path := r.URL.Path
	if domain != "" {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(host)
		if b, ok := strings.CutSuffix(host, "."+domain); ok && b != "" {
			return b, strings.TrimPrefix(path, "/")
		}
	}
	path = strings.TrimPrefix(path, "/")
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// classify decides the operation of a request.
func classify(r *http.Request, domain string) Route { return classifyWith(r, r.URL.Query(), domain) }

// classifyWith is classify given the request's parsed query q (parsed once
// per request: serveS3 keeps it in request.query).
func classifyWith(r *http.Request, q url.Values, domain string) Route {
	bucket, key := splitTarget(r, domain)
	if isOAuthPath(bucket, key) {
		return Route{Op: OpOAuth, API: APIS3}
	}
	if bucket == adminBucket {
		return classifyAdmin(r.Method, key)
	}
	rt := Route{Bucket: bucket, Key: key, API: classifyAPI(r, q, bucket)}
	if rt.API != APIS3 {
		rt.Op = queryOperations[rt.API]
		return rt
	}
	if r.Method == http.MethodOptions && bucket != "" {
		// A preflight asks about the request it precedes, whatever its
		// subresource.
		rt.Op = OpPreflight
		return rt
	}
	for _, s := range unsupported {
		if _, ok := q[s]; ok {
			rt.Op, rt.Sub = OpNotImplemented, s
			return rt
		}
	}
	switch {
	case bucket == "" && q.Has(findHashParam):
		rt.Op = OpFindBySHA256
		if r.Method != http.MethodGet {
			rt.Op = OpMethodNotAllowed
		}
	case bucket == "":
		rt.Op = classifyService(r.Method)
	case key == "":
		if op, ok := classifyBucketAccess(r.Method, q); ok {
			rt.Op = op
			return rt
		}
		rt.Op = classifyBucket(r.Method, q)
	default:
		rt.Op = classifyObject(r, q)
	}
	if rt.Op == OpNotImplemented {
		rt.Sub = misplacedSub(q, key == "")
	}
	return rt
}

// misplacedSub names a subresource sent to the wrong level (object lock
// configuration on an object, a retention on a bucket), which is refused
// rather than taken for a plain request on that level.
func misplacedSub(q map[string][]string, bucketLevel bool) string {
	subs := []string{"object-lock", "lifecycle", "encryption"}
	if bucketLevel {
		subs = []string{"retention", "legal-hold"}
	}
	for _, s := range subs {
		if _, ok := q[s]; ok {
			return s
		}
	}
	return ""
}

// subOp picks the operation of a subresource that is routed per method.
func subOp(method string, put, get, del Operation) Operation {
	switch method {
	case http.MethodPut:
		return put
	case http.MethodGet:
		return get
	case http.MethodDelete:
		if del != "" {
			return del
		}
	}
	return OpMethodNotAllowed
}

func classifyService(method string) Operation {
	if method == http.MethodGet {
		return OpListBuckets
	}
	return OpMethodNotAllowed
}

func classifyBucket(method string, q map[string][]string) Operation {
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case has("attributes"):
		return OpNotImplemented // an object subresource; no bucket operation has it
	case has("tagging"):
		return subOp(method, OpPutBucketTagging, OpGetBucketTagging, OpDeleteBucketTagging)
	case has("object-lock"):
		return subOp(method, OpPutObjectLockConfig, OpGetObjectLockConfig, "")
	case has("lifecycle"):
		return subOp(method, OpPutBucketLifecycle, OpGetBucketLifecycle, OpDeleteBucketLifecycle)
	case has("encryption"):
		return subOp(method, OpPutBucketEncryption, OpGetBucketEncryption, OpDeleteBucketEncryption)
	case has("retention"), has("legal-hold"):
		return OpNotImplemented
	}
	switch method {
	case http.MethodPut:
		switch {
		case has("versioning"):
			return OpPutBucketVersioning
		case has("cors"):
			return OpPutBucketCors
		case has("acl"):
			return OpPutBucketACL
		}
		return OpCreateBucket
	case http.MethodGet:
		switch {
		case has("location"):
			return OpGetBucketLocation
		case has("versioning"):
			return OpGetBucketVersioning
		case has("versions"):
			return OpListObjectVersions
		case has("uploads"):
			return OpListMultipartUploads
		case has("acl"):
			return OpGetBucketACL
		case has("cors"):
			return OpGetBucketCors
		case len(q["list-type"]) > 0 && q["list-type"][0] == "2":
			return OpListObjectsV2
		}
		return OpListObjectsV1
	case http.MethodHead:
		return OpHeadBucket
	case http.MethodDelete:
		if has("cors") {
			return OpDeleteBucketCors
		}
		return OpDeleteBucket
	case http.MethodPost:
		if has("delete") {
			return OpDeleteObjects
		}
		// A browser-based upload: an HTML form POSTed to the bucket.
		return OpPostObject
	}
	return OpMethodNotAllowed
}

func classifyObject(r *http.Request, q map[string][]string) Operation {
	has := func(k string) bool { _, ok := q[k]; return ok }
	copySrc := r.Header.Get("X-Amz-Copy-Source") != ""
	switch {
	case has("attributes"):
		// GetObjectAttributes is the only operation on this subresource.
		if r.Method == http.MethodGet {
			return OpGetObjectAttributes
		}
		return OpMethodNotAllowed
	case has("tagging"):
		return subOp(r.Method, OpPutObjectTagging, OpGetObjectTagging, OpDeleteObjectTagging)
	case has("retention"):
		return subOp(r.Method, OpPutObjectRetention, OpGetObjectRetention, "")
	case has("legal-hold"):
		return subOp(r.Method, OpPutObjectLegalHold, OpGetObjectLegalHold, "")
	case has("object-lock"), has("lifecycle"), has("encryption"):
		return OpNotImplemented // bucket subresources
	}
	switch r.Method {
	case http.MethodPut:
		switch {
		case has("acl"):
			return OpPutObjectACL
		case has("uploadId") && copySrc:
			return OpUploadPartCopy
		case has("uploadId"):
			return OpUploadPart
		case copySrc:
			return OpCopyObject
		}
		return OpPutObject
	case http.MethodGet:
		switch {
		case has("uploadId"):
			return OpListParts
		case has("acl"):
			return OpGetObjectACL
		}
		return OpGetObject
	case http.MethodHead:
		return OpHeadObject
	case http.MethodDelete:
		if has("uploadId") {
			return OpAbortMultipartUpload
		}
		return OpDeleteObject
	case http.MethodPost:
		switch {
		case has("uploads"):
			return OpCreateMultipartUpload
		case has("uploadId"):
			return OpCompleteMultipartUpload
		}
		return OpNotImplemented
	}
	return OpMethodNotAllowed
}
