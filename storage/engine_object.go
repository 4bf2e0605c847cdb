package storage

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
)

// precondition checks a write's conditions against the key's current head.
type precondition func(h headRecord, exists bool) error

func writeConditions(ifNoneMatchStar bool, ifMatch, bucket, key string) precondition {
	if !ifNoneMatchStar && ifMatch == "" {
		return nil
	}
	return func(h headRecord, exists bool) error {
		live := exists && !h.Latest.DeleteMarker
		if ifNoneMatchStar && live {
			return ErrPreconditionFailed
		}
		if ifMatch != "" {
			if !live {
				return &ObjectNotFoundError{Bucket: bucket, Key: key}
			}
			if !etagMatches(ifMatch, h.Latest.ETag) {
				return ErrPreconditionFailed
			}
		}
		return nil
	}
}

// checkPre evaluates a precondition and the lock settings of a write
// against the current head and bucket before any data is written, so a
// doomed write costs no drive I/O. Both are evaluated again at commit,
// atomically.
func (e *Engine) checkPre(ctx context.Context, bucket, key string, pre precondition, nv newVersion) error {
	err := e.checkPreFrom(ctx, e.casKV, bucket, key, pre, nv)
	if err != nil && e.casKV != e.kv {
		// The local replica may lag: only a linearizable read may refuse.
		err = e.checkPreFrom(ctx, e.kv, bucket, key, pre, nv)
	}
	return err
}

func (e *Engine) checkPreFrom(ctx context.Context, kv meta.KV, bucket, key string, pre precondition, nv newVersion) error {
	br, _, err := e.getBucketFrom(ctx, kv, bucket)
	if err != nil {
		return err
	}
	if br.ObjectLock || nv.lock != (ObjectLock{}) {
		if err := e.lockPrecheck(ctx, kv, br, nv.lock, nv.digested); err != nil {
			return err
		}
	}
	if pre == nil {
		return nil
	}
	h, rev, err := getHeadFrom(ctx, kv, bucket, key)
	if err != nil {
		return err
	}
	return pre(h, rev != 0)
}

// commitVersion adds v as the newest version of key, replacing the null
// version when the bucket is not versioning-enabled. The head revision and
// the bucket revision guard the transaction.
func (e *Engine) commitVersion(ctx context.Context, bucket, key string, v versionRecord, pre precondition, extra meta.Txn) (versionRecord, error) {
	return e.commitVersionIf(ctx, bucket, key, v, pre, extra, nil)
}

// commitCheck is a condition of a commit on the bucket, its rules and the
// key's head as the commit reads them (the lifecycle's actions use it).
type commitCheck func(br bucketRecord, lc *Lifecycle, h headRecord) error

// commitVersionIf is commitVersion with a check evaluated on what the
// transaction compares.
func (e *Engine) commitVersionIf(ctx context.Context, bucket, key string, v versionRecord, pre precondition, extra meta.Txn, check commitCheck) (versionRecord, error) {
	for attempt := range retries {
		// The first attempt reads the local replica: the transaction's
		// compares validate what it read. A refusal or a lost race is
		// decided again on linearizable reads.
		rd := e.kv
		stale := attempt == 0 && e.casKV != e.kv
		if stale {
			rd = e.casKV
		}
		br, brev, err := e.getBucketFrom(ctx, rd, bucket)
		if err != nil {
			if stale {
				continue
			}
			return v, err
		}
		h, hrev, err := getHeadFrom(ctx, rd, bucket, key)
		if err != nil {
			return v, err
		}
		lc, err := e.lifecycleOf(ctx, rd, br)
		if errors.Is(err, errLifecycleMoved) {
			continue
		}
		if err != nil {
			return v, err
		}
		if check != nil {
			if err := check(br, lc, h); err != nil {
				if stale {
					continue
				}
				return v, err
			}
		}
		if pre != nil {
			if err := pre(h, hrev != 0); err != nil {
				if stale {
					continue
				}
				return v, err
			}
		}
		v.Versioned = br.Versioning != VersioningUnset
		v.Null = br.Versioning != VersioningEnabled
		v.VersionID = NullVersionID
		if !v.Null {
			v.VersionID = newVersionID()
		}
		v.ModTime = e.cfg.Now().UTC()
		if hrev != 0 && !v.ModTime.After(h.Latest.ModTime) {
			// Keep versions ordered even if the clock steps back.
			v.ModTime = h.Latest.ModTime.Add(time.Nanosecond)
		}
		lockCmps, err := applyLock(ctx, rd, br, &v)
		if err != nil {
			if stale {
				continue
			}
			return v, err
		}
		vkey := versionKeyPrefix(bucket, key) + versionOrder(v.ModTime) + v.VersionID
		replaced := ""
		if v.Null {
			replaced = h.NullKey
		}
		due, dops, err := e.commitDue(ctx, rd, lc, bucket, key, v, h, replaced)
		if err != nil {
			return v, err
		}
		nh := headRecord{Latest: v, LatestKey: vkey, NullKey: h.NullKey, Due: due}
		var garbage []dataRecord
		ops := append([]meta.Op{meta.Put(vkey, encode(v))}, extra.Ops...)
		if len(v.Parts) > 0 {
			v.DataKey = newID()
			nh.Latest.DataKey = v.DataKey
			ops[0] = meta.Put(vkey, encode(v))
			ops = append(ops, meta.Put(dataKey(v.DataKey), encode(partsRecord{Parts: v.Parts, Chunks: v.Chunks})))
			if op, ok := e.dirtyOp(dataKey(v.DataKey), v.Parts, dirtyWrite); ok {
				ops = append(ops, op)
			}
		}
		var replacedV *versionRecord
		var oldChunks []chunkRef
		if v.Null {
			if h.NullKey != "" {
				old, err := versionAt(ctx, rd, h.NullKey)
				if err == nil && old.Lock.Protects(e.cfg.Now(), false) {
					return v, ErrObjectLocked // a locked null version is never replaced
				}
				if err == nil {
					var opr partsRecord
					opr, err = loadDataFrom(ctx, rd, old)
					garbage, oldChunks = opr.Parts, opr.Chunks
				}
				if errors.Is(err, meta.ErrNotFound) {
					continue // a concurrent commit replaced it: re-read the head
				}
				if err != nil {
					return v, err
				}
				ops = append(ops, meta.Delete(h.NullKey))
				if old.DataKey != "" {
					ops = append(ops, meta.Delete(dataKey(old.DataKey)))
				}
				replacedV = &old
			}
			nh.NullKey = vkey
		}
		ops = append(ops, meta.Put(headKey(bucket, key), encode(nh)))
		ops = append(ops, dops...)
		ops = append(ops, hashIndexOps(bucket, key, &v, replacedV)...)
		cmps := append([]meta.Compare{{Key: bucketKey(bucket), Revision: brev}, {Key: headKey(bucket, key), Revision: hrev}}, extra.Compares...)
		cmps = append(cmps, lockCmps...)
		// The chunk references the new version adds and the replaced one
		// drops change their counts in this same transaction.
		ccmps, cops, unused, err := e.chunkOps(ctx, rd, bucket, v.Chunks, v.fresh, oldChunks)
		if errors.Is(err, errChunkMissing) {
			if stale {
				continue
			}
			return v, fmt.Errorf("%w: %v", ErrChunkCollected, err)
		}
		if err != nil {
			return v, err
		}
		ops, cmps = append(ops, cops...), append(cmps, ccmps...)
		err = e.txn(ctx, meta.Txn{Compares: cmps, Ops: ops})
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return v, err
		}
		e.retireData(garbage...)
		e.deleteData(unused...)
		return e.withExpiry(lc, key, v), nil
	}
	return v, ErrConflict
}

// versionAt reads the version record at a meta key.
func versionAt(ctx context.Context, kv meta.KV, vkey string) (versionRecord, error) {
	var v versionRecord
	ent, err := kv.Get(ctx, vkey)
	if err != nil {
		return v, err
	}
	return v, decode(ent.Value, &v)
}

// PutObject implements Objects.
func (e *Engine) PutObject(ctx context.Context, bucket, key string, r io.Reader, opts PutOptions) (ObjectInfo, error) {
	pre := writeConditions(opts.IfNoneMatchStar, opts.IfMatch, bucket, key)
	if err := checkTagCount(opts.Tags); err != nil {
		return ObjectInfo{}, err
	}
	nv := newVersion{meta: opts.Meta, tags: opts.Tags, lock: opts.Lock, digested: opts.Digested, sse: opts.SSE}
	return e.put(ctx, bucket, key, r, opts.Size, opts.Digest, nv, func() []Checksum {
		if opts.Checksum != nil && opts.Checksum.Algorithm != "" {
			return []Checksum{*opts.Checksum}
		}
		return nil
	}, pre)
}

// newVersion is what a write stores beside the data.
type newVersion struct {
	meta Metadata
	tags []Tag
	lock ObjectLock
	// digested: the bytes were verified against a digest the client sent
	// (or come from a stored object).
	digested bool
	// sse is the encryption asked for (nil: the bucket's default).
	sse *Encryption
}

// put writes data then commits a version; sums is called after the body
// reached EOF, when the caller's verifying reader has filled it. dg is the
// caller's Digest of r, or nil.
func (e *Engine) put(ctx context.Context, bucket, key string, r io.Reader, size int64, dg *Digest, nv newVersion, sums func() []Checksum, pre precondition) (ObjectInfo, error) {
	if !ValidObjectKey(key) {
		return ObjectInfo{}, ErrInvalidObjectName
	}
	if err := e.checkPre(ctx, bucket, key, pre, nv); err != nil {
		return ObjectInfo{}, err
	}
	rec, enc, err := e.newObjectSSE(ctx, bucket, key, nv.sse)
	if err != nil {
		return ObjectInfo{}, err
	}
	if dedupsEncrypted(rec) && (size < 0 || size > e.cfg.InlineThreshold) {
		// SSE-C objects are never deduplicated (dedup.go).
		if pol, on, err := e.dedupPolicy(ctx, bucket); err != nil {
			return ObjectInfo{}, err
		} else if on {
			return e.putChunked(ctx, bucket, key, r, size, dg, nv, sums, pre, pol, rec)
		}
	}
	d, err := e.writeData(ctx, hashKey(bucket, key), r, size, dg, enc)
	if err != nil {
		return ObjectInfo{}, err
	}
	d.Checksums, d.Name = sums(), bucket+"/"+key
	v := versionRecord{Size: d.Size, ETag: d.ETag, SHA256: d.SHA256, Meta: nv.meta, Checksums: d.Checksums, Parts: []dataRecord{d}, PartsCount: 1,
		Tags: nv.tags, Lock: nv.lock, SSE: rec}
	v, err = e.commitVersion(ctx, bucket, key, v, pre, meta.Txn{})
	if err != nil {
		if !errors.Is(err, ErrCommitUnknown) {
			e.deleteData(d)
		}
		return ObjectInfo{}, err
	}
	return v.info(bucket, key, true), nil
}

// newObjectSSE settles and seals a new object's encryption (nil, nil when
// it is stored in clear).
func (e *Engine) newObjectSSE(ctx context.Context, bucket, key string, asked *Encryption) (*sseRecord, *streamEnc, error) {
	enc, err := e.writeEncryption(ctx, bucket, asked)
	if err != nil || enc == nil {
		return nil, nil, err
	}
	rec, ok, err := e.sealNew(ctx, bucket, key, enc)
	if err != nil {
		return nil, nil, err
	}
	s, err := e.streamFor(rec, ok, 0)
	return rec, s, err
}

// GetObject implements Objects.
func (e *Engine) GetObject(ctx context.Context, bucket, key string, opts GetOptions) (*ObjectReader, error) {
	for attempt := 0; ; attempt++ {
		kv, err := e.readView(ctx)
		if err != nil {
			return nil, err
		}
		v, info, rr, err := e.prepareRead(ctx, kv, bucket, key, opts, true)
		if err != nil {
			return nil, err
		}
		ok, err := e.openKey(ctx, bucket, key, v.SSE, opts.CustomerKey, true)
		if err != nil {
			return nil, err
		}
		rc, err := e.openVersionFrom(ctx, kv, bucket, key, v, rr, ok)
		if errors.Is(err, meta.ErrNotFound) && attempt < retries {
			// The version was replaced between resolving and opening it.
			continue
		}
		if err != nil {
			return nil, err
		}
		return &ObjectReader{Info: info, Range: rr, ReadCloser: rc}, nil
	}
}

// HeadObject implements Objects.
func (e *Engine) HeadObject(ctx context.Context, bucket, key string, opts GetOptions) (ObjectInfo, error) {
	kv, err := e.readView(ctx)
	if err != nil {
		return ObjectInfo{}, err
	}
	_, info, _, err := e.prepareRead(ctx, kv, bucket, key, opts, false)
	return info, err
}

// prepareRead resolves the version a GET (withData: its parts record
// read with it where kv can) or HEAD reads, through kv.
func (e *Engine) prepareRead(ctx context.Context, kv meta.KV, bucket, key string, opts GetOptions, withData bool) (versionRecord, ObjectInfo, *ResolvedRange, error) {
	v, latest, br, err := e.resolveIn(ctx, kv, bucket, key, opts.VersionID, withData)
	if err != nil {
		return v, ObjectInfo{}, nil, err
	}
	if latest && br.Lifecycle {
		lc, err := e.lifecycleOf(ctx, e.kv, br)
		if errors.Is(err, errLifecycleMoved) {
			_, _, lc, err = e.currentLifecycle(ctx, bucket)
		}
		if err != nil {
			return v, ObjectInfo{}, nil, err
		}
		v = e.withExpiry(lc, key, v)
	}
	// An SSE-C object answers only a request holding its key, even HEAD.
	if _, err := e.openKey(ctx, bucket, key, v.SSE, opts.CustomerKey, false); err != nil {
		return v, ObjectInfo{}, nil, err
	}
	info := v.info(bucket, key, latest)
	if err := CheckConditions(info, opts.Cond); err != nil {
		return v, info, nil, err
	}
	if opts.Parts && v.Multipart {
		if v.Parts == nil {
			if v.Parts, err = loadPartsFrom(ctx, kv, v); err != nil {
				return v, info, nil, err
			}
		}
		for _, p := range v.Parts {
			info.Parts = append(info.Parts, p.partInfo())
		}
	}
	if opts.PartNumber > 0 {
		if v.Multipart && v.Parts == nil {
			if v.Parts, err = loadPartsFrom(ctx, kv, v); err != nil {
				return v, info, nil, err
			}
		}
		rr, err := partRange(v, opts.PartNumber)
		if err != nil {
			return v, info, nil, err
		}
		return v, info, rr, nil
	}
	rr, err := ResolveRange(opts.Range, v.Size)
	return v, info, rr, err
}

// partRange is the byte range of one part of a multipart object; a plain
// object has exactly one part.
func partRange(v versionRecord, n int) (*ResolvedRange, error) {
	if !v.Multipart {
		if n != 1 {
			return nil, fmt.Errorf("%w: object has one part", ErrInvalidPartNumber)
		}
		return &ResolvedRange{Start: 0, Length: v.Size, Size: v.Size}, nil
	}
	var off int64
	for _, p := range v.Parts {
		if p.Number == n {
			return &ResolvedRange{Start: off, Length: p.Size, Size: v.Size}, nil
		}
		off += p.Size
	}
	return nil, fmt.Errorf("%w: no part %d", ErrInvalidPartNumber, n)
}

// DeleteObject implements Objects.
func (e *Engine) DeleteObject(ctx context.Context, bucket, key string, opts DeleteOptions) (DeleteResult, error) {
	br, _, err := e.getBucket(ctx, bucket)
	if err != nil {
		return DeleteResult{}, err
	}
	if !ValidObjectKey(key) {
		return DeleteResult{}, ErrInvalidObjectName
	}
	if opts.VersionID != "" {
		if err := validVersionID(opts.VersionID); err != nil {
			return DeleteResult{}, err
		}
		return e.removeVersion(ctx, bucket, key, opts.VersionID, opts.BypassGovernance)
	}
	if br.Versioning == VersioningUnset {
		res, err := e.removeVersion(ctx, bucket, key, NullVersionID, opts.BypassGovernance)
		return DeleteResult{DeleteMarker: res.DeleteMarker}, err
	}
	v, err := e.commitVersion(ctx, bucket, key, versionRecord{DeleteMarker: true}, nil, meta.Txn{})
	if err != nil {
		return DeleteResult{}, err
	}
	return DeleteResult{VersionID: v.VersionID, DeleteMarker: true}, nil
}

// removeVersion permanently deletes one version; a missing one is success,
// as S3 deletes are idempotent. A version its lock protects at the
// engine's clock is refused; the version record's revision is compared so
// a concurrent retention change is never lost.
func (e *Engine) removeVersion(ctx context.Context, bucket, key, versionID string, bypassGovernance bool) (DeleteResult, error) {
	return e.removeVersionIf(ctx, bucket, key, versionID, bypassGovernance, nil)
}

// removeCheck is a condition of a version removal on the bucket, its
// rules, the key's versions (newest first) and the one removed.
type removeCheck func(br bucketRecord, lc *Lifecycle, vs []versionEntry, idx int) error

// removeVersionIf is removeVersion with a check evaluated on what the
// transaction compares. The bucket record's revision is compared too, so
// the key's lifecycle entry is planned with the rules in force.
func (e *Engine) removeVersionIf(ctx context.Context, bucket, key, versionID string, bypassGovernance bool, check removeCheck) (DeleteResult, error) {
	for range retries {
		br, brev, lc, err := e.currentLifecycle(ctx, bucket)
		if err != nil {
			return DeleteResult{}, err
		}
		h, hrev, err := e.getHead(ctx, bucket, key)
		if err != nil || hrev == 0 {
			return DeleteResult{VersionID: versionID}, err
		}
		vs, err := e.listKeyVersions(ctx, bucket, key)
		if err != nil {
			return DeleteResult{}, err
		}
		idx := -1
		for i, v := range vs {
			if v.rec.VersionID == versionID {
				idx = i
				break
			}
		}
		if idx < 0 {
			return DeleteResult{VersionID: versionID}, nil
		}
		gone := vs[idx]
		if check != nil {
			if err := check(br, lc, vs, idx); err != nil {
				return DeleteResult{}, err
			}
		}
		if gone.rec.Lock.Protects(e.cfg.Now(), bypassGovernance) {
			return DeleteResult{}, ErrObjectLocked
		}
		gpr, err := loadDataFrom(ctx, e.kv, gone.rec)
		if errors.Is(err, meta.ErrNotFound) {
			continue // replaced or removed meanwhile: read the key again
		}
		if err != nil {
			return DeleteResult{}, err
		}
		garbage := gpr.Parts
		ccmps, cops, _, err := e.chunkOps(ctx, e.kv, bucket, nil, nil, gpr.Chunks)
		if err != nil {
			return DeleteResult{}, err
		}
		ops := []meta.Op{meta.Delete(gone.metaKey)}
		if gone.rec.DataKey != "" {
			ops = append(ops, meta.Delete(dataKey(gone.rec.DataKey)))
		}
		rest := append(append([]versionEntry{}, vs[:idx]...), vs[idx+1:]...)
		due, val := e.restDue(lc, bucket, key, rest)
		if len(rest) == 0 {
			ops = append(ops, meta.Delete(headKey(bucket, key)))
		} else {
			nh := headRecord{Latest: rest[0].rec, LatestKey: rest[0].metaKey, NullKey: h.NullKey, Due: due}
			if gone.metaKey == h.NullKey {
				nh.NullKey = ""
			}
			ops = append(ops, meta.Put(headKey(bucket, key), encode(nh)))
		}
		ops = append(ops, dueOps(h.Due, due, val)...)
		ops = append(ops, hashIndexOps(bucket, key, nil, &gone.rec)...)
		ops = append(ops, cops...)
		err = e.txn(ctx, meta.Txn{Compares: append([]meta.Compare{{Key: bucketKey(bucket), Revision: brev},
			{Key: headKey(bucket, key), Revision: hrev}, {Key: gone.metaKey, Revision: gone.rev}}, ccmps...), Ops: ops})
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return DeleteResult{}, err
		}
		e.retireData(garbage...)
		return DeleteResult{VersionID: versionID, DeleteMarker: gone.rec.DeleteMarker}, nil
	}
	return DeleteResult{}, ErrConflict
}

// CopyObject implements Objects: the source is streamed through the codec
// into a new version, never buffered whole.
func (e *Engine) CopyObject(ctx context.Context, src CopySource, dstBucket, dstKey string, opts CopyOptions) (ObjectInfo, error) {
	v, latest, err := e.resolve(ctx, src.Bucket, src.Key, src.VersionID)
	if err != nil {
		return ObjectInfo{}, err
	}
	sinfo := v.info(src.Bucket, src.Key, latest)
	if err := CheckConditions(sinfo, src.Cond); err != nil {
		return ObjectInfo{}, err
	}
	if src.Bucket == dstBucket && src.Key == dstKey && latest && !opts.ReplaceMeta && opts.SSE == nil {
		return ObjectInfo{}, ErrInvalidCopy
	}
	ok, err := e.openKey(ctx, src.Bucket, src.Key, v.SSE, src.CustomerKey, true)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := checkTagCount(opts.Tags); err != nil {
		return ObjectInfo{}, err
	}
	nv := newVersion{meta: v.Meta, tags: v.Tags, lock: opts.Lock, digested: true, sse: opts.SSE}
	if opts.ReplaceMeta {
		nv.meta = opts.Meta
	}
	if opts.ReplaceTags {
		nv.tags = opts.Tags
	}
	nv.meta.ACL = opts.ACL // a copy never keeps the source's ACL
	rc, err := e.openVersion(ctx, src.Bucket, src.Key, v, nil, ok)
	if err != nil {
		return ObjectInfo{}, err
	}
	defer rc.Close()
	// The copy gets the requested checksum, else one of the source's
	// algorithm, computed over the bytes as they are copied: the copy is
	// one part, so a source's composite checksum becomes a full-object one.
	alg := opts.ChecksumAlgorithm
	if alg == "" && len(v.Checksums) > 0 {
		alg = v.Checksums[0].Algorithm
	}
	if alg != "" && NewChecksumHash(alg) == nil {
		return ObjectInfo{}, fmt.Errorf("%w: checksum algorithm %q", ErrInvalidArgument, alg)
	}
	// One pass hashes the copy for the ETag, the content hash and the
	// checksum.
	dg := NewDigest(DigestSpec{MD5: true, SHA256: true, Checksum: alg})
	body := io.TeeReader(rc, dg)
	sums := func() []Checksum {
		if alg == "" {
			return nil
		}
		return []Checksum{{Algorithm: alg, Value: base64.StdEncoding.EncodeToString(dg.Checksum()), Type: ChecksumFullObject}}
	}
	pre := writeConditions(opts.IfNoneMatchStar, opts.IfMatch, dstBucket, dstKey)
	return e.put(ctx, dstBucket, dstKey, body, v.Size, dg, nv, sums, pre)
}
