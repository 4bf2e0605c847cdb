package oauth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/filesphere/filesphere/iam"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The STS exchange: AssumeRoleWithWebIdentity with a token of the built-in
// issuer (an ID token, or a JWT access token) or of a registered external
// issuer. The token is verified here (signature by a published key of its
// issuer, alg from an allow-list, never "none"; iss, aud, exp, nbf, iat;
// for the built-in issuer also that its grant or access token was not
// revoked), then iam decides what it may become and issues the session.

// acceptedAlgs are the signature algorithms of external issuers' tokens;
// the built-in issuer signs ES256 only.
var acceptedAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256}

// clockLeeway is the clock difference tolerated on nbf and iat.
const clockLeeway = time.Minute

// maxWebToken bounds a web identity token (AWS: 20,000 characters).
const maxWebToken = 20000

func badToken(format string, args ...any) error {
	return &iam.Error{Kind: iam.ErrInvalidIdentityToken, Message: fmt.Sprintf(format, args...)}
}

// claims are the registered claims plus what the exchange reads.
type claims struct {
	jwt.Claims
	Scope    any    `json:"scp,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	SID      string `json:"sid,omitempty"`
	Username string `json:"preferred_username,omitempty"`
}

// AssumeRoleWithWebIdentity verifies token and has iam issue the session
// described by in (whose Identity it fills).
func (p *Provider) AssumeRoleWithWebIdentity(ctx context.Context, token string, in iam.AssumeRoleWithWebIdentityInput) (iam.AssumeRoleWithWebIdentityOutput, error) {
	id, roles, err := p.VerifyWebIdentity(ctx, token)
	if err != nil {
		return iam.AssumeRoleWithWebIdentityOutput{}, err
	}
	if roles != nil && !slices.Contains(roles, in.RoleARN) {
		return iam.AssumeRoleWithWebIdentityOutput{}, &iam.Error{Kind: iam.ErrAccessDenied,
			Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity: the issuer's registration maps none of the token's claims to this role."}
	}
	in.Identity = id
	return p.ids.AssumeRoleWithWebIdentity(ctx, in)
}

// VerifyWebIdentity checks a web identity token and returns the identity
// it proves and, for an external issuer registered with role mappings, the
// roles its claims map to (nil: any role whose trust policy allows).
func (p *Provider) VerifyWebIdentity(ctx context.Context, token string) (iam.WebIdentity, []string, error) {
	if token == "" || len(token) > maxWebToken {
		return iam.WebIdentity{}, nil, badToken("The web identity token is missing or longer than %d characters.", maxWebToken)
	}
	tok, err := jwt.ParseSigned(token, acceptedAlgs)
	if err != nil {
		return iam.WebIdentity{}, nil, badToken("The web identity token is not a signed JWT of an accepted algorithm (ES256, EdDSA, RS256).")
	}
	if len(tok.Headers) != 1 {
		return iam.WebIdentity{}, nil, badToken("The web identity token must have one signature.")
	}
	var unverified claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return iam.WebIdentity{}, nil, badToken("The web identity token's claims cannot be read.")
	}
	kid := tok.Headers[0].KeyID
	if unverified.Issuer == p.cfg.Issuer {
		return p.verifyOwn(ctx, token, tok, kid)
	}
	reg, err := p.issuer(ctx, unverified.Issuer)
	if err != nil {
		return iam.WebIdentity{}, nil, err
	}
	if reg == nil {
		return iam.WebIdentity{}, nil, badToken("No OpenIDConnect provider found for %s.", printable(unverified.Issuer))
	}
	return p.verifyExternal(ctx, tok, kid, reg)
}

func (p *Provider) verifyOwn(ctx context.Context, raw string, tok *jwt.JSONWebToken, kid string) (iam.WebIdentity, []string, error) {
	if tok.Headers[0].Algorithm != string(keyAlg) {
		return iam.WebIdentity{}, nil, badToken("The token's signature algorithm is not the issuer's.")
	}
	key, err := p.keys.publicKey(ctx, kid)
	if err != nil {
		return iam.WebIdentity{}, nil, err
	}
	if key == nil {
		return iam.WebIdentity{}, nil, badToken("The token is signed by a key the issuer does not publish.")
	}
	var c claims
	if err := tok.Claims(key, &c); err != nil {
		return iam.WebIdentity{}, nil, badToken("The token's signature is invalid.")
	}
	if err := p.checkTimes(&c); err != nil {
		return iam.WebIdentity{}, nil, err
	}
	if c.Subject == "" || c.Username == "" {
		return iam.WebIdentity{}, nil, badToken("The token names no user.")
	}
	var aud []string
	if c.Scope != nil {
		// A JWT access token: it must still be stored (not revoked, not
		// rotated away); its audience is the client it was issued to.
		sig := raw[strings.LastIndexByte(raw, '.')+1:]
		live, err := p.store.accessLive(ctx, sig)
		if err != nil {
			return iam.WebIdentity{}, nil, err
		}
		if !live {
			return iam.WebIdentity{}, nil, badToken("The access token was revoked.")
		}
		aud = c.Audience
		if len(aud) == 0 && c.ClientID != "" {
			aud = []string{c.ClientID}
		}
	} else {
		// An ID token: its grant must be in force, its audience a client.
		if c.SID == "" {
			return iam.WebIdentity{}, nil, badToken("The ID token names no grant.")
		}
		live, err := p.store.familyLive(ctx, c.SID)
		if err != nil {
			return iam.WebIdentity{}, nil, err
		}
		if !live {
			return iam.WebIdentity{}, nil, badToken("The token's grant was revoked or has expired.")
		}
		aud = c.Audience
	}
	if len(aud) == 0 {
		return iam.WebIdentity{}, nil, badToken("The token has no audience.")
	}
	for _, a := range aud {
		if _, err := p.store.client(ctx, a); err != nil {
			return iam.WebIdentity{}, nil, badToken("Incorrect token audience: %s is not a registered client.", printable(a))
		}
	}
	provider := providerName(p.cfg.Issuer)
	return iam.WebIdentity{Provider: provider, ProviderARN: p.providerARN(provider), Subject: c.Subject, Audience: aud,
		Expiry: c.Expiry.Time(), User: c.Username, UserID: c.Subject}, nil, nil
}

func (p *Provider) verifyExternal(ctx context.Context, tok *jwt.JSONWebToken, kid string, reg *issuerRecord) (iam.WebIdentity, []string, error) {
	key, err := p.jwks.key(ctx, reg.JWKSURI, kid)
	if err != nil {
		return iam.WebIdentity{}, nil, &iam.Error{Kind: iam.ErrIDPCommunication, Message: "Couldn't retrieve verification key from your identity provider.", Err: err}
	}
	if key == nil {
		return iam.WebIdentity{}, nil, badToken("The token is signed by a key its issuer does not publish.")
	}
	if key.Algorithm != "" && key.Algorithm != tok.Headers[0].Algorithm {
		return iam.WebIdentity{}, nil, badToken("The token's algorithm does not match its key.")
	}
	var c claims
	var all map[string]any
	if err := tok.Claims(key.Key, &c, &all); err != nil {
		return iam.WebIdentity{}, nil, badToken("The token's signature is invalid.")
	}
	if err := p.checkTimes(&c); err != nil {
		return iam.WebIdentity{}, nil, err
	}
	if c.Subject == "" {
		return iam.WebIdentity{}, nil, badToken("The token has no subject.")
	}
	ok := false
	for _, a := range reg.Audiences {
		ok = ok || c.Audience.Contains(a)
	}
	if !ok {
		return iam.WebIdentity{}, nil, badToken("Incorrect token audience.")
	}
	var roles []string
	if len(reg.Roles) > 0 {
		roles = []string{}
		for _, m := range reg.Roles {
			if m.Claim == "" || claimHas(all[m.Claim], m.Value) {
				roles = append(roles, m.RoleARN)
			}
		}
	}
	provider := providerName(reg.URL)
	return iam.WebIdentity{Provider: provider, ProviderARN: p.providerARN(provider), Subject: c.Subject,
		Audience: []string(c.Audience), Expiry: c.Expiry.Time()}, roles, nil
}

// checkTimes refuses an expired token, or one not yet valid.
func (p *Provider) checkTimes(c *claims) error {
	now := p.cfg.Now()
	if c.Expiry == nil {
		return badToken("The token has no expiry.")
	}
	if !now.Before(c.Expiry.Time()) {
		return &iam.Error{Kind: iam.ErrExpiredIdentityToken, Message: "Token expired: current date/time " + now.UTC().Format(time.RFC3339) +
			" must be before the expiration date/time " + c.Expiry.Time().UTC().Format(time.RFC3339) + "."}
	}
	if c.NotBefore != nil && now.Add(clockLeeway).Before(c.NotBefore.Time()) {
		return badToken("The token is not valid yet.")
	}
	if c.IssuedAt != nil && now.Add(clockLeeway).Before(c.IssuedAt.Time()) {
		return badToken("The token was issued in the future.")
	}
	return nil
}

func claimHas(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return x == want
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

// providerName is an issuer URL without its scheme: the Federated
// principal and condition key prefix, as AWS names OIDC providers.
func providerName(iss string) string {
	if rest, ok := strings.CutPrefix(iss, "https://"); ok {
		return rest
	}
	return strings.TrimPrefix(iss, "http://")
}

func (p *Provider) providerARN(provider string) string {
	return "arn:aws:iam::" + p.ids.Account().ID + ":oidc-provider/" + provider
}
