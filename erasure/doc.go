// Package erasure is a streaming Reed-Solomon codec with per-block bitrot
// framing (HighwayHash-256 by default, SHA-256 as an option: WithBitrot).
// It moves blocks between readers and writers and knows nothing of drives,
// nodes or S3.
//
// An object is cut into blocks of BlockSize bytes (the last may be
// shorter). Each block is split into k data chunks of ceil(L/k) bytes
// (zero-padded) plus m parity chunks, and every shard file is the sequence
// of frames [hash(chunk)][chunk], one per block. Frame offsets are
// computable (Codec.ShardOffset), so a range read opens each shard at the
// first block it needs.
//
// Encode, Decode and Heal hold two block sets of memory per call whatever
// the object size, do per-shard I/O in parallel, and report per-shard
// failures in a ShardErrors so callers can queue heals; quorum failures are
// ErrWriteQuorum and ErrReadQuorum. Read failures count per block, as
// bitrot strikes frames, not shards: an object stays readable while every
// block has k verified chunks, even when more than m shards each have a bad
// frame somewhere. Scrub measures exactly that. Decode and Heal never emit a byte that
// was not verified against its hash or rebuilt from verified chunks.
package erasure
