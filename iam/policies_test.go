package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/iam/policy"
)

// docOfSize is an identity policy of about n IAM characters.
func docOfSize(n int) string {
	base := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s"}]}`
	pad := n - policy.IAMSize([]byte(fmt.Sprintf(base, "")))
	return fmt.Sprintf(base, strings.Repeat("b", max(pad, 1)))
}

func TestManagedPolicyVersions(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	p, err := s.CreatePolicy(ctx, CreatePolicyInput{Name: "ReadAll", Path: "/team/", Document: allowAllS3, Description: "d"})
	ok(t, err)
	if p.ARN != "arn:aws:iam::"+s.Account().ID+":policy/team/ReadAll" || p.DefaultVersionID != "v1" || p.PolicyID[:4] != "ANPA" {
		t.Fatalf("policy %+v", p)
	}
	_, err = s.CreatePolicy(ctx, CreatePolicyInput{Name: "readall", Document: allowAllS3})
	wantKind(t, err, ErrEntityAlreadyExists)

	for i := 2; i <= maxPolicyVersions; i++ {
		v := must[PolicyVersion](t)(s.CreatePolicyVersion(ctx, p.ARN, docOfSize(200), i == 3))
		if v.VersionID != fmt.Sprint("v", i) || v.IsDefault != (i == 3) {
			t.Fatalf("version %+v", v)
		}
	}
	_, err = s.CreatePolicyVersion(ctx, p.ARN, allowAllS3, false)
	wantKind(t, err, ErrLimitExceeded)
	if got := must[ManagedPolicy](t)(s.GetPolicy(ctx, p.ARN)); got.DefaultVersionID != "v3" {
		t.Fatalf("default %s", got.DefaultVersionID)
	}
	wantKind(t, s.DeletePolicyVersion(ctx, p.ARN, "v3"), ErrDeleteConflict)
	wantKind(t, s.DeletePolicyVersion(ctx, p.ARN, "v9"), ErrNoSuchEntity)
	wantKind(t, s.DeletePolicyVersion(ctx, p.ARN, "x1"), ErrValidation)
	ok(t, s.DeletePolicyVersion(ctx, p.ARN, "v2"))
	v := must[PolicyVersion](t)(s.CreatePolicyVersion(ctx, p.ARN, allowAllS3, false))
	if v.VersionID != "v6" { // ids are never reused
		t.Fatalf("new version id %s", v.VersionID)
	}
	vs := must[[]PolicyVersion](t)(s.ListPolicyVersions(ctx, p.ARN))
	if len(vs) != 5 || vs[0].VersionID != "v6" || vs[4].VersionID != "v1" {
		t.Fatalf("versions %+v", vs)
	}
	ok(t, s.SetDefaultPolicyVersion(ctx, p.ARN, "v1"))
	got := must[PolicyVersion](t)(s.GetPolicyVersion(ctx, p.ARN, "v1"))
	if !got.IsDefault || got.Document != allowAllS3 {
		t.Fatalf("v1 %+v", got)
	}
	wantKind(t, s.DeletePolicy(ctx, p.ARN), ErrDeleteConflict) // versions left
	for _, id := range []string{"v3", "v4", "v5", "v6"} {
		ok(t, s.DeletePolicyVersion(ctx, p.ARN, id))
	}
	must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "u"}))
	ok(t, s.AttachPolicy(ctx, UserEntity("u"), p.ARN))
	err = s.DeletePolicy(ctx, p.ARN)
	wantKind(t, err, ErrDeleteConflict)
	if err.Error() != "Cannot delete a policy attached to entities." {
		t.Fatalf("message %q", err)
	}
	if got := must[ManagedPolicy](t)(s.GetPolicy(ctx, p.ARN)); got.AttachmentCount != 1 {
		t.Fatalf("attachments %d", got.AttachmentCount)
	}
	ok(t, s.DetachPolicy(ctx, UserEntity("u"), p.ARN))
	wantKind(t, s.DetachPolicy(ctx, UserEntity("u"), p.ARN), ErrNoSuchEntity)
	ok(t, s.DeletePolicy(ctx, p.ARN))
	_, err = s.GetPolicy(ctx, p.ARN)
	wantKind(t, err, ErrNoSuchEntity)
}

func TestPolicyDocumentErrors(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "u"}))
	must[Group](t)(s.CreateGroup(ctx, "g", ""))
	must[Role](t)(s.CreateRole(ctx, CreateRoleInput{Name: "r", TrustPolicy: trustUser(s, "u")}))
	bad := `{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"s3:*","Resource":"*"}]}`
	withPrincipal := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`
	tests := []struct {
		name string
		call func() error
		kind error
	}{
		{"managed: bad effect", func() error {
			_, err := s.CreatePolicy(ctx, CreatePolicyInput{Name: "p1", Document: bad})
			return err
		}, ErrMalformedPolicyDocument},
		{"managed: principal not allowed", func() error {
			_, err := s.CreatePolicy(ctx, CreatePolicyInput{Name: "p1", Document: withPrincipal})
			return err
		}, ErrMalformedPolicyDocument},
		{"managed: over 6144", func() error {
			_, err := s.CreatePolicy(ctx, CreatePolicyInput{Name: "p1", Document: docOfSize(6145)})
			return err
		}, ErrLimitExceeded},
		{"managed: not JSON", func() error {
			_, err := s.CreatePolicy(ctx, CreatePolicyInput{Name: "p1", Document: "{"})
			return err
		}, ErrMalformedPolicyDocument},
		{"user inline over 2048", func() error { return s.PutInlinePolicy(ctx, UserEntity("u"), "p", docOfSize(2049)) }, ErrLimitExceeded},
		{"group inline over 5120", func() error { return s.PutInlinePolicy(ctx, GroupEntity("g"), "p", docOfSize(5121)) }, ErrLimitExceeded},
		{"role inline over 10240", func() error { return s.PutInlinePolicy(ctx, RoleEntity("r"), "p", docOfSize(10241)) }, ErrLimitExceeded},
		{"inline malformed", func() error { return s.PutInlinePolicy(ctx, UserEntity("u"), "p", bad) }, ErrMalformedPolicyDocument},
		{"inline bad name", func() error { return s.PutInlinePolicy(ctx, UserEntity("u"), "p q", allowAllS3) }, ErrValidation},
		{"inline no user", func() error { return s.PutInlinePolicy(ctx, UserEntity("x"), "p", allowAllS3) }, ErrNoSuchEntity},
		{"trust policy without principal", func() error { return s.UpdateAssumeRolePolicy(ctx, "r", allowAllS3) }, ErrMalformedPolicyDocument},
		{"attach policy of another account", func() error {
			return s.AttachPolicy(ctx, UserEntity("u"), "arn:aws:iam::aws:policy/AdministratorAccess")
		}, ErrNoSuchEntity},
		{"attach malformed ARN", func() error { return s.AttachPolicy(ctx, UserEntity("u"), "nope") }, ErrInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantKind(t, tc.call(), tc.kind) })
	}
	// The typed policy error stays reachable for the message.
	_, err := s.CreatePolicy(ctx, CreatePolicyInput{Name: "p1", Document: bad})
	var pe *policy.Error
	if !errors.As(err, &pe) || !errors.Is(err, policy.ErrBadEffect) {
		t.Fatalf("err %v does not wrap the *policy.Error", err)
	}
	if names := must[[]string](t)(s.ListInlinePolicies(ctx, UserEntity("u"))); len(names) != 0 {
		t.Fatalf("refused inline policies were stored: %v", names)
	}
}

func TestInlinePolicies(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "u"}))
	e := UserEntity("u")
	// The user limit counts all inline policies together; replacing one
	// counts only the new text.
	ok(t, s.PutInlinePolicy(ctx, e, "b", docOfSize(1000)))
	ok(t, s.PutInlinePolicy(ctx, e, "a", docOfSize(1000)))
	wantKind(t, s.PutInlinePolicy(ctx, e, "c", docOfSize(100)), ErrLimitExceeded)
	ok(t, s.PutInlinePolicy(ctx, e, "a", docOfSize(1040)))
	names := must[[]string](t)(s.ListInlinePolicies(ctx, e))
	if strings.Join(names, ",") != "a,b" {
		t.Fatalf("names %v", names)
	}
	if doc := must[string](t)(s.GetInlinePolicy(ctx, e, "a")); doc != docOfSize(1040) {
		t.Fatalf("doc %s", doc)
	}
	ok(t, s.DeleteInlinePolicy(ctx, e, "a"))
	wantKind(t, s.DeleteInlinePolicy(ctx, e, "a"), ErrNoSuchEntity)
	_, err := s.GetInlinePolicy(ctx, e, "a")
	wantKind(t, err, ErrNoSuchEntity)
}

func TestAttachLimit(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	must[Role](t)(s.CreateRole(ctx, CreateRoleInput{Name: "r", TrustPolicy: trustUser(s, "u")}))
	for i := 0; i <= maxAttached; i++ {
		p := must[ManagedPolicy](t)(s.CreatePolicy(ctx, CreatePolicyInput{Name: fmt.Sprint("p", i), Document: allowAllS3}))
		err := s.AttachPolicy(ctx, RoleEntity("r"), p.ARN)
		if i < maxAttached {
			ok(t, err)
			ok(t, s.AttachPolicy(ctx, RoleEntity("r"), p.ARN)) // again: no-op
		} else {
			wantKind(t, err, ErrLimitExceeded)
		}
	}
	att := must[[]AttachedPolicy](t)(s.ListAttachedPolicies(ctx, RoleEntity("r")))
	if len(att) != maxAttached || att[0].PolicyName != "p0" {
		t.Fatalf("attached %+v", att)
	}
	if p := must[ManagedPolicy](t)(s.GetPolicy(ctx, att[0].PolicyARN)); p.AttachmentCount != 1 {
		t.Fatalf("attachment count %d after attaching twice", p.AttachmentCount)
	}
	ps, _, err := s.ListPolicies(ctx, ListOptions{MaxItems: 5})
	ok(t, err)
	if len(ps) != 5 {
		t.Fatalf("ListPolicies %d", len(ps))
	}
}
