// Package oauth is FileSphere's OAuth2 / OpenID Connect authorization
// server, built on ory/fosite with its storage over meta.KV (so every node
// serves every step of every flow), and the STS exchange of its tokens —
// and of registered external issuers' tokens — for temporary S3
// credentials (AssumeRoleWithWebIdentity).
//
// # Wiring (cmd)
//
//	p, err := oauth.New(ctx, cfg, kv, sealer, ids) // cfg.Issuer: the S3 endpoint's public URL
//	defer p.Close()
//	s3cfg.OAuth, s3cfg.WebIdentity, s3cfg.OAuthAdmin = p.Handler(), p, p
//
// The S3 API routes the endpoint paths (PathDiscovery and everything under
// PathPrefix) to Handler through its one pipeline; those requests
// authenticate by their own means (client authentication, PKCE, the login
// form's password and CSRF token), not by SigV4.
//
// # Grants
//
// Authorization code with PKCE (S256 only; required of every client),
// the device authorization grant (RFC 8628, built on fosite's primitives:
// fosite v0.49.0 has none), client credentials (the client acts as an IAM
// user), and refresh tokens, rotated on every use: a rotated token used
// again revokes its whole grant. No implicit, hybrid or password grant is
// composed. ID tokens and access tokens are JWTs signed ES256 by a key kept
// sealed in the KV (signing.go); authorization codes and refresh tokens are
// fosite's HMAC tokens under a sealed secret. Tokens are stored under the
// SHA-256 of their signatures (keys.go), so a copy of the KV holds no
// usable token.
//
// # Revocation
//
// Every token belongs to a family (its grant's request id). Revoking a
// refresh token, reusing a rotated one, or the user being disabled revokes
// the family: its access and refresh tokens are deleted, and STS refuses
// the ID tokens naming it (their sid claim). Revoking an access token
// deletes it. Every node checks these with a read of its local replica, so
// a revocation counts everywhere as soon as the replicas applied it.
// Temporary S3 credentials already issued are iam sessions: they end at
// their expiry (never later than the token's) or with their user.
package oauth
