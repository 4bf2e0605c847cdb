package iam

import (
	"context"
	"strings"
	"testing"
)

func TestLoginProfile(t *testing.T) {
	s, _, kv := newTestService(t)
	ctx := context.Background()
	must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "alice"}))
	for _, pw := range []string{"short1A", "alllowercaseletters", "ALLUPPER12345", strings.Repeat("aA1", 43), "has\x00Control1A"} {
		_, err := s.CreateLoginProfile(ctx, "alice", pw, false)
		wantKind(t, err, ErrPasswordPolicyViolation)
	}
	_, err := s.GetLoginProfile(ctx, "alice")
	wantKind(t, err, ErrNoSuchEntity)
	lp, err := s.CreateLoginProfile(ctx, "alice", "Corr3ct-Horse", true)
	ok(t, err)
	if lp.UserName != "alice" || !lp.PasswordResetRequired {
		t.Fatalf("profile %+v", lp)
	}
	_, err = s.CreateLoginProfile(ctx, "alice", "Corr3ct-Horse", true)
	wantKind(t, err, ErrEntityAlreadyExists)
	_, err = s.CreateLoginProfile(ctx, "nobody", "Corr3ct-Horse", true)
	wantKind(t, err, ErrNoSuchEntity)

	var rec userRecord
	found, err := read(ctx, kv, userKey("alice"), &rec)
	ok(t, err)
	if !found || !strings.HasPrefix(rec.Login.Hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("stored hash %q", rec.Login.Hash)
	}

	u, got, err := s.VerifyPassword(ctx, "Alice", "Corr3ct-Horse")
	ok(t, err)
	if u.Name != "alice" || !got.PasswordResetRequired {
		t.Fatalf("login: %+v %+v", u, got)
	}
	for _, tc := range []struct{ user, pw string }{
		{"alice", "corr3ct-horse"}, {"alice", ""}, {"bob", "Corr3ct-Horse"}, {"a b", "x"},
	} {
		_, _, err := s.VerifyPassword(ctx, tc.user, tc.pw)
		wantKind(t, err, ErrLoginFailed)
	}

	no := false
	ok(t, s.UpdateLoginProfile(ctx, "alice", "N3w-Password!", &no))
	_, _, err = s.VerifyPassword(ctx, "alice", "Corr3ct-Horse")
	wantKind(t, err, ErrLoginFailed)
	_, got, err = s.VerifyPassword(ctx, "alice", "N3w-Password!")
	ok(t, err)
	if got.PasswordResetRequired {
		t.Fatal("reset flag not cleared")
	}
	ok(t, s.SetUserEnabled(ctx, "alice", false))
	_, _, err = s.VerifyPassword(ctx, "alice", "N3w-Password!")
	wantKind(t, err, ErrLoginFailed)
	ok(t, s.DeleteLoginProfile(ctx, "alice"))
	wantKind(t, s.DeleteLoginProfile(ctx, "alice"), ErrNoSuchEntity)
	wantKind(t, s.UpdateLoginProfile(ctx, "alice", "N3w-Password!", nil), ErrNoSuchEntity)
}

func TestVerifyHashRejectsMalformed(t *testing.T) {
	for _, h := range []string{"", "$argon2id$v=19$m=64,t=1,p=1$AAAA", "$argon2i$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=0,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA"} {
		if verifyHash(h, "x") {
			t.Fatalf("%q verified", h)
		}
	}
}
