package iam

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// Sealer encrypts the secrets iam must keep in clear form for SigV4 (access
// key and session secrets) before they enter the KV, under a key that never
// sits in the Raft log in clear. Purpose names what is sealed (it binds the
// ciphertext to its place: a sealed secret copied to another key's record
// does not open). The built-in KMS (package kms) satisfies it; StaticSealer
// is the in-memory twin.
type Sealer interface {
	Seal(ctx context.Context, purpose string, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, purpose string, sealed []byte) ([]byte, error)
}

// ErrUnseal is returned (wrapped) by StaticSealer.Open for data that was
// not sealed by it for that purpose.
var ErrUnseal = errors.New("iam: sealed data cannot be opened")

// StaticSealer is AES-256-GCM under one key held in memory: for tests and
// the in-process twin. Format: version(1) || nonce(12) || ciphertext+tag,
// with the purpose as additional data.
type StaticSealer struct {
	aead cipher.AEAD
	rand io.Reader
}

const sealVersion = 1

// NewStaticSealer returns a sealer using key (32 bytes); rnd supplies nonces
// (nil: crypto/rand).
func NewStaticSealer(key []byte, rnd io.Reader) (*StaticSealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("iam: static sealer key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	return &StaticSealer{aead: aead, rand: rnd}, nil
}

// Seal implements Sealer.
func (s *StaticSealer) Seal(_ context.Context, purpose string, plaintext []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	out := make([]byte, 1+n, 1+n+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := io.ReadFull(s.rand, out[1:]); err != nil {
		return nil, fmt.Errorf("iam: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:], plaintext, []byte(purpose)), nil
}

// Open implements Sealer.
func (s *StaticSealer) Open(_ context.Context, purpose string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: bad format", ErrUnseal)
	}
	out, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(purpose))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnseal, err)
	}
	return out, nil
}
