package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/sirupsen/logrus"
)

// Config configures a Provider.
type Config struct {
	// Issuer is the S3 endpoint's public URL ("https://s3.example.com",
	// "http://127.0.0.1:9000"): the iss of every token and the base of
	// every endpoint. Behind a proxy it is the proxy's URL (--public-url).
	Issuer string
	// Token lifetimes.
	AccessTokenLifespan  time.Duration
	IDTokenLifespan      time.Duration
	RefreshTokenLifespan time.Duration
	AuthCodeLifespan     time.Duration
	DeviceCodeLifespan   time.Duration
	// DevicePollInterval is the least time between two polls of a device
	// code (faster polls answer slow_down).
	DevicePollInterval time.Duration
	// DeviceCodesPerMinute (with a burst of DeviceCodeBurst) bounds the
	// device authorizations one source address may start, per node.
	DeviceCodesPerMinute int
	DeviceCodeBurst      int
	// Login throttling, per user name and per source address: after
	// LoginFreeFailures failures in a row, each further attempt waits
	// LoginDelay, doubled per failure up to LoginMaxDelay; a success
	// resets the count, and so does LoginFailureWindow without failures.
	LoginFreeFailures  int
	LoginDelay         time.Duration
	LoginMaxDelay      time.Duration
	LoginFailureWindow time.Duration
	// TrustForwardedProto counts "X-Forwarded-Proto: https" as TLS (secure
	// cookies), for a server behind a TLS-terminating proxy.
	TrustForwardedProto bool
	// JWKSMinRefresh is the least time between two fetches of an external
	// issuer's JWKS (a token naming an unknown kid refetches at most this
	// often); JWKSMaxAge how long a fetched JWKS is used.
	JWKSMinRefresh time.Duration
	JWKSMaxAge     time.Duration
	// HTTPClient fetches external issuers' discovery documents and JWKS.
	HTTPClient *http.Client
	// SweepInterval is how often expired codes, tokens and device codes
	// are deleted (on the leader, see IsLeader); 0 disables.
	SweepInterval time.Duration
	// IsLeader says whether this node sweeps (nil: always).
	IsLeader func() bool

	Now func() time.Time
	Log *logrus.Entry
}

// DefaultConfig returns the defaults; Issuer must still be set.
func DefaultConfig() Config {
	return Config{
		AccessTokenLifespan:  time.Hour,
		IDTokenLifespan:      time.Hour,
		RefreshTokenLifespan: 30 * 24 * time.Hour,
		AuthCodeLifespan:     5 * time.Minute,
		DeviceCodeLifespan:   10 * time.Minute,
		DevicePollInterval:   5 * time.Second,
		DeviceCodesPerMinute: 10,
		DeviceCodeBurst:      5,
		LoginFreeFailures:    5,
		LoginDelay:           time.Second,
		LoginMaxDelay:        15 * time.Minute,
		LoginFailureWindow:   time.Hour,
		JWKSMinRefresh:       10 * time.Second,
		JWKSMaxAge:           time.Hour,
		HTTPClient:           &http.Client{Timeout: 10 * time.Second},
		SweepInterval:        5 * time.Minute,
		Now:                  time.Now,
	}
}

// Validate reports configuration errors.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("oauth: "+format, args...)) }
	u, err := url.Parse(c.Issuer)
	switch {
	case c.Issuer == "":
		add("Issuer is required")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		add("Issuer %q must be an http(s) URL without query or fragment", c.Issuer)
	case u.Path != "" && u.Path != "/":
		add("Issuer %q must not have a path (the endpoints live at fixed paths of the S3 endpoint)", c.Issuer)
	}
	for name, d := range map[string]time.Duration{"AccessTokenLifespan": c.AccessTokenLifespan, "IDTokenLifespan": c.IDTokenLifespan,
		"RefreshTokenLifespan": c.RefreshTokenLifespan, "AuthCodeLifespan": c.AuthCodeLifespan, "DeviceCodeLifespan": c.DeviceCodeLifespan} {
		if d < time.Second {
			add("%s must be at least a second", name)
		}
	}
	if c.DevicePollInterval < time.Second {
		add("DevicePollInterval must be at least a second")
	}
	if c.DeviceCodesPerMinute < 1 || c.DeviceCodeBurst < 1 {
		add("DeviceCodesPerMinute and DeviceCodeBurst must be positive")
	}
	if c.LoginFreeFailures < 1 || c.LoginDelay <= 0 || c.LoginMaxDelay < c.LoginDelay || c.LoginFailureWindow <= 0 {
		add("login throttling needs LoginFreeFailures >= 1 and 0 < LoginDelay <= LoginMaxDelay, LoginFailureWindow > 0")
	}
	if c.JWKSMinRefresh <= 0 || c.JWKSMaxAge < c.JWKSMinRefresh {
		add("JWKSMinRefresh must be positive and at most JWKSMaxAge")
	}
	if c.SweepInterval < 0 {
		add("SweepInterval must not be negative")
	}
	if c.Now == nil || c.HTTPClient == nil {
		add("Now and HTTPClient are required")
	}
	return errors.Join(errs...)
}

// retain is how long a retired signing key stays published: until every
// token it signed has expired.
func (c Config) retain() time.Duration {
	return max(c.AccessTokenLifespan, c.IDTokenLifespan) + time.Minute
}
