package console_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filesphere/filesphere/console"
	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/iam/oauth"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
)

// oauthEnv is the S3 API with the real built-in authorization server
// (iam/oauth over the same KV and iam) and a console that is its client.
type oauthEnv struct {
	*env
	prov *oauth.Provider
}

const (
	consoleClient = "filesphere-console"
	testPassword  = "Corr3ct-Horse!"
	idTokenTTL    = 20 * time.Minute
)

// webIdentity hands STS's exchange to the provider made after the API.
type webIdentity struct {
	p *atomic.Pointer[oauth.Provider]
}

func (w webIdentity) AssumeRoleWithWebIdentity(ctx context.Context, token string, in iam.AssumeRoleWithWebIdentityInput) (iam.AssumeRoleWithWebIdentityOutput, error) {
	return w.p.Load().AssumeRoleWithWebIdentity(ctx, token, in)
}

func newOAuthEnv(t *testing.T) *oauthEnv {
	t.Helper()
	var prov atomic.Pointer[oauth.Provider]
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { prov.Load().Handler().ServeHTTP(w, r) })
	api := s3test.WithAPIConfig(func(c *s3api.Config) { c.OAuth, c.WebIdentity = handler, webIdentity{&prov} })
	oe := &oauthEnv{}
	oe.env = newEnvWith(t, []s3test.Option{api}, func(e *env, c *console.Config) {
		cfg := oauth.DefaultConfig()
		cfg.Issuer, cfg.SweepInterval, cfg.IDTokenLifespan = e.s3.PlainURL, 0, idTokenTTL
		p, err := oauth.New(t.Context(), cfg, e.s3.KV, e.s3.KMS, e.s3.IAM)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		prov.Store(p)
		oe.prov = p
		redirect := e.console.URL + console.CallbackPath
		c.OAuth = &console.OAuthConfig{Issuer: e.s3.PlainURL, RedirectURL: redirect, ClientID: func(ctx context.Context) (string, error) {
			cl, err := p.EnsurePublicClient(ctx, consoleClient, redirect)
			return cl.ID, err
		}}
	})
	return oe
}

// passwordUser creates a user with a login profile and an inline policy.
func (e *oauthEnv) passwordUser(t *testing.T, name, policy string) {
	t.Helper()
	e.user(t, name, policy)
	if _, err := e.s3.IAM.CreateLoginProfile(t.Context(), name, testPassword, false); err != nil {
		t.Fatal(err)
	}
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// noRedirects makes b stop at every redirect, to look at each step.
func noRedirects(b *browser) *browser {
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return b
}

// get fetches an absolute URL with the browser's cookies.
func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// start begins "Log in with FileSphere" and returns the authorization URL.
func (b *browser) start() *url.URL {
	b.t.Helper()
	resp, _ := b.do("GET", "/api/login/web-identity", nil, nil)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("start: %d %v", resp.StatusCode, resp.Header)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// signIn fills in the issuer's login page at auth and returns the URL the
// issuer sends the browser back to.
func (b *browser) signIn(auth *url.URL, user, password string) *url.URL {
	b.t.Helper()
	resp, page := b.get(auth.String())
	if resp.StatusCode != 200 || !strings.Contains(page, "Sign in to FileSphere for <b>"+consoleClient+"</b>") {
		b.t.Fatalf("login page: %d %s", resp.StatusCode, page)
	}
	form := url.Values{"username": {user}, "password": {password}, "decision": {"approve"}}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	post := *auth
	post.RawQuery = ""
	resp, err := b.c.PostForm(post.String(), form)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		b.t.Fatalf("login form: %d", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	return back
}

// finish follows the issuer's redirect to the console's callback and
// returns the refusal shown on the login page ("" for none).
func (b *browser) finish(back *url.URL) string {
	b.t.Helper()
	resp, _ := b.get(back.String())
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("callback: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Path != "/" {
		b.t.Fatalf("callback sent the browser to %v", resp.Header.Get("Location"))
	}
	return loc.Query().Get("login_error")
}

func (b *browser) session() (sessionInfo, bool) {
	b.t.Helper()
	resp, out := b.do("GET", "/api/session", nil, nil)
	var s sessionInfo
	_ = json.Unmarshal(out, &s)
	b.csrf = s.CSRF
	return s, resp.StatusCode == 200
}

// The whole flow against the real authorization server: the console
// registers its client, sends the browser to the login page with state,
// PKCE S256 and a nonce, redeems the code and exchanges the ID token with
// STS; the session is the user's own, authorized as the user, and ends
// with the ID token.
func TestOAuthLogin(t *testing.T) {
	e := newOAuthEnv(t)
	e.passwordUser(t, "alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets","s3:CreateBucket"],"Resource":"*"}]}`)
	b := noRedirects(e.browser(t))
	resp, out := b.do("GET", "/api/session", nil, nil)
	if resp.StatusCode != 401 || !strings.Contains(string(out), `"webIdentity":true`) {
		t.Fatalf("login options: %d %s", resp.StatusCode, out)
	}
	started := time.Now()
	auth := b.start()
	q := auth.Query()
	clients, err := e.prov.ListClients(t.Context())
	if err != nil || len(clients) != 1 || clients[0].Name != consoleClient || !clients[0].Public || clients[0].RedirectURIs[0] != e.console.URL+console.CallbackPath {
		t.Fatalf("the console's client: %+v %v", clients, err)
	}
	if !strings.HasPrefix(auth.String(), e.s3.PlainURL+"/.filesphere/oauth/authorize?") || q.Get("client_id") != clients[0].ID ||
		q.Get("redirect_uri") != e.console.URL+console.CallbackPath || q.Get("response_type") != "code" || q.Get("scope") != "openid" ||
		q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 32 || len(q.Get("nonce")) < 32 {
		t.Fatalf("authorization request %s", auth)
	}
	cu, _ := url.Parse(e.console.URL)
	var pending *http.Cookie
	for _, c := range b.c.Jar.Cookies(cu) {
		if c.Name == "filesphere_console_login" {
			pending = c
		}
	}
	if pending == nil || strings.Contains(pending.Value, q.Get("state")) {
		t.Fatalf("the pending login's cookie: %+v (the state must be sealed in it)", pending)
	}
	// The issuer's login page sends the browser back with a code.
	back := b.signIn(auth, "alice", testPassword)
	if !strings.HasPrefix(back.String(), e.console.URL+console.CallbackPath+"?") || back.Query().Get("state") != q.Get("state") || back.Query().Get("code") == "" {
		t.Fatalf("the issuer sent the browser to %s", back)
	}
	if msg := b.finish(back); msg != "" {
		t.Fatalf("login refused: %s", msg)
	}
	s, ok := b.session()
	if !ok || !strings.HasSuffix(s.ARN, ":user/alice") || s.Root || !strings.HasPrefix(s.AccessKeyID, "ASIA") {
		t.Fatalf("session %+v", s)
	}
	// The credentials end with the ID token.
	if s.Expires.After(started.Add(idTokenTTL+time.Minute)) || s.Expires.Before(started.Add(idTokenTTL-time.Minute)) {
		t.Fatalf("session ends %v, the ID token %v after %v", s.Expires, idTokenTTL, started)
	}
	// Every call is alice's request: allowed what her policy allows, and
	// nothing else.
	resp, out = b.do("PUT", "/api/s3/alices-bucket", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("CreateBucket as alice: %d %s", resp.StatusCode, out)
	}
	resp, out = b.do("DELETE", "/api/s3/alices-bucket", nil, nil)
	wantCode(t, resp, out, 403, "AccessDenied")
	if !strings.Contains(string(out), "user/alice is not authorized to perform: s3:DeleteBucket") {
		t.Fatalf("refusal names the user: %s", out)
	}
	resp, out = b.do("POST", "/api/iam", []byte("Action=CreateUser&UserName=mallory&Version=2010-05-08"), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	wantCode(t, resp, out, 403, "AccessDenied")
	// The callback URL again (a replay) finds no pending login.
	if msg := b.finish(back); !strings.HasPrefix(msg, "InvalidLogin:") {
		t.Fatalf("replayed callback: %q", msg)
	}
	// The first start registered the client; later ones reuse it.
	b2 := noRedirects(e.browser(t))
	if a2 := b2.start(); a2.Query().Get("client_id") != clients[0].ID || a2.Query().Get("state") == q.Get("state") {
		t.Fatalf("second start %s", a2)
	}
	if l, _ := e.prov.ListClients(t.Context()); len(l) != 1 {
		t.Fatalf("clients after a second login: %+v", l)
	}
}

// The callback accepts only what this browser started: a code and state
// of someone else's login (login CSRF), no pending login, a forged or
// expired cookie, and the issuer's refusals are shown, never a session.
func TestOAuthCallbackRefusals(t *testing.T) {
	e := newOAuthEnv(t)
	e.passwordUser(t, "mallory", "")
	e.passwordUser(t, "victim", "")
	attacker, victim := noRedirects(e.browser(t)), noRedirects(e.browser(t))

	// Mallory's own code and state, delivered to the victim's browser
	// (which started a login of its own): refused.
	victim.start()
	back := attacker.signIn(attacker.start(), "mallory", testPassword)
	if msg := victim.finish(back); !strings.Contains(msg, "does not belong to the login this browser started") {
		t.Fatalf("login CSRF: %q", msg)
	}
	if _, ok := victim.session(); ok {
		t.Fatal("the victim's browser holds mallory's session")
	}
	// Without a started login at all.
	if msg := noRedirects(e.browser(t)).finish(back); !strings.Contains(msg, "not started from this console") {
		t.Fatalf("no pending login: %q", msg)
	}
	// The attacker's own browser still redeems its code (the victim's
	// attempt consumed nothing).
	if msg := attacker.finish(back); msg != "" {
		t.Fatalf("the attacker's own login: %q", msg)
	}

	// A cookie the console did not seal.
	forged := noRedirects(e.browser(t))
	auth := forged.start()
	cu, _ := url.Parse(e.console.URL)
	forged.c.Jar.SetCookies(cu, []*http.Cookie{{Name: "filesphere_console_login", Value: base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("x", 80))), Path: "/"}})
	if msg := forged.finish(forged.signIn(auth, "victim", testPassword)); !strings.Contains(msg, "not made by this console") {
		t.Fatalf("forged cookie: %q", msg)
	}
	// A login that took too long.
	slow := noRedirects(e.browser(t))
	back = slow.signIn(slow.start(), "victim", testPassword)
	e.clock.advance(11 * time.Minute)
	if msg := slow.finish(back); !strings.Contains(msg, "took longer") {
		t.Fatalf("expired login: %q", msg)
	}
	e.clock.advance(-11 * time.Minute)
	// The issuer's refusal, with this browser's state, is shown.
	refused := noRedirects(e.browser(t))
	state := refused.start().Query().Get("state")
	cb, _ := url.Parse(e.console.URL + console.CallbackPath + "?error=access_denied&error_description=The+user+said+no&state=" + url.QueryEscape(state))
	if msg := refused.finish(cb); msg != "LoginRefused: access_denied The user said no" {
		t.Fatalf("the issuer's refusal: %q", msg)
	}
	// A code that is not the issuer's.
	bad := noRedirects(e.browser(t))
	state = bad.start().Query().Get("state")
	cb, _ = url.Parse(e.console.URL + console.CallbackPath + "?code=made-up&state=" + url.QueryEscape(state))
	if msg := bad.finish(cb); !strings.Contains(msg, "the token endpoint refused the code: invalid_grant") {
		t.Fatalf("a made-up code: %q", msg)
	}
	// A user disabled between login page and callback gets no session.
	late := noRedirects(e.browser(t))
	back = late.signIn(late.start(), "victim", testPassword)
	if err := e.s3.IAM.SetUserEnabled(t.Context(), "victim", false); err != nil {
		t.Fatal(err)
	}
	if msg := late.finish(back); msg == "" {
		t.Fatal("a disabled user logged in")
	} else {
		t.Logf("a disabled user: %s", msg)
	}
	if _, ok := late.session(); ok {
		t.Fatal("a disabled user holds a session")
	}
}

// A browser on another host name of the console is sent to the registered
// one first, so that the pending login's cookie is where the issuer sends
// the browser back; without OAuth the start is not offered.
func TestOAuthStartHost(t *testing.T) {
	e := newOAuthEnv(t)
	b := noRedirects(e.browser(t))
	u, _ := url.Parse(e.console.URL)
	req, _ := http.NewRequest("GET", e.console.URL+"/api/login/web-identity", nil)
	req.Host = "localhost:" + u.Port()
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.console.URL+"/api/login/web-identity" || len(resp.Cookies()) != 0 {
		t.Fatalf("other host: %d %v", resp.StatusCode, resp.Header)
	}
	off := newEnv(t)
	resp2, out := off.browser(t).do("GET", "/api/login/web-identity", nil, nil)
	wantCode(t, resp2, out, 404, "NotEnabled")
}

func TestOAuthConfigValidation(t *testing.T) {
	id := func(context.Context) (string, error) { return "x", nil }
	for _, o := range []console.OAuthConfig{
		{Issuer: "ftp://x", RedirectURL: "http://127.0.0.1:9001" + console.CallbackPath, ClientID: id},
		{Issuer: "http://127.0.0.1:9000", RedirectURL: "http://127.0.0.1:9001/elsewhere", ClientID: id},
		{Issuer: "http://127.0.0.1:9000", RedirectURL: "http://127.0.0.1:9001" + console.CallbackPath},
	} {
		cfg := console.DefaultConfig()
		cfg.OAuth = &o
		if err := cfg.Validate(); err == nil {
			t.Errorf("%+v validated", o)
		}
	}
}
