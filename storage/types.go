package storage

import (
	"time"

	"github.com/filesphere/filesphere/storage/sse"
)

// VersioningState is a bucket's versioning configuration.
type VersioningState string

// Versioning states as S3 names them; "" means never enabled.
const (
	VersioningUnset     VersioningState = ""
	VersioningEnabled   VersioningState = "Enabled"
	VersioningSuspended VersioningState = "Suspended"
)

// NullVersionID is the id of versions written while versioning is not enabled.
const NullVersionID = "null"

// CreateBucketOptions carries CreateBucket settings.
type CreateBucketOptions struct {
	Region string
	Owner  string
	// ObjectLock creates the bucket with object lock enabled, which also
	// enables versioning; neither can be turned off afterwards.
	ObjectLock bool
}

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name       string
	Created    time.Time
	Region     string
	Owner      string
	Versioning VersioningState
	ObjectLock bool
}

// Checksum algorithms supported for x-amz-checksum-*.
type ChecksumAlgorithm string

// The algorithms S3 defines.
const (
	ChecksumCRC32     ChecksumAlgorithm = "CRC32"
	ChecksumCRC32C    ChecksumAlgorithm = "CRC32C"
	ChecksumSHA1      ChecksumAlgorithm = "SHA1"
	ChecksumSHA256    ChecksumAlgorithm = "SHA256"
	ChecksumCRC64NVME ChecksumAlgorithm = "CRC64NVME"
)

// The checksum types: of the whole object's bytes, or (multipart only) of
// the parts' checksums.
const (
	ChecksumFullObject = "FULL_OBJECT"
	ChecksumComposite  = "COMPOSITE"
)

// Checksum is one algorithm's base64 value; Type is FULL_OBJECT or COMPOSITE.
type Checksum struct {
	Algorithm ChecksumAlgorithm `json:"a"`
	Value     string            `json:"v"`
	Type      string            `json:"t,omitempty"`
}

// Metadata holds the content headers and user metadata stored with a version.
type Metadata struct {
	ContentType        string            `json:"ct,omitempty"`
	ContentEncoding    string            `json:"ce,omitempty"`
	ContentDisposition string            `json:"cd,omitempty"`
	ContentLanguage    string            `json:"cl,omitempty"`
	CacheControl       string            `json:"cc,omitempty"`
	Expires            string            `json:"ex,omitempty"`
	User               map[string]string `json:"um,omitempty"` // lower-case names without x-amz-meta-
	// ACL is the object's access control list in the protocol layer's
	// encoding (nil: the owner's full control). Unlike the other fields a
	// copy never keeps it: CopyObject stores CopyOptions.ACL.
	ACL []byte `json:"acl,omitempty"`
}

// PutOptions carries what a PUT (or CreateMultipartUpload) stores.
type PutOptions struct {
	Size     int64 // -1 when unknown
	Meta     Metadata
	Checksum *Checksum // verified by the caller's reader; stored and returned
	// ChecksumAlgorithm declared for multipart uploads, and how their
	// parts' checksums make the object's: ChecksumComposite or
	// ChecksumFullObject ("" picks the algorithm's default).
	ChecksumAlgorithm ChecksumAlgorithm
	ChecksumType      string
	// Preconditions evaluated atomically with the commit.
	IfNoneMatchStar bool
	IfMatch         string
	// ContentMD5 is verified by the caller's reader; the engine computes ETag.
	// Tags are the new version's tags (already validated by the caller).
	Tags []Tag
	// Lock is the new version's retention and legal hold; without a
	// retention, a lock-enabled bucket's default retention applies.
	Lock ObjectLock
	// Digested says the body carried a Content-MD5 or checksum the caller's
	// reader verifies; object lock accepts only such bodies.
	Digested bool
	// Digest, when set, is the caller's Digest of exactly the bytes the
	// body yields (complete at its io.EOF); with MD5 and SHA-256 in it the
	// engine takes the ETag and content hash from it instead of hashing
	// the body again.
	Digest *Digest
	// SSE is the encryption asked for; nil takes the bucket's default.
	SSE *Encryption
}

// PartOptions carries what UploadPart stores.
type PartOptions struct {
	Size     int64
	Checksum *Checksum
	// Digest is as in PutOptions; its checksum also serves an upload
	// created with the same checksum algorithm.
	Digest *Digest
	// CustomerKey is the SSE-C key of the part; it must be the upload's.
	CustomerKey *sse.Key
}

// GetOptions selects a version and a range and evaluates conditions.
type GetOptions struct {
	VersionID  string
	Range      *Range
	PartNumber int
	Cond       Conditions
	// Parts asks HeadObject for ObjectInfo.Parts.
	Parts bool
	// CustomerKey is the SSE-C key; an SSE-C object is read only with it.
	CustomerKey *sse.Key
}

// Conditions are the HTTP preconditions of GET/HEAD (and copy-source ones).
type Conditions struct {
	IfMatch           string
	IfNoneMatch       string
	IfModifiedSince   *time.Time
	IfUnmodifiedSince *time.Time
}

// Range is a requested byte range: Start..End inclusive; End < 0 = open;
// Suffix > 0 = last Suffix bytes.
type Range struct {
	Start, End int64
	Suffix     int64
}

// ResolvedRange is a range resolved against an object size.
type ResolvedRange struct {
	Start, Length, Size int64
}

// ObjectInfo describes one object version.
type ObjectInfo struct {
	Bucket       string
	Key          string
	VersionID    string // "" in never-versioned buckets' responses handled by caller
	IsLatest     bool
	DeleteMarker bool
	Size         int64
	ETag         string // quoted
	ModTime      time.Time
	Meta         Metadata
	Checksums    []Checksum
	PartsCount   int
	Versioned    bool // bucket had versioning enabled when written (version id is real)
	StorageClass string
	// Parts of a multipart object, in order, when GetOptions.Parts asked.
	Parts []PartInfo
	Tags  []Tag
	Lock  ObjectLock
	// Expiration is when an Expiration lifecycle rule expires the
	// version as the current one (nil when none does).
	Expiration *Expiry
	// SSE is the version's encryption; nil when stored in clear.
	SSE *SSEInfo
}

// DeleteOptions selects a version to delete.
type DeleteOptions struct {
	VersionID string
	// BypassGovernance lets the delete remove a version under GOVERNANCE
	// retention. The protocol layer sets it only when the request asks for
	// it and the principal is allowed s3:BypassGovernanceRetention.
	BypassGovernance bool
}

// DeleteResult says what a delete did.
type DeleteResult struct {
	VersionID    string
	DeleteMarker bool
}

// CopySource names the source of a copy.
type CopySource struct {
	Bucket, Key, VersionID string
	Cond                   Conditions
	Range                  *Range
	// CustomerKey is the source's SSE-C key.
	CustomerKey *sse.Key
}

// CopyOptions carries the destination's settings.
type CopyOptions struct {
	ReplaceMeta bool
	Meta        Metadata
	// ACL is the new object's ACL (Metadata.ACL), whatever the source had.
	ACL []byte
	// ChecksumAlgorithm requests a checksum on the new object.
	ChecksumAlgorithm ChecksumAlgorithm
	IfNoneMatchStar   bool
	IfMatch           string
	// ReplaceTags gives the copy Tags instead of the source's tags.
	ReplaceTags bool
	Tags        []Tag
	// Lock is the copy's retention and legal hold (never the source's).
	Lock ObjectLock
	// SSE is the copy's encryption (never the source's); nil takes the
	// destination bucket's default. For UploadPartCopy only an SSE-C key,
	// which must be the upload's.
	SSE *Encryption
}

// ListOptions are the ListObjects (V1/V2) parameters after decoding.
type ListOptions struct {
	Prefix    string
	Delimiter string
	Marker    string // exclusive start (marker / start-after / continuation)
	MaxKeys   int
}

// ListResult is a page of keys.
type ListResult struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	IsTruncated    bool
	NextMarker     string // last key or prefix returned, for the next page
}

// ListVersionsOptions are the ListObjectVersions parameters.
type ListVersionsOptions struct {
	Prefix          string
	Delimiter       string
	KeyMarker       string
	VersionIDMarker string
	MaxKeys         int
}

// ListVersionsResult is a page of versions.
type ListVersionsResult struct {
	Versions            []ObjectInfo // delete markers have DeleteMarker set
	CommonPrefixes      []string
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIDMarker string
}

// PartInfo describes an uploaded part.
type PartInfo struct {
	Number    int
	ETag      string
	Size      int64
	ModTime   time.Time
	Checksums []Checksum
	// SSE is the part's (its upload's) encryption, on UploadPart answers.
	SSE *SSEInfo
}

// CompletePart is one part named in CompleteMultipartUpload.
type CompletePart struct {
	Number    int
	ETag      string
	Checksums []Checksum
}

// CompleteOptions carries CompleteMultipartUpload preconditions.
type CompleteOptions struct {
	IfNoneMatchStar bool
	IfMatch         string
	// Checksum, when set, is the client's checksum of the whole object
	// (COMPOSITE: base64 with or without the "-<parts>" suffix;
	// FULL_OBJECT: the CRC of all bytes); the upload completes only if it
	// matches.
	Checksum *Checksum
	// ChecksumType, when set, must be the upload's checksum type.
	ChecksumType string
	// CustomerKey, when set, must be the SSE-C key of the upload.
	CustomerKey *sse.Key
}

// ListPartsOptions pages ListParts.
type ListPartsOptions struct {
	PartNumberMarker int
	MaxParts         int
}

// ListPartsResult is a page of parts.
type ListPartsResult struct {
	Parts                []PartInfo
	IsTruncated          bool
	NextPartNumberMarker int
	Meta                 Metadata
	ChecksumAlgorithm    ChecksumAlgorithm
	ChecksumType         string
	Initiated            time.Time
	// SSE is the upload's encryption.
	SSE *SSEInfo
}

// ListUploadsOptions pages ListMultipartUploads.
type ListUploadsOptions struct {
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	MaxUploads     int
}

// UploadInfo describes an in-progress multipart upload.
type UploadInfo struct {
	Key       string
	UploadID  string
	Initiated time.Time
}

// ListUploadsResult is a page of uploads.
type ListUploadsResult struct {
	Uploads            []UploadInfo
	CommonPrefixes     []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}
