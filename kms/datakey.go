package kms

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
)

// DataKeySize is the length of a data key.
const DataKeySize = 32

// Limits on what is sealed.
const (
	// MaxContextSize bounds the canonical encoding of an encryption context
	// (AWS KMS allows 8192 characters).
	MaxContextSize = 8 << 10
	// MaxSecretSize bounds a secret given to Seal.
	MaxSecretSize = 64 << 10
)

// Blob kinds: a data key sealed by GenerateDataKey, or a secret by Seal.
const (
	kindDataKey byte = 1
	kindSecret  byte = 2
)

const (
	blobVersion   = 1
	blobSaltSize  = 16
	blobCheckSize = 8
	// blobFixed is the header without the name.
	blobFixed = 3 + 4 + blobSaltSize + gcmNonceSize + blobCheckSize
)

// blob is a parsed sealed data key or secret.
type blob struct {
	kind       byte
	name       string
	version    uint32
	salt       []byte
	nonce      []byte
	check      []byte
	header     []byte // all of the above, encoded: part of the AAD
	ciphertext []byte
}

func parseBlob(b []byte) (blob, error) {
	if len(b) < blobFixed+1+16 || b[0] != blobVersion {
		return blob{}, fmt.Errorf("%w: malformed", ErrInvalidCiphertext)
	}
	n := int(b[2])
	hdr := blobFixed + n
	if len(b) < hdr+16 {
		return blob{}, fmt.Errorf("%w: malformed", ErrInvalidCiphertext)
	}
	bl := blob{kind: b[1], name: string(b[3 : 3+n]), header: b[:hdr], ciphertext: b[hdr:]}
	if (bl.kind != kindDataKey && bl.kind != kindSecret) || !storedName(bl.name) {
		return blob{}, fmt.Errorf("%w: malformed", ErrInvalidCiphertext)
	}
	p := 3 + n
	bl.version = binary.BigEndian.Uint32(b[p:])
	p += 4
	bl.salt, p = b[p:p+blobSaltSize], p+blobSaltSize
	bl.nonce, p = b[p:p+gcmNonceSize], p+gcmNonceSize
	bl.check = b[p : p+blobCheckSize]
	return bl, nil
}

// blobKeys derives a blob's sealing AEAD and context-check MAC key.
func blobKeys(material, salt []byte, kind byte) (cipher.AEAD, []byte, error) {
	info := "filesphere/kms/v1 data key"
	if kind == kindSecret {
		info = "filesphere/kms/v1 secret"
	}
	okm, err := hkdf.Key(sha256.New, material, salt, info, 64)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(okm[:32])
	if err != nil {
		return nil, nil, err
	}
	aead, err := cipher.NewGCM(block)
	return aead, okm[32:], err
}

func contextCheck(macKey, canon []byte) []byte {
	m := hmac.New(sha256.New, macKey)
	m.Write(canon)
	return m.Sum(nil)[:blobCheckSize]
}

// canonicalContext encodes an encryption context unambiguously: the pair
// count, then each pair in key order, every string length-prefixed
// (uvarint). nil and empty contexts encode alike.
func canonicalContext(ec map[string]string) ([]byte, error) {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := binary.AppendUvarint(nil, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(ec[k])))
		b = append(b, ec[k]...)
		if len(b) > MaxContextSize {
			return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidContext, MaxContextSize)
		}
	}
	return b, nil
}

// seal seals plain under the current version of key ck.
func seal(ck *cachedKey, kind byte, plain, canon []byte) ([]byte, error) {
	version, material := ck.current()
	b := make([]byte, 0, blobFixed+len(ck.name)+len(plain)+16)
	b = append(b, blobVersion, kind, byte(len(ck.name)))
	b = append(b, ck.name...)
	b = binary.BigEndian.AppendUint32(b, version)
	p := len(b)
	b = b[:p+blobSaltSize+gcmNonceSize]
	if _, err := rand.Read(b[p:]); err != nil {
		return nil, err
	}
	aead, macKey, err := blobKeys(material, b[p:p+blobSaltSize], kind)
	if err != nil {
		return nil, err
	}
	b = append(b, contextCheck(macKey, canon)...)
	nonce := b[p+blobSaltSize : p+blobSaltSize+gcmNonceSize]
	return aead.Seal(b, nonce, plain, aad(b, canon)), nil
}

func aad(header, canon []byte) []byte {
	return append(append(make([]byte, 0, len(header)+len(canon)), header...), canon...)
}

// open opens a parsed blob with key ck.
func open(ck *cachedKey, bl blob, canon []byte) ([]byte, error) {
	material := ck.material(bl.version)
	if material == nil {
		return nil, fmt.Errorf("%w: key %q has no version %d", ErrKeyNotFound, bl.name, bl.version)
	}
	aead, macKey, err := blobKeys(material, bl.salt, bl.kind)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(contextCheck(macKey, canon), bl.check) {
		return nil, ErrContextMismatch
	}
	plain, err := aead.Open(nil, bl.nonce, bl.ciphertext, aad(bl.header, canon))
	if err != nil {
		return nil, fmt.Errorf("%w: not authentic", ErrInvalidCiphertext)
	}
	return plain, nil
}

// usable loads key name for sealing or opening: it must be enabled.
func (k *KMS) usable(ctx context.Context, name string, create bool) (*cachedKey, error) {
	ck, err := k.loadKey(ctx, name, create)
	if err != nil {
		return nil, err
	}
	if ck.state != StateEnabled {
		return nil, fmt.Errorf("%w: %q", ErrKeyDisabled, name)
	}
	return ck, nil
}

// GenerateDataKey returns a fresh random data key and its sealed form,
// sealed with the newest version of key name (empty means
// Config.DefaultKey, which is created on first use) and bound to the
// encryption context ec. Store
// sealed; use plaintext, then forget it.
func (k *KMS) GenerateDataKey(ctx context.Context, name string, ec map[string]string) (plaintext [DataKeySize]byte, sealed []byte, err error) {
	if name == "" {
		name = k.cfg.DefaultKey
	}
	create := name == k.cfg.DefaultKey
	if !ValidKeyName(name) {
		return plaintext, nil, fmt.Errorf("%w: %q", ErrInvalidKeyName, name)
	}
	canon, err := canonicalContext(ec)
	if err != nil {
		return plaintext, nil, err
	}
	ck, err := k.usable(ctx, name, create)
	if err != nil {
		return plaintext, nil, err
	}
	if _, err := rand.Read(plaintext[:]); err != nil {
		return plaintext, nil, err
	}
	sealed, err = seal(ck, kindDataKey, plaintext[:], canon)
	return plaintext, sealed, err
}

// KeyVersion returns the newest version of key name (empty means
// Config.DefaultKey, created on first use): the one GenerateDataKey seals
// with now. It fails as GenerateDataKey does for a disabled or unknown key.
func (k *KMS) KeyVersion(ctx context.Context, name string) (uint32, error) {
	if name == "" {
		name = k.cfg.DefaultKey
	}
	if !ValidKeyName(name) {
		return 0, fmt.Errorf("%w: %q", ErrInvalidKeyName, name)
	}
	ck, err := k.usable(ctx, name, name == k.cfg.DefaultKey)
	if err != nil {
		return 0, err
	}
	v, _ := ck.current()
	return v, nil
}

// Decrypt unwraps a data key sealed by GenerateDataKey, given the same
// encryption context. It fails with ErrKeyDisabled while the key is
// disabled, ErrKeyNotFound for an unknown key (or version),
// ErrContextMismatch for another context and ErrInvalidCiphertext for a
// malformed or tampered blob.
func (k *KMS) Decrypt(ctx context.Context, sealed []byte, ec map[string]string) ([DataKeySize]byte, error) {
	var out [DataKeySize]byte
	bl, err := parseBlob(sealed)
	if err != nil {
		return out, err
	}
	if bl.kind != kindDataKey || !ValidKeyName(bl.name) {
		return out, fmt.Errorf("%w: not a data key", ErrInvalidCiphertext)
	}
	canon, err := canonicalContext(ec)
	if err != nil {
		return out, err
	}
	ck, err := k.usable(ctx, bl.name, false)
	if err != nil {
		return out, err
	}
	plain, err := open(ck, bl, canon)
	if err != nil {
		return out, err
	}
	if len(plain) != DataKeySize {
		return out, fmt.Errorf("%w: not a data key", ErrInvalidCiphertext)
	}
	copy(out[:], plain)
	clear(plain)
	return out, nil
}

// SealedKeyID returns the key name and version a sealed data key was
// sealed with, without opening it (e.g. for the key id S3 reports).
func SealedKeyID(sealed []byte) (name string, version uint32, err error) {
	bl, err := parseBlob(sealed)
	if err != nil {
		return "", 0, err
	}
	if bl.kind != kindDataKey {
		return "", 0, fmt.Errorf("%w: not a data key", ErrInvalidCiphertext)
	}
	return bl.name, bl.version, nil
}

// SealedVersion is the key version SealedKeyID reads from a sealed data
// key (a method, for callers that see the KMS through an interface).
func (k *KMS) SealedVersion(sealed []byte) (uint32, error) {
	_, v, err := SealedKeyID(sealed)
	return v, err
}

// Seal seals a small secret (an IAM secret key, an OAuth signing key, at
// most MaxSecretSize bytes) with the internal secrets key, bound to
// purpose (e.g. "iam/secret-key/AKIA..."), which Open must be given again.
func (k *KMS) Seal(ctx context.Context, purpose string, plaintext []byte) ([]byte, error) {
	canon, err := purposeContext(purpose)
	if err != nil {
		return nil, err
	}
	if len(plaintext) > MaxSecretSize {
		return nil, fmt.Errorf("%w: secret larger than %d bytes", ErrInvalidContext, MaxSecretSize)
	}
	ck, err := k.usable(ctx, secretsKeyName, true)
	if err != nil {
		return nil, err
	}
	return seal(ck, kindSecret, plaintext, canon)
}

// Open opens a secret sealed by Seal for the same purpose.
func (k *KMS) Open(ctx context.Context, purpose string, sealed []byte) ([]byte, error) {
	canon, err := purposeContext(purpose)
	if err != nil {
		return nil, err
	}
	bl, err := parseBlob(sealed)
	if err != nil {
		return nil, err
	}
	if bl.kind != kindSecret || bl.name != secretsKeyName {
		return nil, fmt.Errorf("%w: not a sealed secret", ErrInvalidCiphertext)
	}
	ck, err := k.usable(ctx, bl.name, false)
	if err != nil {
		return nil, err
	}
	return open(ck, bl, canon)
}

func purposeContext(purpose string) ([]byte, error) {
	if purpose == "" {
		return nil, fmt.Errorf("%w: empty purpose", ErrInvalidContext)
	}
	return canonicalContext(map[string]string{"purpose": purpose})
}
