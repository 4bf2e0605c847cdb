package console

import (
	"errors"
	"net/url"
	"time"

	"github.com/sirupsen/logrus"
)

// Config configures the console.
type Config struct {
	// Region is the S3 API's region, which forwarded requests and shared
	// links are signed for.
	Region string
	// S3Endpoint is the S3 API's URL as clients reach it (for shared
	// links; also the Host of forwarded requests). An empty or unspecified
	// host ("http://:9000", "http://0.0.0.0:9000") is replaced by the host
	// each console request came to, with the endpoint's port.
	S3Endpoint string
	// SessionSeconds is the DurationSeconds asked of GetSessionToken at
	// an access-key login; 0 takes the server's default (12 hours for a
	// user, 1 hour for the root). A session ends with its credentials.
	SessionSeconds int
	// MaxSessions bounds the sessions held at once (each a few hundred
	// bytes); a login past it is refused until sessions expire or log out.
	MaxSessions int
	// SmallBody is the largest request body the console reads before
	// forwarding: it is signed with its SHA-256 and given a Content-MD5
	// (which S3 requires of configuration documents and multi-object
	// deletes). Larger bodies stream through as UNSIGNED-PAYLOAD.
	SmallBody int64
	// BufferMemory bounds the memory of the small bodies read at once;
	// past it requests get 503 SlowDown.
	BufferMemory int64
	// BodyTimeout bounds the reading of a small body.
	BodyTimeout time.Duration
	// MaxShareExpiry is the longest a shared link may last (SigV4 allows
	// seven days); a link also ends with the session's credentials.
	MaxShareExpiry time.Duration
	// OAuth is "Log in with FileSphere" (oauth.go); nil offers the
	// access-key login only.
	OAuth *OAuthConfig

	Log *logrus.Entry
	Now func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Region: "us-east-1", S3Endpoint: "http://:9000", MaxSessions: 10000, SmallBody: 1 << 20,
		BufferMemory: 64 << 20, BodyTimeout: 30 * time.Second, MaxShareExpiry: 7 * 24 * time.Hour, Now: time.Now}
}

// Validate checks a Config.
func (c Config) Validate() error {
	u, err := url.Parse(c.S3Endpoint)
	switch {
	case c.Region == "":
		return errors.New("console: Region required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" && u.Hostname() == "":
		return errors.New("console: S3Endpoint must be an http or https URL with a host or a port")
	case u.Path != "" && u.Path != "/" || u.RawQuery != "":
		return errors.New("console: S3Endpoint must have no path or query")
	case c.SessionSeconds < 0:
		return errors.New("console: SessionSeconds must not be negative")
	case c.MaxSessions <= 0:
		return errors.New("console: MaxSessions must be positive")
	case c.SmallBody <= 0 || c.BufferMemory < c.SmallBody:
		return errors.New("console: SmallBody must be positive and BufferMemory at least SmallBody")
	case c.BodyTimeout <= 0:
		return errors.New("console: BodyTimeout must be positive")
	case c.MaxShareExpiry <= 0 || c.MaxShareExpiry > 7*24*time.Hour:
		return errors.New("console: MaxShareExpiry must be positive and at most 7 days")
	case c.Now == nil:
		return errors.New("console: Now required")
	}
	if c.OAuth != nil {
		return c.OAuth.validate()
	}
	return nil
}
