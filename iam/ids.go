package iam

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// AWS-style unique ids: a four-letter prefix naming the kind, then
// uppercase letters and digits (21 characters in all; access key ids 20).
const (
	prefixUserID    = "AIDA"
	prefixGroupID   = "AGPA"
	prefixRoleID    = "AROA"
	prefixPolicyID  = "ANPA"
	prefixAccessKey = "AKIA" // long-term access key ids
	prefixTempKey   = "ASIA" // temporary (session) access key ids

	idAlphabet     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	digits         = "0123456789"

	entityIDLen    = 21
	accessKeyIDLen = 20
	secretLen      = 40
	tokenBytes     = 96 // session tokens: 128 base64 characters
)

// randomString draws n characters uniformly from alphabet (rejection
// sampling, so no character is favoured).
func randomString(r io.Reader, n int, alphabet string) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2+8)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("iam: random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

func (s *Service) newID(prefix string) (string, error) {
	n := entityIDLen
	if prefix == prefixAccessKey || prefix == prefixTempKey {
		n = accessKeyIDLen
	}
	rest, err := randomString(s.cfg.Rand, n-len(prefix), idAlphabet)
	return prefix + rest, err
}

func (s *Service) newSecret() (string, error) {
	return randomString(s.cfg.Rand, secretLen, secretAlphabet)
}

// newToken returns a session token and the SHA-256 the KV keeps of it.
func (s *Service) newToken() (string, []byte, error) {
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", nil, fmt.Errorf("iam: random: %w", err)
	}
	tok := base64.StdEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(tok))
	return tok, h[:], nil
}

func newAccountID(r io.Reader) (string, error) { return randomString(r, 12, digits) }

func newCanonicalID(r io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("iam: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isIAMKeyID reports whether id has the shape of an IAM access key id.
func isIAMKeyID(id string) bool {
	if len(id) != accessKeyIDLen || !(strings.HasPrefix(id, prefixAccessKey) || strings.HasPrefix(id, prefixTempKey)) {
		return false
	}
	for i := 4; i < len(id); i++ {
		if !strings.ContainsRune(idAlphabet, rune(id[i])) {
			return false
		}
	}
	return true
}

// ARNs of the account's entities. Path is "/" or "/a/b/".
func userARN(acct, path, name string) string  { return "arn:aws:iam::" + acct + ":user" + path + name }
func groupARN(acct, path, name string) string { return "arn:aws:iam::" + acct + ":group" + path + name }
func roleARN(acct, path, name string) string  { return "arn:aws:iam::" + acct + ":role" + path + name }
func policyARN(acct, path, name string) string {
	return "arn:aws:iam::" + acct + ":policy" + path + name
}
func rootARN(acct string) string { return "arn:aws:iam::" + acct + ":root" }
func assumedRoleARN(acct, role, session string) string {
	return "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + session
}

// splitEntityARN parses arn:aws:iam::ACCT:<kind>/<path><name> into account,
// path and name.
func splitEntityARN(arn, kind string) (acct, path, name string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return "", "", "", false
	}
	acct, rest, ok = strings.Cut(rest, ":")
	if !ok {
		return "", "", "", false
	}
	rest, ok = strings.CutPrefix(rest, kind)
	if !ok || !strings.HasPrefix(rest, "/") {
		return "", "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	path, name = rest[:i+1], rest[i+1:]
	return acct, path, name, name != ""
}
