package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

// Sealed object keys: version (1 B) || salt (16 B) || nonce (12 B) ||
// AES-256-GCM(object key) (32 B) || tag (16 B). The sealing key is derived
// from the key-encryption key and a fresh random salt, so even a customer
// key reused across millions of objects never seals twice under one key.
const (
	sealedKeyVersion = 1
	sealSaltSize     = 16
	sealNonceSize    = 12
	// SealedKeySize is the length of SealKey's output.
	SealedKeySize = 1 + sealSaltSize + sealNonceSize + KeySize + TagSize
	sealInfo      = "filesphere/sse/v1 sealed object key"
)

// SealKey wraps objectKey under kek (for SSE-C, the customer key), bound to
// context: opaque bytes the caller chooses, e.g. the bucket and object name,
// which OpenKey must be given again.
func SealKey(kek, objectKey Key, context []byte) ([]byte, error) {
	out := make([]byte, 1+sealSaltSize+sealNonceSize, SealedKeySize)
	out[0] = sealedKeyVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	aead, err := sealAEAD(kek, out[1:1+sealSaltSize])
	if err != nil {
		return nil, err
	}
	nonce := out[1+sealSaltSize:]
	return aead.Seal(out, nonce, objectKey[:], sealAAD(context)), nil
}

// OpenKey unwraps a key sealed by SealKey. A different kek or context, or
// any change to sealed, gives ErrKeyMismatch: for SSE-C this is how a later
// request proves it holds the customer key the object was written with,
// without the key (or a hash of it) ever being stored.
func OpenKey(kek Key, sealed []byte, context []byte) (Key, error) {
	if len(sealed) != SealedKeySize || sealed[0] != sealedKeyVersion {
		return Key{}, fmt.Errorf("%w: malformed sealed key", ErrKeyMismatch)
	}
	aead, err := sealAEAD(kek, sealed[1:1+sealSaltSize])
	if err != nil {
		return Key{}, err
	}
	hdr := 1 + sealSaltSize + sealNonceSize
	var k Key
	if _, err := aead.Open(k[:0], sealed[1+sealSaltSize:hdr], sealed[hdr:], sealAAD(context)); err != nil {
		return Key{}, ErrKeyMismatch
	}
	return k, nil
}

func sealAEAD(kek Key, salt []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, kek[:], salt, sealInfo, KeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealAAD(context []byte) []byte {
	return append([]byte{sealedKeyVersion}, context...)
}

// CustomerAlgorithm is the only SSE-C algorithm S3 defines.
const CustomerAlgorithm = "AES256"

// ParseCustomerKey checks the three SSE-C request headers (algorithm, key,
// key MD5, as sent) and returns the key. S3 requires the MD5: it proves the
// key arrived intact. The returned key is for this request only; store
// SealKey's output, never the key.
func ParseCustomerKey(algorithm, keyBase64, keyMD5Base64 string) (Key, error) {
	if algorithm != CustomerAlgorithm {
		return Key{}, ErrCustomerAlgorithm
	}
	if keyBase64 == "" {
		return Key{}, ErrCustomerKeyMissing
	}
	raw, err := base64.StdEncoding.DecodeString(keyBase64)
	if err != nil || len(raw) != KeySize {
		return Key{}, ErrCustomerKeyInvalid
	}
	if keyMD5Base64 == "" {
		return Key{}, ErrCustomerKeyMD5Missing
	}
	want, err := base64.StdEncoding.DecodeString(keyMD5Base64)
	sum := md5.Sum(raw)
	if err != nil || subtle.ConstantTimeCompare(want, sum[:]) != 1 {
		return Key{}, ErrCustomerKeyMD5Mismatch
	}
	return Key(raw), nil
}

// CustomerKeyMD5 is the base64 MD5 of k, as S3 echoes it in
// x-amz-server-side-encryption-customer-key-MD5.
func CustomerKeyMD5(k Key) string {
	sum := md5.Sum(k[:])
	return base64.StdEncoding.EncodeToString(sum[:])
}
