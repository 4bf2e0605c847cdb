package sse

import (
	"crypto/md5"
	"encoding/base64"
	"errors"
	"testing"
)

func TestSealKey(t *testing.T) {
	kek, obj := testKey(1), testKey(2)
	ctx := []byte("bucket\x00object")
	sealed, err := SealKey(kek, obj, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != SealedKeySize {
		t.Fatalf("sealed %d bytes, want %d", len(sealed), SealedKeySize)
	}
	again, _ := SealKey(kek, obj, ctx)
	if string(again) == string(sealed) {
		t.Fatal("two seals of one key are identical (no fresh salt)")
	}
	got, err := OpenKey(kek, sealed, ctx)
	if err != nil || got != obj {
		t.Fatalf("OpenKey = %x, %v", got, err)
	}
	wrongKEK := kek
	wrongKEK[0] ^= 1
	if _, err := OpenKey(wrongKEK, sealed, ctx); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("wrong kek: %v", err)
	}
	if _, err := OpenKey(kek, sealed, []byte("bucket\x00other")); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("wrong context: %v", err)
	}
	for i := range sealed {
		bad := append([]byte(nil), sealed...)
		bad[i] ^= 0x10
		if _, err := OpenKey(kek, bad, ctx); !errors.Is(err, ErrKeyMismatch) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for _, bad := range [][]byte{nil, sealed[:len(sealed)-1], append(sealed, 0)} {
		if _, err := OpenKey(kek, bad, ctx); !errors.Is(err, ErrKeyMismatch) {
			t.Errorf("length %d: %v", len(bad), err)
		}
	}
}

func TestParseCustomerKey(t *testing.T) {
	raw := testKey(7)
	key := base64.StdEncoding.EncodeToString(raw[:])
	sum := md5.Sum(raw[:])
	md := base64.StdEncoding.EncodeToString(sum[:])
	short := base64.StdEncoding.EncodeToString(raw[:31])
	otherSum := md5.Sum(raw[:31])
	tests := []struct {
		name, alg, key, md5 string
		want                error
	}{
		{"ok", "AES256", key, md, nil},
		{"algorithm empty", "", key, md, ErrCustomerAlgorithm},
		{"algorithm lower", "aes256", key, md, ErrCustomerAlgorithm},
		{"algorithm kms", "aws:kms", key, md, ErrCustomerAlgorithm},
		{"key missing", "AES256", "", md, ErrCustomerKeyMissing},
		{"key not base64", "AES256", "!!!", md, ErrCustomerKeyInvalid},
		{"key 31 bytes", "AES256", short, md, ErrCustomerKeyInvalid},
		{"key raw text", "AES256", "0123456789abcdef0123456789abcdef", md, ErrCustomerKeyInvalid},
		{"md5 missing", "AES256", key, "", ErrCustomerKeyMD5Missing},
		{"md5 mismatch", "AES256", key, base64.StdEncoding.EncodeToString(otherSum[:]), ErrCustomerKeyMD5Mismatch},
		{"md5 not base64", "AES256", key, "###", ErrCustomerKeyMD5Mismatch},
		{"md5 hex", "AES256", key, "0123456789abcdef0123456789abcdef", ErrCustomerKeyMD5Mismatch},
	}
	for _, tc := range tests {
		got, err := ParseCustomerKey(tc.alg, tc.key, tc.md5)
		if !errors.Is(err, tc.want) || (tc.want == nil && got != raw) {
			t.Errorf("%s: %x, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if CustomerKeyMD5(raw) != md {
		t.Errorf("CustomerKeyMD5 = %s, want %s", CustomerKeyMD5(raw), md)
	}
}
