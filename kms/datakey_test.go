package kms

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
)

func TestGenerateDecrypt(t *testing.T) {
	n := newNode(t, newKV(t), 1)
	if _, err := n.CreateKey(bg, "testkey-1"); err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"aws:s3:arn": "arn:aws:s3:::bucket/key", "x": ""}
	plain, sealed, err := n.GenerateDataKey(bg, "testkey-1", ec)
	if err != nil {
		t.Fatal(err)
	}
	if plain == ([DataKeySize]byte{}) || bytes.Contains(sealed, plain[:]) {
		t.Fatal("data key is zero or appears in its sealed form")
	}
	plain2, sealed2, _ := n.GenerateDataKey(bg, "testkey-1", ec)
	if plain2 == plain || bytes.Equal(sealed, sealed2) {
		t.Fatal("two data keys are alike")
	}
	got, err := n.Decrypt(bg, sealed, map[string]string{"x": "", "aws:s3:arn": "arn:aws:s3:::bucket/key"})
	if err != nil || got != plain {
		t.Fatalf("Decrypt = %x, %v", got, err)
	}
	if name, v, err := SealedKeyID(sealed); err != nil || name != "testkey-1" || v != 1 {
		t.Fatalf("SealedKeyID = %q %d %v", name, v, err)
	}
	for _, other := range []map[string]string{
		nil,
		{"aws:s3:arn": "arn:aws:s3:::bucket/key"},
		{"aws:s3:arn": "arn:aws:s3:::bucket/other", "x": ""},
		{"aws:s3:arn": "arn:aws:s3:::bucket/key", "x": "", "y": ""},
		{"aws:s3:arn": "arn:aws:s3:::bucket/key", "X": ""},
	} {
		if _, err := n.Decrypt(bg, sealed, other); !errors.Is(err, ErrContextMismatch) {
			t.Errorf("Decrypt with context %v: %v", other, err)
		}
	}
	if _, _, err := n.GenerateDataKey(bg, "nope", nil); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("unknown key: %v", err)
	}
	if _, _, err := n.GenerateDataKey(bg, "_secrets", nil); !errors.Is(err, ErrInvalidKeyName) {
		t.Errorf("internal key: %v", err)
	}
	big := map[string]string{"k": strings.Repeat("v", MaxContextSize)}
	if _, _, err := n.GenerateDataKey(bg, "testkey-1", big); !errors.Is(err, ErrInvalidContext) {
		t.Errorf("oversized context: %v", err)
	}
	if _, err := n.Decrypt(bg, sealed, big); !errors.Is(err, ErrInvalidContext) {
		t.Errorf("oversized context: %v", err)
	}
}

// Every single-byte change of a sealed data key fails with a typed error.
func TestDecryptTampered(t *testing.T) {
	n := newNode(t, newKV(t), 1)
	for _, name := range []string{"key-a", "key-b"} {
		if _, err := n.CreateKey(bg, name); err != nil {
			t.Fatal(err)
		}
	}
	ec := map[string]string{"bucket": "b"}
	_, sealed, err := n.GenerateDataKey(bg, "key-a", ec)
	if err != nil {
		t.Fatal(err)
	}
	typed := []error{ErrInvalidCiphertext, ErrContextMismatch, ErrKeyNotFound}
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= bit
			_, err := n.Decrypt(bg, bad, ec)
			if err == nil || !slices.ContainsFunc(typed, func(e error) bool { return errors.Is(err, e) }) {
				t.Fatalf("byte %d ^ %#x: err = %v", i, bit, err)
			}
		}
	}
	// Relabelled as the other key (same name length): not authentic.
	relabelled := bytes.Replace(bytes.Clone(sealed), []byte("key-a"), []byte("key-b"), 1)
	if _, err := n.Decrypt(bg, relabelled, ec); !errors.Is(err, ErrInvalidCiphertext) && !errors.Is(err, ErrContextMismatch) {
		t.Fatalf("relabelled: %v", err)
	}
	for _, cut := range []int{0, 1, 10, len(sealed) - 1} {
		if _, err := n.Decrypt(bg, sealed[:cut], ec); !errors.Is(err, ErrInvalidCiphertext) {
			t.Errorf("cut to %d: %v", cut, err)
		}
	}
	if _, err := n.Decrypt(bg, append(bytes.Clone(sealed), 0), ec); !errors.Is(err, ErrInvalidCiphertext) {
		t.Errorf("appended byte: %v", err)
	}
}

func TestRotateKeepsOldReadable(t *testing.T) {
	n := newNode(t, newKV(t), 1)
	if _, err := n.CreateKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	p1, s1, _ := n.GenerateDataKey(bg, "k", nil)
	if _, err := n.RotateKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	p2, s2, _ := n.GenerateDataKey(bg, "k", nil)
	if _, v, _ := SealedKeyID(s2); v != 2 {
		t.Fatalf("after rotation new data keys use version %d", v)
	}
	for _, c := range []struct {
		sealed []byte
		plain  [DataKeySize]byte
	}{{s1, p1}, {s2, p2}} {
		if got, err := n.Decrypt(bg, c.sealed, nil); err != nil || got != c.plain {
			t.Fatalf("Decrypt after rotation: %v", err)
		}
	}
	// A blob naming a version the key does not have.
	bad := bytes.Clone(s2)
	bad[3+len("k")+3] = 9
	if _, err := n.Decrypt(bg, bad, nil); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("unknown version: %v", err)
	}
}

func TestDisableMakesUnreadable(t *testing.T) {
	n := newNode(t, newKV(t), 1)
	if _, err := n.CreateKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	p, s, _ := n.GenerateDataKey(bg, "k", nil)
	if _, err := n.DisableKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Decrypt(bg, s, nil); !errors.Is(err, ErrKeyDisabled) {
		t.Fatalf("Decrypt with disabled key: %v", err)
	}
	if _, _, err := n.GenerateDataKey(bg, "k", nil); !errors.Is(err, ErrKeyDisabled) {
		t.Fatalf("GenerateDataKey with disabled key: %v", err)
	}
	if _, err := n.EnableKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	if got, err := n.Decrypt(bg, s, nil); err != nil || got != p {
		t.Fatalf("Decrypt after enable: %v", err)
	}
}

// Two nodes over one replicated key space: what one node changes, the
// other honours at once, through the record's revision.
func TestChangesSeenByOtherNodes(t *testing.T) {
	kv := newKV(t)
	a, b := newNode(t, kv, 1), newNode(t, kv, 1)
	if _, err := a.CreateKey(bg, "shared"); err != nil {
		t.Fatal(err)
	}
	p, s, err := b.GenerateDataKey(bg, "shared", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Decrypt(bg, s, nil); err != nil || got != p {
		t.Fatalf("node a decrypts node b's key: %v", err)
	}
	if _, err := b.Decrypt(bg, s, nil); err != nil { // warm b's cache
		t.Fatal(err)
	}
	if _, err := a.DisableKey(bg, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decrypt(bg, s, nil); !errors.Is(err, ErrKeyDisabled) {
		t.Fatalf("node b after node a disabled: %v", err)
	}
	if _, err := a.EnableKey(bg, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RotateKey(bg, "shared"); err != nil {
		t.Fatal(err)
	}
	_, s2, err := b.GenerateDataKey(bg, "shared", nil)
	if _, v, _ := SealedKeyID(s2); err != nil || v != 2 {
		t.Fatalf("node b after node a rotated seals with version %d (%v)", v, err)
	}
}

// Repeated use is served from the cache; a change of the record reloads.
func TestCacheFollowsRevision(t *testing.T) {
	n := newNode(t, newKV(t), 1)
	if _, err := n.CreateKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	_, s, _ := n.GenerateDataKey(bg, "k", nil)
	for i := 0; i < 100; i++ {
		if _, err := n.Decrypt(bg, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.unseals.Load(); got != 1 {
		t.Fatalf("%d unseals for 101 uses of an unchanged key", got)
	}
	if _, err := n.RotateKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Decrypt(bg, s, nil); err != nil {
		t.Fatal(err)
	}
	if got := n.unseals.Load(); got != 2 {
		t.Fatalf("%d unseals after a rotation, want 2", got)
	}
}

// replicatedKV stands in for RaftKV: its reads count as linearizable ones,
// and Stale returns a local view whose reads count separately.
type replicatedKV struct {
	meta.KV
	linear, local *atomic.Int64
}

func (r replicatedKV) Get(ctx context.Context, key string) (meta.Entry, error) {
	r.linear.Add(1)
	return r.KV.Get(ctx, key)
}

func (r replicatedKV) Stale() meta.KV { return localView{r.KV, r.local} }

type localView struct {
	meta.KV
	n *atomic.Int64
}

func (l localView) Get(ctx context.Context, key string) (meta.Entry, error) {
	l.n.Add(1)
	return l.KV.Get(ctx, key)
}

// Data-key operations read the local replica; admin reads are linearizable.
func TestReadsUseLocalReplica(t *testing.T) {
	var linear, local atomic.Int64
	n := newNode(t, replicatedKV{newKV(t), &linear, &local}, 1)
	if _, err := n.CreateKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	_, s, err := n.GenerateDataKey(bg, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	l0, s0 := linear.Load(), local.Load()
	for i := 0; i < 50; i++ {
		if _, err := n.Decrypt(bg, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	if linear.Load() != l0 || local.Load() != s0+50 {
		t.Fatalf("50 Decrypts: %d linearizable and %d local reads; want 0 and 50", linear.Load()-l0, local.Load()-s0)
	}
	if _, err := n.DescribeKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	if linear.Load() != l0+1 {
		t.Fatal("DescribeKey did not read linearizably")
	}
}

// The context is bound by the AEAD itself, not only by the 8-byte check: a
// blob whose check is forged for another context still does not open.
func TestContextBoundByAEAD(t *testing.T) {
	n := newNode(t, newKV(t), 1)
	ec := map[string]string{"bucket": "a"}
	_, sealed, err := n.GenerateDataKey(bg, "", ec)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := n.loadKey(bg, DefaultKeyName, false)
	if err != nil {
		t.Fatal(err)
	}
	bl, err := parseBlob(sealed)
	if err != nil {
		t.Fatal(err)
	}
	_, macKey, err := blobKeys(ck.material(bl.version), bl.salt, bl.kind)
	if err != nil {
		t.Fatal(err)
	}
	other := map[string]string{"bucket": "b"}
	canon, _ := canonicalContext(other)
	forged := bytes.Clone(sealed)
	copy(forged[len(bl.header)-blobCheckSize:], contextCheck(macKey, canon))
	if _, err := n.Decrypt(bg, forged, other); !errors.Is(err, ErrInvalidCiphertext) {
		t.Fatalf("forged context check: %v", err)
	}
	// And the forged check (part of the header, so of the AAD) breaks the
	// original context too.
	if _, err := n.Decrypt(bg, forged, ec); err == nil {
		t.Fatal("forged blob opened with its original context")
	}
}

// TestKeyVersion: the newest version is what GenerateDataKey seals with
// (and SealedVersion reads back);
// rotation raises it, a disabled or unknown key fails, "" is the default
// key (made on first use).
func TestKeyVersion(t *testing.T) {
	n := newNode(t, newKV(t), 1)
	if _, err := n.CreateKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	for want := uint32(1); want <= 3; want++ {
		v, err := n.KeyVersion(bg, "k")
		_, sealed, _ := n.GenerateDataKey(bg, "k", nil)
		_, sv, _ := SealedKeyID(sealed)
		if mv, merr := n.SealedVersion(sealed); err != nil || merr != nil || v != want || sv != want || mv != want {
			t.Fatalf("KeyVersion %d (%v), data key sealed with %d (method: %d, %v), want %d", v, err, sv, mv, merr, want)
		}
		if _, err := n.RotateKey(bg, "k"); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := n.KeyVersion(bg, ""); err != nil || v != 1 {
		t.Fatalf("default key: %d %v", v, err)
	}
	if _, err := n.DisableKey(bg, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.KeyVersion(bg, "k"); !errors.Is(err, ErrKeyDisabled) {
		t.Fatalf("disabled key: %v", err)
	}
	if _, err := n.KeyVersion(bg, "nope"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
}
