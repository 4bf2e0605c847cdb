package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/iam"
)

const loopback = "http://127.0.0.1/callback"

func TestAuthorizationCodeWithPKCE(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice")
	c := e.client(AddClientInput{Name: "cli", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}, Public: true})
	// Any port on the loopback address (RFC 8252), the path exactly.
	redirect := "http://127.0.0.1:45678/callback"
	tk := e.codeGrant(c, redirect, "alice")
	if tk.RefreshToken == "" || tk.IDToken == "" {
		t.Fatalf("want refresh and ID tokens: %+v", tk)
	}
	id, roles, err := e.p.VerifyWebIdentity(context.Background(), tk.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != u.UserID || id.User != "alice" || roles != nil || len(id.Audience) != 1 || id.Audience[0] != c.ID {
		t.Fatalf("identity %+v", id)
	}
	// The access token verifies too (a JWT, stored for revocation).
	if _, _, err := e.p.VerifyWebIdentity(context.Background(), tk.AccessToken); err != nil {
		t.Fatal(err)
	}
	// Userinfo answers for the access token.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+PathUserinfo, nil)
	req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(read(t, resp)), &info); err != nil || info["preferred_username"] != "alice" {
		t.Fatalf("userinfo %d %v %v", resp.StatusCode, info, err)
	}
}

func TestCodeFlowRefusals(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	pub := e.client(AddClientInput{Name: "cli", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback, "https://app.example/cb"}, Public: true})
	exchange := func(code, redirect, verifier string) tokens {
		return e.tokenCall(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
			"client_id": {pub.ID}, "code_verifier": {verifier}}, pub.ID, "")
	}
	t.Run("wrong PKCE verifier", func(t *testing.T) {
		_, challenge := pkce()
		code := e.code(pub.ID, loopback, challenge, "alice")
		other, _ := pkce()
		if tk := exchange(code, loopback, other); tk.status != http.StatusBadRequest || tk.Error != "invalid_grant" {
			t.Fatalf("wrong verifier: %d %s", tk.status, tk.Error)
		}
	})
	t.Run("code replay", func(t *testing.T) {
		verifier, challenge := pkce()
		code := e.code(pub.ID, loopback, challenge, "alice")
		first := exchange(code, loopback, verifier)
		if first.status != http.StatusOK {
			t.Fatalf("first exchange: %d %s %s", first.status, first.Error, first.Description)
		}
		if tk := exchange(code, loopback, verifier); tk.status != http.StatusBadRequest || tk.Error != "invalid_grant" {
			t.Fatalf("replay: %d %s", tk.status, tk.Error)
		}
		// The replay revoked what the first exchange issued.
		if _, _, err := e.p.VerifyWebIdentity(context.Background(), first.AccessToken); !errors.Is(err, iam.ErrInvalidIdentityToken) {
			t.Fatalf("access token after replay: %v", err)
		}
	})
	t.Run("redirect URI not registered", func(t *testing.T) {
		_, challenge := pkce()
		for _, bad := range []string{"https://evil.example/cb", "https://app.example/cb/more", "https://app.example/cb?x=1", "http://127.0.0.1/other"} {
			resp, err := e.browser().Get(e.authorizeURL(pub.ID, bad, challenge, "openid"))
			if err != nil {
				t.Fatal(err)
			}
			body := read(t, resp)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || strings.Contains(body, "csrf_token") {
				t.Fatalf("%s: %d Location=%q", bad, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})
	t.Run("no PKCE or plain PKCE", func(t *testing.T) {
		q := url.Values{"client_id": {pub.ID}, "redirect_uri": {loopback}, "response_type": {"code"}, "scope": {"openid"}, "state": {"abcdefghij"}}
		for _, extra := range []url.Values{{}, {"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"plain"}}} {
			qq := url.Values{}
			for k, v := range q {
				qq[k] = v
			}
			for k, v := range extra {
				qq[k] = v
			}
			resp, err := e.browser().Get(e.srv.URL + PathAuthorize + "?" + qq.Encode())
			if err != nil {
				t.Fatal(err)
			}
			read(t, resp)
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
				t.Fatalf("%v: %d %s", extra, resp.StatusCode, loc)
			}
		}
	})
	t.Run("implicit and password grants", func(t *testing.T) {
		_, challenge := pkce()
		u := strings.Replace(e.authorizeURL(pub.ID, loopback, challenge, "openid"), "response_type=code", "response_type=token", 1)
		resp, err := e.browser().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		read(t, resp)
		if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || !strings.Contains(loc.Fragment+loc.RawQuery, "error=unsupported_response_type") {
			t.Fatalf("implicit: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		tk := e.tokenCall(url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {testPassword}, "client_id": {pub.ID}}, pub.ID, "")
		if tk.status == http.StatusOK {
			t.Fatal("password grant answered")
		}
	})
	t.Run("wrong password and CSRF", func(t *testing.T) {
		_, challenge := pkce()
		resp := e.login(e.browser(), e.authorizeURL(pub.ID, loopback, challenge, "openid"), "alice", "wrong-password")
		body := read(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "incorrect") {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
		// A form posted without the page's cookie is refused.
		b := e.browser()
		r, _ := b.Get(e.authorizeURL(pub.ID, loopback, challenge, "openid"))
		form := formFields(t, read(t, r))
		form.Set("username", "alice")
		form.Set("password", testPassword)
		resp, err := e.browser().PostForm(e.srv.URL+PathAuthorize, form)
		if err != nil {
			t.Fatal(err)
		}
		if read(t, resp); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site post: %d", resp.StatusCode)
		}
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	c := e.client(AddClientInput{Name: "app", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}})
	tk := e.codeGrant(c, loopback, "alice")
	refresh := func(rt string) tokens {
		return e.tokenCall(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, c.ID, c.Secret)
	}
	next := refresh(tk.RefreshToken)
	if next.status != http.StatusOK || next.RefreshToken == "" || next.RefreshToken == tk.RefreshToken || next.IDToken == "" {
		t.Fatalf("refresh: %d %s %s", next.status, next.Error, next.Description)
	}
	// The rotated-away access token is gone; the new one works.
	if _, _, err := e.p.VerifyWebIdentity(context.Background(), tk.AccessToken); !errors.Is(err, iam.ErrInvalidIdentityToken) {
		t.Fatalf("old access token: %v", err)
	}
	if _, _, err := e.p.VerifyWebIdentity(context.Background(), next.IDToken); err != nil {
		t.Fatalf("new ID token: %v", err)
	}
	// Reusing the old refresh token revokes the whole family.
	if r := refresh(tk.RefreshToken); r.status != http.StatusBadRequest || r.Error != "invalid_grant" {
		t.Fatalf("reuse: %d %s", r.status, r.Error)
	}
	if r := refresh(next.RefreshToken); r.status == http.StatusOK {
		t.Fatal("the family's current refresh token still works after a reuse")
	}
	for _, tok := range []string{next.AccessToken, next.IDToken} {
		if _, _, err := e.p.VerifyWebIdentity(context.Background(), tok); !errors.Is(err, iam.ErrInvalidIdentityToken) {
			t.Fatalf("token of a revoked family: %v", err)
		}
	}
	// A wrong secret is refused.
	if r := e.tokenCall(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next.RefreshToken}}, c.ID, "not-the-secret"); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d %s", r.status, r.Error)
	}
}

func TestRevocationEndpoint(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	c := e.client(AddClientInput{Name: "app", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}})
	tk := e.codeGrant(c, loopback, "alice")
	if r := e.postJSON(PathRevoke, url.Values{"token": {tk.RefreshToken}, "token_type_hint": {"refresh_token"}}, c.ID, c.Secret); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.Error)
	}
	if _, _, err := e.p.VerifyWebIdentity(context.Background(), tk.IDToken); !errors.Is(err, iam.ErrInvalidIdentityToken) {
		t.Fatalf("ID token after revocation: %v", err)
	}
	if r := e.tokenCall(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}}, c.ID, c.Secret); r.status == http.StatusOK {
		t.Fatal("revoked refresh token refreshed")
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.ids.CreateUser(ctx, iam.CreateUserInput{Name: "svc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.AddClient(ctx, AddClientInput{Name: "x", Grant: GrantClientCredentials, User: "nobody"}); !errors.Is(err, iam.ErrNoSuchEntity) {
		t.Fatalf("unknown service user: %v", err)
	}
	c := e.client(AddClientInput{Name: "backup", Grant: GrantClientCredentials, User: "svc"})
	if c.Secret == "" {
		t.Fatal("no secret for a confidential client")
	}
	tk := e.tokenCall(url.Values{"grant_type": {"client_credentials"}}, c.ID, c.Secret)
	if tk.status != http.StatusOK || tk.AccessToken == "" || tk.RefreshToken != "" {
		t.Fatalf("client credentials: %d %s %s", tk.status, tk.Error, tk.Description)
	}
	id, _, err := e.p.VerifyWebIdentity(ctx, tk.AccessToken)
	if err != nil || id.User != "svc" || id.Audience[0] != c.ID {
		t.Fatalf("%+v %v", id, err)
	}
	if r := e.tokenCall(url.Values{"grant_type": {"client_credentials"}}, c.ID, "wrong"); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", r.status)
	}
	// A disabled service user gets no token.
	if err := e.ids.SetUserEnabled(ctx, "svc", false); err != nil {
		t.Fatal(err)
	}
	if r := e.tokenCall(url.Values{"grant_type": {"client_credentials"}}, c.ID, c.Secret); r.status == http.StatusOK {
		t.Fatal("token for a disabled service user")
	}
}

func TestDeviceFlow(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	c := e.client(AddClientInput{Name: "headless", Grant: GrantDeviceCode, Public: true})
	var da struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
		URI        string `json:"verification_uri"`
		Interval   int    `json:"interval"`
	}
	resp, err := http.PostForm(e.srv.URL+PathDeviceCode, url.Values{"client_id": {c.ID}, "scope": {"openid offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(read(t, resp)), &da); err != nil || da.DeviceCode == "" || len(da.UserCode) != 9 {
		t.Fatalf("device authorization: %d %+v %v", resp.StatusCode, da, err)
	}
	poll := func() tokens {
		return e.tokenCall(url.Values{"grant_type": {grantTypeDevice}, "device_code": {da.DeviceCode}, "client_id": {c.ID}}, c.ID, "")
	}
	if tk := poll(); tk.Error != "authorization_pending" {
		t.Fatalf("first poll: %d %s", tk.status, tk.Error)
	}
	if tk := poll(); tk.Error != "slow_down" {
		t.Fatalf("fast poll: %d %s", tk.status, tk.Error)
	}
	// A second client (the user's browser) approves through the login page.
	b := e.browser()
	r, err := b.Get(da.URI + "?user_code=" + da.UserCode)
	if err != nil {
		t.Fatal(err)
	}
	form := formFields(t, read(t, r))
	form.Set("user_code", strings.ToLower(da.UserCode))
	form.Set("username", "alice")
	form.Set("password", testPassword)
	form.Set("decision", "approve")
	r, err = b.PostForm(da.URI, form)
	if err != nil {
		t.Fatal(err)
	}
	if body := read(t, r); r.StatusCode != http.StatusOK || !strings.Contains(body, "signed in as alice") {
		t.Fatalf("approve: %d %s", r.StatusCode, body)
	}
	e.clock.Advance(2 * time.Second)
	tk := poll()
	if tk.status != http.StatusOK || tk.IDToken == "" || tk.RefreshToken == "" {
		t.Fatalf("token: %d %s %s", tk.status, tk.Error, tk.Description)
	}
	if id, _, err := e.p.VerifyWebIdentity(context.Background(), tk.IDToken); err != nil || id.User != "alice" {
		t.Fatalf("%+v %v", id, err)
	}
	e.clock.Advance(2 * time.Second)
	if again := poll(); again.status == http.StatusOK {
		t.Fatal("device code used twice")
	}
	// Refresh works for device grants too.
	if r := e.tokenCall(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}, "client_id": {c.ID}}, c.ID, ""); r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s %s", r.status, r.Error, r.Description)
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LoginFreeFailures, c.LoginDelay = 3, time.Minute })
	e.user("alice")
	c := e.client(AddClientInput{Name: "cli", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}, Public: true})
	_, challenge := pkce()
	try := func(pw string) (int, string) {
		resp := e.login(e.browser(), e.authorizeURL(c.ID, loopback, challenge, "openid"), "alice", pw)
		body := read(t, resp)
		msg := ""
		if m := errorRE.FindStringSubmatch(body); m != nil {
			msg = m[1]
		}
		return resp.StatusCode, msg
	}
	for i := 0; i < 3; i++ {
		if st, _ := try("wrong-" + randomString()); st != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, st)
		}
	}
	// Past the threshold even the right password waits.
	if st, msg := try(testPassword); st != http.StatusTooManyRequests || !strings.Contains(msg, "Too many") {
		t.Fatalf("throttled: %d %q", st, msg)
	}
	e.clock.Advance(61 * time.Second)
	if st, _ := try(testPassword); st != http.StatusSeeOther && st != http.StatusFound {
		t.Fatalf("after the delay: %d", st)
	}
}
