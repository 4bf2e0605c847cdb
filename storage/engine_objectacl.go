package storage

import (
	"context"
	"errors"

	"github.com/filesphere/filesphere/cluster/meta"
)

// SetObjectACL implements Objects. The version record (and the head's copy
// of it when it is the latest) is rewritten in one transaction guarded by
// the head's revision, like every other change to a key's versions.
func (e *Engine) SetObjectACL(ctx context.Context, bucket, key, versionID string, acl []byte) error {
	if versionID != "" {
		if err := validVersionID(versionID); err != nil {
			return err
		}
	}
	for range retries {
		if _, _, err := e.getBucket(ctx, bucket); err != nil {
			return err
		}
		h, hrev, err := e.getHead(ctx, bucket, key)
		if err != nil {
			return err
		}
		if hrev == 0 || !ValidObjectKey(key) {
			return &ObjectNotFoundError{Bucket: bucket, Key: key}
		}
		vkey, err := e.versionKeyOf(ctx, bucket, key, versionID, h)
		if err != nil {
			return err
		}
		v, err := versionAt(ctx, e.kv, vkey)
		if errors.Is(err, meta.ErrNotFound) {
			continue // replaced meanwhile: read the head again
		}
		if err != nil {
			return err
		}
		v.Meta.ACL = acl
		ops := []meta.Op{meta.Put(vkey, encode(v))}
		if vkey == h.LatestKey {
			h.Latest.Meta.ACL = acl
			ops = append(ops, meta.Put(headKey(bucket, key), encode(h)))
		}
		err = e.txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: headKey(bucket, key), Revision: hrev}}, Ops: ops})
		if !errors.Is(err, errRetry) {
			return err
		}
	}
	return ErrConflict
}

// versionKeyOf finds the meta key of the version a request names; a delete
// marker has no ACL.
func (e *Engine) versionKeyOf(ctx context.Context, bucket, key, versionID string, h headRecord) (string, error) {
	if versionID == "" {
		if h.Latest.DeleteMarker {
			return "", &ObjectNotFoundError{Bucket: bucket, Key: key, DeleteMarker: true, MarkerVersionID: h.Latest.shownID()}
		}
		return h.LatestKey, nil
	}
	vs, err := e.listKeyVersions(ctx, bucket, key)
	if err != nil {
		return "", err
	}
	for _, v := range vs {
		if v.rec.VersionID == versionID {
			if v.rec.DeleteMarker {
				return "", ErrMethodNotAllowed
			}
			return v.metaKey, nil
		}
	}
	return "", &VersionNotFoundError{Bucket: bucket, Key: key, VersionID: versionID}
}
