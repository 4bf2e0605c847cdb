package storage

import (
	"strings"
	"time"
)

// ResolveRange resolves r against an object of size. A nil result means
// "the whole object" (no range, or one S3 ignores).
func ResolveRange(r *Range, size int64) (*ResolvedRange, error) {
	if r == nil {
		return nil, nil
	}
	switch {
	case r.Suffix > 0:
		n := min(r.Suffix, size)
		if n == 0 {
			return nil, &RangeError{Size: size}
		}
		return &ResolvedRange{Start: size - n, Length: n, Size: size}, nil
	case r.Start < 0 || r.Start >= size:
		return nil, &RangeError{Size: size}
	}
	end := r.End
	if end < 0 || end >= size {
		end = size - 1
	}
	return &ResolvedRange{Start: r.Start, Length: end - r.Start + 1, Size: size}, nil
}

// etagMatches compares an If-Match/If-None-Match list against an ETag.
func etagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || strings.Trim(t, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// CheckConditions evaluates HTTP preconditions in the order RFC 9110 and S3
// use: If-Match, then If-Unmodified-Since (ignored when If-Match is given),
// then If-None-Match, then If-Modified-Since (ignored with If-None-Match).
func CheckConditions(info ObjectInfo, c Conditions) error {
	fail := func(err error) error { return &PreconditionError{Err: err, Info: info} }
	mod := info.ModTime.Truncate(time.Second)
	if c.IfMatch != "" {
		if !etagMatches(c.IfMatch, info.ETag) {
			return fail(ErrPreconditionFailed)
		}
	} else if c.IfUnmodifiedSince != nil && mod.After(*c.IfUnmodifiedSince) {
		return fail(ErrPreconditionFailed)
	}
	if c.IfNoneMatch != "" {
		if etagMatches(c.IfNoneMatch, info.ETag) {
			return fail(ErrNotModified)
		}
	} else if c.IfModifiedSince != nil && !mod.After(*c.IfModifiedSince) {
		return fail(ErrNotModified)
	}
	return nil
}
