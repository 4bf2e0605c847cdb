package drive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// ready returns nil if the drive is usable, probing an offline drive when
// the probe interval has passed.
func (l *Local) ready() error {
	if l.online.Load() {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.online.Load() {
		return nil
	}
	now := l.cfg.Now()
	if !l.lastProbe.IsZero() && now.Sub(l.lastProbe) < l.cfg.ProbeInterval {
		return l.offlineErrLocked()
	}
	l.lastProbe = now
	if err := l.probe(); err != nil {
		if l.lastErr == nil || l.lastErr.Error() != err.Error() {
			l.log.WithError(err).Warn("drive offline")
		}
		l.lastErr = err
		return l.offlineErrLocked()
	}
	l.lastErr = nil
	l.online.Store(true)
	l.log.Info("drive online")
	return nil
}

// offlineErrLocked describes the last probe failure as text only (except a
// mismatch): the cause is often ENOENT, and an offline drive must never match
// ErrShardNotFound or fs.ErrNotExist, or callers would take its shards for
// deleted.
func (l *Local) offlineErrLocked() error {
	if errors.Is(l.lastErr, ErrDriveMismatch) {
		return fmt.Errorf("%w: %s: %w", ErrOffline, l.root, l.lastErr)
	}
	return fmt.Errorf("%w: %s: %v", ErrOffline, l.root, l.lastErr)
}

// markOffline takes the drive out of service after an operation found it
// broken; the next probe is due one interval from now.
func (l *Local) markOffline(cause error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.online.Swap(false) {
		l.log.WithError(cause).Warn("drive offline")
	}
	l.lastErr = cause
	l.lastProbe = l.cfg.Now()
}

// layoutGone takes the drive offline because its layout vanished. An
// emptied or replaced folder can be re-created at once: the next call
// probes without waiting out the interval.
func (l *Local) layoutGone(cause error) {
	l.markOffline(cause)
	l.mu.Lock()
	l.lastProbe = time.Time{}
	l.mu.Unlock()
}

// healthy checks that the layout is still in place. It runs on error
// paths, to tell "no such shard" from "the drive folder is gone", and in
// Info.
func (l *Local) healthy() error {
	if fi, err := os.Lstat(l.formatPath); err != nil {
		return err
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", l.formatPath)
	}
	for _, d := range []string{l.tmpDir, l.dataDir} {
		fi, err := os.Lstat(d)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", d)
		}
	}
	return nil
}

// offlineErrnos lists errors that mean the device, not the shard, is broken.
var offlineErrnos = [...]syscall.Errno{
	syscall.EIO, syscall.EACCES, syscall.EPERM, syscall.EROFS,
	syscall.ENXIO, syscall.ENODEV, syscall.ESTALE, syscall.ENOTCONN,
}

// fail maps an OS error to the drive sentinels, wrapping both so callers can
// match the sentinel and still log the cause. Device-level errors take the
// drive offline.
func (l *Local) fail(op, id string, err error) error {
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errno == syscall.ENOSPC || errno == syscall.EDQUOT:
		return fmt.Errorf("%w: %s %s: %w", ErrDiskFull, op, id, err)
	case errno == syscall.ENOENT || errno == syscall.ENOTDIR:
		if herr := l.healthy(); herr != nil {
			l.layoutGone(herr)
			return fmt.Errorf("%w: %s %s: layout gone: %w", ErrOffline, op, id, herr)
		}
		return fmt.Errorf("%w: %s: %w", ErrShardNotFound, id, err)
	}
	for _, e := range offlineErrnos {
		if errno == e {
			l.markOffline(err)
			return fmt.Errorf("%w: %s %s: %w", ErrOffline, op, id, err)
		}
	}
	return fmt.Errorf("drive %s: %s %s: %w", l.cfg.ID, op, id, err)
}
