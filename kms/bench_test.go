package kms

import (
	"testing"
)

// BenchmarkDataKey measures the per-object KMS cost over the in-process KV:
// generating and decrypting a data key (each re-reads the key record
// locally to honour disables and rotations), the local record read alone,
// and Decrypt when every call misses the cache (two keys, cache of one).
func BenchmarkDataKey(b *testing.B) {
	kv := newKV(b)
	n := newNode(b, kv, 1)
	ec := map[string]string{"aws:s3:arn": "arn:aws:s3:::bucket/some/object/key"}
	_, sealed, err := n.GenerateDataKey(bg, "", ec)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("GenerateDataKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := n.GenerateDataKey(bg, "", ec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decrypt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := n.Decrypt(bg, sealed, ec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("record-read-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kv.Get(bg, recordKey(DefaultKeyName)); err != nil {
				b.Fatal(err)
			}
		}
	})
	if _, err := n.CreateKey(bg, "other"); err != nil {
		b.Fatal(err)
	}
	_, other, err := n.GenerateDataKey(bg, "other", ec)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Decrypt-cache-miss", func(b *testing.B) {
		m := newNode(b, kv, 1, func(c *Config) { c.CacheSize = 1 })
		blobs := [][]byte{sealed, other}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := m.Decrypt(bg, blobs[i%2], ec); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Seal+Open", func(b *testing.B) {
		secret := []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
		b.ReportAllocs()
		for b.Loop() {
			s, err := n.Seal(bg, "iam/secret-key/AKID", secret)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := n.Open(bg, "iam/secret-key/AKID", s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
