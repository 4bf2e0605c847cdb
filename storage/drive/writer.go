package drive

import (
	"fmt"
	"os"
)

// writerState is the life cycle every ShardWriter implementation shares:
// open -> committed | aborted. Keeping it in one place keeps the edge cases
// (Abort after Commit, Commit after Abort, Write after either) identical
// across Local and Memory, which the conformance suite checks.
type writerState int

const (
	writerOpen writerState = iota
	writerCommitted
	writerAborted
)

// errWriterClosed is returned by Write after Commit. It wraps os.ErrClosed so
// callers can match it without a drive-specific sentinel.
var errWriterClosed = fmt.Errorf("drive: write after commit: %w", os.ErrClosed)

// closedErr is the error for Write or Commit on a writer that is no longer
// open; ok reports whether the writer is still open.
func (s writerState) closedErr(forCommit bool) (err error, ok bool) {
	switch s {
	case writerOpen:
		return nil, true
	case writerCommitted:
		if forCommit {
			return nil, false // a second Commit is a harmless no-op
		}
		return errWriterClosed, false
	default:
		return ErrAborted, false
	}
}

// clampRange turns (off, length), off >= 0, into [start, end) within a shard
// of size bytes. A range past the end is cut short rather than refused: the
// codec, not the drive, decides whether a short shard is an error.
func clampRange(size, off, length int64) (start, end int64) {
	if off >= size {
		return size, size
	}
	end = size
	if length >= 0 && length < size-off {
		end = off + length
	}
	return off, end
}
