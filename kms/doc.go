// Package kms is FileSphere's built-in key management: the master key,
// named keys sealed in meta.KV, generation and unwrapping of data keys,
// rotation, and sealing of small secrets. It is a leaf: it knows keys, not
// buckets, objects or users.
//
// # Keys
//
// The master key (256 bits) comes from Config: bytes handed in by cmd (from
// --kms-master-key-file, the MasterKeyEnv variable, or LoadOrCreateMasterKey
// in the data folder). It never leaves the process and never touches the KV
// except as the key that seals the named keys.
//
// A named key has versions; each version is 256 random bits, sealed with
// the master key (AES-256-GCM, the key name and version as associated data)
// in one record per key under meta.PrefixKMS ("k/key/<name>"), with its
// state (enabled or disabled) and creation times. Every node reads the
// same records, so every node can unwrap. Rotation appends a version: the
// newest seals new data keys, all versions open old ones. Disabling a key
// makes GenerateDataKey and Decrypt fail with ErrKeyDisabled until it is
// enabled again. Keys are never deleted (that would destroy every object
// under them).
//
// Names are chosen by admins: 1 to 64 characters of A-Z a-z 0-9 . _ -,
// starting with a letter or digit (e.g. "testkey-1"); ParseKeyID also
// accepts the "alias/NAME" and "arn:aws:kms:REGION:ACCOUNT:key/NAME" forms
// clients send. Two keys are made on first use: Config.DefaultKey
// ("filesphere-default") for SSE-S3, an ordinary key admins can list,
// rotate and disable; and an internal key for Seal/Open whose name starts
// with "_", so no admin verb can reach it.
//
// # Sealed data keys
//
// GenerateDataKey returns a fresh 256-bit data key and its sealed form,
// which is self-describing:
//
//	version (1) | kind (1) | len(name) (1) | name | key version (4, BE) |
//	salt (16) | nonce (12) | context check (8) | AES-256-GCM ciphertext+tag
//
// The sealing key is HKDF-SHA256(key version's material, salt) — fresh per
// blob, so billions of data keys under one key version never strain GCM's
// nonce limits. The associated data is the header (everything before the
// ciphertext) and the canonical encoding of the encryption context (sorted
// pairs, each string length-prefixed), so the blob opens only with the same
// context. The context check is a keyed 8-byte MAC of the context, so a
// wrong context is told apart (ErrContextMismatch) from a damaged blob
// (ErrInvalidCiphertext) without revealing the context.
//
// # Consistency and cache
//
// Every GenerateDataKey, Decrypt, Seal and Open reads the key's record from
// the local replica (the KV's Stale view when it has one: a local bbolt
// read, about a microsecond) and compares its revision with a small bounded
// cache of unsealed material. An unchanged revision reuses the cache; a
// changed one (rotate, disable, enable applied through Raft) reloads it. So
// a disable takes effect on a node as soon as that node applies the Raft
// entry, with no TTL. Admin reads (ListKeys, DescribeKey) are linearizable;
// writes are compare-and-swap on the record's revision.
package kms
