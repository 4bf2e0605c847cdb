package oauth

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Of concurrent redemptions of one code, or concurrent uses of one refresh
// token, at most one succeeds: the use is a compare-and-swap in the KV.
// (None may: a redemption that sees the code used revokes what the winner
// is issuing, as RFC 6749 §4.1.2 asks of a replayed code.)
func TestConcurrentOneTimeUse(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	c := e.client(AddClientInput{Name: "app", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}})
	run := func(n int, form url.Values) int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if tk := e.tokenCall(form, c.ID, c.Secret); tk.status == http.StatusOK {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return ok
	}
	verifier, challenge := pkce()
	code := e.code(c.ID, loopback, challenge, "alice")
	if n := run(8, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {loopback}, "code_verifier": {verifier}}); n > 1 {
		t.Fatalf("%d redemptions of one code succeeded", n)
	}
	tk := e.codeGrant(c, loopback, "alice")
	if n := run(8, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}}); n > 1 {
		t.Fatalf("%d uses of one refresh token succeeded", n)
	}
}

// The sweep deletes expired codes, tokens, families and device codes, and
// leaves live ones.
func TestSweep(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	c := e.client(AddClientInput{Name: "app", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}})
	e.codeGrant(c, loopback, "alice")
	count := func() int {
		n := 0
		for _, p := range []string{prefixCode, prefixAccess, prefixRefresh, prefixFamily, prefixPKCE, prefixOIDC} {
			es, err := e.kv.List(context.Background(), p, p, 0)
			if err != nil {
				t.Fatal(err)
			}
			n += len(es)
		}
		return n
	}
	before := count()
	if err := e.p.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := count(); after != before || before == 0 {
		t.Fatalf("a sweep of live records: %d → %d", before, after)
	}
	e.clock.Advance(31 * 24 * time.Hour)
	if err := e.p.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := count(); after != 0 {
		t.Fatalf("%d expired records left", after)
	}
}

// One address may start only so many device authorizations.
func TestDeviceAuthorizationLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DeviceCodesPerMinute, c.DeviceCodeBurst = 1, 3 })
	c := e.client(AddClientInput{Name: "dev", Grant: GrantDeviceCode, Public: true})
	codes := []int{}
	for i := 0; i < 5; i++ {
		r := e.postJSON(PathDeviceCode, url.Values{"client_id": {c.ID}}, "", "")
		codes = append(codes, r.status)
	}
	if codes[2] != http.StatusOK || codes[3] != http.StatusTooManyRequests || codes[4] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v", codes)
	}
}
