package drive

import (
	"fmt"
	"strings"
)

// MaxIDLength bounds a shard id. Ids become paths on Local, so the limit
// keeps every shard path well under PATH_MAX whatever the drive root is.
const MaxIDLength = 512

// maxSegmentLength is NAME_MAX on common Linux filesystems. Memory enforces it
// too, so an id that Memory accepts never fails on Local.
const maxSegmentLength = 255

// ValidateID reports whether id is a well-formed shard id: '/'-separated
// segments of [A-Za-z0-9._-], none empty, none "." or "..", at most
// MaxIDLength bytes in total. Such an id can never name anything outside the
// directory it is joined to, which is what makes Local safe without any path
// cleaning. The error wraps ErrInvalidID.
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrInvalidID)
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("%w: %d bytes, max %d", ErrInvalidID, len(id), MaxIDLength)
	}
	for seg := range strings.SplitSeq(id, "/") {
		if why := validSegment(seg, false); why != "" {
			return fmt.Errorf("%w: %q: %s", ErrInvalidID, id, why)
		}
	}
	return nil
}

// validatePrefix checks a Walk prefix. It may be empty, end with '/', or end
// in a partial segment; every complete segment obeys the ValidateID rules.
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxIDLength {
		return fmt.Errorf("%w: prefix of %d bytes, max %d", ErrInvalidID, len(prefix), MaxIDLength)
	}
	segs := strings.Split(prefix, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		if why := validSegment(seg, last); why != "" {
			return fmt.Errorf("%w: prefix %q: %s", ErrInvalidID, prefix, why)
		}
	}
	return nil
}

// validSegment checks one segment and says what is wrong with it, or "" if
// nothing is. A partial segment (the tail of a prefix) may be empty, "." or
// "..": it only has to be spelled with id characters.
func validSegment(seg string, partial bool) string {
	if !partial {
		switch seg {
		case "":
			return "empty segment"
		case ".", "..":
			return "dot segment"
		}
	}
	if len(seg) > maxSegmentLength {
		return "segment longer than 255 bytes"
	}
	for i := 0; i < len(seg); i++ {
		if !idChar(seg[i]) {
			return fmt.Sprintf("character %q not allowed", seg[i])
		}
	}
	return ""
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// idDir returns the directory part of an id or prefix ("a/b/c" -> "a/b",
// "a/" -> "a", "a" -> "").
func idDir(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[:i]
	}
	return ""
}
