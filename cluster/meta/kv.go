// Package meta is the replicated metadata store: an ordered key-value space
// with revisions and compare-and-swap transactions. It stores opaque bytes;
// it knows nothing of buckets, objects or users.
package meta

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound is returned by Get for a missing key.
var ErrNotFound = errors.New("meta: key not found")

// ErrInvalidTxn is returned (wrapped) by Txn for a transaction that can never
// be applied: an empty or oversized key, an oversized value, an unknown op.
var ErrInvalidTxn = errors.New("meta: invalid transaction")

// ErrClosed is returned by a KV that has been closed.
var ErrClosed = errors.New("meta: closed")

// CompareFailedError reports the first compare of a Txn that did not hold.
type CompareFailedError struct {
	Key    string
	Want   uint64 // expected revision (0 = key must not exist)
	Actual uint64 // current revision (0 = key does not exist)
}

func (e *CompareFailedError) Error() string {
	return fmt.Sprintf("meta: compare failed on %q: want revision %d, have %d", e.Key, e.Want, e.Actual)
}

// Entry is one stored key.
type Entry struct {
	Key      string
	Value    []byte
	Revision uint64 // log index of the write that last changed this key
}

// Compare requires Key to be at Revision; Revision 0 requires Key to be absent.
type Compare struct {
	Key      string
	Revision uint64
}

// OpKind says what an Op does.
type OpKind uint8

// Op kinds.
const (
	OpPut OpKind = iota + 1
	OpDelete
)

// Op is one write inside a Txn.
type Op struct {
	Kind  OpKind
	Key   string
	Value []byte
}

// Put and Delete build Ops.
func Put(key string, value []byte) Op { return Op{Kind: OpPut, Key: key, Value: value} }
func Delete(key string) Op            { return Op{Kind: OpDelete, Key: key} }

// Txn applies Ops atomically if every Compare holds.
type Txn struct {
	Compares []Compare
	Ops      []Op
}

// KV is the metadata store seam. Implementations: the in-process Local KV
// (same FSM, no consensus) and the Raft-backed KV.
type KV interface {
	// Get returns the entry at key or ErrNotFound.
	Get(ctx context.Context, key string) (Entry, error)
	// List returns up to limit entries whose key has prefix and is >= start,
	// in byte order. limit <= 0 means no limit.
	List(ctx context.Context, prefix, start string, limit int) ([]Entry, error)
	// Txn commits t durably and returns the revision it was committed at,
	// or a *CompareFailedError (and changes nothing) if a compare fails.
	Txn(ctx context.Context, t Txn) (uint64, error)
}

// MultiGetter is a KV that reads several keys at one point in time, in one
// local read (Local, and RaftKV's Stale view): a request that needs a few
// records pays for one read transaction, not one per key.
type MultiGetter interface {
	// GetMany returns the entries at keys, in their order; a missing
	// key's entry has only its Key (Revision 0).
	GetMany(ctx context.Context, keys ...string) ([]Entry, error)
}

// Viewer is a KV that runs several reads in one local read transaction, at
// one point in time (Local, and RaftKV's Stale view), when which keys are
// read depends on values read before: a GET reads the bucket record and
// the head, then the data record the head names, in one transaction.
type Viewer interface {
	// View calls fn with a Reader valid only until fn returns; the entries
	// it returns are copies and may be kept. View returns fn's error.
	View(ctx context.Context, fn func(Reader) error) error
}

// Reader reads committed entries inside a View.
type Reader interface {
	// Get returns the entry at key or ErrNotFound.
	Get(key string) (Entry, error)
}
