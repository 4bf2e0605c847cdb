package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
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

// keyCacheKey names a derived key by everything it is derived from. The
// secret is in it as its SHA-256, so a changed secret for the same access
// key never finds the key of the old one.
type keyCacheKey struct {
	accessKey, date, region, service string
	secretSum                        [sha256.Size]byte
}

// signingKey is a derived signing key with a pool of HMACs keyed with it:
// a reused HMAC restores its precomputed pad states on Reset, which saves
// two of the four SHA-256 blocks of signing a short string to sign, and
// the allocations of a new HMAC.
type signingKey struct {
	key  []byte
	macs sync.Pool
}

func newSigningKey(key []byte) *signingKey {
	k := &signingKey{key: key}
	k.macs.New = func() any { return hmac.New(sha256.New, k.key) }
	return k
}

// sign appends HMAC-SHA256(key, msg) to dst.
func (k *signingKey) sign(dst, msg []byte) []byte {
	m := k.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(msg)
	dst = m.Sum(dst)
	k.macs.Put(m)
	return dst
}

// keyCache saves the four HMACs of key derivation per request. Lookup is still
// called on every request, so revoking a key takes effect immediately.
type keyCache struct {
	mu sync.Mutex
	m  map[keyCacheKey]*signingKey
}

func (c *keyCache) get(accessKey, secret, date, region, service string) *signingKey {
	ck := keyCacheKey{accessKey: accessKey, date: date, region: region, service: service, secretSum: secretSum(secret)}
	c.mu.Lock()
	k, ok := c.m[ck]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = newSigningKey(deriveSigningKey(secret, date, region, service))
	c.mu.Lock()
	if c.m == nil || len(c.m) >= keyCacheMax {
		c.m = make(map[keyCacheKey]*signingKey)
	}
	c.m[ck] = k
	c.mu.Unlock()
	return k
}

// secretSum is the SHA-256 of secret, hashed from a stack copy when it is
// short (real secrets are 40 bytes) so the conversion does not allocate.
func secretSum(secret string) [sha256.Size]byte {
	var buf [128]byte
	if len(secret) > len(buf) {
		return sha256.Sum256([]byte(secret))
	}
	n := copy(buf[:], secret)
	return sha256.Sum256(buf[:n])
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
