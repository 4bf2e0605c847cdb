package policy

import "unicode/utf8"

// Size limits AWS documents (S3 user guide "Bucket policies and user
// policies"; IAM user guide "IAM and AWS STS quotas"). Parse does not apply
// them: the S3 and IAM layers check the limit of the place a policy goes
// and answer with their own errors.
const (
	// MaxBucketPolicyBytes: a bucket policy is limited to 20 KB.
	MaxBucketPolicyBytes = 20 * 1024

	// The IAM limits count characters, not counting white space (see
	// IAMSize). Inline limits apply to the sum of all inline policies of
	// the user, group or role.
	MaxManagedPolicyChars = 6144
	MaxUserInlineChars    = 2048
	MaxGroupInlineChars   = 5120
	MaxRoleInlineChars    = 10240
	// MaxTrustPolicyChars is IAM's default AssumeRolePolicySizeQuota.
	MaxTrustPolicyChars = 2048
	// MaxSessionPolicyChars: STS limits the plaintext of inline and
	// managed session policies together to 2,048 characters.
	MaxSessionPolicyChars = 2048
)

// IAMSize is a policy's size as IAM counts it against the limits above:
// its characters, except white space outside JSON strings.
func IAMSize(doc []byte) int {
	n := 0
	inString, escaped := false, false
	for len(doc) > 0 {
		r, w := utf8.DecodeRune(doc)
		doc = doc[w:]
		switch {
		case inString && escaped:
			escaped = false
		case inString && r == '\\':
			escaped = true
		case r == '"':
			inString = !inString
		case !inString && (r == ' ' || r == '\t' || r == '\n' || r == '\r'):
			continue
		}
		n++
	}
	return n
}
