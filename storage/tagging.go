package storage

import (
	"context"
	"fmt"
)

// Tag is one key=value tag of a version or a bucket.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// MaxObjectTags is S3's limit of tags per object version; the protocol
// layer validates tags with S3's errors, the engine only guards the count.
const MaxObjectTags = 10

// ObjectTagging reads and replaces the tags of one version ("" = the
// latest). Changing tags never rewrites data. Each returns the version's
// shown id.
type ObjectTagging interface {
	PutObjectTags(ctx context.Context, bucket, key, versionID string, tags []Tag) (string, error)
	GetObjectTags(ctx context.Context, bucket, key, versionID string) ([]Tag, string, error)
	DeleteObjectTags(ctx context.Context, bucket, key, versionID string) (string, error)
}

func checkTagCount(tags []Tag) error {
	if len(tags) > MaxObjectTags {
		return fmt.Errorf("%w: %d tags, at most %d", ErrInvalidArgument, len(tags), MaxObjectTags)
	}
	return nil
}

// PutObjectTags implements ObjectTagging.
func (e *Engine) PutObjectTags(ctx context.Context, bucket, key, versionID string, tags []Tag) (string, error) {
	if err := checkTagCount(tags); err != nil {
		return "", err
	}
	tags = append([]Tag(nil), tags...)
	v, err := e.updateVersion(ctx, bucket, key, versionID, false, func(v *versionRecord) error {
		v.Tags = tags
		return nil
	})
	return v.shownID(), err
}

// GetObjectTags implements ObjectTagging.
func (e *Engine) GetObjectTags(ctx context.Context, bucket, key, versionID string) ([]Tag, string, error) {
	v, _, err := e.resolve(ctx, bucket, key, versionID)
	if err != nil {
		return nil, "", err
	}
	return v.Tags, v.shownID(), nil
}

// DeleteObjectTags implements ObjectTagging.
func (e *Engine) DeleteObjectTags(ctx context.Context, bucket, key, versionID string) (string, error) {
	v, err := e.updateVersion(ctx, bucket, key, versionID, false, func(v *versionRecord) error {
		v.Tags = nil
		return nil
	})
	return v.shownID(), err
}
