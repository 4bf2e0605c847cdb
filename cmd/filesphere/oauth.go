package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/filesphere/filesphere/cluster"
	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/iam/oauth"
	"github.com/filesphere/filesphere/kms"
	"github.com/filesphere/filesphere/s3api"
	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
)

// oauthFlags configure the built-in OAuth2 authorization server.
type oauthFlags struct {
	publicURL      string
	accessTTL      time.Duration
	idTTL          time.Duration
	refreshTTL     time.Duration
	devicePoll     time.Duration
	loginFailures  int
	loginDelay     time.Duration
	loginMaxDelay  time.Duration
	trustForwarded bool
}

func addOAuthFlags(fs *pflag.FlagSet, f *oauthFlags) {
	d := oauth.DefaultConfig()
	fs.StringVar(&f.publicURL, "public-url", "", "the S3 endpoint's URL as clients reach it (behind a proxy: the proxy's); the OAuth2 issuer (default: this listener's http(s)://host:port)")
	fs.DurationVar(&f.accessTTL, "oauth-access-token-lifetime", d.AccessTokenLifespan, "lifetime of OAuth2 access tokens")
	fs.DurationVar(&f.idTTL, "oauth-id-token-lifetime", d.IDTokenLifespan, "lifetime of OpenID Connect ID tokens (temporary S3 credentials from one end with it at the latest)")
	fs.DurationVar(&f.refreshTTL, "oauth-refresh-token-lifetime", d.RefreshTokenLifespan, "lifetime of OAuth2 refresh tokens (how long a login lasts)")
	fs.DurationVar(&f.devicePoll, "oauth-device-poll-interval", d.DevicePollInterval, "least time between two polls of a device code")
	fs.IntVar(&f.loginFailures, "oauth-login-free-failures", d.LoginFreeFailures, "failed logins per user name or address before each further attempt is delayed")
	fs.DurationVar(&f.loginDelay, "oauth-login-delay", d.LoginDelay, "delay after the free failures, doubled per further failure")
	fs.DurationVar(&f.loginMaxDelay, "oauth-login-max-delay", d.LoginMaxDelay, "longest login delay")
}

// issuerURL is --public-url, else the listener's own URL.
func issuerURL(f oauthFlags, address string, ln net.Addr, scheme string) string {
	if f.publicURL != "" {
		return strings.TrimSuffix(f.publicURL, "/")
	}
	host := "127.0.0.1"
	if h, _, err := net.SplitHostPort(address); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
		host = h
	}
	_, port, _ := net.SplitHostPort(ln.String())
	return scheme + "://" + net.JoinHostPort(host, port)
}

// openOAuth builds the authorization server over the node's KV, its
// secrets sealed by a KMS on the same master key as iam's.
func openOAuth(ctx context.Context, f oauthFlags, node *cluster.Node, keys *kms.KMS, ids *iam.Service, issuer string, log *logrus.Entry) (*oauth.Provider, error) {
	cfg := oauth.DefaultConfig()
	cfg.Issuer, cfg.Log, cfg.IsLeader = issuer, log, node.IsLeader
	cfg.AccessTokenLifespan, cfg.IDTokenLifespan, cfg.RefreshTokenLifespan = f.accessTTL, f.idTTL, f.refreshTTL
	cfg.DevicePollInterval = f.devicePoll
	cfg.LoginFreeFailures, cfg.LoginDelay, cfg.LoginMaxDelay = f.loginFailures, f.loginDelay, f.loginMaxDelay
	cfg.TrustForwardedProto = f.trustForwarded
	p, err := oauth.New(ctx, cfg, node.KV(), keys, ids)
	if err != nil {
		return nil, fmt.Errorf("OAuth2 server: %w", err)
	}
	return p, nil
}

// oauthAdmin is the s3api.OAuthAdmin of a node: the provider's
// management, its errors translated once, here at the seam.
type oauthAdmin struct{ p *oauth.Provider }

var _ s3api.OAuthAdmin = oauthAdmin{}

func oauthAdminErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, oauth.ErrInvalid):
		return fmt.Errorf("%w: %s", s3api.ErrAdminInvalid, strings.TrimPrefix(err.Error(), oauth.ErrInvalid.Error()+": "))
	case errors.Is(err, oauth.ErrNoSuchClient), errors.Is(err, oauth.ErrNoSuchIssuer):
		return fmt.Errorf("%w: %s", s3api.ErrAdminNotFound, strings.TrimPrefix(err.Error(), "oauth: "))
	case errors.Is(err, oauth.ErrClientExists), errors.Is(err, oauth.ErrIssuerExists):
		return fmt.Errorf("%w: %s", s3api.ErrAdminExists, strings.TrimPrefix(err.Error(), "oauth: "))
	}
	return err
}

func (a oauthAdmin) AddClient(ctx context.Context, in s3api.OAuthClientInput) (any, error) {
	c, err := a.p.AddClient(ctx, oauth.AddClientInput{Name: in.Name, Grant: in.Grant, RedirectURIs: in.RedirectURIs, Public: in.Public, User: in.User})
	return c, oauthAdminErr(err)
}

func (a oauthAdmin) ListClients(ctx context.Context) (any, error) {
	c, err := a.p.ListClients(ctx)
	return c, oauthAdminErr(err)
}

func (a oauthAdmin) RemoveClient(ctx context.Context, name string) error {
	return oauthAdminErr(a.p.RemoveClient(ctx, name))
}

func (a oauthAdmin) RotateKey(ctx context.Context) (any, error) {
	k, err := a.p.RotateKey(ctx)
	return k, oauthAdminErr(err)
}

func (a oauthAdmin) ListKeys(ctx context.Context) (any, error) {
	k, err := a.p.Keys(ctx)
	return k, oauthAdminErr(err)
}

func (a oauthAdmin) AddIssuer(ctx context.Context, in s3api.OAuthIssuerInput) (any, error) {
	var roles []oauth.RoleMapping
	for _, r := range in.Roles {
		roles = append(roles, oauth.RoleMapping{RoleARN: r})
	}
	for _, m := range in.ClaimRoles {
		parts := strings.SplitN(m, "=", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("%w: claim mapping %q is not CLAIM=VALUE=ROLE_ARN", s3api.ErrAdminInvalid, m)
		}
		roles = append(roles, oauth.RoleMapping{Claim: parts[0], Value: parts[1], RoleARN: parts[2]})
	}
	iss, err := a.p.AddIssuer(ctx, oauth.AddIssuerInput{URL: in.URL, Audiences: in.Audiences, Roles: roles})
	return iss, oauthAdminErr(err)
}

func (a oauthAdmin) ListIssuers(ctx context.Context) (any, error) {
	l, err := a.p.ListIssuers(ctx)
	return l, oauthAdminErr(err)
}

func (a oauthAdmin) RemoveIssuer(ctx context.Context, url string) error {
	return oauthAdminErr(a.p.RemoveIssuer(ctx, url))
}
