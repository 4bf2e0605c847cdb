package sigv4

import (
	"errors"
	"fmt"
	"time"
)

// Lookup returns the secret access key of accessKey. It returns an error
// wrapping ErrInvalidAccessKeyID for unknown (or disabled) keys; any other
// error is passed through by Verify as an internal failure.
type Lookup func(accessKey string) (secret string, err error)

// Config configures a Verifier.
type Config struct {
	// Region is the region this server answers for. A credential scope naming
	// another region is rejected. Empty accepts any region in the scope (the
	// region is still part of the signed scope, so it cannot be altered).
	Region string
	// MaxSkew bounds the difference between the request time and Now, and how
	// far in the future a presigned URL may be dated. AWS uses 15 minutes.
	MaxSkew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Lookup resolves access keys to secrets for Verify. Required;
	// VerifyWith takes a lookup per call instead.
	Lookup Lookup
	// Services are the services a credential scope may name: "s3", and
	// the AWS Query APIs served on the same endpoint ("iam", "sts"). The
	// signing key is derived for the service the scope names, so a
	// signature for one service never verifies for another; Result.Service
	// says which it was.
	Services []string
	// MaxHashedBody bounds the body Verify reads to hash itself when a
	// request for a service other than s3 has no x-amz-content-sha256
	// header (Query API clients sign the payload hash without sending it).
	MaxHashedBody int64
}

// DefaultConfig returns the AWS defaults; the caller still has to set Lookup.
func DefaultConfig() Config {
	return Config{
		Region:        "us-east-1",
		MaxSkew:       15 * time.Minute,
		Now:           time.Now,
		Services:      []string{serviceS3},
		MaxHashedBody: 256 << 10,
	}
}

// Validate reports configuration errors.
func (c Config) Validate() error {
	var errs []error
	if c.Lookup == nil {
		errs = append(errs, errors.New("sigv4: Lookup is required"))
	}
	if len(c.Services) == 0 {
		errs = append(errs, errors.New("sigv4: at least one service is required"))
	}
	for _, svc := range c.Services {
		if !knownService(svc) {
			errs = append(errs, fmt.Errorf("sigv4: unknown service %q (s3, iam, sts)", svc))
		}
	}
	if c.MaxHashedBody < 0 {
		errs = append(errs, errors.New("sigv4: MaxHashedBody must not be negative"))
	}
	if c.MaxSkew <= 0 {
		errs = append(errs, errors.New("sigv4: MaxSkew must be positive"))
	}
	for i := 0; i < len(c.Region); i++ {
		if b := c.Region[i]; b <= ' ' || b == '/' || b >= 0x7f {
			errs = append(errs, errors.New("sigv4: Region contains an invalid character"))
			break
		}
	}
	return errors.Join(errs...)
}
