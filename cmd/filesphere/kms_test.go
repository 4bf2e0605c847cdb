package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/kms"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// TestMasterKeySources: --kms-master-key-file wins over the environment,
// which wins over the data folder's key; the data folder's key is
// generated once, with a warning, and reused after.
func TestMasterKeySources(t *testing.T) {
	t.Setenv(kms.MasterKeyEnv, "")
	os.Unsetenv(kms.MasterKeyEnv)
	dir := t.TempDir()
	logger, hook := test.NewNullLogger()
	log := logrus.NewEntry(logger)

	k1, src, err := masterKey("", dir, log)
	if err != nil || len(k1) != kms.MasterKeySize || src != filepath.Join(dir, kms.MasterKeyFileName) {
		t.Fatalf("generated: %d bytes from %q, %v", len(k1), src, err)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.WarnLevel || !strings.Contains(e.Message, "--kms-master-key-file") {
		t.Fatalf("no warning on generating the key: %+v", e)
	}
	if fi, err := os.Stat(src); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	hook.Reset()
	k2, _, err := masterKey("", dir, log)
	if err != nil || !bytes.Equal(k1, k2) || len(hook.Entries) != 0 {
		t.Fatalf("second start: same key %v, %v, log %v", bytes.Equal(k1, k2), err, hook.Entries)
	}

	envKey := bytes.Repeat([]byte{7}, 32)
	t.Setenv(kms.MasterKeyEnv, hex.EncodeToString(envKey))
	if k, src, err := masterKey("", dir, log); err != nil || !bytes.Equal(k, envKey) || src != "$"+kms.MasterKeyEnv {
		t.Fatalf("environment: %v %q", err, src)
	}
	file := filepath.Join(t.TempDir(), "master.key")
	fileKey := bytes.Repeat([]byte{9}, 32)
	os.WriteFile(file, []byte(hex.EncodeToString(fileKey)+"\n"), 0o600)
	if k, src, err := masterKey(file, dir, log); err != nil || !bytes.Equal(k, fileKey) || src != file {
		t.Fatalf("file: %v %q", err, src)
	}
	t.Setenv(kms.MasterKeyEnv, "correct horse battery staple")
	if _, _, err := masterKey("", dir, log); !errors.Is(err, kms.ErrInvalidMasterKey) || !strings.Contains(err.Error(), kms.MasterKeyEnv) {
		t.Fatalf("a passphrase in the environment: %v", err)
	}
}

// TestOpenKMSRefusesAnotherMasterKey: the first node records the cluster's
// master key; a node started with another one refuses to start, naming
// the fix.
func TestOpenKMSRefusesAnotherMasterKey(t *testing.T) {
	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	log := logrus.NewEntry(logrus.New())
	ctx := context.Background()
	a, b := filepath.Join(t.TempDir(), "a.key"), filepath.Join(t.TempDir(), "b.key")
	os.WriteFile(a, []byte(strings.Repeat("ab", 32)), 0o600)
	os.WriteFile(b, []byte(strings.Repeat("cd", 32)), 0o600)
	if _, err := openKMS(ctx, a, t.TempDir(), kv, log); err != nil {
		t.Fatal(err)
	}
	if _, err := openKMS(ctx, a, t.TempDir(), kv, log); err != nil {
		t.Fatalf("the same key again: %v", err)
	}
	_, err = openKMS(ctx, b, t.TempDir(), kv, log)
	if !errors.Is(err, kms.ErrMasterKeyMismatch) || !strings.Contains(err.Error(), "--kms-master-key-file") {
		t.Fatalf("another master key: %v", err)
	}
}

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
