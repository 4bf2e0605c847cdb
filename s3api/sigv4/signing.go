package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sync"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	scopeTerminal   = "aws4_request"
	serviceS3       = "s3"
	serviceIAM      = "iam"
	serviceSTS      = "sts"
	amzDateLayout   = "20060102T150405Z"
	scopeDateLayout = "20060102"

	// emptySHA256 is hex(sha256("")), the fixed "previous hash" field of the
	// chunk string to sign.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// knownService reports whether FileSphere serves svc on its endpoint.
func knownService(svc string) bool {
	return svc == serviceS3 || svc == serviceIAM || svc == serviceSTS
}

// deriveSigningKey is the SigV4 key derivation chain
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveSigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerminal)
}

// keyCacheMax bounds the cache. Keys are per day, so a full cache is mostly
// yesterday's keys; dropping everything is simpler than LRU bookkeeping and
// costs one re-derivation per active key.
const keyCacheMax = 4096

type keyCacheKey struct{ accessKey, date, region, service string }

type keyCacheEntry struct {
	// secretSum fingerprints the secret the key was derived from, so a
	// rotated secret is never served a stale key.
	secretSum [32]byte
	key       []byte
}

// keyCache saves the four HMACs of key derivation per request. Lookup is still
// called on every request, so revoking a key takes effect immediately.
type keyCache struct {
	mu sync.Mutex
	m  map[keyCacheKey]keyCacheEntry
}

func (c *keyCache) get(accessKey, secret, date, region, service string) []byte {
	ck := keyCacheKey{accessKey, date, region, service}
	sum := sha256.Sum256([]byte(secret))
	c.mu.Lock()
	e, ok := c.m[ck]
	c.mu.Unlock()
	if ok && subtle.ConstantTimeCompare(e.secretSum[:], sum[:]) == 1 {
		return e.key
	}
	key := deriveSigningKey(secret, date, region, service)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= keyCacheMax {
		c.m = make(map[keyCacheKey]keyCacheEntry)
	}
	c.m[ck] = keyCacheEntry{secretSum: sum, key: key}
	c.mu.Unlock()
	return key
}

// signHex returns hex(HMAC(key, stringToSign)).
func signHex(key []byte, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

// signatureEqual compares a computed signature with the one sent, in constant
// time so the comparison leaks nothing about how many leading bytes matched.
func signatureEqual(computed []byte, sent []byte) bool {
	return hmac.Equal(computed, sent)
}
