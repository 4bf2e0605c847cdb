package storage

import (
	"context"
	"errors"
	"sort"

	"github.com/filesphere/filesphere/cluster/meta"
)

// CreateBucket implements Buckets.
func (e *Engine) CreateBucket(ctx context.Context, name string, opts CreateBucketOptions) error {
	if !ValidBucketName(name) {
		return ErrInvalidBucketName
	}
	br := bucketRecord{Name: name, Created: e.cfg.Now().UTC(), Region: opts.Region, Owner: opts.Owner}
	if opts.ObjectLock {
		br.ObjectLock, br.Versioning = true, VersioningEnabled
	}
	err := e.txn(ctx, meta.Txn{
		Compares: []meta.Compare{{Key: bucketKey(name), Revision: 0}},
		Ops:      []meta.Op{meta.Put(bucketKey(name), encode(br))},
	})
	if errors.Is(err, errRetry) {
		return ErrBucketExists
	}
	return err
}

// HeadBucket implements Buckets.
func (e *Engine) HeadBucket(ctx context.Context, name string) (BucketInfo, error) {
	br, _, err := e.getBucket(ctx, name)
	if err != nil {
		return BucketInfo{}, err
	}
	return br.info(), nil
}

func (b bucketRecord) info() BucketInfo {
	return BucketInfo{Name: b.Name, Created: b.Created, Region: b.Region, Owner: b.Owner, Versioning: b.Versioning, ObjectLock: b.ObjectLock}
}

// ListBuckets implements Buckets.
func (e *Engine) ListBuckets(ctx context.Context) ([]BucketInfo, error) {
	ents, err := e.kv.List(ctx, meta.PrefixStorage+keyBucket, "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]BucketInfo, 0, len(ents))
	for _, ent := range ents {
		var br bucketRecord
		if err := decode(ent.Value, &br); err != nil {
			return nil, err
		}
		if !br.Deleting {
			out = append(out, br.info())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteBucket implements Buckets. It first marks the bucket as deleting,
// which changes the bucket's revision and so fails any write racing with
// the emptiness check; then it deletes or, if not empty, restores it.
func (e *Engine) DeleteBucket(ctx context.Context, name string) error {
	br, rev, err := e.getBucket(ctx, name)
	if err != nil {
		return err
	}
	marked := br
	marked.Deleting = true
	err = e.txn(ctx, meta.Txn{
		Compares: []meta.Compare{{Key: bucketKey(name), Revision: rev}},
		Ops:      []meta.Op{meta.Put(bucketKey(name), encode(marked))},
	})
	if errors.Is(err, errRetry) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	empty, err := e.bucketEmpty(ctx, name)
	if err == nil && !empty {
		err = ErrBucketNotEmpty
	}
	if err == nil {
		// Incomplete multipart uploads do not keep a bucket, as in S3:
		// they are aborted with it. No upload can start meanwhile, since
		// creating one compares the bucket's revision.
		err = e.abortUploads(ctx, name)
	}
	if err != nil {
		if _, rerr := e.kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(bucketKey(name), encode(br))}}); rerr != nil {
			e.log.WithError(rerr).WithField("bucket", name).Error("restoring bucket after failed delete")
		}
		return err
	}
	ops, err := e.configDeletes(ctx, name)
	if err != nil {
		return err
	}
	ops = append(ops, meta.Delete(rescanKey(name)), meta.Delete(bucketKey(name)), bumpConfigGen())
	_, err = e.kv.Txn(ctx, meta.Txn{Ops: ops})
	e.lcCache.Delete(name)
	return err
}

// bucketEmpty reports whether a bucket holds no object version (delete
// markers included).
func (e *Engine) bucketEmpty(ctx context.Context, name string) (bool, error) {
	ents, err := e.kv.List(ctx, versionPrefix(name), "", 1)
	return err == nil && len(ents) == 0, err
}

// abortUploads removes every multipart upload of a bucket being deleted,
// one transaction per upload (as AbortMultipartUpload), then the data of
// its parts.
func (e *Engine) abortUploads(ctx context.Context, name string) error {
	const page = 100
	for {
		ents, err := e.kv.List(ctx, uploadPrefix(name), "", page)
		if err != nil || len(ents) == 0 {
			return err
		}
		for _, ent := range ents {
			var u uploadRecord
			if err := decode(ent.Value, &u); err != nil {
				return err
			}
			parts, err := e.listUploadParts(ctx, u.UploadID, 0, 0)
			if err != nil {
				return err
			}
			ops := []meta.Op{meta.Delete(ent.Key)}
			if u.Due != "" {
				ops = append(ops, meta.Delete(u.Due))
			}
			for _, p := range parts {
				ops = append(ops, meta.Delete(partKey(u.UploadID, p.Number)))
			}
			if _, err := e.kv.Txn(ctx, meta.Txn{Ops: ops}); err != nil {
				return err
			}
			e.deleteData(parts...)
		}
	}
}

// SetBucketVersioning implements Buckets.
func (e *Engine) SetBucketVersioning(ctx context.Context, name string, st VersioningState) error {
	if st != VersioningEnabled && st != VersioningSuspended {
		return ErrInvalidArgument
	}
	for range retries {
		br, rev, err := e.getBucket(ctx, name)
		if err != nil {
			return err
		}
		if br.ObjectLock && st != VersioningEnabled {
			return ErrVersioningLocked
		}
		br.Versioning = st
		err = e.txn(ctx, meta.Txn{
			Compares: []meta.Compare{{Key: bucketKey(name), Revision: rev}},
			Ops:      []meta.Op{meta.Put(bucketKey(name), encode(br))},
		})
		if !errors.Is(err, errRetry) {
			return err
		}
	}
	return ErrConflict
}

// GetBucketVersioning implements Buckets.
func (e *Engine) GetBucketVersioning(ctx context.Context, name string) (VersioningState, error) {
	br, _, err := e.getBucket(ctx, name)
	return br.Versioning, err
}
