package kms

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestParseMasterKey(t *testing.T) {
	raw := testMaster(3)
	raw[0] = 0xff // not printable
	h := hex.EncodeToString(raw)
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"raw", raw, true},
		{"hex", []byte(h), true},
		{"hex upper with newline", []byte(strings.ToUpper(h) + "\n"), true},
		{"hex with spaces", []byte("  " + h + " \r\n"), true},
		{"base64", []byte(base64.StdEncoding.EncodeToString(raw)), true},
		{"base64 raw", []byte(base64.RawStdEncoding.EncodeToString(raw) + "\n"), true},
		{"passphrase of 32 chars", []byte("correct horse battery staple 123"), false},
		{"raw 31", raw[:31], false},
		{"raw 33", append(bytes.Clone(raw), 1), false},
		{"hex 62", []byte(h[:62]), false},
		{"hex bad digit", []byte("zz" + h[2:]), false},
		{"base64 of 31", []byte(base64.StdEncoding.EncodeToString(raw[:31])), false},
		{"all zero raw", make([]byte, 32), false},
		{"all zero hex", []byte(strings.Repeat("0", 64)), false},
		{"empty", nil, false},
	}
	for _, tc := range tests {
		k, err := ParseMasterKey(tc.in)
		if tc.ok && (err != nil || !bytes.Equal(k, raw)) {
			t.Errorf("%s: %x, %v", tc.name, k, err)
		}
		if !tc.ok && !errors.Is(err, ErrInvalidMasterKey) {
			t.Errorf("%s: err = %v, want ErrInvalidMasterKey", tc.name, err)
		}
	}
}

func TestLoadOrCreateMasterKey(t *testing.T) {
	dir := t.TempDir()
	k1, path, created, err := LoadOrCreateMasterKey(dir)
	if err != nil || !created || path != filepath.Join(dir, MasterKeyFileName) || len(k1) != MasterKeySize {
		t.Fatalf("first: %x %s %v %v", k1, path, created, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	text, _ := os.ReadFile(path)
	if strings.TrimSpace(string(text)) != hex.EncodeToString(k1) {
		t.Fatalf("key file holds %q", text)
	}
	k2, _, created, err := LoadOrCreateMasterKey(dir)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second: %v %v", created, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("data folder holds %d entries, want only the key file", len(ents))
	}
	// A damaged key file is an error, never silently replaced.
	os.WriteFile(path, []byte("garbage"), 0o600)
	if _, _, _, err := LoadOrCreateMasterKey(dir); !errors.Is(err, ErrInvalidMasterKey) {
		t.Fatalf("damaged file: %v", err)
	}
	if _, err := LoadMasterKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	os.WriteFile(path, bytes.Repeat([]byte("a"), 2000), 0o600)
	if _, err := LoadMasterKeyFile(path); !errors.Is(err, ErrInvalidMasterKey) {
		t.Fatalf("huge file: %v", err)
	}
}

func TestNewWithMasterKeyFile(t *testing.T) {
	kv := newKV(t)
	key, path, _, err := LoadOrCreateMasterKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.MasterKeyFile = path
	fromFile, err := New(cfg, kv)
	if err != nil {
		t.Fatal(err)
	}
	cfg = DefaultConfig()
	cfg.MasterKey = key
	fromBytes, err := New(cfg, kv)
	if err != nil {
		t.Fatal(err)
	}
	if fromFile.MasterKeyID() != fromBytes.MasterKeyID() || fromFile.MasterKeyID() != MasterKeyID(key) {
		t.Fatal("file and bytes give different master keys")
	}
	p, s, err := fromFile.GenerateDataKey(bg, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fromBytes.Decrypt(bg, s, nil); err != nil || got != p {
		t.Fatalf("Decrypt: %v", err)
	}
	cfg = DefaultConfig()
	cfg.MasterKeyFile = filepath.Join(t.TempDir(), "missing")
	if _, err := New(cfg, kv); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing key file: %v", err)
	}
}
