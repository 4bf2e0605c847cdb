package erasure

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Match them with errors.Is; per-shard failures arrive wrapped
// in a *BlockError inside a ShardErrors, so errors.Is works through both.
var (
	// ErrWriteQuorum means fewer than the requested write quorum of shard
	// writers were still healthy, so the object cannot be considered durable.
	ErrWriteQuorum = errors.New("erasure: write quorum lost")
	// ErrReadQuorum means fewer than k verified chunks exist for some block,
	// so its bytes cannot be produced without risking wrong data.
	ErrReadQuorum = errors.New("erasure: read quorum lost")
	// ErrCorruptBlock is a bitrot hit: a chunk does not match its stored
	// bitrot hash. The hash or the chunk may be the damaged part; either way
	// the chunk is unusable.
	ErrCorruptBlock = errors.New("erasure: block hash mismatch")
	// ErrShortShard means a shard file ended before the frames the object's
	// size says it must hold (a truncated or half-written shard).
	ErrShortShard = errors.New("erasure: shard shorter than expected")
	// ErrTrailingData means a shard file holds bytes after its last frame.
	// Reads never look there, but a scrub reports it since the file is not
	// what Encode wrote.
	ErrTrailingData = errors.New("erasure: trailing data after last block")
	// ErrShardMissing marks a shard with no source or writer (nil entry),
	// typically an offline drive.
	ErrShardMissing = errors.New("erasure: shard missing")
	// ErrShardCount means the caller passed a number of sources or writers
	// different from data+parity.
	ErrShardCount = errors.New("erasure: wrong number of shards")
	// ErrInvalidArgument covers bad geometry, quorum, range or size values.
	ErrInvalidArgument = errors.New("erasure: invalid argument")
)

// BlockError is the typed error recorded for one shard: which block it
// happened at and during which operation, so a heal or scrub can report
// where a shard went bad, not only that it did.
type BlockError struct {
	Block int64  // index of the object block being processed
	Op    string // "open", "read", "verify" or "write"
	Err   error  // underlying cause; a sentinel above or the I/O error
}

func (e *BlockError) Error() string {
	return fmt.Sprintf("block %d: %s: %v", e.Block, e.Op, e.Err)
}

func (e *BlockError) Unwrap() error { return e.Err }

// ShardErrors holds one error per shard, indexed by shard number; nil means
// the shard was fine (or not needed). Operations return it even on success
// so callers can queue heals for shards that were bypassed.
type ShardErrors []error

// Count returns how many shards have an error.
func (s ShardErrors) Count() int {
	n := 0
	for _, err := range s {
		if err != nil {
			n++
		}
	}
	return n
}

// Failed returns the indices of shards with an error, in ascending order.
func (s ShardErrors) Failed() []int {
	var idx []int
	for i, err := range s {
		if err != nil {
			idx = append(idx, i)
		}
	}
	return idx
}

// Err returns s as an error, or nil when no shard failed. Use it instead of
// converting s directly, which would yield a non-nil error holding an
// all-nil slice.
func (s ShardErrors) Err() error {
	if s.Count() == 0 {
		return nil
	}
	return s
}

// Error summarises the failed shards: "2 of 6 shards failed: shard 1: …; shard 4: …".
func (s ShardErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d shards failed", s.Count(), len(s))
	sep := ": "
	for i, err := range s {
		if err != nil {
			fmt.Fprintf(&b, "%sshard %d: %v", sep, i, err)
			sep = "; "
		}
	}
	return b.String()
}

// Unwrap exposes the individual shard errors so errors.Is(err, ErrCorruptBlock)
// and errors.As(err, &blockErr) see through a ShardErrors.
func (s ShardErrors) Unwrap() []error {
	var errs []error
	for _, err := range s {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
