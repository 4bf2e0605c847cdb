package console_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filesphere/filesphere/console"
	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/storage"
)

// env is an in-process S3 API with a console in front of it.
type env struct {
	s3      *s3test.Env
	console *httptest.Server
	clock   *clock
}

// clock is the console's clock, movable by tests.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

func newEnv(t *testing.T, adjust ...func(*console.Config)) *env {
	t.Helper()
	return newEnvWith(t, nil, func(_ *env, c *console.Config) {
		for _, f := range adjust {
			f(c)
		}
	})
}

// newEnvWith builds the S3 API with opts and a console whose config adjust
// may complete knowing the env (the console's URL among it).
func newEnvWith(t *testing.T, opts []s3test.Option, adjust func(*env, *console.Config)) *env {
	t.Helper()
	s3 := s3test.New(t, opts...)
	clk := &clock{}
	var h atomic.Pointer[console.Server]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Load().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	e := &env{s3: s3, console: srv, clock: clk}
	cfg := console.DefaultConfig()
	cfg.Region, cfg.S3Endpoint, cfg.Now = s3test.Region, s3.PlainURL, clk.now
	if adjust != nil {
		adjust(e, &cfg)
	}
	c, err := console.New(cfg, s3.Plain.Config.Handler)
	if err != nil {
		t.Fatal(err)
	}
	h.Store(c)
	return e
}

// browser is a console client with its own cookie jar and CSRF token.
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

type sessionInfo struct {
	ARN         string    `json:"arn"`
	Root        bool      `json:"root"`
	AccessKeyID string    `json:"accessKeyId"`
	Expires     time.Time `json:"expires"`
	CSRF        string    `json:"csrf"`
	S3Endpoint  string    `json:"s3Endpoint"`
}

type errorAnswer struct {
	Error struct{ Code, Message string } `json:"error"`
}

func (b *browser) do(method, path string, body []byte, header http.Header) (*http.Response, []byte) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.e.console.URL+path, bytes.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if b.csrf != "" && req.Header.Get("X-Filesphere-Csrf") == "" {
		req.Header.Set("X-Filesphere-Csrf", b.csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, out
}

func (b *browser) login(ak, sk string) (*http.Response, []byte) {
	b.t.Helper()
	body, _ := json.Marshal(map[string]string{"accessKeyId": ak, "secretAccessKey": sk})
	resp, out := b.do("POST", "/api/login", body, http.Header{"Content-Type": {"application/json"}})
	if resp.StatusCode == 200 {
		var s sessionInfo
		if err := json.Unmarshal(out, &s); err != nil {
			b.t.Fatal(err)
		}
		b.csrf = s.CSRF
	}
	return resp, out
}

func (b *browser) mustLogin(ak, sk string) sessionInfo {
	b.t.Helper()
	resp, out := b.login(ak, sk)
	if resp.StatusCode != 200 {
		b.t.Fatalf("login: %d %s", resp.StatusCode, out)
	}
	var s sessionInfo
	_ = json.Unmarshal(out, &s)
	return s
}

func wantCode(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var got string
	var je errorAnswer
	if json.Unmarshal(body, &je) == nil && je.Error.Code != "" {
		got = je.Error.Code
	} else {
		var xe struct {
			Code  string
			Error struct{ Code string }
		}
		_ = xml.Unmarshal(body, &xe)
		got = xe.Code + xe.Error.Code
	}
	if resp.StatusCode != status || got != code {
		t.Fatalf("got %d %q, want %d %s\n%s", resp.StatusCode, got, status, code, body)
	}
}

func (e *env) user(t *testing.T, name, policy string) (string, string) {
	t.Helper()
	ctx := t.Context()
	if _, err := e.s3.IAM.CreateUser(ctx, iam.CreateUserInput{Name: name}); err != nil {
		t.Fatal(err)
	}
	if policy != "" {
		if err := e.s3.IAM.PutInlinePolicy(ctx, iam.UserEntity(name), "p", policy); err != nil {
			t.Fatal(err)
		}
	}
	k, err := e.s3.IAM.CreateAccessKey(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return k.AccessKeyID, k.SecretAccessKey
}

func TestLoginSessionAndLogout(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	resp, out := b.do("GET", "/api/session", nil, nil)
	wantCode(t, resp, out, 401, "NotLoggedIn")
	if !strings.Contains(string(out), `"webIdentity":false`) {
		t.Errorf("login options: %s", out)
	}
	resp, out = b.login("AKNOSUCHKEY", "x")
	wantCode(t, resp, out, 403, "InvalidClientTokenId")
	resp, out = b.login(e.s3.AccessKey, "wrong-secret")
	wantCode(t, resp, out, 403, "SignatureDoesNotMatch")
	// Right after the wrong secret of the same key (the SDK signer's cache
	// of signing keys must not carry over).
	resp, out = b.login(e.s3.AccessKey, e.s3.SecretKey)
	if resp.StatusCode != 200 {
		t.Fatalf("login after a wrong secret: %d %s", resp.StatusCode, out)
	}
	var s sessionInfo
	_ = json.Unmarshal(out, &s)
	if !s.Root || !strings.HasSuffix(s.ARN, ":root") || s.CSRF == "" || s.AccessKeyID == e.s3.AccessKey ||
		s.S3Endpoint != e.s3.PlainURL || time.Until(s.Expires) > time.Hour+time.Minute || time.Until(s.Expires) < 50*time.Minute {
		t.Fatalf("session: %+v", s)
	}
	if strings.Contains(string(out), e.s3.SecretKey) {
		t.Fatal("the login answer holds the secret key")
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		cookie = c
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || cookie.Value == "" {
		t.Fatalf("session cookie: %+v", cookie)
	}
	// A login posted as a form (what another site's page could send) is refused.
	resp, out = e.browser(t).do("POST", "/api/login", []byte("accessKeyId=a&secretAccessKey=b"), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	wantCode(t, resp, out, 403, "CrossSiteRequest")
	resp, out = b.do("GET", "/api/session", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(out), s.CSRF) {
		t.Fatalf("session: %d %s", resp.StatusCode, out)
	}
	// Logout needs the CSRF token, then the session is gone.
	resp, out = b.do("POST", "/api/logout", nil, http.Header{"X-Filesphere-Csrf": {"wrong"}})
	wantCode(t, resp, out, 403, "InvalidCSRFToken")
	if resp, out = b.do("POST", "/api/logout", nil, nil); resp.StatusCode != 204 {
		t.Fatalf("logout: %d %s", resp.StatusCode, out)
	}
	resp, out = b.do("GET", "/api/s3/", nil, nil)
	wantCode(t, resp, out, 401, "NotLoggedIn")
}

func TestSessionEndsWithItsCredentials(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	b.mustLogin(e.s3.AccessKey, e.s3.SecretKey)
	if resp, out := b.do("GET", "/api/s3/", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("ListBuckets: %d %s", resp.StatusCode, out)
	}
	e.clock.advance(time.Hour + time.Second) // the root's sessions last an hour
	resp, out := b.do("GET", "/api/s3/", nil, nil)
	wantCode(t, resp, out, 401, "SessionExpired")
	resp, out = b.do("GET", "/api/session", nil, nil)
	wantCode(t, resp, out, 401, "NotLoggedIn")
}

func TestForwardedRequestsNeedCSRFAndSameOrigin(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	b.mustLogin(e.s3.AccessKey, e.s3.SecretKey)
	token := b.csrf
	b.csrf = ""
	resp, out := b.do("PUT", "/api/s3/csrf-bucket", nil, nil)
	wantCode(t, resp, out, 403, "InvalidCSRFToken")
	resp, out = b.do("POST", "/api/iam", []byte("Action=ListUsers"), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	wantCode(t, resp, out, 403, "InvalidCSRFToken")
	b.csrf = token
	resp, out = b.do("PUT", "/api/s3/csrf-bucket", nil, http.Header{"Origin": {"https://evil.example"}})
	wantCode(t, resp, out, 403, "CrossSiteRequest")
	resp, out = b.do("PUT", "/api/s3/csrf-bucket", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	wantCode(t, resp, out, 403, "CrossSiteRequest")
	resp, out = b.do("GET", "/api/iam?Action=DeleteUser&UserName=x", nil, nil)
	wantCode(t, resp, out, 405, "MethodNotAllowed")
	if _, err := e.s3.Engine.HeadBucket(t.Context(), "csrf-bucket"); err == nil {
		t.Fatal("a refused request created the bucket")
	}
	resp, out = b.do("PUT", "/api/s3/csrf-bucket", nil, http.Header{"Origin": {e.console.URL}, "Sec-Fetch-Site": {"same-origin"}})
	if resp.StatusCode != 200 {
		t.Fatalf("CreateBucket: %d %s", resp.StatusCode, out)
	}
	// The console's own headers never reach S3 as authentication.
	resp, out = b.do("GET", "/api/s3/csrf-bucket?X-Amz-Credential=forged&list-type=2", nil, http.Header{"Authorization": {"AWS4-HMAC-SHA256 forged"}})
	if resp.StatusCode != 200 || !strings.Contains(string(out), "<ListBucketResult") {
		t.Fatalf("ListObjectsV2 with forged authentication stripped: %d %s", resp.StatusCode, out)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
		t.Errorf("forwarded answer CSP %q", csp)
	}
}

// A read-only user's console can read, and the API refuses its writes
// whatever the page shows; authz/check tells the page beforehand.
func TestForwardedRequestsAreTheUsersOwn(t *testing.T) {
	e := newEnv(t)
	root := e.browser(t)
	root.mustLogin(e.s3.AccessKey, e.s3.SecretKey)
	if resp, out := root.do("PUT", "/api/s3/shared", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("CreateBucket: %d %s", resp.StatusCode, out)
	}
	if resp, out := root.do("PUT", "/api/s3/shared/notes/a.txt", []byte("hello"), http.Header{"Content-Type": {"text/plain"}}); resp.StatusCode != 200 {
		t.Fatalf("PutObject: %d %s", resp.StatusCode, out)
	}
	ak, sk := e.user(t, "reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["s3:GetObject","s3:ListBucket","s3:ListAllMyBuckets"],"Resource":"*"}]}`)
	r := e.browser(t)
	s := r.mustLogin(ak, sk)
	if s.Root || !strings.HasSuffix(s.ARN, ":user/reader") {
		t.Fatalf("reader session: %+v", s)
	}
	resp, out := r.do("GET", "/api/s3/shared/notes/a.txt", nil, nil)
	if resp.StatusCode != 200 || string(out) != "hello" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("GetObject: %d %s", resp.StatusCode, out)
	}
	resp, out = r.do("DELETE", "/api/s3/shared/notes/a.txt", nil, nil)
	wantCode(t, resp, out, 403, "AccessDenied")
	if !strings.Contains(string(out), "user/reader is not authorized to perform: s3:DeleteObject") {
		t.Errorf("denial: %s", out)
	}
	resp, out = r.do("POST", "/api/iam", []byte("Action=CreateUser&UserName=mallory&Version=2010-05-08"),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	wantCode(t, resp, out, 403, "AccessDenied")
	if _, err := e.s3.Engine.HeadObject(t.Context(), "shared", "notes/a.txt", storage.GetOptions{}); err != nil {
		t.Fatalf("the object is gone: %v", err)
	}
	q := url.Values{"resource": {"arn:aws:s3:::shared/notes/a.txt"}, "action": {"s3:GetObject", "s3:DeleteObject"}}
	resp, out = r.do("GET", "/api/s3/.filesphere/admin/v1/authz/check?"+q.Encode(), nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(out), `"s3:DeleteObject": false`) || !strings.Contains(string(out), `"s3:GetObject": true`) {
		t.Fatalf("authz/check: %d %s", resp.StatusCode, out)
	}
	// The root may create the user through the IAM Query API.
	resp, out = root.do("POST", "/api/iam", []byte("Action=CreateUser&UserName=alice&Version=2010-05-08"),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if resp.StatusCode != 200 || !strings.Contains(string(out), "<UserName>alice</UserName>") {
		t.Fatalf("CreateUser: %d %s", resp.StatusCode, out)
	}
}
