package sse

import "errors"

// Errors of the package; each is returned wrapped with detail, match them
// with errors.Is.
var (
	// ErrAuthentication: a package did not authenticate (tampered, wrong key,
	// wrong Params, or a package of another stream or position).
	ErrAuthentication = errors.New("sse: ciphertext not authentic")
	// ErrTruncated: the ciphertext ended before the expected package did.
	ErrTruncated = errors.New("sse: ciphertext truncated")
	// ErrInvalidRange: a plaintext range outside the stream.
	ErrInvalidRange = errors.New("sse: invalid range")
	// ErrInvalidSize: a ciphertext size no stream can have, or a plaintext
	// size beyond MaxSize.
	ErrInvalidSize = errors.New("sse: invalid size")
	// ErrInvalidParams: unknown suite or format, or a malformed encoding.
	ErrInvalidParams = errors.New("sse: invalid stream parameters")
	// ErrClosed: a Write or Read after Close.
	ErrClosed = errors.New("sse: closed")

	// ErrKeyMismatch: OpenKey with a different key or context than SealKey
	// had, or a tampered sealed key.
	ErrKeyMismatch = errors.New("sse: key does not open the sealed object key")

	// SSE-C request checks (ParseCustomerKey); s3api maps each to
	// InvalidArgument with AWS's message for it.
	ErrCustomerAlgorithm      = errors.New("sse: customer key algorithm must be AES256")
	ErrCustomerKeyMissing     = errors.New("sse: customer key missing")
	ErrCustomerKeyInvalid     = errors.New("sse: customer key is not 256 bits, base64-encoded")
	ErrCustomerKeyMD5Missing  = errors.New("sse: customer key MD5 missing")
	ErrCustomerKeyMD5Mismatch = errors.New("sse: customer key MD5 does not match the key")
)
