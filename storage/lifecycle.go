package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Lifecycle is a bucket's lifecycle configuration: rules that expire
// current versions, remove noncurrent versions and expired delete markers,
// and abort incomplete multipart uploads. The engine applies them to the
// objects already stored and to every new one.
type Lifecycle struct {
	Rules []LifecycleRule `json:"rules"`
	// TransitionMinimumSize is the default minimum object size of
	// transitions the configuration was put with; FileSphere refuses
	// transitions, so it only reads back.
	TransitionMinimumSize string `json:"tmin,omitempty"`
}

// LifecycleRule is one rule. Disabled rules are kept but never applied.
type LifecycleRule struct {
	ID                   string                `json:"id"`
	Enabled              bool                  `json:"on,omitempty"`
	Filter               LifecycleFilter       `json:"filter"`
	Expiration           *LifecycleExpiration  `json:"exp,omitempty"`
	NoncurrentExpiration *NoncurrentExpiration `json:"ncexp,omitempty"`
	AbortUpload          *AbortUpload          `json:"abort,omitempty"`
}

// FilterShape records how a filter was written, so that the configuration
// reads back as it was put; matching ignores it.
type FilterShape string

// The filter shapes: a Filter element with at most one condition, one
// with an And element, the deprecated rule-level Prefix, or no filter.
const (
	FilterSingle FilterShape = ""
	FilterAnd    FilterShape = "and"
	FilterPrefix FilterShape = "prefix"
	FilterNone   FilterShape = "none"
)

// LifecycleFilter selects the objects a rule applies to: all its
// conditions hold (key prefix, every tag, size bounds, exclusive).
type LifecycleFilter struct {
	Prefix          string      `json:"prefix,omitempty"`
	Tags            []Tag       `json:"tags,omitempty"`
	SizeGreaterThan *int64      `json:"gt,omitempty"`
	SizeLessThan    *int64      `json:"lt,omitempty"`
	Shape           FilterShape `json:"shape,omitempty"`
}

// LifecycleExpiration expires current versions Days after creation or on
// Date; ExpiredObjectDeleteMarker instead removes delete markers that are
// the only version left of their key. Exactly one is set.
type LifecycleExpiration struct {
	Days                      int       `json:"days,omitempty"`
	Date                      time.Time `json:"date,omitzero"`
	ExpiredObjectDeleteMarker bool      `json:"eodm,omitempty"`
}

// NoncurrentExpiration removes a version Days after it became noncurrent,
// keeping the NewerVersions newest noncurrent versions (0 keeps none).
type NoncurrentExpiration struct {
	Days          int `json:"days"`
	NewerVersions int `json:"newer,omitempty"`
}

// AbortUpload aborts multipart uploads DaysAfterInitiation after they began.
type AbortUpload struct {
	DaysAfterInitiation int `json:"days"`
}

// Lifecycle limits (S3's).
const (
	MaxLifecycleRules       = 1000
	MaxLifecycleIDLength    = 255
	MaxNewerNoncurrent      = 100
	MaxLifecycleObjectSize  = 1099511627776000 // the largest size bound S3 accepts
	maxLifecycleFilterTags  = 50
	maxLifecycleTagKeyRunes = 128
)

// Lifecycle validation errors; s3api gives each S3's code and message.
var (
	ErrNoSuchLifecycle          = errors.New("storage: bucket has no lifecycle configuration")
	ErrLifecycleTooManyRules    = errors.New("storage: too many lifecycle rules")
	ErrLifecycleIDTooLong       = errors.New("storage: lifecycle rule id too long")
	ErrLifecycleDuplicateID     = errors.New("storage: lifecycle rule ids not unique")
	ErrLifecycleNoAction        = errors.New("storage: lifecycle rule without an action")
	ErrLifecycleExpiration      = errors.New("storage: expiration needs exactly one of days, date and expired delete marker")
	ErrLifecycleDays            = errors.New("storage: expiration days not positive")
	ErrLifecycleDate            = errors.New("storage: expiration date not at midnight UTC")
	ErrLifecycleNoncurrentDays  = errors.New("storage: noncurrent days not positive")
	ErrLifecycleNewerVersions   = errors.New("storage: newer noncurrent versions out of range")
	ErrLifecycleAbortDays       = errors.New("storage: days after initiation not positive")
	ErrLifecycleAbortTags       = errors.New("storage: abort incomplete upload with a tag filter")
	ErrLifecycleAbortSize       = errors.New("storage: abort incomplete upload with a size filter")
	ErrLifecycleMarkerFilter    = errors.New("storage: expired delete marker with a tag or size filter")
	ErrLifecycleSizeGreater     = errors.New("storage: object size lower bound out of range")
	ErrLifecycleSizeLess        = errors.New("storage: object size upper bound out of range")
	ErrLifecycleSizeOrder       = errors.New("storage: object size bounds do not leave a size")
	ErrLifecycleFilterTag       = errors.New("storage: invalid filter tag")
	ErrLifecycleDuplicateTagKey = errors.New("storage: duplicate filter tag keys")
)

// Validate checks a configuration against S3's rules.
func (lc Lifecycle) Validate() error {
	if len(lc.Rules) == 0 {
		return fmt.Errorf("%w: a lifecycle configuration needs a rule", ErrInvalidArgument)
	}
	if len(lc.Rules) > MaxLifecycleRules {
		return ErrLifecycleTooManyRules
	}
	ids := make(map[string]bool, len(lc.Rules))
	for _, r := range lc.Rules {
		if err := r.validate(); err != nil {
			return err
		}
		if ids[r.ID] {
			return ErrLifecycleDuplicateID
		}
		ids[r.ID] = true
	}
	return nil
}

func (r LifecycleRule) validate() error {
	switch {
	case utf8.RuneCountInString(r.ID) > MaxLifecycleIDLength:
		return ErrLifecycleIDTooLong
	case r.Expiration == nil && r.NoncurrentExpiration == nil && r.AbortUpload == nil:
		return ErrLifecycleNoAction
	}
	if err := r.Filter.validate(); err != nil {
		return err
	}
	if x := r.Expiration; x != nil {
		n := 0
		for _, set := range []bool{x.Days != 0, !x.Date.IsZero(), x.ExpiredObjectDeleteMarker} {
			if set {
				n++
			}
		}
		switch {
		case n != 1:
			return ErrLifecycleExpiration
		case x.Days < 0:
			return ErrLifecycleDays
		case !x.Date.IsZero() && !x.Date.Equal(x.Date.UTC().Truncate(24*time.Hour)):
			return ErrLifecycleDate
		case x.ExpiredObjectDeleteMarker && (len(r.Filter.Tags) > 0 || r.Filter.sized()):
			return ErrLifecycleMarkerFilter
		}
	}
	if nc := r.NoncurrentExpiration; nc != nil {
		switch {
		case nc.Days <= 0:
			return ErrLifecycleNoncurrentDays
		case nc.NewerVersions < 0 || nc.NewerVersions > MaxNewerNoncurrent:
			return ErrLifecycleNewerVersions
		}
	}
	if a := r.AbortUpload; a != nil {
		switch {
		case a.DaysAfterInitiation <= 0:
			return ErrLifecycleAbortDays
		case len(r.Filter.Tags) > 0:
			return ErrLifecycleAbortTags
		case r.Filter.sized():
			return ErrLifecycleAbortSize
		}
	}
	return nil
}

func (f LifecycleFilter) sized() bool { return f.SizeGreaterThan != nil || f.SizeLessThan != nil }

func (f LifecycleFilter) validate() error {
	if gt := f.SizeGreaterThan; gt != nil && (*gt < 0 || *gt >= MaxLifecycleObjectSize) {
		return ErrLifecycleSizeGreater
	}
	if lt := f.SizeLessThan; lt != nil && (*lt < 1 || *lt > MaxLifecycleObjectSize) {
		return ErrLifecycleSizeLess
	}
	if f.SizeGreaterThan != nil && f.SizeLessThan != nil && *f.SizeGreaterThan >= *f.SizeLessThan {
		return ErrLifecycleSizeOrder
	}
	if len(f.Tags) > maxLifecycleFilterTags {
		return ErrLifecycleFilterTag
	}
	seen := map[string]bool{}
	for _, t := range f.Tags {
		if t.Key == "" || utf8.RuneCountInString(t.Key) > maxLifecycleTagKeyRunes {
			return ErrLifecycleFilterTag
		}
		if seen[t.Key] {
			return ErrLifecycleDuplicateTagKey
		}
		seen[t.Key] = true
	}
	return nil
}

// matches reports whether a version of key with size and tags passes the
// filter (delete markers have size 0 and no tags).
func (f LifecycleFilter) matches(key string, size int64, tags []Tag) bool {
	if !strings.HasPrefix(key, f.Prefix) {
		return false
	}
	if f.SizeGreaterThan != nil && size <= *f.SizeGreaterThan {
		return false
	}
	if f.SizeLessThan != nil && size >= *f.SizeLessThan {
		return false
	}
	for _, want := range f.Tags {
		if !slices.Contains(tags, want) {
			return false
		}
	}
	return true
}

// LifecycleDays turns lifecycle days into times. A day lasts Day (24 h
// normally, shorter for tests) and days end at multiples of Day since the
// Unix epoch; with 24 h, that is midnight UTC. As S3 does, a due time is
// the creation time plus the days, rounded up to the end of that day.
type LifecycleDays time.Duration

// after is the end of the day n days after t.
func (d LifecycleDays) after(t time.Time, n int) time.Time {
	day := int64(time.Duration(d) / time.Second)
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	s += int64(n) * day
	if r := s % day; r != 0 {
		s += day - r
	}
	return time.Unix(s, 0).UTC()
}

// ceilSecond rounds t up to a whole second (index keys count seconds).
func ceilSecond(t time.Time) time.Time {
	if t.Nanosecond() == 0 {
		return t.UTC()
	}
	return time.Unix(t.Unix()+1, 0).UTC()
}

// Expiry is when an Expiration rule expires a current version, for
// x-amz-expiration.
type Expiry struct {
	Date   time.Time
	RuleID string
}

// lcKind is what the lifecycle does to a key or an upload.
type lcKind uint8

const (
	lcNone       lcKind = iota
	lcExpire            // expire the current version
	lcNoncurrent        // remove a noncurrent version
	lcMarker            // remove an expired delete marker (the only version left)
	lcAbort             // abort a multipart upload
)

func (k lcKind) String() string {
	return [...]string{"none", "expire", "noncurrent", "expired_marker", "abort_upload"}[k]
}

// lcStep is one lifecycle action on a key: kind, the version it removes
// (index into the versions, newest first) and when it falls due.
type lcStep struct {
	kind lcKind
	idx  int
	due  time.Time
	rule string
}

// keyPlan is the lifecycle's view of one key: the earliest step (next)
// and, of the steps due at now, the one to take first (act).
type keyPlan struct {
	next time.Time // zero: nothing scheduled
	act  *lcStep
}

// enabled yields the enabled rules.
func (lc *Lifecycle) enabled(yield func(LifecycleRule) bool) {
	if lc == nil {
		return
	}
	for _, r := range lc.Rules {
		if r.Enabled && !yield(r) {
			return
		}
	}
}

// needsHistory reports whether a key's noncurrent versions matter (a
// noncurrent rule may apply to it), so writes must read all of them.
func (lc *Lifecycle) needsHistory(key string) bool {
	for r := range lc.enabled {
		if r.NoncurrentExpiration != nil && strings.HasPrefix(key, r.Filter.Prefix) {
			return true
		}
	}
	return false
}

// schedulesKeys reports whether any enabled rule acts on object versions.
func (lc *Lifecycle) schedulesKeys() bool {
	for r := range lc.enabled {
		if r.Expiration != nil || r.NoncurrentExpiration != nil {
			return true
		}
	}
	return false
}

// expiry is when an Expiration rule expires v as the current version of
// key (ok false when none does).
func (lc *Lifecycle) expiry(key string, v versionRecord, days LifecycleDays) (Expiry, bool) {
	var best Expiry
	found := false
	if v.DeleteMarker {
		return best, false
	}
	for r := range lc.enabled {
		x := r.Expiration
		if x == nil || x.ExpiredObjectDeleteMarker || !r.Filter.matches(key, v.Size, v.Tags) {
			continue
		}
		due := x.Date
		if x.Days > 0 {
			due = days.after(v.ModTime, x.Days)
		}
		if !found || due.Before(best.Date) {
			best, found = Expiry{Date: due, RuleID: r.ID}, true
		}
	}
	return best, found
}

// plan evaluates the rules on a key's versions (newest first). more says
// that versions exist beyond vs (callers pass only the latest when
// needsHistory is false). Locked versions are never removed: one under
// retention falls due when the retention ends, one under legal hold when
// the hold is lifted (that change plans the key again).
func (lc *Lifecycle) plan(key string, vs []versionRecord, more bool, now time.Time, days LifecycleDays) keyPlan {
	var p keyPlan
	if len(vs) == 0 {
		return p
	}
	consider := func(s lcStep) {
		if p.next.IsZero() || s.due.Before(p.next) {
			p.next = s.due
		}
		if s.due.After(now) {
			return
		}
		// Of the steps due, noncurrent removals (oldest first) come
		// before the current version's expiry; each step plans again.
		if p.act == nil || s.kind == lcNoncurrent && (p.act.kind != lcNoncurrent || s.idx > p.act.idx) {
			st := s
			p.act = &st
		}
	}
	latest := vs[0]
	if !latest.DeleteMarker {
		if x, ok := lc.expiry(key, latest, days); ok {
			consider(lcStep{kind: lcExpire, due: ceilSecond(x.Date), rule: x.RuleID})
		}
	} else if len(vs) == 1 && !more {
		if s, ok := lc.markerStep(key, latest, days); ok {
			consider(s)
		}
	}
	for i := 1; i < len(vs); i++ {
		if s, ok := lc.noncurrentStep(key, vs, i, days); ok {
			consider(s)
		}
	}
	return p
}

// markerStep is when a delete marker left alone is removed: as soon as it
// is alone with ExpiredObjectDeleteMarker, else once it is as old as an
// Expiration rule's days (or on its date).
func (lc *Lifecycle) markerStep(key string, m versionRecord, days LifecycleDays) (lcStep, bool) {
	var best lcStep
	found := false
	for r := range lc.enabled {
		x := r.Expiration
		if x == nil || !r.Filter.matches(key, 0, nil) {
			continue
		}
		var due time.Time
		switch {
		case x.ExpiredObjectDeleteMarker:
			due = days.after(m.ModTime, 0)
		case x.Days > 0:
			due = days.after(m.ModTime, x.Days)
		default:
			due = ceilSecond(x.Date)
		}
		if !found || due.Before(best.due) {
			best, found = lcStep{kind: lcMarker, due: due, rule: r.ID}, true
		}
	}
	return best, found
}

// noncurrentStep is when vs[i] (noncurrent since vs[i-1] was created) is
// removed, if a rule removes it at all.
func (lc *Lifecycle) noncurrentStep(key string, vs []versionRecord, i int, days LifecycleDays) (lcStep, bool) {
	v := vs[i]
	if v.Lock.LegalHold == LegalHoldOn {
		return lcStep{}, false
	}
	var best lcStep
	found := false
	for r := range lc.enabled {
		nc := r.NoncurrentExpiration
		size, tags := v.Size, v.Tags
		if v.DeleteMarker {
			size, tags = 0, nil
		}
		if nc == nil || !r.Filter.matches(key, size, tags) || i-1 < nc.NewerVersions {
			continue
		}
		due := days.after(vs[i-1].ModTime, nc.Days)
		if !found || due.Before(best.due) {
			best, found = lcStep{kind: lcNoncurrent, idx: i, due: due, rule: r.ID}, true
		}
	}
	if found && v.Lock.Mode != "" {
		if until := ceilSecond(v.Lock.RetainUntil); until.After(best.due) {
			best.due = until
		}
	}
	return best, found
}

// uploadDue is when an upload of key begun at initiated is aborted.
func (lc *Lifecycle) uploadDue(key string, initiated time.Time, days LifecycleDays) (lcStep, bool) {
	var best lcStep
	found := false
	for r := range lc.enabled {
		a := r.AbortUpload
		if a == nil || !strings.HasPrefix(key, r.Filter.Prefix) {
			continue
		}
		due := days.after(initiated, a.DaysAfterInitiation)
		if !found || due.Before(best.due) {
			best, found = lcStep{kind: lcAbort, due: due, rule: r.ID}, true
		}
	}
	return best, found
}

// BucketLifecycle is the lifecycle configuration API. Changing the
// configuration re-plans the objects already stored, in the background.
type BucketLifecycle interface {
	PutBucketLifecycle(ctx context.Context, bucket string, lc Lifecycle) error
	// GetBucketLifecycle returns ErrNoSuchLifecycle when none is set.
	GetBucketLifecycle(ctx context.Context, bucket string) (Lifecycle, error)
	DeleteBucketLifecycle(ctx context.Context, bucket string) error
}
