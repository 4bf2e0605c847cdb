package kms

import (
	"fmt"
	"strings"
)

// MaxKeyNameLength bounds key names.
const MaxKeyNameLength = 64

// internalPrefix starts the names of internal keys; admin names cannot.
const internalPrefix = "_"

// secretsKeyName is the internal key of Seal and Open.
const secretsKeyName = internalPrefix + "secrets"

// ValidKeyName reports whether name is a valid admin-chosen key name: 1 to
// 64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit.
func ValidKeyName(name string) bool {
	if name == "" || len(name) > MaxKeyNameLength || !alnum(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !alnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }

// storedName accepts admin names and internal ones (for records and blobs).
func storedName(name string) bool {
	rest, internal := strings.CutPrefix(name, internalPrefix)
	return ValidKeyName(name) || internal && ValidKeyName(rest)
}

// ParseKeyID returns the key name of a key id as clients send it: NAME,
// alias/NAME, or arn:PARTITION:kms:REGION:ACCOUNT:key/NAME (or alias/NAME).
// Region and account are not checked: there is one KMS.
func ParseKeyID(id string) (string, error) {
	name := id
	if strings.HasPrefix(id, "arn:") {
		f := strings.SplitN(id, ":", 6)
		if len(f) != 6 || !strings.HasPrefix(f[1], "aws") || f[2] != "kms" {
			return "", fmt.Errorf("%w: %q is not a KMS key ARN", ErrInvalidKeyName, id)
		}
		res, ok := strings.CutPrefix(f[5], "key/")
		if !ok {
			res, ok = strings.CutPrefix(f[5], "alias/")
		}
		if !ok {
			return "", fmt.Errorf("%w: %q is not a KMS key ARN", ErrInvalidKeyName, id)
		}
		name = res
	} else if res, ok := strings.CutPrefix(id, "alias/"); ok {
		name = res
	}
	if !ValidKeyName(name) {
		return "", fmt.Errorf("%w: %q", ErrInvalidKeyName, id)
	}
	return name, nil
}
