package iam

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/filesphere/filesphere/iam/policy"
)

// AWS input constraints (IAM and STS API references).
const (
	maxUserNameLen     = 64
	maxGroupNameLen    = 128
	maxRoleNameLen     = 64
	maxPolicyNameLen   = 128
	maxPathLen         = 512
	maxDescriptionLen  = 1000
	maxTags            = 50
	maxTagKeyLen       = 128
	maxTagValueLen     = 256
	maxPolicyDocLen    = 131072 // the API's PolicyDocument parameter
	maxAccessKeys      = 2      // AccessKeysPerUser
	maxGroupsPerUser   = 10     // GroupsPerUser
	maxAttached        = 10     // PoliciesPerUser/Group/Role (managed)
	maxPolicyVersions  = 5      // PolicyVersionsPerPolicy
	maxSessionPolicies = 10     // STS PolicyArns
	maxPasswordLen     = 128

	// Role sessions (seconds).
	minSessionDuration     = 900
	defaultRoleSession     = 3600
	defaultMaxRoleSession  = 3600
	maxRoleSessionLimit    = 43200
	chainedSessionLimit    = 3600
	defaultUserSession     = 43200 // GetSessionToken
	maxUserSession         = 129600
	defaultRootSession     = 3600
	maxRootSession         = 3600
	minSessionNameLen      = 2
	maxSessionNameLen      = 64
	minSourceIdentityLen   = 2
	maxSourceIdentityLen   = 64
	maxExternalIDLen       = 1224
	minExternalIDLen       = 2
	maxSessionPolicyArnLen = 2048
)

// nameChar is [\w+=,.@-], the character set of IAM names.
func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("_+=,.@-", c) >= 0
}

func checkName(field, v string, minLen, maxLen int) error {
	if len(v) < minLen || len(v) > maxLen {
		return constraint(v, field, "Member must have length between "+strconv.Itoa(minLen)+" and "+strconv.Itoa(maxLen))
	}
	for i := 0; i < len(v); i++ {
		if !nameChar(v[i]) {
			return constraint(v, field, `Member must satisfy regular expression pattern: [\w+=,.@-]+`)
		}
	}
	return nil
}

// normPath returns the path to store: "" means "/". It must be "/" or
// "/…/" with characters U+0021 to U+007E.
func normPath(field, p string) (string, error) {
	if p == "" {
		return "/", nil
	}
	ok := len(p) <= maxPathLen && strings.HasPrefix(p, "/") && strings.HasSuffix(p, "/")
	for i := 0; ok && i < len(p); i++ {
		ok = p[i] >= 0x21 && p[i] <= 0x7e
	}
	if !ok {
		return "", constraint(p, field, `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F) with length at most 512`)
	}
	return p, nil
}

func checkDescription(d string) error {
	if utf8.RuneCountInString(d) > maxDescriptionLen || !utf8.ValidString(d) {
		return constraint(d, "description", "Member must have length less than or equal to 1000")
	}
	return nil
}

// Tag is a key-value tag of a user, a role or a session.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

func tagChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.In(r, unicode.Z) || strings.ContainsRune("_.:/=+-@", r)
}

func checkTag(t Tag) error {
	if n := utf8.RuneCountInString(t.Key); n < 1 || n > maxTagKeyLen || !utf8.ValidString(t.Key) {
		return constraint(t.Key, "tags.member.key", "Member must have length between 1 and 128")
	}
	if utf8.RuneCountInString(t.Value) > maxTagValueLen || !utf8.ValidString(t.Value) {
		return constraint(t.Value, "tags.member.value", "Member must have length less than or equal to 256")
	}
	for _, s := range []string{t.Key, t.Value} {
		for _, r := range s {
			if !tagChar(r) {
				return constraint(s, "tags.member", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
			}
		}
	}
	if len(t.Key) >= 4 && strings.EqualFold(t.Key[:4], "aws:") {
		return invalid("Tag keys starting with 'aws:' are reserved for AWS use.")
	}
	return nil
}

// mergeTags applies add to tags (keys match ignoring case; the new key's
// spelling wins) and checks the result.
func mergeTags(tags, add []Tag) ([]Tag, error) {
	out := append([]Tag(nil), tags...)
	seen := map[string]bool{}
	for _, t := range add {
		if err := checkTag(t); err != nil {
			return nil, err
		}
		k := strings.ToLower(t.Key)
		if seen[k] {
			return nil, invalid("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
		replaced := false
		for i := range out {
			if strings.EqualFold(out[i].Key, t.Key) {
				out[i], replaced = t, true
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, quota("TagsPerEntity", maxTags)
	}
	return out, nil
}

func removeTags(tags []Tag, keys []string) []Tag {
	out := make([]Tag, 0, len(tags))
next:
	for _, t := range tags {
		for _, k := range keys {
			if strings.EqualFold(t.Key, k) {
				continue next
			}
		}
		out = append(out, t)
	}
	return out
}

func tagMap(tags ...[]Tag) map[string]string {
	n := 0
	for _, l := range tags {
		n += len(l)
	}
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for _, l := range tags {
		for _, t := range l {
			for k := range m { // later lists override, keys unique ignoring case
				if strings.EqualFold(k, t.Key) {
					delete(m, k)
				}
			}
			m[t.Key] = t.Value
		}
	}
	return m
}

// checkDocument validates a policy document of kind against limit (IAM
// characters, see policy.IAMSize) and returns the compiled policy.
func (s *Service) checkDocument(doc string, kind policy.Kind, limit int, quotaName string) (*policy.Policy, error) {
	if len(doc) > maxPolicyDocLen {
		return nil, constraint("…", "policyDocument", "Member must have length less than or equal to 131072")
	}
	if n := policy.IAMSize([]byte(doc)); n > limit {
		return nil, quota(quotaName, limit)
	}
	p, err := s.compiled.get(doc, kind)
	if err != nil {
		return nil, malformed(err)
	}
	return p, nil
}
