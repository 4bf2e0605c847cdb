package s3api

import (
	"net/http/httptest"
	"testing"

	"github.com/filesphere/filesphere/storage"
)

// FuzzSSEHeaders feeds arbitrary values to the encryption headers of a
// write: parsing never panics, a refusal is a client error, and what is
// accepted is one well-formed kind of encryption.
func FuzzSSEHeaders(f *testing.F) {
	f.Add("aws:kms", "alias/k1", "eyJhIjoiYiJ9", "", "", "")
	f.Add("", "", "", "AES256", "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=", "2rw9a4sXDnKBbGxEOqOA7w==")
	f.Add("AES256", "", "e30=", "AES256", "", "")
	f.Add("aws:kms", "arn:aws:kms:r:a:key/x", "eyJhd3M6czM6YXJuIjoieCJ9", "", "", "")
	f.Fuzz(func(t *testing.T, alg, keyID, ctx, calg, ckey, cmd5 string) {
		r := httptest.NewRequest("PUT", "/b/k", nil)
		for h, v := range map[string]string{hdrSSE: alg, hdrSSEKMSKeyID: keyID, hdrSSEContext: ctx,
			hdrSSECAlg: calg, objectPrefix + ssecKey: ckey, hdrSSECKeyMD5: cmd5} {
			if v != "" {
				r.Header.Set(h, v)
			}
		}
		enc, err := writeEncryption(&request{Request: r, id: Identity{TLS: true}})
		if err != nil {
			if ae := toAPIError(err); ae.status() != 400 {
				t.Fatalf("refusal %s (%d), want a 400", ae.Code, ae.status())
			}
			return
		}
		switch {
		case enc == nil:
			if alg != "" || keyID != "" || ctx != "" || calg != "" || ckey != "" || cmd5 != "" {
				t.Fatal("headers given, no encryption")
			}
		case enc.Type == storage.SSEC:
			if enc.KMSKeyID != "" || enc.Context != nil || alg != "" {
				t.Fatalf("SSE-C mixed with %+v", enc)
			}
		case enc.Type == storage.SSES3 && (enc.KMSKeyID != "" || enc.Context != nil):
			t.Fatalf("SSE-S3 with KMS settings %+v", enc)
		case enc.Type != storage.SSES3 && enc.Type != storage.SSEKMS:
			t.Fatalf("unknown encryption %q", enc.Type)
		}
	})
}
