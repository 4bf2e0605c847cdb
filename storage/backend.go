// Package storage is the object layer: the Backend seam that the S3 API talks
// to, its domain types and typed errors, and Engine, the erasure-coded,
// versioned implementation over drives and the metadata store.
package storage

import (
	"context"
	"io"
	"time"
)

// Backend is everything the protocol layer needs from the object layer.
// Types are our own; no SDK structs cross this seam.
type Backend interface {
	Buckets
	BucketConfigs
	Objects
	Multipart
	// WriteMemory is the memory one PutObject or UploadPart of size bytes
	// (-1 unknown) holds while its body streams in, so the protocol layer
	// can bound the memory of concurrent uploads before accepting one.
	WriteMemory(size int64) int64
	ObjectTagging
	ObjectLocks
	BucketLifecycle
	ContentIndex
	ContentAdmin
	BucketEncryptions
}

// Buckets manages the bucket namespace and bucket settings.
type Buckets interface {
	CreateBucket(ctx context.Context, name string, opts CreateBucketOptions) error
	HeadBucket(ctx context.Context, name string) (BucketInfo, error)
	DeleteBucket(ctx context.Context, name string) error
	ListBuckets(ctx context.Context) ([]BucketInfo, error)
	SetBucketVersioning(ctx context.Context, name string, state VersioningState) error
	GetBucketVersioning(ctx context.Context, name string) (VersioningState, error)
}

// Objects reads and writes object versions.
type Objects interface {
	// PutObject streams r (exactly opts.Size bytes, or until EOF when Size < 0)
	// into a new version. It returns only when the data is durable on a write
	// quorum and the version is committed; on error nothing is visible.
	PutObject(ctx context.Context, bucket, key string, r io.Reader, opts PutOptions) (ObjectInfo, error)
	// GetObject resolves the version and opens a reader over rng (nil = whole).
	GetObject(ctx context.Context, bucket, key string, opts GetOptions) (*ObjectReader, error)
	HeadObject(ctx context.Context, bucket, key string, opts GetOptions) (ObjectInfo, error)
	DeleteObject(ctx context.Context, bucket, key string, opts DeleteOptions) (DeleteResult, error)
	CopyObject(ctx context.Context, src CopySource, dstBucket, dstKey string, opts CopyOptions) (ObjectInfo, error)
	// ListObjects and ListObjectVersions return of each version only what
	// a listing shows: key, version id, latest and delete-marker flags,
	// size, ETag, modification time, storage class and checksum
	// algorithms and types (no values); metadata, tags, lock, SSE and
	// hashes are left zero (HeadObject has them).
	ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListResult, error)
	ListObjectVersions(ctx context.Context, bucket string, opts ListVersionsOptions) (ListVersionsResult, error)
	// SetObjectACL replaces the ACL (Metadata.ACL) of a version (the latest
	// when versionID is empty); nothing else of it changes.
	SetObjectACL(ctx context.Context, bucket, key, versionID string, acl []byte) error
}

// Multipart is the multipart upload API.
type Multipart interface {
	CreateMultipartUpload(ctx context.Context, bucket, key string, opts PutOptions) (string, error)
	UploadPart(ctx context.Context, bucket, key, uploadID string, part int, r io.Reader, opts PartOptions) (PartInfo, error)
	// UploadPartCopy copies rng (nil = whole) of a source object into a part.
	UploadPartCopy(ctx context.Context, src CopySource, bucket, key, uploadID string, part int, opts CopyOptions) (PartInfo, error)
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletePart, opts CompleteOptions) (ObjectInfo, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
	ListParts(ctx context.Context, bucket, key, uploadID string, opts ListPartsOptions) (ListPartsResult, error)
	ListMultipartUploads(ctx context.Context, bucket string, opts ListUploadsOptions) (ListUploadsResult, error)
}

// ObjectReader streams an object's bytes.
type ObjectReader struct {
	Info ObjectInfo
	// Range is the byte range being returned; nil when the whole object is.
	Range *ResolvedRange
	io.ReadCloser
}

// Now is the clock type injected into the engine.
type Now func() time.Time
