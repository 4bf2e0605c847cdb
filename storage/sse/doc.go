// Package sse is the encrypted object stream: object data is sealed in
// authenticated packages before it reaches the erasure codec, so shards hold
// only ciphertext. It knows the keys handed to it, not where they come from
// (the kms package, or an SSE-C customer key), and nothing of buckets or S3.
//
// # Stream format (version 1)
//
// One stream is one object, or one part of a multipart object. Its plaintext
// is cut into packages of PackageSize (64 KiB) bytes; the last package holds
// the remainder and may be empty (an empty object is one empty package, so
// even its emptiness is authenticated). Each package is sealed with an AEAD
// (AES-256-GCM, or ChaCha20-Poly1305 on CPUs without AES instructions) and
// stored as ciphertext || 16-byte tag, back to back, with no headers:
//
//	stream   = package_0 || package_1 || ... || package_n-1
//	package  = AEAD.Seal(streamKey, nonce(i, i == n-1), plaintext_i)
//
// Everything else lives in Params, which the engine keeps in the object's
// (or part's) metadata record: the suite, the part number (0 for a
// single-part object) and a random 16-byte IV drawn per stream. The stream
// key and a 7-byte nonce prefix are derived per stream:
//
//	streamKey || noncePrefix = HKDF-SHA256(secret = object key, salt = IV,
//	                             info = "filesphere/sse/v1" || suite || part (4 B, big endian))
//	nonce(i, final) = noncePrefix || i (4 B, big endian) || final (1 B: 0 or 1)
//
// This is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár,
// "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
// 2015), as used by Tink's streaming AEAD and age:
//   - reordering, dropping or duplicating a package changes its index and
//     fails authentication;
//   - cutting the stream at a package boundary leaves a last package whose
//     final flag is 0, which fails; a short package fails or reads short;
//   - a package from another object (other key), another part (other part
//     number in the derivation) or another upload of the same part (other
//     IV) fails.
//
// Nonces never repeat: every stream has its own key (a fresh random IV, and
// a fresh object key per object), and within a stream the index is unique.
//
// # Random access
//
// Package i of the plaintext starts at i*PackageSize and of the ciphertext
// at i*(PackageSize+TagSize), so a ranged read fetches only the packages the
// range touches (RangeOf), decrypts and authenticates each one whole before
// returning any of its bytes, and trims to the requested bytes
// (NewDecryptReader). Multipart objects are a sequence of such streams;
// MapRange splits an object range across parts.
//
// # Why not minio/sio
//
// sio (DARE) is a good format, but it repeats a 16-byte header with the
// nonce in every package, so a reader starting mid-stream trusts whatever
// nonce the first package it reads carries; binding a part number needs a
// key derivation on top; and ranged reads still need the offset arithmetic
// here. With the IV in trusted metadata the packages carry only their tags,
// and the whole format is the few lines above over the standard library's
// AES-GCM (AES-NI) and x/crypto's ChaCha20-Poly1305.
//
// # Keys
//
// Key is a 256-bit object key. For SSE-S3 and SSE-KMS it is the data key the
// kms package generates per object (or per multipart upload), and the record
// stores only the KMS's sealed blob. For SSE-C a random object key is drawn
// and SealKey wraps it under the customer key; the record stores that sealed
// key, never the customer key nor a hash of it. A later request proves it
// holds the same customer key by OpenKey authenticating (ErrKeyMismatch
// otherwise). ParseCustomerKey holds the pure SSE-C header checks.
package sse
