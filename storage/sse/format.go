package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/sys/cpu"
)

// Sizes of the format.
const (
	PackageSize = 64 << 10 // plaintext bytes per package
	TagSize     = 16       // AEAD tag appended to every package
	KeySize     = 32       // object keys are 256-bit
	IVSize      = 16       // random per-stream IV in Params

	// MaxSize is the largest plaintext of one stream (2^32 packages).
	MaxSize = int64(PackageSize) << 32

	noncePrefixSize = 7
	cipherPackage   = PackageSize + TagSize
	formatVersion   = 1
	kdfInfo         = "filesphere/sse/v1"
)

// Key is a 256-bit object key.
type Key [KeySize]byte

// NewKey returns a random key from crypto/rand.
func NewKey() (Key, error) {
	var k Key
	_, err := rand.Read(k[:])
	return k, err
}

// Suite is the AEAD sealing the packages.
type Suite uint8

// Suites. The numbers are stored; never renumber.
const (
	AES256GCM        Suite = 1
	ChaCha20Poly1305 Suite = 2
)

func (s Suite) String() string {
	switch s {
	case AES256GCM:
		return "AES-256-GCM"
	case ChaCha20Poly1305:
		return "ChaCha20-Poly1305"
	}
	return fmt.Sprintf("Suite(%d)", uint8(s))
}

// DefaultSuite is AES-256-GCM where the CPU accelerates AES and GHASH, else
// ChaCha20-Poly1305 (faster in software, and constant-time there). The
// suite is recorded per stream, so any node reads either.
func DefaultSuite() Suite {
	if cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ || cpu.ARM64.HasAES && cpu.ARM64.HasPMULL || cpu.S390X.HasAESGCM {
		return AES256GCM
	}
	return ChaCha20Poly1305
}

// Params describes one stream; the engine keeps it in the object's (or
// part's) record. It is not secret.
type Params struct {
	Suite Suite
	// Part is the part number of a multipart object's part, 0 for a
	// single-part object. It is bound into the key derivation, so parts
	// cannot be swapped.
	Part uint32
	// IV is drawn at random per stream (NewParams); never reuse it.
	IV [IVSize]byte
}

// NewParams returns Params with a fresh random IV.
func NewParams(suite Suite, part uint32) (Params, error) {
	p := Params{Suite: suite, Part: part}
	if err := p.validate(); err != nil {
		return Params{}, err
	}
	if _, err := rand.Read(p.IV[:]); err != nil {
		return Params{}, err
	}
	return p, nil
}

func (p Params) validate() error {
	if p.Suite != AES256GCM && p.Suite != ChaCha20Poly1305 {
		return fmt.Errorf("%w: unknown suite %d", ErrInvalidParams, p.Suite)
	}
	return nil
}

// paramsSize is the binary encoding's length: version, suite, part, IV.
const paramsSize = 1 + 1 + 4 + IVSize

// MarshalBinary encodes p in 22 bytes.
func (p Params) MarshalBinary() ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	b := make([]byte, paramsSize)
	b[0], b[1] = formatVersion, byte(p.Suite)
	binary.BigEndian.PutUint32(b[2:], p.Part)
	copy(b[6:], p.IV[:])
	return b, nil
}

// UnmarshalBinary decodes MarshalBinary's encoding.
func (p *Params) UnmarshalBinary(b []byte) error {
	if len(b) != paramsSize || b[0] != formatVersion {
		return fmt.Errorf("%w: bad encoding", ErrInvalidParams)
	}
	q := Params{Suite: Suite(b[1]), Part: binary.BigEndian.Uint32(b[2:])}
	copy(q.IV[:], b[6:])
	if err := q.validate(); err != nil {
		return err
	}
	*p = q
	return nil
}

// MarshalText is base64 of MarshalBinary, so Params is a compact JSON string.
func (p Params) MarshalText() ([]byte, error) {
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return []byte(base64.RawStdEncoding.EncodeToString(b)), nil
}

// UnmarshalText decodes MarshalText's encoding.
func (p *Params) UnmarshalText(t []byte) error {
	b, err := base64.RawStdEncoding.DecodeString(string(t))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidParams, err)
	}
	return p.UnmarshalBinary(b)
}

// streamCipher seals and opens the packages of one stream.
type streamCipher struct {
	aead  cipher.AEAD
	nonce [12]byte // prefix || index || final; filled per package
}

func newStreamCipher(key Key, p Params) (*streamCipher, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if key == (Key{}) { // an unset key is a bug upstream, never a key
		return nil, fmt.Errorf("%w: zero key", ErrInvalidParams)
	}
	var info [len(kdfInfo) + 5]byte
	copy(info[:], kdfInfo)
	info[len(kdfInfo)] = byte(p.Suite)
	binary.BigEndian.PutUint32(info[len(kdfInfo)+1:], p.Part)
	okm, err := hkdf.Key(sha256.New, key[:], p.IV[:], string(info[:]), KeySize+noncePrefixSize)
	if err != nil {
		return nil, err
	}
	s := &streamCipher{}
	copy(s.nonce[:], okm[KeySize:])
	switch p.Suite {
	case AES256GCM:
		block, err := aes.NewCipher(okm[:KeySize])
		if err != nil {
			return nil, err
		}
		s.aead, err = cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
	case ChaCha20Poly1305:
		s.aead, err = chacha20poly1305.New(okm[:KeySize])
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// nonceFor returns the nonce of package seq; final marks the stream's last
// package. The slice is s's own buffer (a stream is used by one goroutine),
// so sealing allocates nothing per package.
func (s *streamCipher) nonceFor(seq uint32, final bool) []byte {
	binary.BigEndian.PutUint32(s.nonce[noncePrefixSize:], seq)
	s.nonce[11] = 0
	if final {
		s.nonce[11] = 1
	}
	return s.nonce[:]
}

// packages is the number of packages of a plaintext of size n (n >= 0).
func packages(n int64) int64 {
	if n == 0 {
		return 1
	}
	return (n + PackageSize - 1) / PackageSize
}

// EncryptedSize is the ciphertext size of a plaintext of size plain: the
// plaintext plus one tag per package. plain must be in [0, MaxSize]; other
// values return -1.
func EncryptedSize(plain int64) int64 {
	if plain < 0 || plain > MaxSize {
		return -1
	}
	return plain + packages(plain)*TagSize
}

// DecryptedSize is the plaintext size of a ciphertext of size enc, or
// ErrInvalidSize if no stream has that size.
func DecryptedSize(enc int64) (int64, error) {
	if enc < TagSize {
		return 0, fmt.Errorf("%w: %d bytes", ErrInvalidSize, enc)
	}
	full, rest := enc/cipherPackage, enc%cipherPackage
	plain := full * PackageSize
	switch {
	case rest == 0:
	case rest < TagSize:
		return 0, fmt.Errorf("%w: %d bytes", ErrInvalidSize, enc)
	case rest == TagSize && full > 0:
		// An empty last package follows only an empty stream.
		return 0, fmt.Errorf("%w: %d bytes", ErrInvalidSize, enc)
	default:
		plain += rest - TagSize
	}
	if plain > MaxSize {
		return 0, fmt.Errorf("%w: %d bytes", ErrInvalidSize, enc)
	}
	return plain, nil
}
