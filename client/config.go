package client

import (
	"io"
	"os"
	"path/filepath"
	"time"
)

// Config is what every verb shares: where aliases live, how to print, and
// how transfers are shaped.
type Config struct {
	// Dir holds config.json (the aliases) and uploads/ (resume state).
	// DefaultConfig picks $FILESPHERE_CONFIG_DIR, else
	// ~/.config/filesphere (XDG_CONFIG_HOME honoured).
	Dir string
	// Stdout receives results, Stderr progress and per-item errors.
	Stdout, Stderr io.Writer
	// JSON prints one JSON object per line (NDJSON) instead of text.
	JSON bool
	// Quiet prints no progress and no per-file lines (results of listing
	// verbs are still printed).
	Quiet bool
	// Progress draws bars on Stderr; set by the caller when Stderr is a
	// terminal (and neither JSON nor Quiet).
	Progress bool
	// Jobs is how many files are transferred at once; PartJobs how many
	// parts of one multipart transfer.
	Jobs, PartJobs int
	// PartSize is the multipart part size; objects of at least
	// MultipartThreshold bytes are sent in parts.
	PartSize, MultipartThreshold int64
	// LimitRate caps the bytes per second of all transfers together
	// (0 = no cap).
	LimitRate int64
	// CACertFile and Insecure override every alias's TLS settings when
	// set.
	CACertFile string
	Insecure   bool
	// Sources builds the credential source of each alias kind; a later
	// `filesphere login` registers its kind here.
	Sources map[string]SourceFactory
	// Now is the clock (share expiry, find --newer).
	Now func() time.Time
}

// Limits of S3 multipart uploads.
const (
	MinPartSize = 5 << 20
	MaxPartSize = 5 << 30
	MaxParts    = 10000
)

// DefaultConfig prints text to the process's stdout and stderr and
// transfers four files at once, files of 16 MiB and more in up to four
// parallel 8 MiB parts (larger parts for files above 80 GB, so that no
// upload needs more than 10,000).
func DefaultConfig() Config {
	return Config{
		Dir:                defaultDir(),
		Stdout:             os.Stdout,
		Stderr:             os.Stderr,
		Jobs:               4,
		PartJobs:           4,
		PartSize:           8 << 20,
		MultipartThreshold: 16 << 20,
		Sources:            DefaultSources(),
		Now:                time.Now,
	}
}

func defaultDir() string {
	if d := os.Getenv("FILESPHERE_CONFIG_DIR"); d != "" {
		return d
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "filesphere")
	}
	return ""
}

// Validate checks the settings.
func (c *Config) Validate() error {
	switch {
	case c.Dir == "":
		return usageErrorf("no config folder: set $FILESPHERE_CONFIG_DIR or $HOME")
	case c.Stdout == nil || c.Stderr == nil || c.Now == nil:
		return usageErrorf("config needs Stdout, Stderr and Now")
	case c.Jobs < 1 || c.PartJobs < 1:
		return usageErrorf("parallel jobs must be at least 1")
	case c.PartSize < MinPartSize || c.PartSize > MaxPartSize:
		return usageErrorf("part size must be between 5 MiB and 5 GiB (S3's limits), not %d bytes", c.PartSize)
	case c.MultipartThreshold < 0:
		return usageErrorf("multipart threshold must not be negative")
	case c.LimitRate < 0:
		return usageErrorf("rate limit must not be negative")
	}
	return nil
}
