package storage

import (
	"context"
	"errors"
	"time"
)

// RetentionMode is an object lock retention mode.
type RetentionMode string

// The retention modes. COMPLIANCE can never be shortened or removed while
// it lasts; GOVERNANCE can, by a principal allowed to bypass it.
const (
	RetentionGovernance RetentionMode = "GOVERNANCE"
	RetentionCompliance RetentionMode = "COMPLIANCE"
)

// Valid reports whether m is one of the modes.
func (m RetentionMode) Valid() bool { return m == RetentionGovernance || m == RetentionCompliance }

// LegalHold is a version's legal hold status; "" means never set.
type LegalHold string

// The legal hold states.
const (
	LegalHoldOn  LegalHold = "ON"
	LegalHoldOff LegalHold = "OFF"
)

// ObjectLock is what protects one version: a retention (Mode until
// RetainUntil; Mode "" means none) and a legal hold.
type ObjectLock struct {
	Mode        RetentionMode `json:"mode,omitempty"`
	RetainUntil time.Time     `json:"until,omitzero"`
	LegalHold   LegalHold     `json:"hold,omitempty"`
}

// Retained reports whether the retention still runs at now.
func (l ObjectLock) Retained(now time.Time) bool {
	return l.Mode != "" && l.RetainUntil.After(now)
}

// Protects reports whether the version may not be deleted at now: a legal
// hold, COMPLIANCE retention, or GOVERNANCE retention not bypassed.
func (l ObjectLock) Protects(now time.Time, bypassGovernance bool) bool {
	if l.LegalHold == LegalHoldOn {
		return true
	}
	if !l.Retained(now) {
		return false
	}
	return l.Mode == RetentionCompliance || !bypassGovernance
}

// Locked reports whether the version is protected from deletion at now
// without any bypass; lifecycle expiry asks this before removing one.
func (o ObjectInfo) Locked(now time.Time) bool { return o.Lock.Protects(now, false) }

// Retention is a version's retention as PutObjectRetention sets it; a zero
// Retention removes it.
type Retention struct {
	Mode        RetentionMode
	RetainUntil time.Time
}

// DefaultRetention is a bucket's default retention: Mode for Days or Years
// (exactly one is positive) from each new version's creation.
type DefaultRetention struct {
	Mode  RetentionMode `json:"mode"`
	Days  int           `json:"days,omitempty"`
	Years int           `json:"years,omitempty"`
}

// Maximum default retention periods (S3 allows up to 100 years).
const (
	MaxRetentionDays  = 36500
	MaxRetentionYears = 100
)

// Validate checks a default retention.
func (d DefaultRetention) Validate() error {
	switch {
	case !d.Mode.Valid():
		return ErrInvalidRetentionMode
	case (d.Days > 0) == (d.Years > 0), d.Days < 0, d.Years < 0:
		return ErrInvalidRetentionPeriod
	case d.Days > MaxRetentionDays, d.Years > MaxRetentionYears:
		return ErrRetentionPeriodTooLong
	}
	return nil
}

// until is the end of the default retention of a version created at t.
func (d DefaultRetention) until(t time.Time) time.Time {
	return t.AddDate(d.Years, 0, d.Days)
}

// ObjectLockConfig is a lock-enabled bucket's configuration; Default is
// nil when new versions get no retention of their own.
type ObjectLockConfig struct {
	Default *DefaultRetention `json:"default,omitempty"`
}

// RetentionOptions selects a version and its new retention.
type RetentionOptions struct {
	VersionID string
	Retention Retention
	// BypassGovernance: see DeleteOptions.
	BypassGovernance bool
}

// ObjectLocks is the object lock API. Every method but
// PutObjectLockConfig answers ErrObjectLockNotEnabled (the configuration
// getter ErrNoObjectLockConfig) on a bucket without object lock.
type ObjectLocks interface {
	// PutObjectLockConfig enables object lock on a versioning-enabled
	// bucket (for good) and sets its default retention.
	PutObjectLockConfig(ctx context.Context, bucket string, cfg ObjectLockConfig) error
	GetObjectLockConfig(ctx context.Context, bucket string) (ObjectLockConfig, error)
	// PutObjectRetention sets one version's retention and returns the
	// version's shown id.
	PutObjectRetention(ctx context.Context, bucket, key string, opts RetentionOptions) (string, error)
	// GetObjectRetention returns ErrNoObjectRetention when none was set.
	GetObjectRetention(ctx context.Context, bucket, key, versionID string) (Retention, error)
	PutObjectLegalHold(ctx context.Context, bucket, key, versionID string, hold LegalHold) (string, error)
	// GetObjectLegalHold returns ErrNoObjectRetention when none was set.
	GetObjectLegalHold(ctx context.Context, bucket, key, versionID string) (LegalHold, error)
}

// Object lock errors.
var (
	// ErrObjectLockNotEnabled: the bucket has no object lock.
	ErrObjectLockNotEnabled = errors.New("storage: object lock is not enabled on the bucket")
	// ErrNoObjectLockConfig: GetObjectLockConfig of a bucket without lock.
	ErrNoObjectLockConfig = errors.New("storage: bucket has no object lock configuration")
	// ErrObjectLocked: a retention or legal hold forbids the change.
	ErrObjectLocked = errors.New("storage: version protected by object lock")
	// ErrNoObjectRetention: the version has no retention (or legal hold).
	ErrNoObjectRetention = errors.New("storage: version has no object lock setting")
	// ErrLockNeedsVersioning: object lock needs versioning enabled first.
	ErrLockNeedsVersioning = errors.New("storage: object lock needs versioning enabled")
	// ErrVersioningLocked: a lock-enabled bucket's versioning stays enabled.
	ErrVersioningLocked = errors.New("storage: versioning cannot change on a lock-enabled bucket")
	// ErrRetainUntilPast: a retention must end in the future.
	ErrRetainUntilPast = errors.New("storage: retain-until date is not in the future")
	// ErrInvalidRetentionMode, ErrInvalidRetentionPeriod and
	// ErrRetentionPeriodTooLong refuse a malformed default retention.
	ErrInvalidRetentionMode   = errors.New("storage: invalid retention mode")
	ErrInvalidRetentionPeriod = errors.New("storage: default retention needs exactly one positive period")
	ErrRetentionPeriodTooLong = errors.New("storage: default retention period too long")
	// ErrLockNeedsDigest: data written under object lock must carry a
	// Content-MD5 or checksum the server verified.
	ErrLockNeedsDigest = errors.New("storage: object lock needs a verified body digest")
)
