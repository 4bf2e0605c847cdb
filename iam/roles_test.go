package iam

import (
	"context"
	"testing"
)

// trustUser is a trust policy letting user name assume the role.
func trustUser(s *Service, name string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` +
		s.Account().ID + `:user/` + name + `"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
}

func TestRoles(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	r, err := s.CreateRole(ctx, CreateRoleInput{Name: "Deploy", Path: "/ci/", TrustPolicy: trustUser(s, "u"), Tags: []Tag{{"env", "prod"}}})
	ok(t, err)
	if r.ARN != "arn:aws:iam::"+s.Account().ID+":role/ci/Deploy" || r.MaxSessionDuration != 3600 || r.RoleID[:4] != "AROA" {
		t.Fatalf("role %+v", r)
	}
	tests := []struct {
		name string
		in   CreateRoleInput
		kind error
	}{
		{"duplicate", CreateRoleInput{Name: "deploy", TrustPolicy: trustUser(s, "u")}, ErrEntityAlreadyExists},
		{"session too long", CreateRoleInput{Name: "r2", TrustPolicy: trustUser(s, "u"), MaxSessionDuration: 43201}, ErrValidation},
		{"session too short", CreateRoleInput{Name: "r2", TrustPolicy: trustUser(s, "u"), MaxSessionDuration: 3599}, ErrValidation},
		{"identity policy as trust", CreateRoleInput{Name: "r2", TrustPolicy: allowAllS3}, ErrMalformedPolicyDocument},
		{"trust too large", CreateRoleInput{Name: "r2", TrustPolicy: bigTrust(s)}, ErrLimitExceeded},
		{"long description", CreateRoleInput{Name: "r2", TrustPolicy: trustUser(s, "u"), Description: string(make([]byte, 1001))}, ErrValidation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateRole(ctx, tc.in)
			wantKind(t, err, tc.kind)
		})
	}
	desc := "deploys"
	ok(t, s.UpdateRole(ctx, "Deploy", &desc, 43200))
	wantKind(t, s.UpdateRole(ctx, "Deploy", nil, 100), ErrValidation)
	ok(t, s.UpdateAssumeRolePolicy(ctx, "Deploy", trustUser(s, "v")))
	got := must[Role](t)(s.GetRole(ctx, "deploy"))
	if got.Description != "deploys" || got.MaxSessionDuration != 43200 || got.TrustPolicy != trustUser(s, "v") || len(got.Tags) != 1 {
		t.Fatalf("role %+v", got)
	}
	ok(t, s.PutInlinePolicy(ctx, RoleEntity("Deploy"), "p", allowAllS3))
	wantKind(t, s.DeleteRole(ctx, "Deploy"), ErrDeleteConflict)
	ok(t, s.DeleteInlinePolicy(ctx, RoleEntity("Deploy"), "p"))
	ok(t, s.DeleteRole(ctx, "Deploy"))
	_, err = s.GetRole(ctx, "Deploy")
	wantKind(t, err, ErrNoSuchEntity)
	roles, _, err := s.ListRoles(ctx, ListOptions{})
	ok(t, err)
	if len(roles) != 0 {
		t.Fatalf("roles %+v", roles)
	}
}

func bigTrust(s *Service) string {
	doc := `{"Version":"2012-10-17","Statement":[`
	for i := 0; i < 20; i++ {
		if i > 0 {
			doc += ","
		}
		doc += `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + s.Account().ID + `:user/someone-with-a-long-name"},"Action":"sts:AssumeRole"}`
	}
	return doc + "]}"
}
