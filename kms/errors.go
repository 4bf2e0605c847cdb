package kms

import "errors"

// Errors of the package, returned wrapped with detail; match them with
// errors.Is. Errors of the KV (meta.ErrClosed, meta.ErrOutcomeUnknown, ...)
// pass through wrapped.
var (
	ErrKeyNotFound    = errors.New("kms: key not found")
	ErrKeyExists      = errors.New("kms: key already exists")
	ErrKeyDisabled    = errors.New("kms: key is disabled")
	ErrInvalidKeyName = errors.New("kms: invalid key name")
	// ErrInvalidContext: an encryption context or purpose that is too large
	// (or an empty purpose), or a secret too large to Seal.
	ErrInvalidContext = errors.New("kms: invalid encryption context")
	// ErrContextMismatch: Decrypt or Open with another context or purpose
	// than the data key or secret was sealed with.
	ErrContextMismatch = errors.New("kms: encryption context does not match")
	// ErrInvalidCiphertext: a sealed blob that is malformed, of the wrong
	// kind, or not authentic.
	ErrInvalidCiphertext = errors.New("kms: invalid ciphertext")
	// ErrInvalidMasterKey: master key material or file that is not 256 bits
	// of key (see ParseMasterKey).
	ErrInvalidMasterKey = errors.New("kms: invalid master key")
	// ErrMasterKeyMismatch: the stored keys were sealed with another master
	// key than this node's (or a record was tampered with).
	ErrMasterKeyMismatch = errors.New("kms: master key does not match the cluster's")
	// ErrConflict: a key was changed concurrently too often to apply an
	// update; trying again is safe.
	ErrConflict = errors.New("kms: concurrent update conflict")
)
