package iam

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sirupsen/logrus"
)

// RootCredentials are the account root user's access key (configured in
// cmd, never stored in the KV). String and GoString hide the secret.
type RootCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

func (r RootCredentials) String() string {
	return "RootCredentials{AccessKeyID: " + r.AccessKeyID + ", SecretAccessKey: <hidden>}"
}
func (r RootCredentials) GoString() string { return r.String() }

// PasswordParams are the argon2id parameters for new login-profile
// passwords (stored hashes carry their own, so changing these never breaks
// existing passwords).
type PasswordParams struct {
	Time      uint32 // iterations
	MemoryKiB uint32
	Threads   uint8
	SaltLen   int
	KeyLen    int
}

// Config configures a Service.
type Config struct {
	// Root is the account root user's key; empty disables root access keys.
	Root RootCredentials
	// AccountID is used when the account is first created (bootstrap);
	// empty generates one. On later starts it must equal the stored id.
	AccountID string
	// CacheSize bounds the credential cache (entries); when full it is
	// emptied and refilled.
	CacheSize int
	// PolicyCacheSize bounds the compiled-policy cache (distinct documents).
	PolicyCacheSize int
	// GenerationCheckInterval is how long (real time) a reading of the IAM
	// generation is reused before the local replica is asked again: the
	// extra staleness a cached credential may have on a node other than
	// the one that made a change (0: ask on every lookup; at most 1 s).
	GenerationCheckInterval time.Duration
	// MaxConsistentReads bounds concurrent leader-confirmed reads made when
	// the local replica does not know an access key (it may lag a key just
	// created on another node); 0 disables them.
	MaxConsistentReads int
	// LastUsedFlushInterval is how often recorded key uses are written
	// (at most one write per key per interval per node).
	LastUsedFlushInterval time.Duration
	// SessionSweepInterval is how often expired sessions are deleted from
	// the KV; 0 disables the sweep (expired sessions are refused anyway).
	SessionSweepInterval time.Duration
	// Password are the argon2id parameters for new passwords;
	// MinPasswordLength the shortest password accepted.
	Password          PasswordParams
	MinPasswordLength int
	// Now, Rand (ids, secrets, salts, nonces) and Log are injected.
	Now  func() time.Time
	Rand io.Reader
	Log  *logrus.Entry
}

// DefaultConfig returns the defaults: crypto/rand, time.Now, argon2id with
// the OWASP minimum (19 MiB, 2 passes, 1 thread).
func DefaultConfig() Config {
	return Config{
		CacheSize:               10000,
		PolicyCacheSize:         4096,
		GenerationCheckInterval: 10 * time.Millisecond,
		MaxConsistentReads:      4,
		LastUsedFlushInterval:   time.Minute,
		SessionSweepInterval:    10 * time.Minute,
		Password:                PasswordParams{Time: 2, MemoryKiB: 19 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32},
		MinPasswordLength:       8,
		Now:                     time.Now,
		Rand:                    rand.Reader,
	}
}

// Validate reports configuration errors.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("iam: "+format, args...)) }
	if (c.Root.AccessKeyID == "") != (c.Root.SecretAccessKey == "") {
		add("set both root access key id and secret, or neither")
	}
	if c.Root.AccessKeyID != "" && len(c.Root.AccessKeyID) < 3 {
		add("root access key id must have 3+ characters")
	}
	if c.AccountID != "" && !isAccountID(c.AccountID) {
		add("account id %q is not 12 digits", c.AccountID)
	}
	if c.CacheSize < 1 || c.PolicyCacheSize < 1 {
		add("cache sizes must be positive")
	}
	if c.GenerationCheckInterval < 0 || c.GenerationCheckInterval > time.Second {
		add("GenerationCheckInterval must be within [0, 1s]")
	}
	if c.MaxConsistentReads < 0 {
		add("MaxConsistentReads must not be negative")
	}
	if c.LastUsedFlushInterval <= 0 || c.SessionSweepInterval < 0 {
		add("LastUsedFlushInterval must be positive and SessionSweepInterval not negative")
	}
	p := c.Password
	if p.Time < 1 || p.MemoryKiB < 8*uint32(max(p.Threads, 1)) || p.Threads < 1 || p.SaltLen < 16 || p.KeyLen < 16 {
		add("password parameters too weak (time >= 1, threads >= 1, memory >= 8 KiB per thread, salt and key >= 16 bytes)")
	}
	if c.MinPasswordLength < 6 || c.MinPasswordLength > maxPasswordLen {
		add("MinPasswordLength must be within [6, %d]", maxPasswordLen)
	}
	if c.Now == nil || c.Rand == nil {
		add("Now and Rand are required")
	}
	return errors.Join(errs...)
}
