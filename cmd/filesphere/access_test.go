package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/kms"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

const hexKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func TestMasterKeySources(t *testing.T) {
	t.Setenv(kms.MasterKeyEnv, "")
	os.Unsetenv(kms.MasterKeyEnv)
	l, hook := test.NewNullLogger()
	log := logrus.NewEntry(l)
	dir := t.TempDir()

	// A standalone node makes its key in the data folder, with a warning.
	k1, err := masterKey("", dir, false, log)
	if err != nil || len(k1) != 32 {
		t.Fatalf("generated key: %v", err)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.WarnLevel || !strings.Contains(e.Message, "next to the data") {
		t.Fatalf("no warning about the key file: %+v", e)
	}
	if k2, err := masterKey("", dir, false, log); err != nil || string(k2) != string(k1) {
		t.Fatalf("the second start does not reuse the key: %v", err)
	}
	// A node joining a cluster without the cluster's key is refused.
	if _, err := masterKey("", t.TempDir(), true, log); err == nil || !strings.Contains(err.Error(), "needs the cluster's KMS master key") {
		t.Fatalf("joining without a key: %v", err)
	}
	// The file flag, then the environment.
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(hexKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := masterKey(file, dir, true, log); err != nil || k[1] != 0x11 {
		t.Fatalf("--kms-master-key-file: %v", err)
	}
	t.Setenv(kms.MasterKeyEnv, hexKey)
	if k, err := masterKey("", t.TempDir(), true, log); err != nil || k[31] != 0xff {
		t.Fatalf("$%s: %v", kms.MasterKeyEnv, err)
	}
	t.Setenv(kms.MasterKeyEnv, "too short")
	if _, err := masterKey("", dir, false, log); !errors.Is(err, kms.ErrInvalidMasterKey) {
		t.Fatalf("a bad key in the environment: %v", err)
	}
}

// A node whose master key differs from the one the cluster's secrets and
// objects are sealed with fails to start, naming the remedy.
func TestOpenAccessRefusesAnotherMasterKey(t *testing.T) {
	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	l := logrus.New()
	l.SetOutput(io.Discard)
	log := logrus.NewEntry(l)
	root := rootCredentials{AccessKey: "rootkey", SecretKey: "rootsecret123"}
	key := []byte(strings.Repeat("k", 32))
	keys, err := openKMS(context.Background(), kv, key, log)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := openAccess(context.Background(), kv, keys, root, log)
	if err != nil {
		t.Fatal(err)
	}
	ids.Close()
	other := []byte(strings.Repeat("o", 32))
	if _, err := openKMS(context.Background(), kv, other, log); !errors.Is(err, kms.ErrMasterKeyMismatch) ||
		!strings.Contains(err.Error(), kms.MasterKeyEnv) {
		t.Fatalf("another master key: %v", err)
	}
}
