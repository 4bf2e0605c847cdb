package kms

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestSealOpen(t *testing.T) {
	n := newNode(t, newKV(t), 1)
	secret := []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	sealed, err := n.Seal(bg, "iam/secret-key/AKIDEXAMPLE", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("secret in clear in its sealed form")
	}
	got, err := n.Open(bg, "iam/secret-key/AKIDEXAMPLE", sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := n.Open(bg, "iam/secret-key/OTHER", sealed); !errors.Is(err, ErrContextMismatch) {
		t.Errorf("other purpose: %v", err)
	}
	if _, err := n.Seal(bg, "", secret); !errors.Is(err, ErrInvalidContext) {
		t.Errorf("empty purpose: %v", err)
	}
	if _, err := n.Seal(bg, "p", make([]byte, MaxSecretSize+1)); !errors.Is(err, ErrInvalidContext) {
		t.Errorf("oversized secret: %v", err)
	}
	if e, err := n.Seal(bg, "p", nil); err != nil {
		t.Errorf("empty secret: %v", err)
	} else if got, err := n.Open(bg, "p", e); err != nil || len(got) != 0 {
		t.Errorf("empty secret: %q %v", got, err)
	}
	bad := bytes.Clone(sealed)
	bad[len(bad)-1] ^= 1
	if _, err := n.Open(bg, "iam/secret-key/AKIDEXAMPLE", bad); !errors.Is(err, ErrInvalidCiphertext) {
		t.Errorf("tampered: %v", err)
	}
	// Secrets and data keys are not interchangeable.
	if _, err := n.Decrypt(bg, sealed, map[string]string{"purpose": "iam/secret-key/AKIDEXAMPLE"}); !errors.Is(err, ErrInvalidCiphertext) {
		t.Errorf("Decrypt of a secret: %v", err)
	}
	_, dk, _ := n.GenerateDataKey(bg, "", map[string]string{"purpose": "p"})
	if _, err := n.Open(bg, "p", dk); !errors.Is(err, ErrInvalidCiphertext) {
		t.Errorf("Open of a data key: %v", err)
	}
	if _, _, err := SealedKeyID(sealed); !errors.Is(err, ErrInvalidCiphertext) {
		t.Errorf("SealedKeyID of a secret: %v", err)
	}
	// The internal key is not visible to admins.
	keys, _ := n.ListKeys(bg)
	for _, k := range keys {
		if strings.HasPrefix(k.Name, "_") {
			t.Fatalf("internal key listed: %+v", keys)
		}
	}
	// Another node with the same master opens it.
	if got, err := newNode(t, n.kv, 1).Open(bg, "iam/secret-key/AKIDEXAMPLE", sealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("other node: %v", err)
	}
}

func TestDefaultKeyOnFirstUse(t *testing.T) {
	kv := newKV(t)
	nodes := []node{newNode(t, kv, 1), newNode(t, kv, 1), newNode(t, kv, 1)}
	type res struct {
		plain  [DataKeySize]byte
		sealed []byte
	}
	var wg sync.WaitGroup
	results := make([]res, 12)
	errs := make([]error, 12)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, s, err := nodes[i%3].GenerateDataKey(bg, "", nil)
			results[i], errs[i] = res{p, s}, err
		}()
	}
	wg.Wait()
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("first use %d: %v", i, errs[i])
		}
		if name, v, _ := SealedKeyID(r.sealed); name != DefaultKeyName || v != 1 {
			t.Fatalf("default key %q v%d", name, v)
		}
		if got, err := nodes[(i+1)%3].Decrypt(bg, r.sealed, nil); err != nil || got != r.plain {
			t.Fatalf("decrypt %d on another node: %v", i, err)
		}
	}
	keys, err := nodes[0].ListKeys(bg)
	if err != nil || len(keys) != 1 || keys[0].Name != DefaultKeyName || keys[0].Current() != 1 {
		t.Fatalf("ListKeys = %+v, %v", keys, err)
	}
	// Named explicitly it is the same key.
	if _, s, err := nodes[2].GenerateDataKey(bg, DefaultKeyName, nil); err != nil {
		t.Fatal(err)
	} else if name, _, _ := SealedKeyID(s); name != DefaultKeyName {
		t.Fatalf("explicit default key sealed with %q", name)
	}
	// The default key is an ordinary key: admins can disable it.
	if _, err := nodes[0].DisableKey(bg, DefaultKeyName); err != nil {
		t.Fatal(err)
	}
	if _, _, err := nodes[1].GenerateDataKey(bg, "", nil); !errors.Is(err, ErrKeyDisabled) {
		t.Fatalf("disabled default key: %v", err)
	}
}

func TestCanonicalContext(t *testing.T) {
	enc := func(m map[string]string) string {
		b, err := canonicalContext(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if enc(nil) != enc(map[string]string{}) {
		t.Error("nil and empty contexts differ")
	}
	distinct := []map[string]string{
		{}, {"": ""}, {"a": "bc"}, {"ab": "c"}, {"a": "b", "c": ""}, {"a": "b\x00c"}, {"a\x01": "b"}, {"a": "b", "": "c"},
	}
	seen := map[string]int{}
	for i, m := range distinct {
		if j, dup := seen[enc(m)]; dup {
			t.Errorf("contexts %v and %v encode alike", distinct[j], m)
		}
		seen[enc(m)] = i
	}
	many := map[string]string{}
	for i := 0; i < 100; i++ {
		many[strings.Repeat("k", i)] = "v"
	}
	first := enc(many)
	for i := 0; i < 20; i++ { // map order never shows
		if enc(many) != first {
			t.Fatal("encoding depends on map order")
		}
	}
}

func TestNoKeyMaterialInLogs(t *testing.T) {
	n := newNode(t, newKV(t), 1)
	if _, err := n.CreateKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	p, _, err := n.GenerateDataKey(bg, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	n.RotateKey(bg, "k")
	n.Seal(bg, "p", []byte("topsecretvalue"))
	logs := n.logs.String()
	for _, secret := range [][]byte{p[:], testMaster(1), []byte("topsecretvalue")} {
		for _, form := range []string{string(secret), hex.EncodeToString(secret), base64.StdEncoding.EncodeToString(secret)} {
			if strings.Contains(logs, form) {
				t.Fatalf("log contains key material: %s", logs)
			}
		}
	}
	if !strings.Contains(logs, n.MasterKeyID()) {
		t.Error("log does not name the master key id")
	}
}
