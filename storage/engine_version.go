package storage

import (
	"context"
	"errors"

	"github.com/filesphere/filesphere/cluster/meta"
)

// updateVersion changes one version's record in place (tags, retention,
// legal hold: never its data) by compare-and-swap on the version record
// and the key's head, whose copy of the latest version changes with it.
// versionID "" is the latest version; a delete marker cannot be changed.
// needsLock refuses the change on a bucket without object lock before
// looking for the version; fn makes the change or refuses it.
func (e *Engine) updateVersion(ctx context.Context, bucket, key, versionID string, needsLock bool, fn func(*versionRecord) error) (versionRecord, error) {
	if versionID != "" {
		if err := validVersionID(versionID); err != nil {
			return versionRecord{}, err
		}
	}
	for range retries {
		br, _, err := e.getBucket(ctx, bucket)
		if err != nil {
			return versionRecord{}, err
		}
		if needsLock && !br.ObjectLock {
			return versionRecord{}, ErrObjectLockNotEnabled
		}
		if !ValidObjectKey(key) {
			return versionRecord{}, &ObjectNotFoundError{Bucket: bucket, Key: key}
		}
		h, hrev, err := e.getHead(ctx, bucket, key)
		if err != nil {
			return versionRecord{}, err
		}
		ent, err := e.findVersion(ctx, bucket, key, versionID, h, hrev)
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return versionRecord{}, err
		}
		v := ent.rec
		if err := fn(&v); err != nil {
			return ent.rec, err
		}
		ops := []meta.Op{meta.Put(ent.metaKey, encode(v))}
		if ent.metaKey == h.LatestKey {
			h.Latest = v
			ops = append(ops, meta.Put(headKey(bucket, key), encode(h)))
		}
		err = e.txn(ctx, meta.Txn{
			Compares: []meta.Compare{{Key: ent.metaKey, Revision: ent.rev}, {Key: headKey(bucket, key), Revision: hrev}},
			Ops:      ops,
		})
		if errors.Is(err, errRetry) {
			continue
		}
		return v, err
	}
	return versionRecord{}, ErrConflict
}

// findVersion locates the version a change addresses, with its revision.
func (e *Engine) findVersion(ctx context.Context, bucket, key, versionID string, h headRecord, hrev uint64) (versionEntry, error) {
	if hrev == 0 {
		if versionID != "" {
			return versionEntry{}, &VersionNotFoundError{Bucket: bucket, Key: key, VersionID: versionID}
		}
		return versionEntry{}, &ObjectNotFoundError{Bucket: bucket, Key: key}
	}
	if versionID == "" {
		if h.Latest.DeleteMarker {
			return versionEntry{}, &ObjectNotFoundError{Bucket: bucket, Key: key, DeleteMarker: true, MarkerVersionID: h.Latest.shownID()}
		}
		ent, err := e.kv.Get(ctx, h.LatestKey)
		if errors.Is(err, meta.ErrNotFound) {
			return versionEntry{}, errRetry // the head moved on: read it again
		}
		if err != nil {
			return versionEntry{}, err
		}
		var v versionRecord
		if err := decode(ent.Value, &v); err != nil {
			return versionEntry{}, err
		}
		return versionEntry{h.LatestKey, ent.Revision, v}, nil
	}
	vs, err := e.listKeyVersions(ctx, bucket, key)
	if err != nil {
		return versionEntry{}, err
	}
	for _, ve := range vs {
		if ve.rec.VersionID != versionID {
			continue
		}
		if ve.rec.DeleteMarker {
			return versionEntry{}, &ObjectNotFoundError{Bucket: bucket, Key: key, VersionID: versionID, DeleteMarker: true, MarkerVersionID: versionID}
		}
		return ve, nil
	}
	return versionEntry{}, &VersionNotFoundError{Bucket: bucket, Key: key, VersionID: versionID}
}
