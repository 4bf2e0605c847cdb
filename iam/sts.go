package iam

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam/policy"
)

// Temporary credentials are stored in the KV, one record per session
// (i/session/<ASIA…>), written through Raft by GetSessionToken and
// AssumeRole. So every node verifies them with a local read like any
// other key, and they can be revoked: a session stops working when it
// expires, when the user it stands for (or the user who started the role
// chain) is disabled or deleted, and when its role is deleted. The token
// is kept only as a SHA-256; the secret is sealed.

// TemporaryCredentials are the credentials of a new session. String and
// GoString hide the secret and the token.
type TemporaryCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

func (c TemporaryCredentials) String() string {
	return fmt.Sprintf("TemporaryCredentials{AccessKeyID: %s, Expiration: %s}", c.AccessKeyID, c.Expiration.Format(time.RFC3339))
}

// GoString hides the secret from %#v.
func (c TemporaryCredentials) GoString() string { return c.String() }

// GetSessionToken issues temporary credentials for the caller, a user or
// the root user with long-term keys. durationSeconds 0 means the default
// (users 43200, root 3600); the range is [900, 129600] (root: 3600).
func (s *Service) GetSessionToken(ctx context.Context, caller *Credential, durationSeconds int) (TemporaryCredentials, error) {
	if caller == nil {
		return TemporaryCredentials{}, newErr(ErrAccessDenied, "Anonymous users cannot call GetSessionToken.")
	}
	if caller.Temporary {
		return TemporaryCredentials{}, newErr(ErrAccessDenied, "Cannot call GetSessionToken with session credentials")
	}
	c, err := s.refresh(ctx, caller)
	if err != nil {
		return TemporaryCredentials{}, err
	}
	def, maxD := defaultUserSession, maxUserSession
	if c.kind == credRoot {
		def, maxD = defaultRootSession, maxRootSession
	}
	d, err := sessionDuration(durationSeconds, def, maxD)
	if err != nil {
		return TemporaryCredentials{}, err
	}
	rec := sessionRecord{Kind: sessionRoot}
	if c.kind == credUserKey {
		rec = sessionRecord{Kind: sessionUser, User: strings.ToLower(c.user.Name), UserID: c.user.ID}
	}
	return s.createSession(ctx, &rec, d)
}

func sessionDuration(req, def, maxD int) (time.Duration, error) {
	if req == 0 {
		req = def
	}
	if req < minSessionDuration || req > maxD {
		return 0, constraint(fmt.Sprint(req), "durationSeconds", fmt.Sprintf("Member must have value between %d and %d", minSessionDuration, maxD))
	}
	return time.Duration(req) * time.Second, nil
}

// createSession stores rec as a new session lasting d.
func (s *Service) createSession(ctx context.Context, rec *sessionRecord, d time.Duration) (TemporaryCredentials, error) {
	var out TemporaryCredentials
	err := s.update(ctx, func(t *txn) error {
		id, err := s.newID(prefixTempKey)
		if err != nil {
			return err
		}
		secret, err := s.newSecret()
		if err != nil {
			return err
		}
		token, hash, err := s.newToken()
		if err != nil {
			return err
		}
		sealed, err := s.sealer.Seal(ctx, secretPurpose(id), []byte(secret))
		if err != nil {
			return fmt.Errorf("iam: seal secret: %w", err)
		}
		now := s.now()
		rec.ID, rec.Secret, rec.TokenHash, rec.Created = id, sealed, hash, now
		// Second precision, as STS reports it; never longer than asked.
		rec.Expiration = now.Add(d).Truncate(time.Second)
		out = TemporaryCredentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, Expiration: rec.Expiration}
		return t.create(sessionKey(id), rec)
	})
	if err != nil {
		return TemporaryCredentials{}, err
	}
	return out, nil
}

// AssumeRoleInput is the input of AssumeRole (STS parameters).
type AssumeRoleInput struct {
	RoleARN         string
	RoleSessionName string
	// DurationSeconds 0 means 3600; at most the role's maximum (one hour
	// when the caller is itself a role session).
	DurationSeconds int
	// Policy (inline JSON) and PolicyARNs (managed, of this account) are
	// session policies: the session may do only what both they and the
	// role allow. A managed one deleted later allows nothing.
	Policy     string
	PolicyARNs []string
	// Tags are session tags (they become aws:PrincipalTag/… keys and need
	// sts:TagSession in the trust policy).
	Tags []Tag
	// SourceIdentity needs sts:SetSourceIdentity; a role session passes
	// its own on and it cannot be changed.
	SourceIdentity string
	ExternalID     string
	// Context holds the request's condition keys (aws:SourceIp,
	// aws:SecureTransport, …) for the trust policy. AssumeRole adds the
	// sts:RoleSessionName, sts:ExternalId, sts:SourceIdentity,
	// aws:RequestTag/… and aws:TagKeys keys to it.
	Context policy.Context
}

// AssumeRoleOutput is the result of AssumeRole.
type AssumeRoleOutput struct {
	Credentials      TemporaryCredentials
	AssumedRoleARN   string // arn:aws:sts::ACCT:assumed-role/ROLE/SESSION
	AssumedRoleID    string // ROLEID:SESSION
	SourceIdentity   string
	PackedPolicySize int // percent of the session policy limit used
}

// AssumeRole issues role-session credentials to caller (a user or a role
// session; AWS refuses root) if the role's trust policy, combined with the
// caller's own policies by policy.Decide, allows sts:AssumeRole (and
// sts:TagSession, sts:SetSourceIdentity when tags or a source identity
// are given). A role that does not exist answers like a denied one.
func (s *Service) AssumeRole(ctx context.Context, caller *Credential, in AssumeRoleInput) (AssumeRoleOutput, error) {
	if caller == nil {
		return AssumeRoleOutput{}, newErr(ErrAccessDenied, "Anonymous users cannot call AssumeRole.")
	}
	if caller.kind == credRoot || caller.Principal.Type == policy.PrincipalAccount {
		return AssumeRoleOutput{}, newErr(ErrAccessDenied, "Roles may not be assumed by root accounts.")
	}
	c, err := s.refresh(ctx, caller)
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	rec, packed, err := s.checkAssumeInput(c, &in)
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	for _, arn := range in.PolicyARNs {
		if _, err := s.policyByARN(ctx, s.kv, arn); err != nil {
			return AssumeRoleOutput{}, err
		}
	}
	denied := newErr(ErrAccessDenied, "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.Principal.ARN, printable(in.RoleARN))
	acct, path, name, ok := splitEntityARN(in.RoleARN, "role")
	if !ok {
		return AssumeRoleOutput{}, invalid("%s is invalid", printable(in.RoleARN))
	}
	if acct != s.account.ID || checkName("roleName", name, 1, maxRoleNameLen) != nil {
		return AssumeRoleOutput{}, denied
	}
	var r roleRecord
	found, err := read(ctx, s.kv, roleKey(name), &r)
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	if !found || r.Path != path || r.Name != name {
		return AssumeRoleOutput{}, denied
	}
	trust, err := s.compiled.get(r.Trust, policy.KindTrust)
	if err != nil {
		return AssumeRoleOutput{}, fmt.Errorf("iam: stored trust policy of role %s does not compile: %w", r.Name, err)
	}
	actions := []string{"sts:AssumeRole"}
	if len(in.Tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if in.SourceIdentity != "" && c.SourceIdentity == "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	ctxKeys := in.Context
	ctxKeys.Set("sts:RoleSessionName", in.RoleSessionName)
	if rec.SourceIdentity != "" {
		ctxKeys.Set("sts:SourceIdentity", rec.SourceIdentity)
	}
	if in.ExternalID != "" {
		ctxKeys.Set("sts:ExternalId", in.ExternalID)
	}
	if len(in.Tags) > 0 {
		keys := make([]string, len(in.Tags))
		for i, t := range in.Tags {
			ctxKeys.Set(policy.KeyRequestTagPrefix+t.Key, t.Value)
			keys[i] = t.Key
		}
		ctxKeys.Set(policy.KeyTagKeys, keys...)
	}
	for _, a := range actions {
		req := policy.Request{Principal: c.Principal, Action: a, Resource: in.RoleARN, Time: s.now(), Context: ctxKeys}
		d := policy.Decide(req, policy.PolicySets{Identity: c.identity, Session: c.sessionSets,
			Resource: []policy.Named{{Name: "trust policy of role " + r.Name, Policy: trust}}})
		if !d.Allowed() {
			s.log.WithField("caller", c.Principal.ARN).WithField("role", r.Name).Debugf("%s refused: %s", a, d)
			if a != "sts:AssumeRole" {
				return AssumeRoleOutput{}, newErr(ErrAccessDenied, "User: %s is not authorized to perform: %s on resource: %s", c.Principal.ARN, a, in.RoleARN)
			}
			return AssumeRoleOutput{}, denied
		}
	}
	maxD := r.MaxSessionDuration
	if rec.Chained {
		maxD = chainedSessionLimit
		if in.DurationSeconds > chainedSessionLimit {
			return AssumeRoleOutput{}, newErr(ErrValidation, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
		}
	}
	if in.DurationSeconds > maxD {
		return AssumeRoleOutput{}, newErr(ErrValidation, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	d, err := sessionDuration(in.DurationSeconds, defaultRoleSession, maxD)
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	rec.Role, rec.RoleID = strings.ToLower(r.Name), r.ID
	tc, err := s.createSession(ctx, rec, d)
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	return AssumeRoleOutput{Credentials: tc, AssumedRoleARN: assumedRoleARN(s.account.ID, r.Name, in.RoleSessionName),
		AssumedRoleID: r.ID + ":" + in.RoleSessionName, SourceIdentity: rec.SourceIdentity, PackedPolicySize: packed}, nil
}

// checkAssumeInput validates the parameters that do not depend on the role
// and returns the session record to create (who the session descends
// from) and the packed policy size in percent.
func (s *Service) checkAssumeInput(c *Credential, in *AssumeRoleInput) (*sessionRecord, int, error) {
	if err := checkName("roleSessionName", in.RoleSessionName, minSessionNameLen, maxSessionNameLen); err != nil {
		return nil, 0, err
	}
	if in.DurationSeconds != 0 && in.DurationSeconds < minSessionDuration {
		return nil, 0, constraint(fmt.Sprint(in.DurationSeconds), "durationSeconds", "Member must have value greater than or equal to 900")
	}
	if in.ExternalID != "" && (len(in.ExternalID) < minExternalIDLen || len(in.ExternalID) > maxExternalIDLen) {
		return nil, 0, constraint(in.ExternalID, "externalId", "Member must have length between 2 and 1224")
	}
	size := 0
	if in.Policy != "" {
		if len(in.Policy) > maxPolicyDocLen {
			return nil, 0, constraint("…", "policy", "Member must have length less than or equal to 2048")
		}
		if _, err := s.compiled.get(in.Policy, policy.KindIdentity); err != nil {
			return nil, 0, malformed(err)
		}
		size = iamSize(in.Policy)
	}
	if len(in.PolicyARNs) > maxSessionPolicies {
		return nil, 0, constraint("", "policyArns", "Member must have length less than or equal to 10")
	}
	for _, arn := range in.PolicyARNs {
		if _, _, err := s.policyNameOf(arn); err != nil {
			return nil, 0, err
		}
		size += len(arn)
	}
	if size > policy.MaxSessionPolicyChars {
		return nil, 0, newErr(ErrValidation, "The size of the session policies exceeds %d characters.", policy.MaxSessionPolicyChars)
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, 0, err
	}
	si := in.SourceIdentity
	if si != "" {
		if err := checkName("sourceIdentity", si, minSourceIdentityLen, maxSourceIdentityLen); err != nil {
			return nil, 0, err
		}
		if strings.HasPrefix(strings.ToLower(si), "aws:") {
			return nil, 0, invalid("SourceIdentity must not start with aws:")
		}
	}
	if c.SourceIdentity != "" {
		if si != "" && si != c.SourceIdentity {
			return nil, 0, newErr(ErrAccessDenied, "The source identity of a role session cannot be changed.")
		}
		si = c.SourceIdentity
	}
	rec := &sessionRecord{Kind: sessionRole, SessionName: in.RoleSessionName, Policy: in.Policy,
		PolicyARNs: slices.Clone(in.PolicyARNs), Tags: tags, SourceIdentity: si}
	switch c.kind {
	case credUserKey:
		rec.User, rec.UserID = strings.ToLower(c.user.Name), c.user.ID
	case credSession:
		rec.User, rec.UserID, rec.Chained = c.session.User, c.session.UserID, true
		if c.session.Kind == sessionUser {
			rec.Chained = false // user session credentials assume like the user
		}
	}
	return rec, size * 100 / policy.MaxSessionPolicyChars, nil
}

// SweepSessions deletes the records of expired sessions (they are refused
// anyway; this only frees the space). The background loop runs it every
// SessionSweepInterval.
func (s *Service) SweepSessions(ctx context.Context) error {
	now := s.now()
	start := prefixSession
	for {
		es, err := s.stale.List(ctx, prefixSession, start, listBatch)
		if err != nil {
			return err
		}
		var tx meta.Txn
		for _, e := range es {
			var rec sessionRecord
			if err := decode(e, &rec); err != nil {
				return err
			}
			if !now.Before(rec.Expiration) {
				tx.Compares = append(tx.Compares, meta.Compare{Key: e.Key, Revision: e.Revision})
				tx.Ops = append(tx.Ops, meta.Delete(e.Key))
			}
		}
		if len(tx.Ops) > 0 {
			if _, err := s.kv.Txn(ctx, tx); err != nil && !isCompareFailed(err) {
				return err
			}
		}
		if len(es) < listBatch {
			return nil
		}
		start = es[len(es)-1].Key + "\x00"
	}
}
