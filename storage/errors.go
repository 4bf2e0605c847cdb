package storage

import (
	"errors"
	"fmt"
)

// Sentinels for conditions that carry no extra fields. The s3api layer maps
// each (and each typed error below) to exactly one S3 error.
var (
	ErrInvalidBucketName  = errors.New("storage: invalid bucket name")
	ErrInvalidObjectName  = errors.New("storage: invalid object key")
	ErrBucketExists       = errors.New("storage: bucket already exists")
	ErrBucketNotEmpty     = errors.New("storage: bucket not empty")
	ErrPreconditionFailed = errors.New("storage: precondition failed")
	ErrNotModified        = errors.New("storage: not modified")
	ErrInvalidRange       = errors.New("storage: requested range not satisfiable")
	ErrInvalidPart        = errors.New("storage: invalid part")
	ErrInvalidPartOrder   = errors.New("storage: parts not in ascending order")
	ErrEntityTooSmall     = errors.New("storage: part smaller than the minimum")
	ErrEntityTooLarge     = errors.New("storage: entity too large")
	ErrIncompleteBody     = errors.New("storage: body shorter than declared")
	ErrBadDigest          = errors.New("storage: content digest mismatch")
	ErrInvalidCopy        = errors.New("storage: copy onto itself without changes")
	ErrInvalidVersionID   = errors.New("storage: invalid version id")
	ErrInvalidArgument    = errors.New("storage: invalid argument")
	ErrWriteQuorum        = errors.New("storage: not enough drives online to write")
	ErrReadQuorum         = errors.New("storage: not enough drives online to read")
	ErrConflict           = errors.New("storage: concurrent update conflict")
	ErrMethodNotAllowed   = errors.New("storage: method not allowed on a delete marker")
	ErrInvalidPartNumber  = errors.New("storage: invalid part number")
	// ErrChecksumMismatch: a checksum algorithm or type that is not the
	// one the multipart upload was created with, or one S3 does not
	// allow with it.
	ErrChecksumMismatch = errors.New("storage: checksum algorithm or type not the upload's")
	// ErrCommitUnknown: a metadata commit may or may not have happened
	// (the leader changed and the outcome could not be read back). Data it
	// referenced is kept; garbage collection removes it if unreferenced.
	ErrCommitUnknown = errors.New("storage: commit outcome unknown")
)

// BucketNotFoundError is returned for a missing bucket.
type BucketNotFoundError struct{ Bucket string }

func (e *BucketNotFoundError) Error() string {
	return fmt.Sprintf("storage: bucket %q not found", e.Bucket)
}

// ObjectNotFoundError is returned for a missing key or version. DeleteMarker
// is set when the resolved version is a delete marker (S3 then answers with
// x-amz-delete-marker and, for an explicit version, 405).
type ObjectNotFoundError struct {
	Bucket, Key, VersionID string
	DeleteMarker           bool
	// MarkerVersionID is the delete marker's id when DeleteMarker is set.
	MarkerVersionID string
}

func (e *ObjectNotFoundError) Error() string {
	if e.VersionID != "" {
		return fmt.Sprintf("storage: object %s/%s version %s not found", e.Bucket, e.Key, e.VersionID)
	}
	return fmt.Sprintf("storage: object %s/%s not found", e.Bucket, e.Key)
}

// VersionNotFoundError is returned when an explicit version id does not exist.
type VersionNotFoundError struct{ Bucket, Key, VersionID string }

func (e *VersionNotFoundError) Error() string {
	return fmt.Sprintf("storage: version %s of %s/%s not found", e.VersionID, e.Bucket, e.Key)
}

// UploadNotFoundError is returned for an unknown multipart upload id.
type UploadNotFoundError struct{ Bucket, Key, UploadID string }

func (e *UploadNotFoundError) Error() string {
	return fmt.Sprintf("storage: upload %s of %s/%s not found", e.UploadID, e.Bucket, e.Key)
}

// PreconditionError wraps ErrPreconditionFailed or ErrNotModified with the
// object's current info (S3 returns the ETag with 304).
type PreconditionError struct {
	Err  error
	Info ObjectInfo
}

func (e *PreconditionError) Error() string { return e.Err.Error() }
func (e *PreconditionError) Unwrap() error { return e.Err }

// RangeError is ErrInvalidRange with the object size (for Content-Range).
type RangeError struct{ Size int64 }

func (e *RangeError) Error() string { return ErrInvalidRange.Error() }
func (e *RangeError) Unwrap() error { return ErrInvalidRange }
