package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
)

// PutObjectLockConfig implements ObjectLocks. Enabling object lock and
// writing the configuration are one transaction guarded by the bucket
// record, so the flag and the document never disagree.
func (e *Engine) PutObjectLockConfig(ctx context.Context, bucket string, cfg ObjectLockConfig) error {
	if cfg.Default != nil {
		if err := cfg.Default.Validate(); err != nil {
			return err
		}
	}
	for range retries {
		br, rev, err := e.getBucket(ctx, bucket)
		if err != nil {
			return err
		}
		if !br.ObjectLock && br.Versioning != VersioningEnabled {
			return ErrLockNeedsVersioning
		}
		ops := []meta.Op{meta.Put(configKey(bucket, ConfigObjectLock), encode(cfg))}
		if !br.ObjectLock {
			br.ObjectLock = true
			ops = append(ops, meta.Put(bucketKey(bucket), encode(br)))
		}
		err = e.txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: bucketKey(bucket), Revision: rev}}, Ops: ops})
		if !errors.Is(err, errRetry) {
			return err
		}
	}
	return ErrConflict
}

// GetObjectLockConfig implements ObjectLocks.
func (e *Engine) GetObjectLockConfig(ctx context.Context, bucket string) (ObjectLockConfig, error) {
	br, _, err := e.getBucket(ctx, bucket)
	if err != nil {
		return ObjectLockConfig{}, err
	}
	if !br.ObjectLock {
		return ObjectLockConfig{}, ErrNoObjectLockConfig
	}
	cfg, _, err := lockConfigFrom(ctx, e.kv, bucket)
	return cfg, err
}

// lockConfigFrom reads a lock-enabled bucket's configuration and its
// revision (0 and the zero configuration when none was put).
func lockConfigFrom(ctx context.Context, kv meta.KV, bucket string) (ObjectLockConfig, uint64, error) {
	var cfg ObjectLockConfig
	ent, err := kv.Get(ctx, configKey(bucket, ConfigObjectLock))
	if errors.Is(err, meta.ErrNotFound) {
		return cfg, 0, nil
	}
	if err != nil {
		return cfg, 0, err
	}
	return cfg, ent.Revision, decode(ent.Value, &cfg)
}

// checkNewLock validates the lock settings a write asks for.
func checkNewLock(l ObjectLock) error {
	switch {
	case l.Mode != "" && !l.Mode.Valid():
		return ErrInvalidRetentionMode
	case (l.Mode == "") != l.RetainUntil.IsZero():
		return fmt.Errorf("%w: a retention needs both a mode and a retain-until date", ErrInvalidArgument)
	case l.LegalHold != "" && l.LegalHold != LegalHoldOn && l.LegalHold != LegalHoldOff:
		return fmt.Errorf("%w: legal hold %q", ErrInvalidArgument, l.LegalHold)
	}
	return nil
}

// lockPrecheck refuses, before any data is written, a write whose lock
// settings the bucket cannot take: lock settings on a bucket without
// object lock, a retention already over, or locked data without a
// verified digest. commitVersion applies the same rules at commit.
func (e *Engine) lockPrecheck(ctx context.Context, kv meta.KV, br bucketRecord, l ObjectLock, digested bool) error {
	if err := checkNewLock(l); err != nil {
		return err
	}
	if !br.ObjectLock {
		if l != (ObjectLock{}) {
			return ErrObjectLockNotEnabled
		}
		return nil
	}
	if l.Mode != "" && !l.RetainUntil.After(e.cfg.Now()) {
		return ErrRetainUntilPast
	}
	if digested {
		return nil
	}
	if l.Mode != "" || l.LegalHold == LegalHoldOn {
		return ErrLockNeedsDigest
	}
	cfg, _, err := lockConfigFrom(ctx, kv, br.Name)
	if err == nil && cfg.Default != nil {
		err = ErrLockNeedsDigest
	}
	return err
}

// applyLock settles the lock of a version about to be committed at
// v.ModTime: a lock-enabled bucket's default retention when the write
// names none. It returns the compare that keeps the configuration read
// current until the commit.
func applyLock(ctx context.Context, rd meta.KV, br bucketRecord, v *versionRecord) ([]meta.Compare, error) {
	if v.DeleteMarker {
		v.Lock = ObjectLock{}
		return nil, nil
	}
	if err := checkNewLock(v.Lock); err != nil {
		return nil, err
	}
	if !br.ObjectLock {
		if v.Lock != (ObjectLock{}) {
			return nil, ErrObjectLockNotEnabled
		}
		return nil, nil
	}
	if v.Lock.Mode != "" {
		if !v.Lock.RetainUntil.After(v.ModTime) {
			return nil, ErrRetainUntilPast
		}
		return nil, nil
	}
	cfg, rev, err := lockConfigFrom(ctx, rd, br.Name)
	if err != nil {
		return nil, err
	}
	if d := cfg.Default; d != nil {
		v.Lock.Mode, v.Lock.RetainUntil = d.Mode, d.until(v.ModTime)
	}
	return []meta.Compare{{Key: configKey(br.Name, ConfigObjectLock), Revision: rev}}, nil
}

// PutObjectRetention implements ObjectLocks. The rules are checked against
// the engine's clock inside the compare-and-swap loop.
func (e *Engine) PutObjectRetention(ctx context.Context, bucket, key string, opts RetentionOptions) (string, error) {
	r := opts.Retention
	if err := checkNewLock(ObjectLock{Mode: r.Mode, RetainUntil: r.RetainUntil}); err != nil {
		return "", err
	}
	v, err := e.updateVersion(ctx, bucket, key, opts.VersionID, true, func(v *versionRecord) error {
		now := e.cfg.Now()
		if r.Mode != "" && !r.RetainUntil.After(now) {
			return ErrRetainUntilPast
		}
		if err := retentionChange(v.Lock, r, now, opts.BypassGovernance); err != nil {
			return err
		}
		v.Lock.Mode, v.Lock.RetainUntil = r.Mode, r.RetainUntil.UTC()
		return nil
	})
	return v.shownID(), err
}

// retentionChange allows a new retention over the current one: anything
// once the current one is over, else only as strong or stronger (same or
// later date, never COMPLIANCE to GOVERNANCE), except that GOVERNANCE
// yields to a bypass.
func retentionChange(cur ObjectLock, next Retention, now time.Time, bypass bool) error {
	if !cur.Retained(now) {
		return nil
	}
	weaker := next.Mode == "" || next.RetainUntil.Before(cur.RetainUntil) ||
		cur.Mode == RetentionCompliance && next.Mode != RetentionCompliance
	if !weaker || cur.Mode == RetentionGovernance && bypass {
		return nil
	}
	return ErrObjectLocked
}

// lockedVersion resolves a version of a lock-enabled bucket.
func (e *Engine) lockedVersion(ctx context.Context, bucket, key, versionID string) (versionRecord, error) {
	br, _, err := e.getBucket(ctx, bucket)
	if err != nil {
		return versionRecord{}, err
	}
	if !br.ObjectLock {
		return versionRecord{}, ErrObjectLockNotEnabled
	}
	v, _, err := e.resolve(ctx, bucket, key, versionID)
	return v, err
}

// GetObjectRetention implements ObjectLocks.
func (e *Engine) GetObjectRetention(ctx context.Context, bucket, key, versionID string) (Retention, error) {
	v, err := e.lockedVersion(ctx, bucket, key, versionID)
	if err != nil {
		return Retention{}, err
	}
	if v.Lock.Mode == "" {
		return Retention{}, ErrNoObjectRetention
	}
	return Retention{Mode: v.Lock.Mode, RetainUntil: v.Lock.RetainUntil}, nil
}

// PutObjectLegalHold implements ObjectLocks.
func (e *Engine) PutObjectLegalHold(ctx context.Context, bucket, key, versionID string, hold LegalHold) (string, error) {
	if hold != LegalHoldOn && hold != LegalHoldOff {
		return "", fmt.Errorf("%w: legal hold %q", ErrInvalidArgument, hold)
	}
	v, err := e.updateVersion(ctx, bucket, key, versionID, true, func(v *versionRecord) error {
		v.Lock.LegalHold = hold
		return nil
	})
	return v.shownID(), err
}

// GetObjectLegalHold implements ObjectLocks.
func (e *Engine) GetObjectLegalHold(ctx context.Context, bucket, key, versionID string) (LegalHold, error) {
	v, err := e.lockedVersion(ctx, bucket, key, versionID)
	if err != nil {
		return "", err
	}
	if v.Lock.LegalHold == "" {
		return "", ErrNoObjectRetention
	}
	return v.Lock.LegalHold, nil
}

// checkUploadLock checks the bucket, tags and lock settings of a new
// multipart upload; the lock is applied when the upload completes.
func (e *Engine) checkUploadLock(ctx context.Context, bucket string, opts PutOptions) error {
	br, _, err := e.getBucket(ctx, bucket)
	if err != nil {
		return err
	}
	if err := checkTagCount(opts.Tags); err != nil {
		return err
	}
	if err := checkNewLock(opts.Lock); err != nil {
		return err
	}
	switch {
	case !br.ObjectLock && opts.Lock != (ObjectLock{}):
		return ErrObjectLockNotEnabled
	case opts.Lock.Mode != "" && !opts.Lock.RetainUntil.After(e.cfg.Now()):
		return ErrRetainUntilPast
	}
	return nil
}
