package kms

import (
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
)

// DefaultKeyName is the SSE-S3 key, created on first use.
const DefaultKeyName = "filesphere-default"

// MasterKeyEnv is the environment variable cmd reads the master key from
// (hex or base64 text, as in a key file) when no key file is given.
const MasterKeyEnv = "FILESPHERE_KMS_MASTER_KEY"

// Config configures a KMS.
type Config struct {
	// MasterKey is the 256-bit master key. Exactly one of MasterKey and
	// MasterKeyFile is set. New copies it.
	MasterKey []byte
	// MasterKeyFile is read by New (see LoadMasterKeyFile) when MasterKey
	// is empty.
	MasterKeyFile string
	// DefaultKey names the key GenerateDataKey uses for an empty name
	// (SSE-S3); it is created on first use.
	DefaultKey string
	// CacheSize bounds how many keys' unsealed material is cached.
	CacheSize int
	Now       func() time.Time
	// Log receives key lifecycle events (never key material); nil discards.
	Log *logrus.Entry
}

// DefaultConfig returns a Config without master key; the caller sets
// MasterKey or MasterKeyFile.
func DefaultConfig() Config {
	return Config{DefaultKey: DefaultKeyName, CacheSize: 256, Now: time.Now}
}

// Validate checks c without reading MasterKeyFile.
func (c Config) Validate() error {
	var errs []error
	switch {
	case len(c.MasterKey) > 0 && c.MasterKeyFile != "":
		errs = append(errs, errors.New("kms: set MasterKey or MasterKeyFile, not both"))
	case len(c.MasterKey) == 0 && c.MasterKeyFile == "":
		errs = append(errs, errors.New("kms: MasterKey or MasterKeyFile required"))
	case len(c.MasterKey) > 0:
		if err := checkMasterKey(c.MasterKey); err != nil {
			errs = append(errs, err)
		}
	}
	if !ValidKeyName(c.DefaultKey) {
		errs = append(errs, fmt.Errorf("%w: DefaultKey %q", ErrInvalidKeyName, c.DefaultKey))
	}
	if c.CacheSize < 1 {
		errs = append(errs, errors.New("kms: CacheSize must be positive"))
	}
	if c.Now == nil {
		errs = append(errs, errors.New("kms: Now required"))
	}
	return errors.Join(errs...)
}
