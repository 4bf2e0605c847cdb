package s3api

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/storage"
)

// The lifecycle configuration document of Put/GetBucketLifecycleConfiguration.
// Decoding keeps every element as a list and any unknown element, so that
// repeated or unknown elements are refused (MalformedXML) rather than
// silently dropped: the server never stores less than it was sent.

// unknownXML catches elements the schema does not define.
type unknownXML struct {
	XMLName xml.Name
}

type lifecycleXML struct {
	XMLName xml.Name           `xml:"LifecycleConfiguration"`
	NS      string             `xml:"xmlns,attr,omitempty"`
	Rules   []lifecycleRuleXML `xml:"Rule"`
	Unknown []unknownXML       `xml:",any"`
}

type lifecycleRuleXML struct {
	ID                   []string             `xml:"ID"`
	Prefix               []string             `xml:"Prefix"`
	Filter               []lifecycleFilterXML `xml:"Filter"`
	Status               []string             `xml:"Status"`
	Expiration           []expirationXML      `xml:"Expiration"`
	Transition           []transitionXML      `xml:"Transition"`
	NoncurrentTransition []transitionXML      `xml:"NoncurrentVersionTransition"`
	NoncurrentExpiration []noncurrentXML      `xml:"NoncurrentVersionExpiration"`
	AbortUpload          []abortUploadXML     `xml:"AbortIncompleteMultipartUpload"`
	Unknown              []unknownXML         `xml:",any"`
}

type lifecycleFilterXML struct {
	Prefix          []string             `xml:"Prefix"`
	Tag             []xmlTag             `xml:"Tag"`
	SizeGreaterThan []string             `xml:"ObjectSizeGreaterThan"`
	SizeLessThan    []string             `xml:"ObjectSizeLessThan"`
	And             []lifecycleFilterXML `xml:"And"`
	Unknown         []unknownXML         `xml:",any"`
}

type expirationXML struct {
	Days                      []string     `xml:"Days"`
	Date                      []string     `xml:"Date"`
	ExpiredObjectDeleteMarker []string     `xml:"ExpiredObjectDeleteMarker"`
	Unknown                   []unknownXML `xml:",any"`
}

type transitionXML struct {
	StorageClass []string `xml:"StorageClass"`
}

type noncurrentXML struct {
	NoncurrentDays          []string     `xml:"NoncurrentDays"`
	NewerNoncurrentVersions []string     `xml:"NewerNoncurrentVersions"`
	Unknown                 []unknownXML `xml:",any"`
}

type abortUploadXML struct {
	DaysAfterInitiation []string     `xml:"DaysAfterInitiation"`
	Unknown             []unknownXML `xml:",any"`
}

// transitionClasses are the storage classes S3 transitions objects to.
var transitionClasses = []string{"GLACIER", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "DEEP_ARCHIVE", "GLACIER_IR"}

// transitionMinSizes are the values of x-amz-transition-default-minimum-object-size.
var transitionMinSizes = []string{"varies_by_storage_class", "all_storage_classes_128K"}

var errMalformed = apiErr(ErrMalformedXML, "")

// one returns the single value of an element that may appear at most
// once (ok false when absent); a repeated one is malformed.
func one[T any](vs []T) (T, bool, error) {
	var zero T
	switch len(vs) {
	case 0:
		return zero, false, nil
	case 1:
		return vs[0], true, nil
	}
	return zero, false, errMalformed
}

// xmlInt reads an integer element; a non-integer is malformed.
func xmlInt(vs []string) (int64, bool, error) {
	s, ok, err := one(vs)
	if err != nil || !ok {
		return 0, ok, err
	}
	n, perr := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if perr != nil {
		return 0, true, errMalformed
	}
	return n, true, nil
}

// days reads a count of days: a non-positive one is refused with bad.
func days(vs []string, bad error) (int, bool, error) {
	n, ok, err := xmlInt(vs)
	switch {
	case err != nil || !ok:
		return 0, ok, err
	case n <= 0 || n > 1<<31-1:
		return 0, true, bad
	}
	return int(n), true, nil
}

// parseLifecycle turns a document into the domain configuration, refusing
// what S3 refuses and the transitions FileSphere has no tiers for.
func parseLifecycle(doc lifecycleXML) (storage.Lifecycle, error) {
	var lc storage.Lifecycle
	if len(doc.Unknown) > 0 || len(doc.Rules) == 0 {
		return lc, errMalformed
	}
	for _, rx := range doc.Rules {
		r, err := parseRule(rx)
		if err != nil {
			return lc, err
		}
		lc.Rules = append(lc.Rules, r)
	}
	return lc, nil
}

func parseRule(rx lifecycleRuleXML) (storage.LifecycleRule, error) {
	var r storage.LifecycleRule
	if len(rx.Unknown) > 0 {
		return r, errMalformed
	}
	if len(rx.Transition) > 0 || len(rx.NoncurrentTransition) > 0 {
		return r, transitionRefusal(append(rx.Transition, rx.NoncurrentTransition...))
	}
	id, _, err := one(rx.ID)
	if err != nil {
		return r, err
	}
	r.ID = id
	status, ok, err := one(rx.Status)
	if err != nil || !ok || status != "Enabled" && status != "Disabled" {
		return r, errMalformed
	}
	r.Enabled = status == "Enabled"
	if r.Filter, err = parseRuleFilter(rx); err != nil {
		return r, err
	}
	if r.Expiration, err = parseExpiration(rx.Expiration); err != nil {
		return r, err
	}
	if nx, ok, err := one(rx.NoncurrentExpiration); err != nil {
		return r, err
	} else if ok {
		if len(nx.Unknown) > 0 {
			return r, errMalformed
		}
		nc := &storage.NoncurrentExpiration{}
		d, present, err := days(nx.NoncurrentDays, storage.ErrLifecycleNoncurrentDays)
		if err != nil {
			return r, err
		}
		if !present {
			return r, storage.ErrLifecycleNoncurrentDays
		}
		nc.Days = d
		if n, present, err := days(nx.NewerNoncurrentVersions, storage.ErrLifecycleNewerVersions); err != nil {
			return r, err
		} else if present {
			nc.NewerVersions = n
		}
		r.NoncurrentExpiration = nc
	}
	if ax, ok, err := one(rx.AbortUpload); err != nil {
		return r, err
	} else if ok {
		if len(ax.Unknown) > 0 {
			return r, errMalformed
		}
		d, present, err := days(ax.DaysAfterInitiation, storage.ErrLifecycleAbortDays)
		if err != nil {
			return r, err
		}
		if !present {
			return r, storage.ErrLifecycleAbortDays
		}
		r.AbortUpload = &storage.AbortUpload{DaysAfterInitiation: d}
	}
	return r, nil
}

// transitionRefusal answers a Transition or NoncurrentVersionTransition:
// FileSphere stores every object in STANDARD and has no tier to move one
// to, so the storage class is not valid here; nothing is stored.
func transitionRefusal(ts []transitionXML) error {
	for _, t := range ts {
		for _, c := range t.StorageClass {
			if slices.Contains(transitionClasses, c) {
				return apiErr(ErrInvalidStorageClass, fmt.Sprintf(
					"The storage class you specified is not valid: FileSphere keeps every object in STANDARD and cannot transition objects to %s.", c))
			}
		}
	}
	return apiErr(ErrInvalidStorageClass, "The storage class you specified is not valid.")
}

// parseRuleFilter reads the rule-level Prefix (deprecated) or the Filter.
func parseRuleFilter(rx lifecycleRuleXML) (storage.LifecycleFilter, error) {
	var f storage.LifecycleFilter
	prefix, hasPrefix, err := one(rx.Prefix)
	if err != nil {
		return f, err
	}
	fx, hasFilter, err := one(rx.Filter)
	switch {
	case err != nil:
		return f, err
	case hasPrefix && hasFilter:
		return f, apiErr(ErrMalformedXML, "A lifecycle rule can have a Prefix or a Filter, not both.")
	case hasPrefix:
		return storage.LifecycleFilter{Prefix: prefix, Shape: storage.FilterPrefix}, nil
	case !hasFilter:
		return storage.LifecycleFilter{Shape: storage.FilterNone}, nil
	}
	conds := len(fx.Prefix) + len(fx.Tag) + len(fx.SizeGreaterThan) + len(fx.SizeLessThan) + len(fx.And)
	if len(fx.Unknown) > 0 || conds > 1 {
		// More than one condition must be put in an And.
		return f, errMalformed
	}
	if and, ok, _ := one(fx.And); ok {
		if len(and.And) > 0 || len(and.Unknown) > 0 {
			return f, errMalformed
		}
		f, err = filterConditions(and)
		f.Shape = storage.FilterAnd
		return f, err
	}
	return filterConditions(fx)
}

func filterConditions(fx lifecycleFilterXML) (storage.LifecycleFilter, error) {
	var f storage.LifecycleFilter
	var err error
	if f.Prefix, _, err = one(fx.Prefix); err != nil {
		return f, err
	}
	for _, t := range fx.Tag {
		if t.Key == nil || t.Value == nil {
			return f, errMalformed
		}
		f.Tags = append(f.Tags, storage.Tag{Key: *t.Key, Value: *t.Value})
	}
	if err := checkTags(f.Tags, maxBucketTags, "The lifecycle filter has too many tags."); err != nil {
		return f, err
	}
	if n, ok, err := xmlInt(fx.SizeGreaterThan); err != nil {
		return f, err
	} else if ok {
		f.SizeGreaterThan = &n
	}
	if n, ok, err := xmlInt(fx.SizeLessThan); err != nil {
		return f, err
	} else if ok {
		f.SizeLessThan = &n
	}
	return f, nil
}

// lifecycleDate reads an ISO 8601 date (with or without a zone; none is
// UTC).
func lifecycleDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func parseExpiration(xs []expirationXML) (*storage.LifecycleExpiration, error) {
	ex, ok, err := one(xs)
	if err != nil || !ok {
		return nil, err
	}
	if len(ex.Unknown) > 0 || len(ex.Days)+len(ex.Date)+len(ex.ExpiredObjectDeleteMarker) != 1 {
		// Exactly one of Days, Date and ExpiredObjectDeleteMarker.
		return nil, errMalformed
	}
	x := &storage.LifecycleExpiration{}
	switch {
	case len(ex.Days) == 1:
		if x.Days, _, err = days(ex.Days, storage.ErrLifecycleDays); err != nil {
			return nil, err
		}
	case len(ex.Date) == 1:
		t, ok := lifecycleDate(ex.Date[0])
		if !ok {
			return nil, apiErr(ErrInvalidArgument, "'Date' must be in ISO 8601 format")
		}
		x.Date = t
	default:
		switch strings.TrimSpace(ex.ExpiredObjectDeleteMarker[0]) {
		case "true":
			x.ExpiredObjectDeleteMarker = true
		case "false":
			return nil, nil // no action, as S3 takes none
		default:
			return nil, errMalformed
		}
	}
	return x, nil
}

// lifecycleOut renders a configuration as GetBucketLifecycleConfiguration
// answers it.
type lifecycleOut struct {
	XMLName xml.Name           `xml:"LifecycleConfiguration"`
	NS      string             `xml:"xmlns,attr"`
	Rules   []lifecycleRuleOut `xml:"Rule"`
}

type lifecycleRuleOut struct {
	ID                   string              `xml:"ID"`
	Prefix               *string             `xml:"Prefix,omitempty"`
	Filter               *lifecycleFilterOut `xml:"Filter,omitempty"`
	Status               string              `xml:"Status"`
	Expiration           *expirationOut      `xml:"Expiration,omitempty"`
	NoncurrentExpiration *noncurrentOut      `xml:"NoncurrentVersionExpiration,omitempty"`
	AbortUpload          *abortUploadOut     `xml:"AbortIncompleteMultipartUpload,omitempty"`
}

type lifecycleFilterOut struct {
	Prefix          *string             `xml:"Prefix,omitempty"`
	Tag             []xmlTag            `xml:"Tag,omitempty"`
	SizeGreaterThan *int64              `xml:"ObjectSizeGreaterThan,omitempty"`
	SizeLessThan    *int64              `xml:"ObjectSizeLessThan,omitempty"`
	And             *lifecycleFilterOut `xml:"And,omitempty"`
}

type expirationOut struct {
	Date                      string `xml:"Date,omitempty"`
	Days                      int    `xml:"Days,omitempty"`
	ExpiredObjectDeleteMarker bool   `xml:"ExpiredObjectDeleteMarker,omitempty"`
}

type noncurrentOut struct {
	NoncurrentDays          int `xml:"NoncurrentDays"`
	NewerNoncurrentVersions int `xml:"NewerNoncurrentVersions,omitempty"`
}

type abortUploadOut struct {
	DaysAfterInitiation int `xml:"DaysAfterInitiation"`
}

func renderLifecycle(lc storage.Lifecycle) lifecycleOut {
	out := lifecycleOut{NS: s3NS}
	for _, r := range lc.Rules {
		ro := lifecycleRuleOut{ID: r.ID, Status: "Disabled"}
		if r.Enabled {
			ro.Status = "Enabled"
		}
		f := r.Filter
		conds := &lifecycleFilterOut{Tag: toXMLTags(f.Tags), SizeGreaterThan: f.SizeGreaterThan, SizeLessThan: f.SizeLessThan}
		if f.Prefix != "" || len(f.Tags)+countSet(f.SizeGreaterThan, f.SizeLessThan) == 0 {
			p := f.Prefix
			conds.Prefix = &p
		}
		switch f.Shape {
		case storage.FilterPrefix:
			p := f.Prefix
			ro.Prefix = &p
		case storage.FilterAnd:
			ro.Filter = &lifecycleFilterOut{And: conds}
		case storage.FilterNone:
		default:
			if f.Prefix == "" && len(f.Tags)+countSet(f.SizeGreaterThan, f.SizeLessThan) == 0 {
				ro.Filter = &lifecycleFilterOut{} // <Filter/> as put
			} else {
				ro.Filter = conds
			}
		}
		if x := r.Expiration; x != nil {
			ro.Expiration = &expirationOut{Days: x.Days, ExpiredObjectDeleteMarker: x.ExpiredObjectDeleteMarker}
			if !x.Date.IsZero() {
				ro.Expiration.Date = x.Date.UTC().Format("2006-01-02T15:04:05.000Z")
			}
		}
		if nc := r.NoncurrentExpiration; nc != nil {
			ro.NoncurrentExpiration = &noncurrentOut{NoncurrentDays: nc.Days, NewerNoncurrentVersions: nc.NewerVersions}
		}
		if a := r.AbortUpload; a != nil {
			ro.AbortUpload = &abortUploadOut{DaysAfterInitiation: a.DaysAfterInitiation}
		}
		out.Rules = append(out.Rules, ro)
	}
	return out
}

func countSet(ps ...*int64) int {
	n := 0
	for _, p := range ps {
		if p != nil {
			n++
		}
	}
	return n
}

func (s *Server) putBucketLifecycle(ctx context.Context, req *request) (*response, error) {
	var doc lifecycleXML
	if err := readDigestedXML(req, &doc); err != nil {
		return nil, err
	}
	lc, err := parseLifecycle(doc)
	if err != nil {
		return nil, err
	}
	lc.TransitionMinimumSize = req.Header.Get("X-Amz-Transition-Default-Minimum-Object-Size")
	if err := s.backend.PutBucketLifecycle(ctx, req.route.Bucket, lc); err != nil {
		return nil, err
	}
	return &response{header: transitionHeader(lc)}, nil
}

func transitionHeader(lc storage.Lifecycle) http.Header {
	h := http.Header{}
	if lc.TransitionMinimumSize != "" {
		h.Set("X-Amz-Transition-Default-Minimum-Object-Size", lc.TransitionMinimumSize)
	}
	return h
}

func (s *Server) getBucketLifecycle(ctx context.Context, req *request) (*response, error) {
	lc, err := s.backend.GetBucketLifecycle(ctx, req.route.Bucket)
	if err != nil {
		return nil, err
	}
	return &response{header: transitionHeader(lc), xml: renderLifecycle(lc)}, nil
}

func (s *Server) deleteBucketLifecycle(ctx context.Context, req *request) (*response, error) {
	if err := s.backend.DeleteBucketLifecycle(ctx, req.route.Bucket); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

// expirationHeader sets x-amz-expiration as S3 sends it: the day the
// current version expires (the end of its last lifecycle day; with days
// of 24 h, midnight UTC, as S3 rounds; with a shorter --lifecycle-day, the
// end of that short day, at second precision) and the rule, URL-encoded.
func expirationHeader(h http.Header, x *storage.Expiry) {
	if x == nil {
		return
	}
	h.Set("X-Amz-Expiration", fmt.Sprintf(`expiry-date="%s", rule-id="%s"`,
		x.Date.UTC().Format(http.TimeFormat), strings.ReplaceAll(url.QueryEscape(x.RuleID), "+", "%20")))
}
