package iam

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/filesphere/filesphere/iam/policy"
)

// AssumeRoleWithWebIdentity issues temporary credentials to the holder of
// a web identity token that the caller (package iam/oauth) has already
// verified: signature, issuer, audience, expiry. iam decides what the
// identity may become, as STS does:
//
//   - RoleARN names a role: its trust policy must allow
//     sts:AssumeRoleWithWebIdentity to the Federated principal
//     Identity.Provider (or its oidc-provider ARN), with the condition keys
//     <provider>:sub and <provider>:aud set from the token. The session
//     carries the role's policies (narrowed by any session policy).
//   - RoleARN names the IAM user the token stands for (Identity.User, set
//     only for tokens of the built-in issuer): the session is that user's
//     own, with the user's policies narrowed by any session policy. No
//     trust policy is involved: the token proves the user logged in.
//
// The session ends at the earliest of the requested duration (default one
// hour), the role's maximum (12 hours for the user's own) and the token's
// expiry. A session standing for an IAM user dies with that user (disabled,
// deleted), like any other.

// WebIdentity is a verified web identity token.
type WebIdentity struct {
	// Provider is the issuer URL without its scheme ("idp.example.com",
	// "127.0.0.1:9000/realms/x"): the Federated principal name and the
	// prefix of the condition keys.
	Provider string
	// ProviderARN is the same provider as an ARN
	// (arn:aws:iam::ACCT:oidc-provider/<Provider>), which a trust policy
	// may name instead.
	ProviderARN string
	Subject     string
	Audience    []string
	// Expiry is the token's exp.
	Expiry time.Time
	// User and UserID: the IAM user a token of the built-in issuer stands
	// for (empty for external issuers).
	User, UserID string
}

// AssumeRoleWithWebIdentityInput is the input of AssumeRoleWithWebIdentity.
type AssumeRoleWithWebIdentityInput struct {
	RoleARN         string
	RoleSessionName string
	DurationSeconds int
	Policy          string
	PolicyARNs      []string
	Identity        WebIdentity
	// Context holds the request's condition keys (aws:SourceIp, …).
	Context policy.Context
}

// AssumeRoleWithWebIdentityOutput is its result.
type AssumeRoleWithWebIdentityOutput struct {
	AssumeRoleOutput
	SubjectFromWebIdentityToken string
	Audience                    string
	Provider                    string
}

// maxSelfSession bounds a user's own web identity session (as a role's
// maximum bounds a role session).
const maxSelfSession = maxRoleSessionLimit

// ServiceUser returns the user that a client-credentials OAuth client acts
// as: it must exist and be enabled.
func (s *Service) ServiceUser(ctx context.Context, name string) (User, error) {
	var u userRecord
	found, err := read(ctx, s.kv, userKey(name), &u)
	if err != nil {
		return User{}, err
	}
	if !found || checkName("userName", name, 1, maxUserNameLen) != nil {
		return User{}, noSuch(EntityUser, name)
	}
	if u.Disabled {
		return User{}, newErr(ErrUserDisabled, "User %s is disabled.", u.Name)
	}
	return s.userView(&u), nil
}

// LiveUser reports whether the user named, with that unique id, still
// exists and is enabled (a token standing for a user dies with it). It
// reads the local replica.
func (s *Service) LiveUser(ctx context.Context, name, userID string) error {
	_, err := s.liveUser(ctx, s.stale, strings.ToLower(name), userID, "web identity")
	return err
}

// AssumeRoleWithWebIdentity: see the comment at the top of this file.
func (s *Service) AssumeRoleWithWebIdentity(ctx context.Context, in AssumeRoleWithWebIdentityInput) (AssumeRoleWithWebIdentityOutput, error) {
	id := in.Identity
	if id.Provider == "" || id.Subject == "" {
		return AssumeRoleWithWebIdentityOutput{}, newErr(ErrInvalidIdentityToken, "The web identity token has no issuer or subject.")
	}
	if err := checkName("roleSessionName", in.RoleSessionName, minSessionNameLen, maxSessionNameLen); err != nil {
		return AssumeRoleWithWebIdentityOutput{}, err
	}
	if in.DurationSeconds != 0 && in.DurationSeconds < minSessionDuration {
		return AssumeRoleWithWebIdentityOutput{}, constraint(fmt.Sprint(in.DurationSeconds), "durationSeconds", "Member must have value greater than or equal to 900")
	}
	// The session policy checks of AssumeRole, with no caller to inherit from.
	rec, packed, err := s.checkAssumeInput(&Credential{kind: credRoot}, &AssumeRoleInput{
		RoleSessionName: in.RoleSessionName, Policy: in.Policy, PolicyARNs: in.PolicyARNs})
	if err != nil {
		return AssumeRoleWithWebIdentityOutput{}, err
	}
	for _, arn := range in.PolicyARNs {
		if _, err := s.policyByARN(ctx, s.kv, arn); err != nil {
			return AssumeRoleWithWebIdentityOutput{}, err
		}
	}
	if !s.now().Before(id.Expiry) {
		return AssumeRoleWithWebIdentityOutput{}, newErr(ErrExpiredIdentityToken, "Token expired: current date/time %s must be before the expiration date/time %s.",
			s.now().UTC().Format(time.RFC3339), id.Expiry.UTC().Format(time.RFC3339))
	}
	var u *userRecord
	if id.User != "" {
		if u, err = s.liveUser(ctx, s.kv, strings.ToLower(id.User), id.UserID, "web identity"); err != nil {
			return AssumeRoleWithWebIdentityOutput{}, newErr(ErrAccessDenied, "The user the web identity token stands for does not exist or is disabled.")
		}
		rec.User, rec.UserID = strings.ToLower(u.Name), u.ID
	}
	out := AssumeRoleWithWebIdentityOutput{SubjectFromWebIdentityToken: id.Subject, Provider: id.Provider}
	if len(id.Audience) > 0 {
		out.Audience = id.Audience[0]
	}
	acct, path, name, isUser := splitEntityARN(in.RoleARN, "user")
	if isUser {
		if u == nil || acct != s.account.ID || !strings.EqualFold(name, u.Name) || path != u.Path {
			return AssumeRoleWithWebIdentityOutput{}, newErr(ErrAccessDenied, "Not authorized to perform sts:AssumeRoleWithWebIdentity on %s: the web identity token does not stand for this user.", printable(in.RoleARN))
		}
		d, err := webSessionDuration(in.DurationSeconds, maxSelfSession, id.Expiry, s.now())
		if err != nil {
			return AssumeRoleWithWebIdentityOutput{}, err
		}
		rec.Kind, rec.SessionName = sessionUser, ""
		tc, err := s.createSession(ctx, rec, d)
		if err != nil {
			return AssumeRoleWithWebIdentityOutput{}, err
		}
		out.AssumeRoleOutput = AssumeRoleOutput{Credentials: tc, AssumedRoleARN: userARN(s.account.ID, u.Path, u.Name),
			AssumedRoleID: u.ID + ":" + in.RoleSessionName, PackedPolicySize: packed}
		return out, nil
	}
	return s.assumeRoleWeb(ctx, in, rec, packed, out)
}

func (s *Service) assumeRoleWeb(ctx context.Context, in AssumeRoleWithWebIdentityInput, rec *sessionRecord, packed int, out AssumeRoleWithWebIdentityOutput) (AssumeRoleWithWebIdentityOutput, error) {
	id := in.Identity
	denied := newErr(ErrAccessDenied, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	acct, path, name, ok := splitEntityARN(in.RoleARN, "role")
	if !ok {
		return out, invalid("%s is invalid", printable(in.RoleARN))
	}
	if acct != s.account.ID || checkName("roleName", name, 1, maxRoleNameLen) != nil {
		return out, denied
	}
	var r roleRecord
	found, err := read(ctx, s.kv, roleKey(name), &r)
	if err != nil {
		return out, err
	}
	if !found || r.Path != path || r.Name != name {
		return out, denied
	}
	trust, err := s.compiled.get(r.Trust, policy.KindTrust)
	if err != nil {
		return out, fmt.Errorf("iam: stored trust policy of role %s does not compile: %w", r.Name, err)
	}
	keys := in.Context
	keys.Set("sts:RoleSessionName", in.RoleSessionName)
	keys.Set(id.Provider+":sub", id.Subject)
	if len(id.Audience) > 0 {
		keys.Set(id.Provider+":aud", id.Audience...)
	}
	// The provider is named either way: by its URL or by its ARN.
	var allowed bool
	for _, p := range []string{id.Provider, id.ProviderARN} {
		if p == "" {
			continue
		}
		req := policy.Request{Principal: policy.Principal{Type: policy.PrincipalWebIdentity, Provider: p},
			Action: "sts:AssumeRoleWithWebIdentity", Resource: in.RoleARN, Time: s.now(), Context: keys}
		d := policy.Decide(req, policy.PolicySets{Resource: []policy.Named{{Name: "trust policy of role " + r.Name, Policy: trust}}})
		if d.Reason == policy.ReasonExplicitDeny {
			allowed = false
			break
		}
		allowed = allowed || d.Allowed()
	}
	if !allowed {
		s.log.WithField("provider", id.Provider).WithField("role", r.Name).Debug("sts:AssumeRoleWithWebIdentity refused by the trust policy")
		return out, denied
	}
	if in.DurationSeconds > r.MaxSessionDuration {
		return out, newErr(ErrValidation, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	d, err := webSessionDuration(in.DurationSeconds, r.MaxSessionDuration, id.Expiry, s.now())
	if err != nil {
		return out, err
	}
	rec.Kind, rec.Role, rec.RoleID = sessionRole, strings.ToLower(r.Name), r.ID
	rec.SourceIdentity = ""
	tc, err := s.createSession(ctx, rec, d)
	if err != nil {
		return out, err
	}
	out.AssumeRoleOutput = AssumeRoleOutput{Credentials: tc, AssumedRoleARN: assumedRoleARN(s.account.ID, r.Name, in.RoleSessionName),
		AssumedRoleID: r.ID + ":" + in.RoleSessionName, PackedPolicySize: packed}
	return out, nil
}

// webSessionDuration is the requested duration (default one hour) within
// [900 s, maxD], cut at the token's expiry.
func webSessionDuration(req, maxD int, expiry, now time.Time) (time.Duration, error) {
	if req > maxD {
		return 0, newErr(ErrValidation, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	d, err := sessionDuration(req, defaultRoleSession, maxD)
	if err != nil {
		return 0, err
	}
	if left := expiry.Sub(now); left < d {
		d = left
	}
	if d < time.Second {
		return 0, newErr(ErrExpiredIdentityToken, "Token expired.")
	}
	return d, nil
}
