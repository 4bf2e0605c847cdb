package storage

import (
	"context"
	"errors"

	"github.com/filesphere/filesphere/cluster/meta"
)

func configGenKey() string { return meta.PrefixStorage + keyConfigGen }

// bumpConfigGen is the op every settings change adds to its transaction.
func bumpConfigGen() meta.Op { return meta.Put(configGenKey(), []byte{1}) }

// BucketConfigGeneration implements BucketConfigs: a number, read from the
// local replica, that changes whenever any bucket's settings documents are
// written or deleted and whenever a bucket is deleted. A cache of
// documents read (linearizably, GetBucketConfigs) after reading it is valid
// while it stays the same.
func (e *Engine) BucketConfigGeneration(ctx context.Context) (uint64, error) {
	ent, err := e.casKV.Get(ctx, configGenKey())
	if errors.Is(err, meta.ErrNotFound) {
		return 0, nil
	}
	return ent.Revision, err
}

// ConfigDoc is one settings document as read by GetBucketConfigs: Doc is
// nil when the bucket has none of that kind. Revision changes with every
// write of the document, so a caller may cache what it derived from Doc
// (a compiled policy) by revision.
type ConfigDoc struct {
	Kind     ConfigKind
	Doc      []byte
	Revision uint64
}

// GetBucketConfigs implements BucketConfigs: the bucket and its documents
// of the kinds asked, as of one moment. The bucket record is read
// linearizably (as every operation reads it); the documents then come from
// the local replica, which by then has applied everything that read saw,
// so a document written before the call started is never missed, and the
// documents cost no further round trip. This is what authorization reads
// on every request.
func (e *Engine) GetBucketConfigs(ctx context.Context, bucket string, kinds ...ConfigKind) (BucketInfo, []ConfigDoc, error) {
	br, _, err := e.getBucket(ctx, bucket)
	if err != nil {
		return BucketInfo{}, nil, err
	}
	docs := make([]ConfigDoc, len(kinds))
	for i, k := range kinds {
		if !validKind(k) {
			return BucketInfo{}, nil, ErrInvalidArgument
		}
		docs[i].Kind = k
		ent, err := e.casKV.Get(ctx, configKey(bucket, k))
		switch {
		case errors.Is(err, meta.ErrNotFound):
		case err != nil:
			return BucketInfo{}, nil, err
		default:
			docs[i].Doc, docs[i].Revision = ent.Value, ent.Revision
		}
	}
	return br.info(), docs, nil
}
