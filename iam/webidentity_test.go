package iam

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	s, clk, _ := newTestService(t)
	ctx := context.Background()
	u := must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "alice"}))
	trust := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + principal + `"},
		 "Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"idp.example:sub":"s1"}}}]}`
	}
	byName := must[Role](t)(s.CreateRole(ctx, CreateRoleInput{Name: "by-name", TrustPolicy: trust("idp.example"), MaxSessionDuration: 7200}))
	byARN := must[Role](t)(s.CreateRole(ctx, CreateRoleInput{Name: "by-arn", TrustPolicy: trust("arn:aws:iam::" + s.Account().ID + ":oidc-provider/idp.example")}))
	ext := WebIdentity{Provider: "idp.example", ProviderARN: "arn:aws:iam::" + s.Account().ID + ":oidc-provider/idp.example",
		Subject: "s1", Audience: []string{"a"}, Expiry: clk.Now().Add(time.Hour)}
	own := WebIdentity{Provider: "fs.example", Subject: u.UserID, Audience: []string{"c"}, Expiry: clk.Now().Add(10 * time.Minute),
		User: "alice", UserID: u.UserID}
	call := func(role string, id WebIdentity, d int) (AssumeRoleWithWebIdentityOutput, error) {
		return s.AssumeRoleWithWebIdentity(ctx, AssumeRoleWithWebIdentityInput{RoleARN: role, RoleSessionName: "sess", DurationSeconds: d, Identity: id})
	}
	tests := []struct {
		name string
		role string
		id   WebIdentity
		d    int
		kind error
		life time.Duration // expected session length when allowed
	}{
		{"role by provider name", byName.ARN, ext, 0, nil, time.Hour},
		{"role by provider ARN", byARN.ARN, ext, 0, nil, time.Hour},
		{"cut at the token's expiry", byName.ARN, WebIdentity{Provider: ext.Provider, Subject: "s1", Expiry: clk.Now().Add(20 * time.Minute)}, 7200, nil, 20 * time.Minute},
		{"other subject", byName.ARN, WebIdentity{Provider: ext.Provider, Subject: "s2", Expiry: ext.Expiry}, 0, ErrAccessDenied, 0},
		{"other provider", byName.ARN, WebIdentity{Provider: "evil.example", Subject: "s1", Expiry: ext.Expiry}, 0, ErrAccessDenied, 0},
		{"past the role's maximum", byName.ARN, ext, 7201, ErrValidation, 0},
		{"expired token", byName.ARN, WebIdentity{Provider: ext.Provider, Subject: "s1", Expiry: clk.Now().Add(-time.Second)}, 0, ErrExpiredIdentityToken, 0},
		{"no such role", "arn:aws:iam::" + s.Account().ID + ":role/nope", ext, 0, ErrAccessDenied, 0},
		{"the user's own", u.ARN, own, 0, nil, 10 * time.Minute},
		{"a user without a built-in token", u.ARN, ext, 0, ErrAccessDenied, 0},
		{"too short", byName.ARN, ext, 899, ErrValidation, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := call(tc.role, tc.id, tc.d)
			if tc.kind != nil {
				wantKind(t, err, tc.kind)
				return
			}
			ok(t, err)
			if got := out.Credentials.Expiration.Sub(clk.Now()); got > tc.life || got < tc.life-time.Second {
				t.Fatalf("session lasts %s, want %s", got, tc.life)
			}
			c := must[*Credential](t)(s.Credentials(ctx, out.Credentials.AccessKeyID))
			if tc.id.User != "" && c.Principal.ARN != u.ARN {
				t.Fatalf("principal %s", c.Principal.ARN)
			}
			if tc.id.User == "" && !strings.Contains(c.Principal.ARN, ":assumed-role/") {
				t.Fatalf("principal %s", c.Principal.ARN)
			}
		})
	}
}
