package main

import (
	"context"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/kms"
)

// TestAdminKMSCommands drives `filesphere admin kms key …` against an
// in-process server with the built-in KMS.
func TestAdminKMSCommands(t *testing.T) {
	clearCredentialEnv(t)
	env := s3test.New(t)
	run := func(args ...string) (string, error) {
		return runAdmin(t, append(append([]string{"kms", "key"}, args...), "--endpoint", env.PlainURL,
			"--access-key", env.AccessKey, "--secret-key", env.SecretKey)...)
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"add", "testkey-1"}, "key testkey-1 created: enabled, version 1 (arn:aws:kms:us-east-1::key/testkey-1)"},
		{[]string{"rotate", "testkey-1"}, "key testkey-1 rotated: enabled, version 2"},
		{[]string{"disable", "testkey-1"}, "key testkey-1 disabled: disabled, version 2"},
		{[]string{"list"}, "testkey-1"},
		{[]string{"status", "testkey-1"}, "disabled"},
		{[]string{"enable", "testkey-1"}, "key testkey-1 enabled: enabled, version 2"},
	}
	for _, s := range steps {
		out, err := run(s.args...)
		if err != nil || !strings.Contains(out, s.want) {
			t.Fatalf("kms key %v: %v %q, want %q", s.args, err, out, s.want)
		}
	}
	if k, err := env.KMS.DescribeKey(context.Background(), "testkey-1"); err != nil || k.State != kms.StateEnabled || k.Current() != 2 {
		t.Fatalf("the KMS holds %+v %v", k, err)
	}
	_, err := run("add", "testkey-1")
	if err == nil || !strings.HasPrefix(err.Error(), "kms key add: KMS.AlreadyExistsException: ") {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := run("rotate", "no-such"); err == nil || !strings.Contains(err.Error(), "KMS.NotFoundException") {
		t.Fatalf("unknown key: %v", err)
	}
	if out, err := run("list", "--json"); err != nil || !strings.Contains(out, `"name": "testkey-1"`) {
		t.Fatalf("list --json: %v %q", err, out)
	}
}
