package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/filesphere/filesphere/storage/sse"
)

// SSEType is how a version's data is encrypted at rest ("" = not).
type SSEType string

// The server-side encryption kinds, named as S3 names them on the wire
// (SSE-C has no x-amz-server-side-encryption value of its own).
const (
	SSENone SSEType = ""
	SSES3   SSEType = "AES256"  // data keys under the key service's default key
	SSEKMS  SSEType = "aws:kms" // data keys under a named key
	SSEC    SSEType = "SSE-C"   // the object key sealed under the client's key
)

// Encryption is what a write asks for. Nil means the bucket's default
// encryption (or none).
type Encryption struct {
	Type SSEType
	// KMSKeyID names the key of SSE-KMS ("" = the default key).
	KMSKeyID string
	// Context is the client's SSE-KMS encryption context; the object's
	// ARN is always added (as aws:s3:arn) and binds the data key to it.
	Context map[string]string
	// CustomerKey is the SSE-C key, for this request only: it is never
	// stored, not even hashed.
	CustomerKey sse.Key
}

// SSEInfo is how a stored version (or an upload, or a part) is encrypted.
type SSEInfo struct {
	Type     SSEType
	KMSKeyID string            // SSE-S3/SSE-KMS key name ("" = the default key)
	Context  map[string]string // the client's SSE-KMS context, as given
}

// KeyService is the key manager data keys come from; *kms.KMS satisfies
// it. Its errors reach the caller wrapped in a *KMSError.
type KeyService interface {
	// GenerateDataKey returns a fresh data key and its sealed form, sealed
	// with key name ("" = the default key) and bound to ec.
	GenerateDataKey(ctx context.Context, name string, ec map[string]string) ([32]byte, []byte, error)
	// Decrypt unwraps a sealed data key given the same ec.
	Decrypt(ctx context.Context, sealed []byte, ec map[string]string) ([32]byte, error)
	// KeyVersion is the newest version of key name ("" = the default
	// key): the one GenerateDataKey seals with now.
	KeyVersion(ctx context.Context, name string) (uint32, error)
	// SealedVersion is the key version a sealed data key was sealed
	// with, read without opening it.
	SealedVersion(sealed []byte) (uint32, error)
}

// Errors of server-side encryption; s3api answers each as S3 does.
var (
	// ErrSSECKeyRequired: the object (or copy source) is SSE-C and the
	// request gives no customer key.
	ErrSSECKeyRequired = errors.New("storage: the object is encrypted with a customer key the request does not give")
	// ErrSSECKeyMismatch: the customer key given is not the object's.
	ErrSSECKeyMismatch = errors.New("storage: the customer key is not the one the object was encrypted with")
	// ErrSSENotApplicable: a customer key for an object not encrypted with one.
	ErrSSENotApplicable = errors.New("storage: customer key given for an object not encrypted with one")
	// ErrSSEUploadKeyRequired: a part of an SSE-C upload without the key.
	ErrSSEUploadKeyRequired = errors.New("storage: the upload is encrypted with a customer key the part request does not give")
	// ErrSSEUploadMismatch: a part's customer key is not the upload's (or
	// the upload has none).
	ErrSSEUploadMismatch = errors.New("storage: the part's encryption is not the upload's")
	// ErrNoKeyService: SSE-S3 or SSE-KMS on an engine without a key service.
	ErrNoKeyService = errors.New("storage: no key service for server-side encryption")
)

// KMSError is a key service failure for an object's key: Err is the
// service's error (key disabled, not found, ...), KeyID the key's name.
type KMSError struct {
	KeyID string
	Err   error
}

func (e *KMSError) Error() string {
	return fmt.Sprintf("storage: data key under KMS key %q: %v", e.KeyID, e.Err)
}

func (e *KMSError) Unwrap() error { return e.Err }

// sseRecord is a version's (or upload's) encryption as stored: the kind,
// the key's name, the client's context and the sealed object key (the
// key service's blob, or for SSE-C the object key sealed under the
// customer key). Never a key in clear, nor a hash of the customer key.
type sseRecord struct {
	Type    SSEType           `json:"t"`
	KeyID   string            `json:"kid,omitempty"`
	Context map[string]string `json:"ctx,omitempty"`
	Sealed  []byte            `json:"sk"`
}

func (r *sseRecord) info() *SSEInfo {
	if r == nil {
		return nil
	}
	return &SSEInfo{Type: r.Type, KMSKeyID: r.KeyID, Context: r.Context}
}

// objectARN is the S3 ARN of an object, the encryption context S3 binds
// SSE-KMS data keys to.
func objectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

// kmsContext is the encryption context of an object's data key.
func kmsContext(bucket, key string, client map[string]string) map[string]string {
	ec := make(map[string]string, len(client)+1)
	for k, v := range client {
		ec[k] = v
	}
	ec["aws:s3:arn"] = objectARN(bucket, key)
	return ec
}

// customerContext binds an SSE-C sealed object key to its object.
func customerContext(bucket, key string) []byte {
	return []byte("filesphere/sse-c\x00" + bucket + "\x00" + key)
}

// streamEnc is how one data stream is sealed: the object key and the
// stream's Params; plainETag makes the ETag the plaintext's MD5 (SSE-S3,
// as S3 does), else it is the ciphertext's, which reveals nothing.
type streamEnc struct {
	key       sse.Key
	params    sse.Params
	plainETag bool
}

// sealNew makes the key of a new object (or upload) encrypted as enc
// asks: a data key from the key service, or a random object key sealed
// under the customer key.
func (e *Engine) sealNew(ctx context.Context, bucket, key string, enc *Encryption) (*sseRecord, sse.Key, error) {
	switch enc.Type {
	case SSEC:
		if enc.CustomerKey == (sse.Key{}) {
			return nil, sse.Key{}, fmt.Errorf("%w: empty customer key", ErrInvalidArgument)
		}
		ok, err := sse.NewKey()
		if err != nil {
			return nil, sse.Key{}, err
		}
		sealed, err := sse.SealKey(enc.CustomerKey, ok, customerContext(bucket, key))
		if err != nil {
			return nil, sse.Key{}, err
		}
		return &sseRecord{Type: SSEC, Sealed: sealed}, ok, nil
	case SSES3, SSEKMS:
		if e.cfg.Keys == nil {
			return nil, sse.Key{}, ErrNoKeyService
		}
		name := enc.KMSKeyID
		if enc.Type == SSES3 {
			name = ""
		}
		rec := &sseRecord{Type: enc.Type, KeyID: name}
		if enc.Type == SSEKMS && len(enc.Context) > 0 {
			rec.Context = enc.Context
		}
		dk, sealed, err := e.cfg.Keys.GenerateDataKey(ctx, name, kmsContext(bucket, key, rec.Context))
		if err != nil {
			return nil, sse.Key{}, &KMSError{KeyID: name, Err: err}
		}
		rec.Sealed = sealed
		return rec, sse.Key(dk), nil
	}
	return nil, sse.Key{}, fmt.Errorf("%w: server-side encryption %q", ErrInvalidArgument, enc.Type)
}

// openKey returns the object key of an encrypted version or upload. A
// customer key must be given exactly for SSE-C; decrypt false only checks
// an SSE-C key (HEAD), sparing the key service.
func (e *Engine) openKey(ctx context.Context, bucket, key string, rec *sseRecord, customer *sse.Key, decrypt bool) (sse.Key, error) {
	switch {
	case rec == nil && customer != nil:
		return sse.Key{}, ErrSSENotApplicable
	case rec == nil:
		return sse.Key{}, nil
	case rec.Type == SSEC:
		if customer == nil {
			return sse.Key{}, ErrSSECKeyRequired
		}
		ok, err := sse.OpenKey(*customer, rec.Sealed, customerContext(bucket, key))
		if errors.Is(err, sse.ErrKeyMismatch) {
			return sse.Key{}, ErrSSECKeyMismatch
		}
		return ok, err
	case customer != nil:
		return sse.Key{}, ErrSSENotApplicable
	case !decrypt:
		return sse.Key{}, nil
	case e.cfg.Keys == nil:
		return sse.Key{}, ErrNoKeyService
	}
	dk, err := e.cfg.Keys.Decrypt(ctx, rec.Sealed, kmsContext(bucket, key, rec.Context))
	if err != nil {
		return sse.Key{}, &KMSError{KeyID: rec.KeyID, Err: err}
	}
	return sse.Key(dk), nil
}

// streamFor returns how stream part (0 for a whole object) is sealed under
// the object key of rec (nil: not encrypted).
func (e *Engine) streamFor(rec *sseRecord, ok sse.Key, part int) (*streamEnc, error) {
	if rec == nil {
		return nil, nil
	}
	p, err := sse.NewParams(e.suite, uint32(part))
	if err != nil {
		return nil, err
	}
	return &streamEnc{key: ok, params: p, plainETag: rec.Type == SSES3}, nil
}

// writeEncryption settles a new object's encryption: the request's, else
// the bucket's default, else none.
func (e *Engine) writeEncryption(ctx context.Context, bucket string, enc *Encryption) (*Encryption, error) {
	if enc != nil {
		return enc, nil
	}
	def, err := bucketEncryptionFrom(ctx, e.casKV, bucket)
	if err != nil || def == nil {
		return nil, err
	}
	return &Encryption{Type: def.Type, KMSKeyID: def.KMSKeyID}, nil
}

// storedSize is the size of a data stream as stored (and erasure-coded):
// the ciphertext's when encrypted.
func (d dataRecord) storedSize() int64 {
	if d.SSE != nil {
		return sse.EncryptedSize(d.Size)
	}
	return d.Size
}
