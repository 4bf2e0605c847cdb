package sigv4

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// keyScope is what a signing key is derived for, besides the secret.
type keyScope struct {
	date            time.Time
	region, service string
}

func (s keyScope) String() string {
	return s.date.Format(scopeDateLayout) + "/" + s.region + "/" + s.service
}

func tKey(secret string, s keyScope) []byte {
	return tHMAC(tHMAC(tHMAC(tHMAC([]byte("AWS4"+secret), s.date.Format(scopeDateLayout)), s.region), s.service), "aws4_request")
}

// signedFor builds a GET whose credential scope is scope, signed over the
// correct string to sign but with the key derived from keySecret and
// keyScope: with both equal to the request's it is a valid request,
// otherwise only the key is wrong.
func signedFor(t *testing.T, ak string, scope keyScope, keySecret string, keyScope keyScope) *http.Request {
	t.Helper()
	amzDate := scope.date.Format(amzDateLayout)
	r := parseRaw(t, "GET /bucket/some/key.txt HTTP/1.1\nHost: s3.example.test\nX-Amz-Date: "+amzDate+
		"\nX-Amz-Content-Sha256: "+emptySHA256, nil)
	const signed = "host;x-amz-content-sha256;x-amz-date"
	canon := "GET\n/bucket/some/key.txt\n\nhost:s3.example.test\nx-amz-content-sha256:" + emptySHA256 +
		"\nx-amz-date:" + amzDate + "\n\n" + signed + "\n" + emptySHA256
	credScope := scope.String() + "/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + credScope + "\n" + tSHA([]byte(canon))
	sig := hex.EncodeToString(tHMAC(tKey(keySecret, keyScope), sts))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+ak+"/"+credScope+", SignedHeaders="+signed+", Signature="+sig)
	return r
}

// The derived-key cache must never let a key stand in for another: not one
// of another secret (wrong, or rotated for the same access key), nor one
// of another date, region or service, whatever the cache already holds.
func TestSigningKeyCacheBinding(t *testing.T) {
	const ak = "AKIDROTATE"
	var mu sync.Mutex
	secret := "first-secret"
	setSecret := func(s string) { mu.Lock(); secret = s; mu.Unlock() }
	c := DefaultConfig()
	c.Region = "" // any region, so only the signature tells them apart
	c.Services = []string{serviceS3, serviceIAM, serviceSTS}
	now := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	c.Now = func() time.Time { return now }
	c.Lookup = func(k string) (string, error) {
		if k != ak {
			return "", ErrInvalidAccessKeyID
		}
		mu.Lock()
		defer mu.Unlock()
		return secret, nil
	}
	v, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	// Two scope dates either side of midnight, both within the skew.
	day1, day2 := now.Add(-5*time.Minute), now.Add(5*time.Minute)
	scopes := []keyScope{
		{day1, "us-east-1", serviceS3},
		{day2, "us-east-1", serviceS3},
		{day1, "eu-west-1", serviceS3},
		{day1, "us-east-1", serviceIAM},
		{day1, "us-east-1", serviceSTS},
	}
	verify := func(r *http.Request) error { _, err := v.Verify(r); return err }

	for round, sec := range []string{"first-secret", "second-secret", "first-secret"} {
		setSecret(sec)
		other := "second-secret"
		if sec == other {
			other = "first-secret"
		}
		t.Run(fmt.Sprintf("round%d-%s", round, sec), func(t *testing.T) {
			// Valid requests first, so every scope's key is cached.
			for _, s := range scopes {
				if err := verify(signedFor(t, ak, s, sec, s)); err != nil {
					t.Fatalf("valid request for %s: %v", s, err)
				}
			}
			for _, s := range scopes {
				// A wrong secret, and the secret this key id had (or will
				// have): both cached by now in rounds 1 and 2.
				for _, bad := range []string{"wrong-secret", other, sec + "x", ""} {
					wantErr(t, verify(signedFor(t, ak, s, bad, s)), ErrSignatureDoesNotMatch)
				}
				for _, ks := range scopes {
					if ks != s {
						if err := verify(signedFor(t, ak, s, sec, ks)); !isMismatch(err) {
							t.Errorf("scope %s signed with the key of %s: %v, want a signature mismatch", s, ks, err)
						}
					}
				}
			}
		})
	}
	// The same request, signed before a rotation, fails after it.
	setSecret("first-secret")
	r := signedFor(t, ak, scopes[0], "first-secret", scopes[0])
	wantErr(t, verify(r), nil)
	setSecret("rotated")
	wantErr(t, verify(r), ErrSignatureDoesNotMatch)
}

func isMismatch(err error) bool {
	_, ok := err.(*SignatureMismatchError)
	return ok
}

func TestKeyCacheDerivesPerSecretAndBounds(t *testing.T) {
	var c keyCache
	a := c.get("AK", "s1", "20260314", "us-east-1", "s3")
	b := c.get("AK", "s2", "20260314", "us-east-1", "s3")
	if !bytes.Equal(a.key, deriveSigningKey("s1", "20260314", "us-east-1", "s3")) ||
		!bytes.Equal(b.key, deriveSigningKey("s2", "20260314", "us-east-1", "s3")) || bytes.Equal(a.key, b.key) {
		t.Fatal("cached keys are not the derivations of their own secrets")
	}
	if c.get("AK", "s1", "20260314", "us-east-1", "s3") != a {
		t.Fatal("same inputs did not hit the cache")
	}
	for i := range keyCacheMax + 10 {
		c.get("AK"+strconv.Itoa(i), "s", "20260314", "us-east-1", "s3")
		if len(c.m) > keyCacheMax {
			t.Fatalf("cache holds %d keys, bound %d", len(c.m), keyCacheMax)
		}
	}
}

// A pooled HMAC must give the same MAC as a fresh one, including across
// goroutines (run with -race).
func TestSigningKeySignConcurrent(t *testing.T) {
	k := newSigningKey(deriveSigningKey("secret", "20260314", "us-east-1", "s3"))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				msg := []byte(fmt.Sprintf("message %d/%d", g, i))
				if got, want := k.sign(nil, msg), tHMAC(k.key, string(msg)); !bytes.Equal(got, want) {
					t.Errorf("sign(%q) = %x, want %x", msg, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
