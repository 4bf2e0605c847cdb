package oauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam"
	"github.com/sirupsen/logrus"
)

// env is one authorization server over a real KV, served over real HTTP.
type env struct {
	t     *testing.T
	kv    *meta.Local
	ids   *iam.Service
	p     *Provider
	srv   *httptest.Server
	clock *clock
}

// clock is a settable clock (starts at the real time: fosite stamps some
// expiries with time.Now itself).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newEnv(t *testing.T, tweak ...func(*Config)) *env {
	t.Helper()
	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	l := logrus.New()
	l.SetOutput(testWriter{t})
	l.SetLevel(logrus.DebugLevel)
	log := logrus.NewEntry(l)
	clk := &clock{}
	icfg := iam.DefaultConfig()
	icfg.Now, icfg.Log = clk.Now, log
	icfg.Password = iam.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}
	icfg.SessionSweepInterval = 0
	sealer, err := iam.NewStaticSealer(bytes.Repeat([]byte{7}, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := iam.New(context.Background(), icfg, kv, sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ids.Close() })
	e := &env{t: t, kv: kv, ids: ids, clock: clk}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	cfg := DefaultConfig()
	cfg.Issuer, cfg.Now, cfg.Log, cfg.SweepInterval = e.srv.URL, clk.Now, log, 0
	cfg.DevicePollInterval = time.Second
	for _, f := range tweak {
		f(&cfg)
	}
	p, err := New(context.Background(), cfg, kv, sealer, ids)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	e.p = p
	mux.Handle("/", p.Handler())
	return e
}

const testPassword = "Corr3ct-Horse!"

// user creates an IAM user with a password.
func (e *env) user(name string) iam.User {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.ids.CreateUser(ctx, iam.CreateUserInput{Name: name})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.ids.CreateLoginProfile(ctx, name, testPassword, false); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) client(in AddClientInput) NewClient {
	e.t.Helper()
	c, err := e.p.AddClient(context.Background(), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// browser is an HTTP client with cookies that does not follow redirects.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func pkce() (verifier, challenge string) {
	verifier = strings.Repeat("v", 20) + randomString()
	h := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(h[:])
}

func randomString() string {
	s, _ := randomToken(24)
	return s
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	errorRE  = regexp.MustCompile(`<p class="err" role="alert">([^<]*)</p>`)
)

// formFields reads the hidden fields of the login page.
func formFields(t *testing.T, body string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Add(m[1], htmlUnescape(m[2]))
	}
	if v.Get("csrf_token") == "" {
		t.Fatalf("no login form in:\n%s", body)
	}
	return v
}

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+")
	return r.Replace(s)
}

func read(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// authorizeURL builds an authorization request.
func (e *env) authorizeURL(clientID, redirect, challenge, scope string) string {
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {scope},
		"state": {"state-" + randomString()}, "nonce": {"nonce-" + randomString()}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	return e.srv.URL + PathAuthorize + "?" + q.Encode()
}

// login fills the login form of an authorization request and returns the
// final answer (a redirect on success).
func (e *env) login(b *http.Client, authURL, user, password string) *http.Response {
	e.t.Helper()
	resp, err := b.Get(authURL)
	if err != nil {
		e.t.Fatal(err)
	}
	body := read(e.t, resp)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET authorize: %d %s", resp.StatusCode, body)
	}
	form := formFields(e.t, body)
	form.Set("username", user)
	form.Set("password", password)
	resp, err = b.PostForm(e.srv.URL+PathAuthorize, form)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// code runs the browser part of the code flow and returns the code.
func (e *env) code(clientID, redirect, challenge, user string) string {
	e.t.Helper()
	resp := e.login(e.browser(), e.authorizeURL(clientID, redirect, challenge, "openid offline_access"), user, testPassword)
	body := read(e.t, resp)
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		e.t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), redirect) && loc.Hostname() != "127.0.0.1" {
		e.t.Fatalf("redirected to %s", loc)
	}
	c := loc.Query().Get("code")
	if c == "" {
		e.t.Fatalf("no code in %s", loc)
	}
	return c
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresIn    int    `json:"expires_in"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
	status       int
}

// tokenCall posts to the token endpoint (basic auth when secret is set).
func (e *env) tokenCall(form url.Values, clientID, secret string) tokens {
	e.t.Helper()
	return e.postJSON(PathToken, form, clientID, secret)
}

func (e *env) postJSON(path string, form url.Values, clientID, secret string) tokens {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	body := read(e.t, resp)
	var tk tokens
	if len(body) > 0 {
		if err := json.Unmarshal([]byte(body), &tk); err != nil {
			e.t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	tk.status = resp.StatusCode
	return tk
}

// codeGrant runs the whole authorization code flow for user.
func (e *env) codeGrant(c NewClient, redirect, user string) tokens {
	e.t.Helper()
	verifier, challenge := pkce()
	code := e.code(c.ID, redirect, challenge, user)
	tk := e.tokenCall(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {c.ID}, "code_verifier": {verifier}}, c.ID, c.Secret)
	if tk.status != http.StatusOK || tk.AccessToken == "" {
		e.t.Fatalf("token: %d %s: %s", tk.status, tk.Error, tk.Description)
	}
	return tk
}
