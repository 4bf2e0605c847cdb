package iam

import (
	"context"
	"testing"

	"github.com/filesphere/filesphere/iam/policy"
)

func TestAuthorizeCombinesPolicies(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	acct := s.Account().ID
	k := newUserWithKey(t, s, "alice")
	bob := newUserWithKey(t, s, "bob")
	// alice: inline read on "photos", a group whose managed policy allows
	// writes to photos/*, and the group's inline Deny of deletes under
	// photos/keep/.
	ok(t, s.PutInlinePolicy(ctx, UserEntity("alice"), "read",
		`{"Version":"2012-10-17","Statement":{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"]}}`))
	must[Group](t)(s.CreateGroup(ctx, "writers", ""))
	ok(t, s.AddUserToGroup(ctx, "writers", "alice"))
	mp := must[ManagedPolicy](t)(s.CreatePolicy(ctx, CreatePolicyInput{Name: "Write",
		Document: `{"Version":"2012-10-17","Statement":{"Sid":"Write","Effect":"Allow","Action":["s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::photos/*"}}`}))
	ok(t, s.AttachPolicy(ctx, GroupEntity("writers"), mp.ARN))
	ok(t, s.PutInlinePolicy(ctx, GroupEntity("writers"), "keep",
		`{"Version":"2012-10-17","Statement":{"Sid":"Keep","Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::photos/keep/*"}}`))
	// The bucket "shared" grants bob reads by bucket policy only.
	bucketPolicy, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[
	  {"Sid":"BobReads","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:user/bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"},
	  {"Sid":"PublicReadme","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/README"},
	  {"Sid":"NoTLSNoService","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::shared/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`),
		policy.KindResource)
	ok(t, err)

	alice := must[*Credential](t)(s.Credentials(ctx, k.AccessKeyID))
	bobC := must[*Credential](t)(s.Credentials(ctx, bob.AccessKeyID))
	root := must[*Credential](t)(s.Credentials(ctx, "rootkey"))
	tls := ctxWith(policy.KeySecureTransport, "true")
	plain := ctxWith(policy.KeySecureTransport, "false")
	tests := []struct {
		name     string
		caller   *Credential
		action   string
		resource string
		bucket   *policy.Policy
		ctx      policy.Context
		effect   policy.Effect
		reason   policy.Reason
		sid      string
	}{
		{"user inline allows", alice, "s3:GetObject", "arn:aws:s3:::photos/a.jpg", nil, tls, policy.Allow, policy.ReasonAllowed, "Read"},
		{"group managed allows", alice, "s3:PutObject", "arn:aws:s3:::photos/a.jpg", nil, tls, policy.Allow, policy.ReasonAllowed, "Write"},
		{"group managed allows delete", alice, "s3:DeleteObject", "arn:aws:s3:::photos/a.jpg", nil, tls, policy.Allow, policy.ReasonAllowed, "Write"},
		{"group inline deny wins", alice, "s3:DeleteObject", "arn:aws:s3:::photos/keep/a.jpg", nil, tls, policy.Deny, policy.ReasonExplicitDeny, "Keep"},
		{"nothing allows", alice, "s3:PutObject", "arn:aws:s3:::other/a.jpg", nil, tls, policy.Deny, policy.ReasonImplicitDeny, ""},
		{"bucket policy allows bob", bobC, "s3:GetObject", "arn:aws:s3:::shared/x", bucketPolicy, tls, policy.Allow, policy.ReasonAllowed, "BobReads"},
		{"bucket policy deny wins over it", bobC, "s3:GetObject", "arn:aws:s3:::shared/x", bucketPolicy, plain, policy.Deny, policy.ReasonExplicitDeny, "NoTLSNoService"},
		{"bucket policy does not name alice", alice, "s3:GetObject", "arn:aws:s3:::shared/x", bucketPolicy, tls, policy.Deny, policy.ReasonImplicitDeny, ""},
		{"anonymous public object", nil, "s3:GetObject", "arn:aws:s3:::shared/README", bucketPolicy, tls, policy.Allow, policy.ReasonAllowed, "PublicReadme"},
		{"anonymous elsewhere", nil, "s3:GetObject", "arn:aws:s3:::shared/x", bucketPolicy, tls, policy.Deny, policy.ReasonImplicitDeny, ""},
		{"anonymous without bucket policy", nil, "s3:GetObject", "arn:aws:s3:::photos/a.jpg", nil, tls, policy.Deny, policy.ReasonImplicitDeny, ""},
		{"root", root, "s3:DeleteBucket", "arn:aws:s3:::photos", nil, tls, policy.Allow, policy.ReasonRoot, ""},
		{"root denied by bucket policy", root, "s3:GetObject", "arn:aws:s3:::shared/x", bucketPolicy, plain, policy.Deny, policy.ReasonExplicitDeny, "NoTLSNoService"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := s.Authorize(ctx, AuthRequest{Caller: tc.caller, Action: tc.action, Resource: tc.resource,
				ResourcePolicy: tc.bucket, ResourcePolicyName: "bucket policy", Context: tc.ctx})
			ok(t, err)
			if d.Effect != tc.effect || d.Reason != tc.reason || d.Sid != tc.sid {
				t.Fatalf("decision %s; want %s (%s) sid %q", d, tc.effect, tc.reason, tc.sid)
			}
		})
	}

	// Changes apply to the next request, with the credential obtained
	// before them: a new managed-policy default version, a detach.
	get := AuthRequest{Caller: alice, Action: "s3:PutObject", Resource: "arn:aws:s3:::photos/a.jpg"}
	must[PolicyVersion](t)(s.CreatePolicyVersion(ctx, mp.ARN,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::elsewhere/*"}}`, true))
	if d := must[policy.Decision](t)(s.Authorize(ctx, get)); d.Allowed() {
		t.Fatalf("old default version still in force: %s", d)
	}
	ok(t, s.SetDefaultPolicyVersion(ctx, mp.ARN, "v1"))
	if d := must[policy.Decision](t)(s.Authorize(ctx, get)); !d.Allowed() {
		t.Fatalf("v1 again: %s", d)
	}
	ok(t, s.RemoveUserFromGroup(ctx, "writers", "alice"))
	if d := must[policy.Decision](t)(s.Authorize(ctx, get)); d.Allowed() {
		t.Fatalf("left the group, still allowed: %s", d)
	}
	ok(t, s.UpdateAccessKey(ctx, "alice", k.AccessKeyID, KeyInactive))
	_, err = s.Authorize(ctx, AuthRequest{Caller: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"})
	wantKind(t, err, ErrAccessKeyInactive)
}

// Policy variables resolve from the principal iam builds.
func TestAuthorizePolicyVariables(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	k := newUserWithKey(t, s, "carol")
	ok(t, s.TagEntity(ctx, UserEntity("carol"), []Tag{{"dept", "geo"}}))
	ok(t, s.PutInlinePolicy(ctx, UserEntity("carol"), "home", `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"},
	  {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::depts/${aws:PrincipalTag/dept}/*"}]}`))
	c := must[*Credential](t)(s.Credentials(ctx, k.AccessKeyID))
	for _, tc := range []struct {
		action, resource string
		allowed          bool
	}{
		{"s3:PutObject", "arn:aws:s3:::home/carol/x", true},
		{"s3:PutObject", "arn:aws:s3:::home/dave/x", false},
		{"s3:GetObject", "arn:aws:s3:::depts/geo/x", true},
		{"s3:GetObject", "arn:aws:s3:::depts/hr/x", false},
	} {
		d := must[policy.Decision](t)(s.Authorize(ctx, AuthRequest{Caller: c, Action: tc.action, Resource: tc.resource}))
		if d.Allowed() != tc.allowed {
			t.Errorf("%s %s: %s", tc.action, tc.resource, d)
		}
	}
}
