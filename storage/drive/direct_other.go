//go:build !linux

package drive

import (
	"errors"
	"os"
)

var errDirectRefused = errors.New("drive: direct I/O unsupported")

// setDirect: direct I/O is used on Linux only; elsewhere shards stay
// buffered.
func setDirect(*os.File, bool) error { return errDirectRefused }
