package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/iam"
	jose "github.com/go-jose/go-jose/v4"
)

func exchange(e *env, token, role string) (iam.AssumeRoleWithWebIdentityOutput, error) {
	return e.p.AssumeRoleWithWebIdentity(context.Background(), token, iam.AssumeRoleWithWebIdentityInput{RoleARN: role, RoleSessionName: "test-session"})
}

func TestWebIdentityOwnUser(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.IDTokenLifespan = 20 * time.Minute })
	ctx := context.Background()
	u := e.user("alice")
	c := e.client(AddClientInput{Name: "cli", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}, Public: true})
	tk := e.codeGrant(c, loopback, "alice")
	out, err := exchange(e, tk.IDToken, u.ARN)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := e.ids.Credentials(ctx, out.Credentials.AccessKeyID)
	if err != nil || cred.Principal.ARN != u.ARN || cred.SecretAccessKey != out.Credentials.SecretAccessKey {
		t.Fatalf("credentials %v %v", cred, err)
	}
	// Never past the token: 20 minutes, not the default hour.
	if d := time.Until(out.Credentials.Expiration); d > 20*time.Minute || d < 18*time.Minute {
		t.Fatalf("session lasts %s", d)
	}
	// Another user's ARN is refused.
	e.user("bob")
	bob, _ := e.ids.GetUser(ctx, "bob")
	if _, err := exchange(e, tk.IDToken, bob.ARN); !errors.Is(err, iam.ErrAccessDenied) {
		t.Fatalf("other user: %v", err)
	}
	// A disabled user's token is refused.
	if err := e.ids.SetUserEnabled(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	if _, err := exchange(e, tk.IDToken, u.ARN); !errors.Is(err, iam.ErrAccessDenied) {
		t.Fatalf("disabled user: %v", err)
	}
	// And the session already issued dies with the user.
	if _, err := e.ids.Credentials(ctx, out.Credentials.AccessKeyID); !errors.Is(err, iam.ErrUserDisabled) {
		t.Fatalf("session of a disabled user: %v", err)
	}
}

func TestWebIdentityRoleTrust(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.user("alice")
	c := e.client(AddClientInput{Name: "cli", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}, Public: true})
	provider := providerName(e.srv.URL)
	trust := func(aud string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},
		 "Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + provider + `:aud":"` + aud + `"}}}]}`
	}
	ok, err := e.ids.CreateRole(ctx, iam.CreateRoleInput{Name: "readers", TrustPolicy: trust(c.ID)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.ids.CreateRole(ctx, iam.CreateRoleInput{Name: "others", TrustPolicy: trust("someone-else")})
	if err != nil {
		t.Fatal(err)
	}
	tk := e.codeGrant(c, loopback, "alice")
	out, err := exchange(e, tk.IDToken, ok.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.AssumedRoleARN, "assumed-role/readers/test-session") || out.Provider != provider {
		t.Fatalf("%+v", out)
	}
	if _, err := exchange(e, tk.IDToken, other.ARN); !errors.Is(err, iam.ErrAccessDenied) {
		t.Fatalf("trust policy for another audience: %v", err)
	}
}

// signed makes a JWT signed by key with the given header fields.
func signed(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func payload(t *testing.T, token string) map[string]any {
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWebIdentityRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user("alice")
	c := e.client(AddClientInput{Name: "cli", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}, Public: true})
	tk := e.codeGrant(c, loopback, "alice")
	claims := payload(t, tk.IDToken)
	parts := strings.Split(tk.IDToken, ".")
	realKid := func() string {
		b, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var h map[string]any
		_ = json.Unmarshal(b, &h)
		return h["kid"].(string)
	}()
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tampered := func() string {
		m := payload(t, tk.IDToken)
		m["preferred_username"] = "bob"
		b, _ := json.Marshal(m)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}()
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	with := func(k string, v any) map[string]any {
		m := payload(t, tk.IDToken)
		m[k] = v
		return m
	}
	tests := []struct {
		name  string
		token string
		kind  error
	}{
		{"alg none", none, iam.ErrInvalidIdentityToken},
		{"tampered payload", tampered, iam.ErrInvalidIdentityToken},
		{"unknown key, unknown kid", signed(t, stranger, jose.ES256, "nobody", claims), iam.ErrInvalidIdentityToken},
		{"unknown key, the issuer's kid", signed(t, stranger, jose.ES256, realKid, claims), iam.ErrInvalidIdentityToken},
		{"another issuer", signed(t, stranger, jose.ES256, "k", with("iss", "https://idp.example")), iam.ErrInvalidIdentityToken},
		{"HS256", signed(t, []byte("0123456789abcdef0123456789abcdef"), jose.HS256, realKid, claims), iam.ErrInvalidIdentityToken},
		{"garbage", "not.a.jwt", iam.ErrInvalidIdentityToken},
		{"empty", "", iam.ErrInvalidIdentityToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := exchange(e, tc.token, u.ARN); !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
		})
	}
	// The genuine token works, until its audience is no longer a client.
	if _, err := exchange(e, tk.IDToken, u.ARN); err != nil {
		t.Fatal(err)
	}
	t.Run("expired", func(t *testing.T) {
		e.clock.Advance(2 * time.Hour)
		defer e.clock.Advance(-2 * time.Hour)
		if _, err := exchange(e, tk.IDToken, u.ARN); !errors.Is(err, iam.ErrExpiredIdentityToken) {
			t.Fatalf("expired: %v", err)
		}
	})
	t.Run("audience not a client", func(t *testing.T) {
		if err := e.p.RemoveClient(ctx, "cli"); err != nil {
			t.Fatal(err)
		}
		if _, err := exchange(e, tk.IDToken, u.ARN); !errors.Is(err, iam.ErrInvalidIdentityToken) {
			t.Fatalf("removed client: %v", err)
		}
	})
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user("alice")
	c := e.client(AddClientInput{Name: "cli", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}, Public: true})
	before := e.codeGrant(c, loopback, "alice")
	k, err := e.p.RotateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := e.codeGrant(c, loopback, "alice")
	if !strings.Contains(mustDecode(t, strings.Split(after.IDToken, ".")[0]), k.ID) {
		t.Fatal("new tokens are not signed by the new key")
	}
	for _, tok := range []string{before.IDToken, after.IDToken} {
		if _, err := exchange(e, tok, u.ARN); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	keys, _ := e.p.Keys(ctx)
	if len(keys) != 2 || !keys[0].Signing || keys[1].Signing {
		t.Fatalf("keys %+v", keys)
	}
	// Once the old key's tokens have expired it leaves the JWKS, and its
	// tokens are refused for their key even were they not expired.
	e.clock.Advance(e.p.cfg.retain() + time.Second)
	if set, _ := e.p.keys.jwks(ctx); len(set.Keys) != 1 || set.Keys[0].KeyID != k.ID {
		t.Fatalf("JWKS after the retention: %+v", set.Keys)
	}
}

func mustDecode(t *testing.T, s string) string {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testIssuer is a small independent OpenID Connect issuer (go-jose): a
// discovery document and a JWKS over HTTP, keys it can rotate.
type testIssuer struct {
	srv *httptest.Server
	mu  sync.Mutex
	key *rsa.PrivateKey
	kid string
}

func newTestIssuer(t *testing.T) *testIssuer {
	ti := &testIssuer{}
	ti.rotate(t)
	mux := http.NewServeMux()
	ti.srv = httptest.NewServer(mux)
	t.Cleanup(ti.srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"issuer": ti.srv.URL, "jwks_uri": ti.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		ti.mu.Lock()
		defer ti.mu.Unlock()
		writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &ti.key.PublicKey, KeyID: ti.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	return ti
}

func (ti *testIssuer) rotate(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ti.mu.Lock()
	ti.key, ti.kid = k, randomString()[:8]
	ti.mu.Unlock()
}

func (ti *testIssuer) token(t *testing.T, sub, aud string, extra map[string]any) string {
	ti.mu.Lock()
	key, kid := ti.key, ti.kid
	ti.mu.Unlock()
	now := time.Now()
	c := map[string]any{"iss": ti.srv.URL, "sub": sub, "aud": aud, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	return signed(t, key, jose.RS256, kid, c)
}

func TestExternalIssuer(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.JWKSMinRefresh = 100 * time.Millisecond })
	ctx := context.Background()
	ti := newTestIssuer(t)
	provider := providerName(ti.srv.URL)
	role, err := e.ids.CreateRole(ctx, iam.CreateRoleInput{Name: "ci", TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{"` + provider + `:aud":"fs","` + provider + `:sub":"repo:main"}}}]}`})
	if err != nil {
		t.Fatal(err)
	}
	tok := ti.token(t, "repo:main", "fs", nil)
	if _, err := exchange(e, tok, role.ARN); !errors.Is(err, iam.ErrInvalidIdentityToken) {
		t.Fatalf("unregistered issuer: %v", err)
	}
	if _, err := e.p.AddIssuer(ctx, AddIssuerInput{URL: "http://192.0.2.1/", Audiences: []string{"fs"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("http issuer off loopback: %v", err)
	}
	if _, err := e.p.AddIssuer(ctx, AddIssuerInput{URL: ti.srv.URL, Audiences: []string{"fs"}}); err != nil {
		t.Fatal(err)
	}
	out, err := exchange(e, tok, role.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if out.SubjectFromWebIdentityToken != "repo:main" || out.Audience != "fs" {
		t.Fatalf("%+v", out)
	}
	// The trust policy's conditions hold: another subject is refused; a
	// token for another audience is refused before any policy.
	if _, err := exchange(e, ti.token(t, "repo:fork", "fs", nil), role.ARN); !errors.Is(err, iam.ErrAccessDenied) {
		t.Fatalf("other subject: %v", err)
	}
	if _, err := exchange(e, ti.token(t, "repo:main", "other", nil), role.ARN); !errors.Is(err, iam.ErrInvalidIdentityToken) {
		t.Fatalf("other audience: %v", err)
	}
	// An external token cannot become an IAM user.
	e.user("alice")
	alice, _ := e.ids.GetUser(ctx, "alice")
	if _, err := exchange(e, tok, alice.ARN); !errors.Is(err, iam.ErrAccessDenied) {
		t.Fatalf("external token as a user: %v", err)
	}
	// The issuer rotates its key: the new kid is fetched.
	ti.rotate(t)
	time.Sleep(150 * time.Millisecond)
	if _, err := exchange(e, ti.token(t, "repo:main", "fs", nil), role.ARN); err != nil {
		t.Fatalf("after the issuer's key rotation: %v", err)
	}
	if err := e.p.RemoveIssuer(ctx, ti.srv.URL); err != nil {
		t.Fatal(err)
	}
	if _, err := exchange(e, ti.token(t, "repo:main", "fs", nil), role.ARN); !errors.Is(err, iam.ErrInvalidIdentityToken) {
		t.Fatalf("after unregistering: %v", err)
	}
	// Claim → role mappings restrict the roles.
	if _, err := e.p.AddIssuer(ctx, AddIssuerInput{URL: ti.srv.URL, Audiences: []string{"fs"},
		Roles: []RoleMapping{{Claim: "groups", Value: "deployers", RoleARN: role.ARN}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := exchange(e, ti.token(t, "repo:main", "fs", map[string]any{"groups": []string{"devs"}}), role.ARN); !errors.Is(err, iam.ErrAccessDenied) {
		t.Fatalf("claim not mapped: %v", err)
	}
	if _, err := exchange(e, ti.token(t, "repo:main", "fs", map[string]any{"groups": []string{"devs", "deployers"}}), role.ARN); err != nil {
		t.Fatalf("claim mapped: %v", err)
	}
}
