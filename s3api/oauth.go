package s3api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/filesphere/filesphere/iam"
)

// The OAuth2 / OpenID Connect endpoints of the built-in authorization
// server (package iam/oauth, wired in by cmd): discovery at
// /.well-known/openid-configuration and the rest under /.filesphere/oauth/.
// Neither path can be a bucket (a bucket name never starts with a dot).
// They run through the same pipeline as every request — classified,
// counted, logged, answered by render — but authenticate by their own
// means (client authentication, PKCE, the login form's password and CSRF
// token): OAuth clients never sign with SigV4, so the operation's
// permission scope is scopeOwn and the handler's own answers (OAuth JSON
// errors, the login page, redirects) are passed through as they are.

// OpOAuth is a request to the OAuth2 / OpenID Connect endpoints.
const OpOAuth Operation = "OAuth"

const (
	wellKnownBucket = ".well-known"
	oauthPrefix     = "oauth/"
)

// isOAuthPath reports whether bucket/key is an OAuth endpoint path.
func isOAuthPath(bucket, key string) bool {
	return (bucket == wellKnownBucket && key == "openid-configuration") || (bucket == adminBucket && strings.HasPrefix(key, oauthPrefix))
}

// WebIdentity exchanges a web identity token for temporary credentials
// (STS AssumeRoleWithWebIdentity): it verifies the token and fills
// in.Identity, then iam decides. *oauth.Provider satisfies it.
type WebIdentity interface {
	AssumeRoleWithWebIdentity(ctx context.Context, token string, in iam.AssumeRoleWithWebIdentityInput) (iam.AssumeRoleWithWebIdentityOutput, error)
}

// maxOAuthAnswer bounds what the OAuth handler may answer (pages and JSON
// documents of a few KiB).
const maxOAuthAnswer = 1 << 20

// serveOAuth hands the request to the OAuth handler and returns its answer
// for render.
func (s *Server) serveOAuth(_ context.Context, req *request) (*response, error) {
	if s.cfg.OAuth == nil {
		return nil, apiErr(ErrNotImplemented, "The OAuth2 authorization server is not enabled on this server.")
	}
	bw := &bufferedWriter{header: http.Header{}}
	s.cfg.OAuth.ServeHTTP(bw, req.Request)
	if bw.status == 0 {
		bw.status = http.StatusOK
	}
	if bw.buf.Len() > maxOAuthAnswer {
		return nil, errors.New("s3api: OAuth answer too large")
	}
	return &response{status: bw.status, header: bw.header, body: io.NopCloser(&bw.buf), length: int64(bw.buf.Len())}, nil
}
