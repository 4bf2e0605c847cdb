package iam

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam/policy"
)

type credKind uint8

const (
	credRoot    credKind = iota + 1 // the configured root key
	credUserKey                     // an IAM user's access key
	credSession                     // temporary credentials
)

// Credential is what authentication learns from an access key id: the
// secret to check the SigV4 signature with and who signs with it. It is
// shared and immutable: do not modify it (nor Principal.Tags). String and
// GoString hide the secret.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	Principal       policy.Principal
	// Temporary credentials: their expiry and, for role sessions, the
	// source identity set when the role was assumed.
	Temporary      bool
	Expiration     time.Time
	SourceIdentity string

	kind      credKind
	gen       uint64 // the IAM generation it was resolved at
	tokenHash [sha256.Size]byte
	session   *sessionRecord
	// identity and sessionSets are the policies of Principal (Decide's
	// Identity and Session sets).
	identity    []policy.Named
	sessionSets []policy.Named
	// user is the IAM user behind a user key or user session (nil for root
	// and role sessions).
	user *userRecord
}

func (c *Credential) String() string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("Credential{AccessKeyID: %s, Principal: %s, Temporary: %t}", c.AccessKeyID, c.Principal.ARN, c.Temporary)
}

// GoString hides the secret from %#v.
func (c *Credential) GoString() string { return c.String() }

// VerifySessionToken checks the X-Amz-Security-Token of a request signed
// with c: temporary credentials need their own token (compared in constant
// time), long-term keys need none. The error wraps ErrInvalidToken.
func (c *Credential) VerifySessionToken(token string) error {
	if !c.Temporary {
		if token != "" {
			return authErr(ErrInvalidToken, c.AccessKeyID)
		}
		return nil
	}
	h := sha256.Sum256([]byte(token))
	if token == "" || subtle.ConstantTimeCompare(h[:], c.tokenHash[:]) != 1 {
		return authErr(ErrInvalidToken, c.AccessKeyID)
	}
	return nil
}

// Credentials resolves an access key id for SigV4: the configured root
// key, an IAM user's access key (AKIA…) or temporary credentials (ASIA…).
// Errors wrap ErrInvalidAccessKeyID (unknown key, or its user is gone),
// ErrAccessKeyInactive, ErrUserDisabled or ErrExpiredToken; anything else
// is internal. The caller must still check the signature and, for
// temporary credentials, the session token (VerifySessionToken).
//
// It reads the local replica only, through a cache invalidated by IAM
// generation (see credCache), so a cached key costs a map lookup (and, at
// most every GenerationCheckInterval, one local read). A key this replica does not know yet (created a
// moment ago through another node) is looked up once more with a
// leader-confirmed read.
func (s *Service) Credentials(ctx context.Context, accessKeyID string) (*Credential, error) {
	if s.root != nil && accessKeyID == s.root.AccessKeyID {
		return s.root, nil
	}
	if !isIAMKeyID(accessKeyID) {
		return nil, authErr(ErrInvalidAccessKeyID, printable(accessKeyID))
	}
	c, err := s.current(ctx, accessKeyID)
	if err != nil {
		return nil, err
	}
	if c.Temporary && !s.now().Before(c.Expiration) {
		return nil, authErr(ErrExpiredToken, accessKeyID)
	}
	return c, nil
}

// current returns the credential as of the current IAM generation.
func (s *Service) current(ctx context.Context, id string) (*Credential, error) {
	gen, err := s.generation(ctx)
	if err != nil {
		return nil, err
	}
	if gen < s.creds.minGen.Load() {
		// The local replica has not applied this node's own last write yet.
		return s.resolve(ctx, s.kv, id, gen)
	}
	if e, ok := s.creds.lookup(gen, id); ok {
		return e.cred, e.err
	}
	c, err := s.resolve(ctx, s.stale, id, gen)
	if errors.Is(err, ErrInvalidAccessKeyID) && s.stale != s.kv && s.acquireConsistent() {
		c, err = s.resolve(ctx, s.kv, id, gen)
		s.releaseConsistent()
		if errors.Is(err, ErrInvalidAccessKeyID) {
			s.creds.store(gen, id, cacheEntry{err: err})
		}
		return c, err
	}
	if err == nil || isAuthErr(err) {
		s.creds.store(gen, id, cacheEntry{cred: c, err: err})
	}
	return c, err
}

func (s *Service) acquireConsistent() bool {
	select {
	case s.consistent <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Service) releaseConsistent() { <-s.consistent }

func isAuthErr(err error) bool {
	for _, k := range []error{ErrInvalidAccessKeyID, ErrAccessKeyInactive, ErrUserDisabled, ErrExpiredToken} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// printable shortens and sanitises hostile input for error messages.
func printable(s string) string {
	if len(s) > 256 {
		s = s[:256]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// resolve builds the credential of id from kv.
func (s *Service) resolve(ctx context.Context, kv meta.KV, id string, gen uint64) (*Credential, error) {
	if strings.HasPrefix(id, prefixTempKey) {
		return s.resolveSession(ctx, kv, id, gen)
	}
	var k accessKeyRecord
	found, err := read(ctx, kv, accessKeyKey(id), &k)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, authErr(ErrInvalidAccessKeyID, id)
	}
	if k.Status != KeyActive {
		return nil, authErr(ErrAccessKeyInactive, id)
	}
	u, err := s.liveUser(ctx, kv, k.User, k.UserID, id)
	if err != nil {
		return nil, err
	}
	secret, err := s.sealer.Open(ctx, secretPurpose(id), k.Secret)
	if err != nil {
		return nil, fmt.Errorf("iam: open secret of %s: %w", id, err)
	}
	c := &Credential{AccessKeyID: id, SecretAccessKey: string(secret), Principal: s.userPrincipal(u),
		kind: credUserKey, gen: gen, user: u}
	if c.identity, err = s.userPolicies(ctx, kv, u); err != nil {
		return nil, err
	}
	return c, nil
}

// liveUser loads the user a key or session belongs to: it must still exist
// (as the same user, not one re-created under the name) and be enabled.
func (s *Service) liveUser(ctx context.Context, kv meta.KV, name, userID, keyID string) (*userRecord, error) {
	u := new(userRecord)
	found, err := read(ctx, kv, userKey(name), u)
	if err != nil {
		return nil, err
	}
	if !found || u.ID != userID {
		return nil, authErr(ErrInvalidAccessKeyID, keyID)
	}
	if u.Disabled {
		return nil, authErr(ErrUserDisabled, keyID)
	}
	return u, nil
}

func (s *Service) resolveSession(ctx context.Context, kv meta.KV, id string, gen uint64) (*Credential, error) {
	rec := new(sessionRecord)
	found, err := read(ctx, kv, sessionKey(id), rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, authErr(ErrInvalidAccessKeyID, id)
	}
	if !s.now().Before(rec.Expiration) {
		return nil, authErr(ErrExpiredToken, id)
	}
	c := &Credential{AccessKeyID: id, Temporary: true, Expiration: rec.Expiration, SourceIdentity: rec.SourceIdentity,
		kind: credSession, gen: gen, session: rec}
	copy(c.tokenHash[:], rec.TokenHash)
	var u *userRecord
	if rec.User != "" {
		if u, err = s.liveUser(ctx, kv, rec.User, rec.UserID, id); err != nil {
			return nil, err
		}
	}
	switch rec.Kind {
	case sessionRoot:
		c.Principal = s.rootPrincipal()
	case sessionUser:
		if u == nil {
			return nil, fmt.Errorf("iam: corrupt session %s: no user", id)
		}
		c.Principal, c.user = s.userPrincipal(u), u
		if c.identity, err = s.userPolicies(ctx, kv, u); err != nil {
			return nil, err
		}
		// A web identity session of the user may carry session policies.
		if c.sessionSets, err = s.sessionPolicies(ctx, kv, rec); err != nil {
			return nil, err
		}
	case sessionRole:
		r := new(roleRecord)
		found, err := read(ctx, kv, roleKey(rec.Role), r)
		if err != nil {
			return nil, err
		}
		if !found || r.ID != rec.RoleID {
			return nil, authErr(ErrInvalidAccessKeyID, id)
		}
		c.Principal = s.sessionPrincipal(r, rec)
		if c.identity, err = s.holderPolicies(ctx, kv, nil, "role "+r.Name, &r.holder); err != nil {
			return nil, err
		}
		if c.sessionSets, err = s.sessionPolicies(ctx, kv, rec); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("iam: corrupt session %s: kind %q", id, rec.Kind)
	}
	secret, err := s.sealer.Open(ctx, secretPurpose(id), rec.Secret)
	if err != nil {
		return nil, fmt.Errorf("iam: open secret of %s: %w", id, err)
	}
	c.SecretAccessKey = string(secret)
	return c, nil
}

func (s *Service) userPrincipal(u *userRecord) policy.Principal {
	return policy.Principal{Type: policy.PrincipalUser, Account: s.account.ID, ARN: userARN(s.account.ID, u.Path, u.Name),
		UserID: u.ID, Username: u.Name, CanonicalID: s.account.CanonicalID, Tags: tagMap(u.Tags)}
}

// sessionPrincipal is a role session: its tags are the role's, overridden
// by the session's.
func (s *Service) sessionPrincipal(r *roleRecord, rec *sessionRecord) policy.Principal {
	return policy.Principal{Type: policy.PrincipalAssumedRole, Account: s.account.ID,
		ARN: assumedRoleARN(s.account.ID, r.Name, rec.SessionName), RoleARN: roleARN(s.account.ID, r.Path, r.Name),
		UserID: r.ID + ":" + rec.SessionName, CanonicalID: s.account.CanonicalID, Tags: tagMap(r.Tags, rec.Tags)}
}

// userPolicies are a user's identity policies: its inline and attached
// policies, then each group's.
func (s *Service) userPolicies(ctx context.Context, kv meta.KV, u *userRecord) ([]policy.Named, error) {
	out, err := s.holderPolicies(ctx, kv, nil, "user "+u.Name, &u.holder)
	if err != nil {
		return nil, err
	}
	for _, g := range u.Groups {
		var gr groupRecord
		found, err := read(ctx, kv, groupKey(g), &gr)
		if err != nil {
			return nil, err
		}
		if !found {
			// Membership and group change in one transaction; fail closed
			// rather than drop a group's Deny.
			return nil, fmt.Errorf("iam: user %s is in group %s, which does not exist", u.Name, g)
		}
		if out, err = s.holderPolicies(ctx, kv, out, "group "+gr.Name, &gr.holder); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// holderPolicies appends h's compiled inline and attached policies to out.
func (s *Service) holderPolicies(ctx context.Context, kv meta.KV, out []policy.Named, label string, h *holder) ([]policy.Named, error) {
	for _, ip := range h.Inline {
		p, err := s.compiled.get(ip.Document, policy.KindIdentity)
		if err != nil {
			return nil, fmt.Errorf("iam: stored policy %s of %s does not compile: %w", ip.Name, label, err)
		}
		out = append(out, policy.Named{Name: label + " inline policy " + ip.Name, Policy: p})
	}
	for _, arn := range h.Attached {
		p, err := s.managedDefault(ctx, kv, arn)
		if err != nil {
			return nil, fmt.Errorf("iam: policy %s attached to %s: %w", arn, label, err)
		}
		out = append(out, policy.Named{Name: "managed policy " + arn, Policy: p})
	}
	return out, nil
}

// managedDefault compiles the default version of a managed policy.
func (s *Service) managedDefault(ctx context.Context, kv meta.KV, arn string) (*policy.Policy, error) {
	rec, err := s.policyByARN(ctx, kv, arn)
	if err != nil {
		return nil, err
	}
	return s.compiled.get(rec.defaultDocument(), policy.KindIdentity)
}

// sessionPolicies are a role session's session policies. A managed session
// policy deleted since is kept as a nil entry: it allows nothing, and the
// set stays non-empty so the session is never widened to the role's full
// permissions.
func (s *Service) sessionPolicies(ctx context.Context, kv meta.KV, rec *sessionRecord) ([]policy.Named, error) {
	var out []policy.Named
	if rec.Policy != "" {
		p, err := s.compiled.get(rec.Policy, policy.KindIdentity)
		if err != nil {
			return nil, fmt.Errorf("iam: session policy of %s does not compile: %w", rec.ID, err)
		}
		out = append(out, policy.Named{Name: "session policy", Policy: p})
	}
	for _, arn := range rec.PolicyARNs {
		p, err := s.managedDefault(ctx, kv, arn)
		if errors.Is(err, ErrNoSuchEntity) {
			out = append(out, policy.Named{Name: "session policy " + arn + " (deleted)"})
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, policy.Named{Name: "session policy " + arn, Policy: p})
	}
	return out, nil
}
