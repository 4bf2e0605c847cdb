package iam

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestStaticSealer(t *testing.T) {
	ctx := context.Background()
	s := testSealer(t)
	plain := []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	a, err := s.Seal(ctx, "p1", plain)
	ok(t, err)
	b, err := s.Seal(ctx, "p1", plain)
	ok(t, err)
	if bytes.Equal(a, b) || bytes.Contains(a, plain) {
		t.Fatal("sealing is deterministic or leaks the plaintext")
	}
	got, err := s.Open(ctx, "p1", a)
	ok(t, err)
	if !bytes.Equal(got, plain) {
		t.Fatalf("opened %q", got)
	}
	tampered := bytes.Clone(a)
	tampered[len(tampered)-1] ^= 1
	other, err := NewStaticSealer(bytes.Repeat([]byte{7}, 32), nil)
	ok(t, err)
	for name, tc := range map[string]struct {
		s       Sealer
		purpose string
		data    []byte
	}{
		"other purpose": {s, "p2", a},
		"tampered":      {s, "p1", tampered},
		"truncated":     {s, "p1", a[:10]},
		"other key":     {other, "p1", a},
		"empty":         {s, "p1", nil},
	} {
		if _, err := tc.s.Open(ctx, tc.purpose, tc.data); !errors.Is(err, ErrUnseal) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if _, err := NewStaticSealer(make([]byte, 16), nil); err == nil {
		t.Fatal("AES-128 key accepted")
	}
}
