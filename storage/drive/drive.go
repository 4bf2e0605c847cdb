// Package drive stores erasure shards on one drive under generated ids.
//
// A drive knows nothing of buckets, keys or S3: callers hand it opaque shard
// ids made of safe characters, so no user input can ever become a path.
package drive

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"time"
)

// Sentinel errors returned by every ShardStore implementation.
var (
	ErrShardNotFound = errors.New("drive: shard not found")
	ErrInvalidID     = errors.New("drive: invalid shard id")
	ErrOffline       = errors.New("drive: offline")
	ErrDiskFull      = errors.New("drive: disk full")
	ErrAborted       = errors.New("drive: write aborted")
	// ErrInvalidRange is returned by Open for a negative offset.
	ErrInvalidRange = errors.New("drive: invalid range")
)

// ShardInfo describes one stored shard.
type ShardInfo struct {
	ID      string
	Size    int64
	ModTime time.Time
}

// Info describes a drive as a whole.
type Info struct {
	ID         string
	Path       string
	TotalBytes uint64
	FreeBytes  uint64
	Online     bool
	// Instance names the drive's contents: it changes when the drive comes
	// back empty (its folder emptied or replaced and the layout created
	// again), so a caller that saw another instance knows every shard it
	// held is gone. Empty when not known (offline).
	Instance string
}

// NewInstance returns a fresh random drive instance.
func NewInstance() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// ShardWriter receives one shard's bytes. Nothing is visible under the id
// until Commit returns nil; Abort (or a failed Commit) leaves nothing behind.
// After a failed Write, Commit fails too: a shard with a hole is never
// published. Ids are names, not paths: "a" and "a/b" are two independent
// shards. A writer is not bound to the context given to Create (that one
// bounds the Create call only).
type ShardWriter interface {
	io.Writer
	// Commit makes the shard durable (fsync of file and directory) and
	// atomically visible under its id, replacing any previous shard.
	Commit() error
	// Abort discards everything written. Safe to call after Commit (no-op).
	Abort() error
}

// ShardStore is one drive. Implementations: Local, Memory, and decorators.
// All methods are safe for concurrent use.
type ShardStore interface {
	// ID is the drive's stable identity.
	ID() string
	// Create starts writing a shard; see ShardWriter.
	Create(ctx context.Context, id string) (ShardWriter, error)
	// Open reads length bytes from offset off; length < 0 reads to the end.
	// A range past the end is cut short, not refused (the codec detects
	// short shards); a negative off is ErrInvalidRange. The reader keeps
	// reading the shard it opened if it is overwritten or deleted meanwhile.
	Open(ctx context.Context, id string, off, length int64) (io.ReadCloser, error)
	// Stat returns a shard's size and modification time.
	Stat(ctx context.Context, id string) (ShardInfo, error)
	// Delete removes a shard; deleting a missing shard is not an error.
	// Ids are checked by ValidateID (ErrInvalidID) in every method.
	Delete(ctx context.Context, id string) error
	// Walk calls fn for every committed shard whose id starts with prefix
	// (a plain string prefix, not only whole segments), in no promised
	// order. fn may delete the shard it is given. An error from fn stops the
	// walk and is returned unchanged.
	Walk(ctx context.Context, prefix string, fn func(ShardInfo) error) error
	// Info reports capacity and health. An offline drive reports
	// Online=false with a nil error; other operations return ErrOffline.
	Info(ctx context.Context) (Info, error)
}
