package kms

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.MasterKey = testMaster(1)
	tests := []struct {
		name   string
		mutate func(*Config)
		valid  bool
	}{
		{"ok", func(*Config) {}, true},
		{"file instead", func(c *Config) { c.MasterKey, c.MasterKeyFile = nil, "/x" }, true},
		{"no key", func(c *Config) { c.MasterKey = nil }, false},
		{"both", func(c *Config) { c.MasterKeyFile = "/x" }, false},
		{"short key", func(c *Config) { c.MasterKey = c.MasterKey[:31] }, false},
		{"zero key", func(c *Config) { c.MasterKey = make([]byte, 32) }, false},
		{"bad default key", func(c *Config) { c.DefaultKey = "-x" }, false},
		{"internal default key", func(c *Config) { c.DefaultKey = "_secrets" }, false},
		{"no cache", func(c *Config) { c.CacheSize = 0 }, false},
		{"no clock", func(c *Config) { c.Now = nil }, false},
	}
	for _, tc := range tests {
		c := ok
		c.MasterKey = append([]byte(nil), ok.MasterKey...)
		tc.mutate(&c)
		if err := c.Validate(); (err == nil) != tc.valid {
			t.Errorf("%s: Validate = %v, want valid=%v", tc.name, err, tc.valid)
		}
	}
	if _, err := New(ok, nil); err == nil {
		t.Error("New without KV succeeded")
	}
}

func TestValidKeyName(t *testing.T) {
	for name, want := range map[string]bool{
		"testkey-1": true, "a": true, "A.b_c-9": true, strings.Repeat("k", 64): true,
		"": false, strings.Repeat("k", 65): false, "-a": false, ".a": false, "_secrets": false,
		"a/b": false, "a b": false, "ä": false, "a\x00": false, "alias/x": false,
	} {
		if got := ValidKeyName(name); got != want {
			t.Errorf("ValidKeyName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseKeyID(t *testing.T) {
	tests := []struct{ id, want string }{
		{"testkey-1", "testkey-1"},
		{"alias/testkey-1", "testkey-1"},
		{"arn:aws:kms:us-east-1:123456789012:key/testkey-1", "testkey-1"},
		{"arn:aws-us-gov:kms:us-gov-west-1:1:alias/k2", "k2"},
		{"arn:aws:kms:::key/k3", "k3"},
		{"arn:aws:s3:::bucket/k", ""},
		{"arn:aws:kms:us-east-1:1:secret/k", ""},
		{"arn:aws:kms:us-east-1:key/k", ""},
		{"alias/", ""},
		{"", ""},
		{"_secrets", ""},
		{"alias/_secrets", ""},
	}
	for _, tc := range tests {
		got, err := ParseKeyID(tc.id)
		if tc.want == "" {
			if !errors.Is(err, ErrInvalidKeyName) {
				t.Errorf("ParseKeyID(%q) = %q, %v; want ErrInvalidKeyName", tc.id, got, err)
			}
		} else if err != nil || got != tc.want {
			t.Errorf("ParseKeyID(%q) = %q, %v; want %q", tc.id, got, err, tc.want)
		}
	}
}

func TestKeyLifecycle(t *testing.T) {
	kv := newKV(t)
	n := newNode(t, kv, 1)
	info, err := n.CreateKey(bg, "testkey-1")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "testkey-1" || info.State != StateEnabled || info.Current() != 1 || !info.Created.Equal(n.clock.Now()) {
		t.Fatalf("created %+v", info)
	}
	if _, err := n.CreateKey(bg, "testkey-1"); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	for _, bad := range []string{"", "-x", "_secrets", "a/b"} {
		if _, err := n.CreateKey(bg, bad); !errors.Is(err, ErrInvalidKeyName) {
			t.Errorf("CreateKey(%q) = %v", bad, err)
		}
	}
	if _, err := n.CreateKey(bg, "a-key"); err != nil {
		t.Fatal(err)
	}
	keys, err := n.ListKeys(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Name != "a-key" || keys[1].Name != "testkey-1" {
		t.Fatalf("ListKeys = %+v", keys)
	}

	n.clock.Advance(time.Hour)
	info, err = n.RotateKey(bg, "testkey-1")
	if err != nil {
		t.Fatal(err)
	}
	if info.Current() != 2 || !info.Versions[1].Created.Equal(n.clock.Now()) || !info.Versions[0].Created.Equal(info.Created) {
		t.Fatalf("rotated %+v", info)
	}
	if info, err = n.DisableKey(bg, "testkey-1"); err != nil || info.State != StateDisabled {
		t.Fatalf("disable: %+v, %v", info, err)
	}
	if info, err = n.DisableKey(bg, "testkey-1"); err != nil || info.State != StateDisabled {
		t.Fatalf("disable again: %+v, %v", info, err)
	}
	if _, err := n.RotateKey(bg, "testkey-1"); !errors.Is(err, ErrKeyDisabled) {
		t.Fatalf("rotate disabled: %v", err)
	}
	if info, err = n.EnableKey(bg, "testkey-1"); err != nil || info.State != StateEnabled || info.Current() != 2 {
		t.Fatalf("enable: %+v, %v", info, err)
	}
	if d, err := n.DescribeKey(bg, "testkey-1"); err != nil || d.State != StateEnabled || d.Current() != 2 {
		t.Fatalf("describe: %+v, %v", d, err)
	}
	for _, op := range []func(string) (KeyInfo, error){
		func(s string) (KeyInfo, error) { return n.DescribeKey(bg, s) },
		func(s string) (KeyInfo, error) { return n.RotateKey(bg, s) },
		func(s string) (KeyInfo, error) { return n.DisableKey(bg, s) },
		func(s string) (KeyInfo, error) { return n.EnableKey(bg, s) },
	} {
		if _, err := op("nope"); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("unknown key: %v", err)
		}
		if _, err := op("_secrets"); !errors.Is(err, ErrInvalidKeyName) {
			t.Errorf("internal key reachable: %v", err)
		}
	}
	// The record holds no key material in clear, in any encoding.
	ck, err := n.loadKey(bg, "testkey-1", false)
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := kv.List(bg, meta.PrefixKMS, "", 0)
	for _, e := range ents {
		for _, m := range ck.materials {
			for _, form := range []string{string(m), hex.EncodeToString(m), base64.StdEncoding.EncodeToString(m)} {
				if strings.Contains(string(e.Value), form) {
					t.Fatalf("record %s holds key material in clear", e.Key)
				}
			}
		}
	}
	for _, want := range []string{"key created", "key rotated", "key disabled", "key enabled"} {
		if !strings.Contains(n.logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// Concurrent rotations of one key all land (or report ErrConflict), and
// the versions are numbered without gaps.
func TestConcurrentRotate(t *testing.T) {
	n := newNode(t, newKV(t), 1)
	if _, err := n.CreateKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				_, err := n.RotateKey(bg, "k")
				if err != nil && !errors.Is(err, ErrConflict) {
					t.Error(err)
				}
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	info, err := n.DescribeKey(bg, "k")
	if err != nil {
		t.Fatal(err)
	}
	if int(info.Current()) != ok+1 {
		t.Fatalf("%d rotations succeeded but the key has %d versions", ok, info.Current())
	}
	for i, v := range info.Versions {
		if v.Version != uint32(i+1) {
			t.Fatalf("versions %+v", info.Versions)
		}
	}
	t.Logf("%d of 20 concurrent rotations succeeded", ok)
}

func TestMasterKeyMismatch(t *testing.T) {
	kv := newKV(t)
	a := newNode(t, kv, 1)
	if err := a.CheckMasterKey(bg); err != nil {
		t.Fatal(err)
	}
	_, sealed, err := a.GenerateDataKey(bg, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	same := newNode(t, kv, 1)
	if err := same.CheckMasterKey(bg); err != nil {
		t.Fatalf("same master: %v", err)
	}
	b := newNode(t, kv, 2)
	if b.MasterKeyID() == a.MasterKeyID() || same.MasterKeyID() != a.MasterKeyID() {
		t.Fatal("master key ids do not tell keys apart")
	}
	err = b.CheckMasterKey(bg)
	if !errors.Is(err, ErrMasterKeyMismatch) || !strings.Contains(err.Error(), a.MasterKeyID()) {
		t.Fatalf("CheckMasterKey with another master: %v", err)
	}
	if _, err := b.Decrypt(bg, sealed, nil); !errors.Is(err, ErrMasterKeyMismatch) {
		t.Fatalf("Decrypt with another master: %v", err)
	}
	before, _ := kv.List(bg, meta.PrefixKMS, "", 0)
	if _, err := b.CreateKey(bg, "new"); !errors.Is(err, ErrMasterKeyMismatch) {
		t.Fatalf("CreateKey with another master: %v", err)
	}
	if _, err := b.RotateKey(bg, DefaultKeyName); !errors.Is(err, ErrMasterKeyMismatch) {
		t.Fatalf("RotateKey with another master: %v", err)
	}
	after, _ := kv.List(bg, meta.PrefixKMS, "", 0)
	if len(before) != len(after) || fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatal("a node with the wrong master key changed the key space")
	}
}

func TestCacheBounded(t *testing.T) {
	n := newNode(t, newKV(t), 1, func(c *Config) { c.CacheSize = 2 })
	var sealed [][]byte
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("k%d", i)
		if _, err := n.CreateKey(bg, name); err != nil {
			t.Fatal(err)
		}
		_, s, err := n.GenerateDataKey(bg, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, s)
	}
	if got := n.cache.len(); got != 2 {
		t.Fatalf("cache holds %d keys, bound is 2", got)
	}
	for _, s := range sealed { // evicted keys reload
		if _, err := n.Decrypt(bg, s, nil); err != nil {
			t.Fatal(err)
		}
	}
}
