package iam

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/iam/policy"
)

func TestGetSessionToken(t *testing.T) {
	s, clk, _ := newTestService(t)
	ctx := context.Background()
	k := newUserWithKey(t, s, "alice")
	ok(t, s.PutInlinePolicy(ctx, UserEntity("alice"), "s3", allowAllS3))
	caller := must[*Credential](t)(s.Credentials(ctx, k.AccessKeyID))

	tc, err := s.GetSessionToken(ctx, caller, 900)
	ok(t, err)
	if !regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`).MatchString(tc.AccessKeyID) || len(tc.SecretAccessKey) != 40 || len(tc.SessionToken) < 100 {
		t.Fatalf("temporary credentials %s", tc)
	}
	if want := clk.Now().Add(900 * time.Second); !tc.Expiration.Equal(want) {
		t.Fatalf("expiration %v; want %v", tc.Expiration, want)
	}
	c, err := s.Credentials(ctx, tc.AccessKeyID)
	ok(t, err)
	if !c.Temporary || c.SecretAccessKey != tc.SecretAccessKey || c.Principal.Type != policy.PrincipalUser || c.Principal.Username != "alice" {
		t.Fatalf("session credential %+v", c)
	}
	ok(t, c.VerifySessionToken(tc.SessionToken))
	for _, bad := range []string{"", tc.SessionToken[1:], strings.ToLower(tc.SessionToken)} {
		wantKind(t, c.VerifySessionToken(bad), ErrInvalidToken)
	}
	// The session has the user's permissions.
	d := must[policy.Decision](t)(s.Authorize(ctx, AuthRequest{Caller: c, Action: "s3:GetObject", Resource: policy.S3ObjectARN("b", "k")}))
	if !d.Allowed() {
		t.Fatalf("session of alice: %s", d)
	}
	_, err = s.GetSessionToken(ctx, c, 0)
	wantKind(t, err, ErrAccessDenied) // not with session credentials
	for _, d := range []int{899, 129601} {
		_, err = s.GetSessionToken(ctx, caller, d)
		wantKind(t, err, ErrValidation)
	}
	root := must[*Credential](t)(s.Credentials(ctx, "rootkey"))
	_, err = s.GetSessionToken(ctx, root, 3601)
	wantKind(t, err, ErrValidation)
	rs := must[TemporaryCredentials](t)(s.GetSessionToken(ctx, root, 0))
	if rc := must[*Credential](t)(s.Credentials(ctx, rs.AccessKeyID)); rc.Principal.Type != policy.PrincipalAccount {
		t.Fatalf("root session principal %+v", rc.Principal)
	}

	// Expiry, by the injected clock: refused from the expiration on.
	clk.Advance(899 * time.Second)
	must[*Credential](t)(s.Credentials(ctx, tc.AccessKeyID))
	clk.Advance(time.Second)
	_, err = s.Credentials(ctx, tc.AccessKeyID)
	wantKind(t, err, ErrExpiredToken)
	_, err = s.Authorize(ctx, AuthRequest{Caller: c, Action: "s3:GetObject", Resource: policy.S3ObjectARN("b", "k")})
	wantKind(t, err, ErrExpiredToken)

	// Sweeping removes the expired session record (and nothing else).
	ok(t, s.SweepSessions(ctx))
	es, err := s.kv.List(ctx, prefixSession, "", 0)
	ok(t, err)
	if len(es) != 1 { // the root session lasts 3600 s
		t.Fatalf("%d session records after the sweep", len(es))
	}
}

func TestSessionDiesWithItsUser(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	k := newUserWithKey(t, s, "alice")
	caller := must[*Credential](t)(s.Credentials(ctx, k.AccessKeyID))
	tc := must[TemporaryCredentials](t)(s.GetSessionToken(ctx, caller, 0))
	must[*Credential](t)(s.Credentials(ctx, tc.AccessKeyID))

	ok(t, s.SetUserEnabled(ctx, "alice", false))
	_, err := s.Credentials(ctx, tc.AccessKeyID)
	wantKind(t, err, ErrUserDisabled)
	ok(t, s.SetUserEnabled(ctx, "alice", true))
	must[*Credential](t)(s.Credentials(ctx, tc.AccessKeyID))

	ok(t, s.DeleteAccessKey(ctx, "alice", k.AccessKeyID))
	ok(t, s.DeleteUser(ctx, "alice"))
	_, err = s.Credentials(ctx, tc.AccessKeyID)
	wantKind(t, err, ErrInvalidAccessKeyID)
	// Re-creating the name makes a new user; the old session stays dead.
	must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "alice"}))
	_, err = s.Credentials(ctx, tc.AccessKeyID)
	wantKind(t, err, ErrInvalidAccessKeyID)
}

// assumeSetup makes user alice (with key) and role r whose trust policy is
// trust ("" = trust alice by ARN).
func assumeSetup(t *testing.T, trust string) (*Service, *testClock, *Credential) {
	s, clk, _ := newTestService(t)
	ctx := context.Background()
	k := newUserWithKey(t, s, "alice")
	if trust == "" {
		trust = trustUser(s, "alice")
	}
	must[Role](t)(s.CreateRole(ctx, CreateRoleInput{Name: "r", Path: "/svc/", TrustPolicy: trust, MaxSessionDuration: 7200}))
	ok(t, s.PutInlinePolicy(ctx, RoleEntity("r"), "s3", allowAllS3))
	return s, clk, must[*Credential](t)(s.Credentials(ctx, k.AccessKeyID))
}

func roleARNOf(s *Service) string { return "arn:aws:iam::" + s.Account().ID + ":role/svc/r" }

func TestAssumeRoleTrust(t *testing.T) {
	ctx := context.Background()
	acct := func(s *Service) string { return s.Account().ID }
	trustDoc := func(principal, extra string) func(s *Service) string {
		return func(s *Service) string {
			return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` +
				strings.ReplaceAll(principal, "ACCT", acct(s)) + `"},"Action":"sts:AssumeRole"` + extra + `}]}`
		}
	}
	tests := []struct {
		name     string
		trust    func(s *Service) string
		identity string // alice's inline policy, "" none
		in       AssumeRoleInput
		allowed  bool
	}{
		{"trusts alice by ARN", trustDoc("arn:aws:iam::ACCT:user/alice", ""), "", AssumeRoleInput{}, true},
		{"trusts bob only", trustDoc("arn:aws:iam::ACCT:user/bob", ""), "", AssumeRoleInput{}, false},
		{"trusts the account, no identity allow", trustDoc("arn:aws:iam::ACCT:root", ""), "", AssumeRoleInput{}, false},
		{"trusts the account, identity allows", trustDoc("ACCT", ""),
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}`, AssumeRoleInput{}, true},
		{"identity denies", trustDoc("arn:aws:iam::ACCT:user/alice", ""),
			`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"sts:*","Resource":"*"}}`, AssumeRoleInput{}, false},
		{"external id required and given", trustDoc("arn:aws:iam::ACCT:user/alice", `,"Condition":{"StringEquals":{"sts:ExternalId":"xyz"}}`),
			"", AssumeRoleInput{ExternalID: "xyz"}, true},
		{"external id required, wrong", trustDoc("arn:aws:iam::ACCT:user/alice", `,"Condition":{"StringEquals":{"sts:ExternalId":"xyz"}}`),
			"", AssumeRoleInput{ExternalID: "abc"}, false},
		{"source ip condition", trustDoc("arn:aws:iam::ACCT:user/alice", `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`),
			"", AssumeRoleInput{Context: ctxWith(policy.KeySourceIP, "10.1.2.3")}, true},
		{"source ip condition, other ip", trustDoc("arn:aws:iam::ACCT:user/alice", `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`),
			"", AssumeRoleInput{Context: ctxWith(policy.KeySourceIP, "192.0.2.1")}, false},
		{"tags need sts:TagSession", trustDoc("arn:aws:iam::ACCT:user/alice", ""), "", AssumeRoleInput{Tags: []Tag{{"k", "v"}}}, false},
		{"session name condition", trustDoc("arn:aws:iam::ACCT:user/alice", `,"Condition":{"StringLike":{"sts:RoleSessionName":"${aws:username}"}}`),
			"", AssumeRoleInput{RoleSessionName: "alice"}, true},
		{"session name condition, other name", trustDoc("arn:aws:iam::ACCT:user/alice", `,"Condition":{"StringLike":{"sts:RoleSessionName":"${aws:username}"}}`),
			"", AssumeRoleInput{RoleSessionName: "mallory"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, alice := assumeSetup(t, "")
			ok(t, s.UpdateAssumeRolePolicy(ctx, "r", tc.trust(s)))
			if tc.identity != "" {
				ok(t, s.PutInlinePolicy(ctx, UserEntity("alice"), "id", tc.identity))
			}
			in := tc.in
			in.RoleARN = roleARNOf(s)
			if in.RoleSessionName == "" {
				in.RoleSessionName = "sess"
			}
			out, err := s.AssumeRole(ctx, alice, in)
			if !tc.allowed {
				wantKind(t, err, ErrAccessDenied)
				return
			}
			ok(t, err)
			c := must[*Credential](t)(s.Credentials(ctx, out.Credentials.AccessKeyID))
			ok(t, c.VerifySessionToken(out.Credentials.SessionToken))
		})
	}
}

func ctxWith(key string, vals ...string) policy.Context {
	var c policy.Context
	c.Set(key, vals...)
	return c
}

func TestAssumeRoleSession(t *testing.T) {
	s, clk, alice := assumeSetup(t, "")
	ctx := context.Background()
	out, err := s.AssumeRole(ctx, alice, AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "build-42",
		Tags: []Tag{{"project", "x"}}, SourceIdentity: "alice@example.com"})
	ok(t, err)
	acct := s.Account().ID
	role := must[Role](t)(s.GetRole(ctx, "r"))
	if out.AssumedRoleARN != "arn:aws:sts::"+acct+":assumed-role/r/build-42" || out.AssumedRoleID != role.RoleID+":build-42" ||
		out.SourceIdentity != "alice@example.com" {
		t.Fatalf("output %+v", out)
	}
	if want := clk.Now().Add(time.Hour); !out.Credentials.Expiration.Equal(want) {
		t.Fatalf("default duration: expires %v, want %v", out.Credentials.Expiration, want)
	}
	c := must[*Credential](t)(s.Credentials(ctx, out.Credentials.AccessKeyID))
	p := c.Principal
	if p.Type != policy.PrincipalAssumedRole || p.ARN != out.AssumedRoleARN || p.RoleARN != role.ARN ||
		p.UserID != out.AssumedRoleID || p.Tags["project"] != "x" || c.SourceIdentity != "alice@example.com" {
		t.Fatalf("principal %+v", p)
	}
	// The role's permissions, not alice's (she has none).
	get := AuthRequest{Caller: c, Action: "s3:GetObject", Resource: policy.S3ObjectARN("b", "k")}
	if d := must[policy.Decision](t)(s.Authorize(ctx, get)); !d.Allowed() {
		t.Fatalf("role session: %s", d)
	}
	// Tags the role session carries are usable in conditions.
	ok(t, s.PutInlinePolicy(ctx, RoleEntity("r"), "deny-x", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/project":"x","aws:SourceIdentity":"alice@example.com"}}}}`))
	if d := must[policy.Decision](t)(s.Authorize(ctx, AuthRequest{Caller: c, Action: "s3:DeleteObject", Resource: policy.S3ObjectARN("b", "k")})); d.Reason != policy.ReasonExplicitDeny {
		t.Fatalf("tag condition: %s", d)
	}

	// Role chaining (the role trusts its own sessions too): at most one
	// hour, source identity passed on and unchangeable.
	ok(t, s.UpdateAssumeRolePolicy(ctx, "r", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::`+
		acct+`:user/alice","`+role.ARN+`"]},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`))
	_, err = s.AssumeRole(ctx, c, AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "chain", DurationSeconds: 3601})
	wantKind(t, err, ErrValidation)
	_, err = s.AssumeRole(ctx, c, AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "chain", SourceIdentity: "bob"})
	wantKind(t, err, ErrAccessDenied)
	chained := must[AssumeRoleOutput](t)(s.AssumeRole(ctx, c, AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "chain"}))
	if chained.SourceIdentity != "alice@example.com" {
		t.Fatalf("chained session lost the source identity: %+v", chained)
	}
	// The chained session still dies with alice.
	ok(t, s.SetUserEnabled(ctx, "alice", false))
	_, err = s.Credentials(ctx, chained.Credentials.AccessKeyID)
	wantKind(t, err, ErrUserDisabled)
	ok(t, s.SetUserEnabled(ctx, "alice", true))

	// Duration bounds: [900, role max].
	for _, tc := range []struct {
		d    int
		kind error
	}{{899, ErrValidation}, {7201, ErrValidation}, {900, nil}, {7200, nil}} {
		out, err := s.AssumeRole(ctx, alice, AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "dd", DurationSeconds: tc.d})
		if tc.kind != nil {
			wantKind(t, err, tc.kind)
			continue
		}
		ok(t, err)
		if want := clk.Now().Add(time.Duration(tc.d) * time.Second); !out.Credentials.Expiration.Equal(want) {
			t.Fatalf("duration %d: expires %v", tc.d, out.Credentials.Expiration)
		}
	}
	// Input errors.
	for _, tc := range []struct {
		in   AssumeRoleInput
		kind error
	}{
		{AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "a"}, ErrValidation},
		{AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "a b"}, ErrValidation},
		{AssumeRoleInput{RoleARN: "not-an-arn", RoleSessionName: "ab"}, ErrInvalidInput},
		{AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/nope", RoleSessionName: "ab"}, ErrAccessDenied},
		{AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/r", RoleSessionName: "ab"}, ErrAccessDenied}, // wrong path
		{AssumeRoleInput{RoleARN: "arn:aws:iam::123456789012:role/svc/r", RoleSessionName: "ab"}, ErrAccessDenied},
		{AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "ab", Policy: `{"Statement":[]}`}, ErrMalformedPolicyDocument},
		{AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "ab", Policy: docOfSize(2049)}, ErrValidation},
		{AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "ab", Tags: []Tag{{"aws:x", "y"}}}, ErrInvalidInput},
		{AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "ab", SourceIdentity: "x"}, ErrValidation},
	} {
		_, err := s.AssumeRole(ctx, alice, tc.in)
		wantKind(t, err, tc.kind)
	}
	root := must[*Credential](t)(s.Credentials(ctx, "rootkey"))
	_, err = s.AssumeRole(ctx, root, AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "ab"})
	wantKind(t, err, ErrAccessDenied)
	_, err = s.AssumeRole(ctx, nil, AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "ab"})
	wantKind(t, err, ErrAccessDenied)

	// Deleting the role ends its sessions at once.
	ok(t, s.DeleteInlinePolicy(ctx, RoleEntity("r"), "s3"))
	ok(t, s.DeleteInlinePolicy(ctx, RoleEntity("r"), "deny-x"))
	ok(t, s.DeleteRole(ctx, "r"))
	_, err = s.Credentials(ctx, out.Credentials.AccessKeyID)
	wantKind(t, err, ErrInvalidAccessKeyID)
}

func TestAssumeRoleSessionPolicyNarrows(t *testing.T) {
	s, _, alice := assumeSetup(t, "")
	ctx := context.Background()
	readOnly := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`
	mp := must[ManagedPolicy](t)(s.CreatePolicy(ctx, CreatePolicyInput{Name: "list", Document: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}}`}))
	assume := func(in AssumeRoleInput) *Credential {
		in.RoleARN, in.RoleSessionName = roleARNOf(s), "narrow"
		out, err := s.AssumeRole(ctx, alice, in)
		ok(t, err)
		return must[*Credential](t)(s.Credentials(ctx, out.Credentials.AccessKeyID))
	}
	allowed := func(c *Credential, action, resource string) bool {
		return must[policy.Decision](t)(s.Authorize(ctx, AuthRequest{Caller: c, Action: action, Resource: resource})).Allowed()
	}
	full := assume(AssumeRoleInput{})
	inline := assume(AssumeRoleInput{Policy: readOnly})
	managed := assume(AssumeRoleInput{PolicyARNs: []string{mp.ARN}})
	both := assume(AssumeRoleInput{Policy: readOnly, PolicyARNs: []string{mp.ARN}})
	tests := []struct {
		c                      *Credential
		name                   string
		get, put, list, otherB bool
	}{
		{full, "no session policy", true, true, true, true},
		{inline, "inline read-only", true, false, false, false},
		{managed, "managed list", false, false, true, true},
		{both, "inline + managed (either allows)", true, false, true, true},
	}
	for _, tc := range tests {
		got := [4]bool{allowed(tc.c, "s3:GetObject", "arn:aws:s3:::b/k"), allowed(tc.c, "s3:PutObject", "arn:aws:s3:::b/k"),
			allowed(tc.c, "s3:ListBucket", "arn:aws:s3:::b"), allowed(tc.c, "s3:GetObject", "arn:aws:s3:::other/k") || allowed(tc.c, "s3:ListBucket", "arn:aws:s3:::other")}
		if want := [4]bool{tc.get, tc.put, tc.list, tc.otherB}; got != want {
			t.Errorf("%s: get/put/list/other = %v; want %v", tc.name, got, want)
		}
	}
	// A managed session policy deleted later allows nothing; it never
	// widens the session to the role's full permissions.
	ok(t, s.DeletePolicy(ctx, mp.ARN))
	managed = must[*Credential](t)(s.Credentials(ctx, managed.AccessKeyID))
	if allowed(managed, "s3:ListBucket", "arn:aws:s3:::b") || allowed(managed, "s3:PutObject", "arn:aws:s3:::b/k") {
		t.Fatal("deleting the session's managed policy widened the session")
	}
}

// A role session started by a user stops when that user is disabled.
func TestRoleSessionDiesWithUser(t *testing.T) {
	s, _, alice := assumeSetup(t, "")
	ctx := context.Background()
	out := must[AssumeRoleOutput](t)(s.AssumeRole(ctx, alice, AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "s1"}))
	c := must[*Credential](t)(s.Credentials(ctx, out.Credentials.AccessKeyID))
	ok(t, s.SetUserEnabled(ctx, "alice", false))
	_, err := s.Credentials(ctx, out.Credentials.AccessKeyID)
	wantKind(t, err, ErrUserDisabled)
	_, err = s.Authorize(ctx, AuthRequest{Caller: c, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"})
	wantKind(t, err, ErrUserDisabled)
}

func TestAssumeRoleUnknownSessionPolicy(t *testing.T) {
	s, _, alice := assumeSetup(t, "")
	_, err := s.AssumeRole(context.Background(), alice, AssumeRoleInput{RoleARN: roleARNOf(s), RoleSessionName: "ab",
		PolicyARNs: []string{"arn:aws:iam::" + s.Account().ID + ":policy/nope"}})
	wantKind(t, err, ErrNoSuchEntity)
}
