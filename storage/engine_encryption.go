package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/filesphere/filesphere/cluster/meta"
)

// BucketEncryption is a bucket's default encryption: what objects
// written without encryption headers get (SSE-S3 or SSE-KMS).
type BucketEncryption struct {
	Type     SSEType `json:"t"`
	KMSKeyID string  `json:"kid,omitempty"` // SSE-KMS only; "" = the default key
}

// BucketEncryptions are a bucket's default encryption settings.
type BucketEncryptions interface {
	PutBucketEncryption(ctx context.Context, bucket string, cfg BucketEncryption) error
	// GetBucketEncryption returns the setting or a *ConfigNotFoundError.
	GetBucketEncryption(ctx context.Context, bucket string) (BucketEncryption, error)
	// DeleteBucketEncryption removes the setting; removing none is no error.
	DeleteBucketEncryption(ctx context.Context, bucket string) error
}

func (c BucketEncryption) validate() error {
	switch {
	case c.Type != SSES3 && c.Type != SSEKMS:
		return fmt.Errorf("%w: default encryption %q", ErrInvalidArgument, c.Type)
	case c.Type == SSES3 && c.KMSKeyID != "":
		return fmt.Errorf("%w: a KMS key id needs aws:kms", ErrInvalidArgument)
	}
	return nil
}

// PutBucketEncryption implements BucketEncryptions. Only writes that come
// after it are encrypted by default; existing objects stay as they are.
func (e *Engine) PutBucketEncryption(ctx context.Context, bucket string, cfg BucketEncryption) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.Type != SSENone && e.cfg.Keys == nil {
		return ErrNoKeyService
	}
	return e.writeBucketConfig(ctx, bucket, meta.Put(configKey(bucket, ConfigEncryption), encode(cfg)))
}

// GetBucketEncryption implements BucketEncryptions.
func (e *Engine) GetBucketEncryption(ctx context.Context, bucket string) (BucketEncryption, error) {
	if _, _, err := e.getBucket(ctx, bucket); err != nil {
		return BucketEncryption{}, err
	}
	c, err := bucketEncryptionFrom(ctx, e.kv, bucket)
	if err != nil {
		return BucketEncryption{}, err
	}
	if c == nil {
		return BucketEncryption{}, &ConfigNotFoundError{Bucket: bucket, Kind: ConfigEncryption}
	}
	return *c, nil
}

// DeleteBucketEncryption implements BucketEncryptions.
func (e *Engine) DeleteBucketEncryption(ctx context.Context, bucket string) error {
	return e.writeBucketConfig(ctx, bucket, meta.Delete(configKey(bucket, ConfigEncryption)))
}

// bucketEncryptionFrom reads a bucket's default encryption (nil: none).
func bucketEncryptionFrom(ctx context.Context, kv meta.KV, bucket string) (*BucketEncryption, error) {
	ent, err := kv.Get(ctx, configKey(bucket, ConfigEncryption))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c BucketEncryption
	if err := decode(ent.Value, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
