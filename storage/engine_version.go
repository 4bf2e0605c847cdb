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
		br, brev, lc, err := e.currentLifecycle(ctx, bucket)
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
		}
		// The head is rewritten even for a noncurrent version, so its
		// revision guards every version of the key (lifecycle plans read
		// their tags and locks).
		dops, err := e.updateDue(ctx, lc, bucket, key, &h, ent.metaKey, v)
		if err != nil {
			return versionRecord{}, err
		}
		ops = append(ops, meta.Put(headKey(bucket, key), encode(h)))
		ops = append(ops, dops...)
		err = e.txn(ctx, meta.Txn{
			Compares: []meta.Compare{{Key: bucketKey(bucket), Revision: brev}, {Key: ent.metaKey, Revision: ent.rev},
				{Key: headKey(bucket, key), Revision: hrev}},
			Ops: ops,
		})
		if errors.Is(err, errRetry) {
			continue
		}
		return v, err
	}
	return versionRecord{}, ErrConflict
}

// updateDue plans a key whose version at vkey became v, setting h.Due.
func (e *Engine) updateDue(ctx context.Context, lc *Lifecycle, bucket, key string, h *headRecord, vkey string, v versionRecord) ([]meta.Op, error) {
	if lc == nil && h.Due == "" {
		return nil, nil
	}
	vs := []versionRecord{h.Latest}
	more := vkey != h.LatestKey
	if lc.needsHistory(key) {
		all, err := e.listKeyVersions(ctx, bucket, key)
		if err != nil {
			return nil, err
		}
		vs, more = vs[:0], false
		for _, ve := range all {
			if ve.metaKey == vkey {
				ve.rec = v
			}
			vs = append(vs, ve.rec)
		}
	}
	due, val := e.keyDue(lc, bucket, key, vs, more)
	ops := dueOps(h.Due, due, val)
	h.Due = due
	return ops, nil
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
