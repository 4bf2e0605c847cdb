package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/internal/s3test"
)

// TestAdminIAMVerbs runs the user, group, policy and key verbs against an
// in-process server over real HTTP, as an operator would.
func TestAdminIAMVerbs(t *testing.T) {
	clearCredentialEnv(t)
	env := s3test.New(t)
	base := []string{"--endpoint", env.PlainURL, "--access-key", env.AccessKey, "--secret-key", env.SecretKey}
	run := func(args ...string) string {
		t.Helper()
		out, err := runAdmin(t, append(args, base...)...)
		if err != nil {
			t.Fatalf("admin %v: %v\n%s", args, err, out)
		}
		return out
	}
	fail := func(want string, args ...string) {
		t.Helper()
		out, err := runAdmin(t, append(args, base...)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("admin %v: error %v (output %q), want one containing %q", args, err, out, want)
		}
	}
	if out := run("user", "create", "alice"); !strings.Contains(out, "Created user alice (arn:aws:iam::") {
		t.Fatalf("user create: %q", out)
	}
	fail("user create: EntityAlreadyExists", "user", "create", "alice")
	out := run("key", "create", "alice")
	m := regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+)\s+export AWS_SECRET_ACCESS_KEY=(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("key create: %q", out)
	}
	keyID, secret := m[1], m[2]
	if c, err := env.IAM.Credentials(context.Background(), keyID); err != nil || c.SecretAccessKey != secret {
		t.Fatalf("the printed key is not the user's: %v", err)
	}
	doc := filepath.Join(t.TempDir(), "read.json")
	if err := os.WriteFile(doc, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run("policy", "create", "read", doc); !strings.Contains(out, ":policy/read") {
		t.Fatalf("policy create: %q", out)
	}
	run("user", "policy", "attach", "alice", "read")
	run("user", "policy", "set", "alice", "inline", doc)
	run("group", "create", "devs")
	run("group", "add", "devs", "alice")
	out = run("user", "info", "alice")
	for _, want := range []string{"User:     alice", "Groups:   devs", "inline", ":policy/read", keyID, "Active"} {
		if !strings.Contains(out, want) {
			t.Errorf("user info lacks %q:\n%s", want, out)
		}
	}
	if out := run("user", "list"); !strings.Contains(out, "NAME") || !strings.Contains(out, "alice") {
		t.Fatalf("user list:\n%s", out)
	}
	if out := run("group", "list"); !strings.Contains(out, "devs") || !strings.Contains(out, "alice") {
		t.Fatalf("group list:\n%s", out)
	}
	if out := run("policy", "list"); !strings.Contains(out, "read") || !strings.Contains(out, "v1") {
		t.Fatalf("policy list:\n%s", out)
	}
	if out := run("policy", "show", "read"); !strings.Contains(out, `"s3:GetObject"`) {
		t.Fatalf("policy show:\n%s", out)
	}
	if out := run("key", "list", "alice"); !strings.Contains(out, keyID) || !strings.Contains(out, "never") {
		t.Fatalf("key list:\n%s", out)
	}
	run("key", "disable", "alice", keyID)
	if _, err := env.IAM.Credentials(context.Background(), keyID); !errors.Is(err, iam.ErrAccessKeyInactive) {
		t.Fatalf("disabled key: %v", err)
	}
	fail("DeleteConflict", "policy", "delete", "read")
	fail("user delete: DeleteConflict", "user", "delete", "alice")
	run("user", "policy", "detach", "alice", "read")
	run("user", "policy", "remove", "alice", "inline")
	run("group", "remove", "devs", "alice")
	run("key", "delete", "alice", keyID)
	run("user", "delete", "alice")
	run("policy", "delete", "read")
	run("group", "delete", "devs")

	// Another user's key may do only what its policies say.
	u := must(env.IAM.CreateUser(context.Background(), iam.CreateUserInput{Name: "bob"}))
	k := must(env.IAM.CreateAccessKey(context.Background(), u.Name))
	out, err := runAdmin(t, "user", "list", "--endpoint", env.PlainURL, "--access-key", k.AccessKeyID, "--secret-key", k.SecretAccessKey)
	if err == nil || !strings.Contains(err.Error(), "user list: AccessDenied") {
		t.Fatalf("bob lists users: %v %q", err, out)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
