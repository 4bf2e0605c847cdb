package kms

import (
	"bytes"
	"testing"
)

// FuzzDecrypt feeds arbitrary sealed blobs to Decrypt and Open: no panic,
// and success only for the genuine blob.
func FuzzDecrypt(f *testing.F) {
	n := newNode(f, newKV(f), 1)
	ec := map[string]string{"k": "v"}
	plain, sealed, err := n.GenerateDataKey(bg, "", ec)
	if err != nil {
		f.Fatal(err)
	}
	secret, err := n.Seal(bg, "p", []byte("secret"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(secret)
	f.Add(sealed[:len(sealed)-1])
	f.Add([]byte{1, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, err := n.Decrypt(bg, b, ec); err == nil && (got != plain || !bytes.Equal(b, sealed)) {
			t.Fatalf("Decrypt accepted a blob that is not the genuine one")
		}
		if got, err := n.Open(bg, "p", b); err == nil && (string(got) != "secret" || !bytes.Equal(b, secret)) {
			t.Fatalf("Open accepted a blob that is not the genuine one")
		}
		SealedKeyID(b)
	})
}
