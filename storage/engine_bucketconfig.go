package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/filesphere/filesphere/cluster/meta"
)

// ConfigKind names one of a bucket's settings documents.
type ConfigKind string

// The bucket settings kept as documents beside the bucket record. The
// protocol layer owns the format of the opaque ones (CORS, policy, ...);
// the engine decodes those it enforces itself.
const (
	ConfigCORS              ConfigKind = "cors"
	ConfigLifecycle         ConfigKind = "lifecycle"
	ConfigPolicy            ConfigKind = "policy"
	ConfigTagging           ConfigKind = "tagging"
	ConfigEncryption        ConfigKind = "encryption"
	ConfigObjectLock        ConfigKind = "object-lock"
	ConfigOwnership         ConfigKind = "ownership"
	ConfigPublicAccessBlock ConfigKind = "public-access-block"
	ConfigACL               ConfigKind = "acl"
)

// maxConfigBytes bounds one settings document (a lifecycle configuration
// of 1,000 rules fits; Raft entries stay small).
const maxConfigBytes = 512 << 10

// ConfigNotFoundError is returned when a bucket has no document of a kind.
type ConfigNotFoundError struct {
	Bucket string
	Kind   ConfigKind
}

func (e *ConfigNotFoundError) Error() string {
	return fmt.Sprintf("storage: bucket %q has no %s configuration", e.Bucket, e.Kind)
}

// BucketConfigs stores a bucket's settings documents. A document is
// written only while its bucket exists, and goes with the bucket.
type BucketConfigs interface {
	PutBucketConfig(ctx context.Context, bucket string, kind ConfigKind, doc []byte) error
	// GetBucketConfig returns the document or a *ConfigNotFoundError.
	GetBucketConfig(ctx context.Context, bucket string, kind ConfigKind) ([]byte, error)
	// DeleteBucketConfig removes the document; removing none is no error.
	DeleteBucketConfig(ctx context.Context, bucket string, kind ConfigKind) error
	// GetBucketConfigs returns the bucket and several documents at once
	// (see Engine.GetBucketConfigs).
	GetBucketConfigs(ctx context.Context, bucket string, kinds ...ConfigKind) (BucketInfo, []ConfigDoc, error)
	// BucketConfigGeneration changes whenever any settings document does
	// (see Engine.BucketConfigGeneration).
	BucketConfigGeneration(ctx context.Context) (uint64, error)
}

func validKind(k ConfigKind) bool {
	switch k {
	case ConfigCORS, ConfigLifecycle, ConfigPolicy, ConfigTagging, ConfigEncryption,
		ConfigObjectLock, ConfigOwnership, ConfigPublicAccessBlock, ConfigACL:
		return true
	}
	return false
}

// enginesOwn are the kinds the engine decodes and enforces itself; they
// are written only through their typed methods (PutObjectLockConfig,
// PutBucketLifecycle, PutBucketEncryption).
func enginesOwn(k ConfigKind) bool {
	return k == ConfigObjectLock || k == ConfigLifecycle || k == ConfigEncryption
}

// PutBucketConfig implements BucketConfigs. The write compares the bucket
// record's revision, so it cannot land on a bucket being deleted.
func (e *Engine) PutBucketConfig(ctx context.Context, bucket string, kind ConfigKind, doc []byte) error {
	if !validKind(kind) || enginesOwn(kind) || len(doc) == 0 || len(doc) > maxConfigBytes {
		return ErrInvalidArgument
	}
	return e.writeBucketConfig(ctx, bucket, meta.Put(configKey(bucket, kind), doc))
}

// DeleteBucketConfig implements BucketConfigs.
func (e *Engine) DeleteBucketConfig(ctx context.Context, bucket string, kind ConfigKind) error {
	if !validKind(kind) || enginesOwn(kind) {
		return ErrInvalidArgument
	}
	return e.writeBucketConfig(ctx, bucket, meta.Delete(configKey(bucket, kind)))
}

func (e *Engine) writeBucketConfig(ctx context.Context, bucket string, op meta.Op) error {
	for range retries {
		_, rev, err := e.getBucket(ctx, bucket)
		if err != nil {
			return err
		}
		err = e.txn(ctx, meta.Txn{
			Compares: []meta.Compare{{Key: bucketKey(bucket), Revision: rev}},
			Ops:      []meta.Op{op, bumpConfigGen()},
		})
		if !errors.Is(err, errRetry) {
			return err
		}
	}
	return ErrConflict
}

// GetBucketConfig implements BucketConfigs.
func (e *Engine) GetBucketConfig(ctx context.Context, bucket string, kind ConfigKind) ([]byte, error) {
	if !validKind(kind) {
		return nil, ErrInvalidArgument
	}
	if _, _, err := e.getBucket(ctx, bucket); err != nil {
		return nil, err
	}
	ent, err := e.kv.Get(ctx, configKey(bucket, kind))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, &ConfigNotFoundError{Bucket: bucket, Kind: kind}
	}
	if err != nil {
		return nil, err
	}
	return ent.Value, nil
}

// configDeletes lists the ops that remove every settings document of a
// bucket, for the transaction that deletes the bucket.
func (e *Engine) configDeletes(ctx context.Context, bucket string) ([]meta.Op, error) {
	ents, err := e.kv.List(ctx, configPrefix(bucket), "", 0)
	if err != nil {
		return nil, err
	}
	ops := make([]meta.Op, 0, len(ents))
	for _, ent := range ents {
		ops = append(ops, meta.Delete(ent.Key))
	}
	return ops, nil
}
