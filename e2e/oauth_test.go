package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/e2e/harness"
	jose "github.com/go-jose/go-jose/v4"
)

// The built-in OAuth2 authorization server against the real binary: every
// grant over real HTTP (an HTTP client fills the login form), the security
// refusals at the token endpoint and at STS, and real clients — the aws
// cli and boto3 with web identity tokens, the aws cli with
// credential_process = filesphere credentials — and an independent OIDC
// issuer run in the test.
//
// Client notes. The Debian aws cli 2.9.19 and boto3 1.26 predate
// AWS_ENDPOINT_URL_STS (their botocore ignores it), so:
//   - the aws cli runs `sts assume-role-with-web-identity --endpoint-url`
//     with the token file, then S3 with the credentials it printed;
//   - boto3 uses botocore's own AssumeRoleWithWebIdentityProvider, which
//     reads AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, with only its STS
//     client given the endpoint explicitly.
//
// aws-sdk-go-v2 reads all three variables, AWS_ENDPOINT_URL_STS included,
// and runs unchanged.

const oauthPassword = "Corr3ct-Horse!e2e"

type oauthEnv struct {
	t        *testing.T
	n        *harness.Node
	root     *harness.Clients
	bucket   string
	cliID    string
	aliceARN string
}

func (o *oauthEnv) admin(args ...string) string {
	o.t.Helper()
	r := o.adminRun("", args...)
	if r.Err != nil {
		o.t.Fatalf("filesphere admin %v:\n%s", args, r)
	}
	return r.Stdout
}

func (o *oauthEnv) adminRun(stdin string, args ...string) harness.Result {
	env := []string{"PATH=" + harness.SafePath, "HOME=" + o.t.TempDir(), "LANG=C.UTF-8",
		"FILESPHERE_ROOT_USER=" + o.n.AccessKey(), "FILESPHERE_ROOT_PASSWORD=" + o.n.SecretKey()}
	full := append(append([]string{"admin"}, args...), o.n.AdminArgs()...)
	if stdin == "" {
		return harness.RunCommand(time.Minute, env, o.t.TempDir(), harness.BinaryPath(o.t), full...)
	}
	cmd := exec.Command(harness.BinaryPath(o.t), full...)
	cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return harness.Result{Cmd: "filesphere " + strings.Join(full, " "), Output: string(out), Stdout: string(out), Err: err}
}

func clientID(t *testing.T, out string) (id, secret string) {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "client_id: "); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(l, "client_secret: "); ok {
			secret = v
		}
	}
	if id == "" {
		t.Fatalf("no client_id in %q", out)
	}
	return id, secret
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

func noRedirects() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fillLogin gets a login page, fills the form and posts it.
func fillLogin(t *testing.T, b *http.Client, pageURL, post string, fields url.Values) *http.Response {
	t.Helper()
	resp, err := b.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", pageURL, resp.StatusCode, page)
	}
	form := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(page, -1) {
		form.Add(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("csrf_token") == "" {
		t.Fatalf("no login form:\n%s", page)
	}
	for k, v := range fields {
		form[k] = v
	}
	resp, err = b.PostForm(post, form)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func pkcePair() (string, string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(h[:])
}

type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
	Status       int    `json:"-"`
}

func (o *oauthEnv) token(form url.Values, id, secret string) tokenAnswer {
	o.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, o.n.URL("/.filesphere/oauth/token"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	var a tokenAnswer
	if err := json.Unmarshal([]byte(body(o.t, resp)), &a); err != nil {
		o.t.Fatal(err)
	}
	a.Status = resp.StatusCode
	return a
}

// codeFlow logs user in through the browser flow and returns the code.
func (o *oauthEnv) codeFlow(id, redirect, challenge, user, password string) (*http.Response, string) {
	o.t.Helper()
	q := url.Values{"client_id": {id}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid offline_access"},
		"state": {"st-0123456789"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	resp := fillLogin(o.t, noRedirects(), o.n.URL("/.filesphere/oauth/authorize?"+q.Encode()), o.n.URL("/.filesphere/oauth/authorize"),
		url.Values{"username": {user}, "password": {password}})
	b := body(o.t, resp)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode/100 != 3 || loc == nil {
		return resp, b
	}
	return resp, loc.Query().Get("code")
}

// login runs the whole code flow and returns the tokens.
func (o *oauthEnv) login(id, secret, redirect, user string) tokenAnswer {
	o.t.Helper()
	v, c := pkcePair()
	resp, code := o.codeFlow(id, redirect, c, user, oauthPassword)
	if resp.StatusCode/100 != 3 || code == "" {
		o.t.Fatalf("login of %s: %d %s", user, resp.StatusCode, code)
	}
	a := o.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "client_id": {id}, "code_verifier": {v}}, id, secret)
	if a.Status != http.StatusOK || a.IDToken == "" {
		o.t.Fatalf("code exchange: %d %s", a.Status, a.Error)
	}
	return a
}

// sts posts AssumeRoleWithWebIdentity unsigned and returns the status and
// the error code (or "" and the access key id).
func (o *oauthEnv) sts(role, token string) (int, string) {
	o.t.Helper()
	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {role},
		"RoleSessionName": {"e2e"}, "WebIdentityToken": {token}}
	resp, err := http.PostForm(o.n.URL("/"), form)
	if err != nil {
		o.t.Fatal(err)
	}
	b := body(o.t, resp)
	var doc struct {
		Error struct{ Code string }
		Key   string `xml:"AssumeRoleWithWebIdentityResult>Credentials>AccessKeyId"`
	}
	_ = xml.Unmarshal([]byte(b), &doc)
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, doc.Key
	}
	return resp.StatusCode, doc.Error.Code
}

func TestOAuth(t *testing.T) {
	harness.RequireTool(t, harness.AWSCLI)
	harness.RequireTool(t, harness.Python3)
	n := harness.StartNode(t, harness.NodeOptions{Name: "oauth", ExtraArgs: []string{
		"--oauth-id-token-lifetime", "40s", "--oauth-access-token-lifetime", "40s", "--oauth-device-poll-interval", "1s",
		"--oauth-login-free-failures", "3", "--oauth-login-delay", "1m"}})
	o := &oauthEnv{t: t, n: n, root: n.Clients(t), bucket: harness.BucketName("oauth")}
	o.root.MustAWS("s3", "mb", "s3://"+o.bucket)
	o.root.MustAWS("s3", "mb", "s3://"+o.bucket+"-other")
	o.root.MustAWS("iam", "create-user", "--user-name", "alice")
	if r := o.adminRun(oauthPassword+"\n", "user", "passwd", "alice"); r.Err != nil {
		t.Fatalf("passwd:\n%s", r)
	}
	pol := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"]}]}`, o.bucket)
	o.root.MustAWS("iam", "put-user-policy", "--user-name", "alice", "--policy-name", "own-bucket", "--policy-document", pol)
	var who struct{ User struct{ Arn string } }
	must(t, json.Unmarshal([]byte(o.root.MustAWS("iam", "get-user", "--user-name", "alice")), &who))
	aliceARN := who.User.Arn

	cliID, _ := clientID(t, o.admin("oauth", "client", "add", "cli", "--grant", "authorization_code", "--redirect-uri", "http://127.0.0.1/callback", "--public"))
	o.cliID, o.aliceARN = cliID, aliceARN
	appID, appSecret := clientID(t, o.admin("oauth", "client", "add", "app", "--grant", "authorization_code", "--redirect-uri", "https://app.example/cb"))
	devID, _ := clientID(t, o.admin("oauth", "client", "add", "cli-device", "--grant", "device_code", "--public"))
	o.root.MustAWS("iam", "create-user", "--user-name", "backup-svc")
	o.root.MustAWS("iam", "put-user-policy", "--user-name", "backup-svc", "--policy-name", "p", "--policy-document", pol)
	svcID, svcSecret := clientID(t, o.admin("oauth", "client", "add", "backup", "--grant", "client_credentials", "--user", "backup-svc"))
	if appSecret == "" || svcSecret == "" {
		t.Fatal("confidential clients printed no secret")
	}
	if list := o.admin("oauth", "client", "list"); !strings.Contains(list, cliID) || strings.Contains(list, appSecret) {
		t.Fatalf("client list:\n%s", list)
	}

	t.Run("code-pkce", func(t *testing.T) {
		tk := o.login(cliID, "", "http://127.0.0.1:43210/callback", "alice")
		if st, key := o.sts(aliceARN, tk.IDToken); st != http.StatusOK || !strings.HasPrefix(key, "ASIA") {
			t.Fatalf("STS with the ID token: %d %s", st, key)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		v, c := pkcePair()
		_, code := o.codeFlow(cliID, "http://127.0.0.1/callback", c, "alice", oauthPassword)
		other, _ := pkcePair()
		exchange := func(verifier string) tokenAnswer {
			return o.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1/callback"},
				"client_id": {cliID}, "code_verifier": {verifier}}, cliID, "")
		}
		if a := exchange(other); a.Status != http.StatusBadRequest || a.Error != "invalid_grant" {
			t.Fatalf("wrong verifier: %d %s", a.Status, a.Error)
		}
		// A wrong verifier burns the code: not even the right one works then.
		if a := exchange(v); a.Status != http.StatusBadRequest {
			t.Fatalf("right verifier after a wrong one: %d %s", a.Status, a.Error)
		}
		// Code replay: the second redemption fails and revokes the first's tokens.
		v, c = pkcePair()
		_, code = o.codeFlow(cliID, "http://127.0.0.1/callback", c, "alice", oauthPassword)
		first := exchange(v)
		replay := exchange(v)
		if first.Status != http.StatusOK || replay.Status != http.StatusBadRequest || replay.Error != "invalid_grant" {
			t.Fatalf("first %d %s, replay %d %s", first.Status, first.Error, replay.Status, replay.Error)
		}
		if st, codeErr := o.sts(aliceARN, first.IDToken); st != http.StatusBadRequest || codeErr != "InvalidIdentityToken" {
			t.Fatalf("tokens of a replayed code: %d %s", st, codeErr)
		}
		// A redirect URI not registered: refused on the page, no redirect.
		q := url.Values{"client_id": {cliID}, "redirect_uri": {"https://evil.example/cb"}, "response_type": {"code"}, "scope": {"openid"},
			"state": {"st-0123456789"}, "code_challenge": {c}, "code_challenge_method": {"S256"}}
		resp, err := noRedirects().Get(n.URL("/.filesphere/oauth/authorize?" + q.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		if body(t, resp); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("unregistered redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		// Tokens STS refuses.
		tk := o.login(cliID, "", "http://127.0.0.1/callback", "alice")
		parts := strings.Split(tk.IDToken, ".")
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"alice"`, `"admin"`, 1))) + "." + parts[2]
		var claims map[string]any
		must(t, json.Unmarshal(raw, &claims))
		stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
		unknownKey := signJWT(t, stranger, "k1", claims)
		claims["iss"] = "https://idp.example"
		otherIssuer := signJWT(t, stranger, "k1", claims)
		for name, tok := range map[string]string{"alg none": none, "tampered": tampered, "unknown key": unknownKey, "other issuer": otherIssuer} {
			if st, code := o.sts(aliceARN, tok); st != http.StatusBadRequest || code != "InvalidIdentityToken" {
				t.Errorf("%s: %d %s", name, st, code)
			}
		}
		// Revoked: the refresh token's revocation kills the grant.
		resp, err = http.PostForm(n.URL("/.filesphere/oauth/revoke"), url.Values{"token": {tk.RefreshToken}, "client_id": {cliID}})
		if err != nil {
			t.Fatal(err)
		}
		if body(t, resp); resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		if st, code := o.sts(aliceARN, tk.IDToken); st != http.StatusBadRequest || code != "InvalidIdentityToken" {
			t.Fatalf("revoked: %d %s", st, code)
		}
	})
	t.Run("refresh-rotation-reuse", func(t *testing.T) {
		tk := o.login(appID, appSecret, "https://app.example/cb", "alice")
		next := o.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}}, appID, appSecret)
		if next.Status != http.StatusOK || next.RefreshToken == tk.RefreshToken {
			t.Fatalf("refresh: %d %s", next.Status, next.Error)
		}
		if a := o.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}}, appID, appSecret); a.Error != "invalid_grant" {
			t.Fatalf("reuse: %d %s", a.Status, a.Error)
		}
		if a := o.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next.RefreshToken}}, appID, appSecret); a.Status == http.StatusOK {
			t.Fatal("the family survived a reuse")
		}
		if st, code := o.sts(aliceARN, next.IDToken); code != "InvalidIdentityToken" {
			t.Fatalf("ID token of a revoked family: %d %s", st, code)
		}
	})
	t.Run("client-credentials", func(t *testing.T) {
		a := o.token(url.Values{"grant_type": {"client_credentials"}}, svcID, svcSecret)
		if a.Status != http.StatusOK || a.AccessToken == "" {
			t.Fatalf("client credentials: %d %s", a.Status, a.Error)
		}
		var svc struct{ User struct{ Arn string } }
		must(t, json.Unmarshal([]byte(o.root.MustAWS("iam", "get-user", "--user-name", "backup-svc")), &svc))
		if st, key := o.sts(svc.User.Arn, a.AccessToken); st != http.StatusOK || key == "" {
			t.Fatalf("STS with the service's access token: %d %s", st, key)
		}
		if st, _ := o.sts(aliceARN, a.AccessToken); st != http.StatusForbidden {
			t.Fatalf("the service's token as alice: %d", st)
		}
		if a := o.token(url.Values{"grant_type": {"client_credentials"}}, svcID, "wrong"); a.Status != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %d", a.Status)
		}
	})
	t.Run("device-login-cli", func(t *testing.T) { o.deviceLogin(t, devID) })
	t.Run("browser-login-cli", func(t *testing.T) { o.browserLogin(t, cliID) })
	t.Run("aws-cli-web-identity", func(t *testing.T) { o.awsWebIdentity(t, cliID, aliceARN) })
	t.Run("boto3-web-identity", func(t *testing.T) { o.boto3WebIdentity(t, cliID, aliceARN) })
	t.Run("sdk-go-v2-web-identity", func(t *testing.T) { o.sdkWebIdentity(t, cliID, aliceARN) })
	t.Run("credential-process-refresh", func(t *testing.T) { o.credentialProcess(t, devID) })
	t.Run("external-issuer", func(t *testing.T) { o.externalIssuer(t) })
	t.Run("deleted-user", func(t *testing.T) {
		o.root.MustAWS("iam", "create-user", "--user-name", "carol")
		if r := o.adminRun(oauthPassword+"\n", "user", "passwd", "carol"); r.Err != nil {
			t.Fatal(r)
		}
		tk := o.login(cliID, "", "http://127.0.0.1/callback", "carol")
		var carol struct{ User struct{ Arn string } }
		must(t, json.Unmarshal([]byte(o.root.MustAWS("iam", "get-user", "--user-name", "carol")), &carol))
		o.root.MustAWS("iam", "delete-login-profile", "--user-name", "carol")
		o.root.MustAWS("iam", "delete-user", "--user-name", "carol")
		if st, code := o.sts(carol.User.Arn, tk.IDToken); st != http.StatusForbidden || code != "AccessDenied" {
			t.Fatalf("token of a deleted user: %d %s", st, code)
		}
	})
	// Last: it throttles the test's own address too.
	t.Run("brute-force", func(t *testing.T) {
		_, c := pkcePair()
		for i := 0; i < 3; i++ {
			if resp, _ := o.codeFlow(cliID, "http://127.0.0.1/callback", c, "alice", "wrong-password"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i, resp.StatusCode)
			}
		}
		resp, page := o.codeFlow(cliID, "http://127.0.0.1/callback", c, "alice", oauthPassword)
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "Too many failed sign-in attempts") {
			t.Fatalf("past the threshold: %d", resp.StatusCode)
		}
	})
}

func signJWT(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	must(t, err)
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	must(t, err)
	out, err := jws.CompactSerialize()
	must(t, err)
	return out
}

// loginCmd starts `filesphere login` with a config dir and aws config in
// home, and returns its stderr lines as they come.
func (o *oauthEnv) loginCmd(t *testing.T, home string, args ...string) (*exec.Cmd, <-chan string, *strings.Builder) {
	cmd := exec.Command(harness.BinaryPath(t), append([]string{"login", "--endpoint", o.n.Endpoint(), "--no-browser", "--aws-config", "yes"}, args...)...)
	cmd.Env = []string{"PATH=" + harness.SafePath, "HOME=" + home, "FILESPHERE_CONFIG_DIR=" + filepath.Join(home, "fs"),
		"AWS_CONFIG_FILE=" + filepath.Join(home, ".aws", "config")}
	stderr, err := cmd.StderrPipe()
	must(t, err)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	must(t, cmd.Start())
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return cmd, lines, &stdout
}

// deviceLogin: `filesphere login --device` prints a code; a second client
// (the user's browser) approves it through the login page.
func (o *oauthEnv) deviceLogin(t *testing.T, devID string) {
	home := t.TempDir()
	cmd, lines, stdout := o.loginCmd(t, home, "--device", "--client-id", devID, "--profile", "dev")
	var uri, code string
	codeRE := regexp.MustCompile(`enter the code\s+([B-Z]{4}-[B-Z]{4})`)
	deadline := time.After(30 * time.Second)
	for code == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("login exited before printing a code")
			}
			if strings.Contains(l, "/.filesphere/oauth/device") {
				uri = strings.TrimSpace(l)
			}
			if m := codeRE.FindStringSubmatch(l); m != nil {
				code = m[1]
			}
		case <-deadline:
			t.Fatal("no device code printed")
		}
	}
	resp := fillLogin(t, noRedirects(), uri, uri, url.Values{"user_code": {code}, "username": {"alice"}, "password": {oauthPassword}, "decision": {"approve"}})
	if page := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(page, "signed in as alice") {
		t.Fatalf("approval: %d %s", resp.StatusCode, page)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("login: %v\n%s", err, stdout)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("login did not finish after the approval")
	}
	p := filepath.Join(home, "fs", "profiles", "dev.json")
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("profile %s: %v %v", p, st, err)
	}
	cfg, err := os.ReadFile(filepath.Join(home, ".aws", "config"))
	if err != nil || !strings.Contains(string(cfg), "[profile dev]") || !strings.Contains(string(cfg), "credential_process = "+harness.BinaryPath(t)+" credentials --profile dev") {
		t.Fatalf("aws config: %s %v", cfg, err)
	}
}

// browserLogin: `filesphere login` prints the authorization URL and waits
// on a loopback port; the "browser" (an HTTP client) fills the login form
// and follows the redirect to that port; then `filesphere credentials`
// answers the credential_process JSON.
func (o *oauthEnv) browserLogin(t *testing.T, cliID string) {
	home := t.TempDir()
	cmd, lines, stdout := o.loginCmd(t, home, "--client-id", cliID, "--profile", "web")
	var authURL string
	for l := range lines {
		if u := strings.TrimSpace(l); strings.HasPrefix(u, "http") && strings.Contains(u, "/.filesphere/oauth/authorize?") {
			authURL = u
			break
		}
	}
	if authURL == "" {
		t.Fatal("login printed no authorization URL")
	}
	resp := fillLogin(t, noRedirects(), authURL, o.n.URL("/.filesphere/oauth/authorize"), url.Values{"username": {"alice"}, "password": {oauthPassword}})
	body(t, resp)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http://127.0.0.1:") {
		t.Fatalf("redirect to %q", loc)
	}
	cb, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	if page := body(t, cb); cb.StatusCode != http.StatusOK || !strings.Contains(page, "Logged in") {
		t.Fatalf("callback: %d %s", cb.StatusCode, page)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, stdout)
	}
	r := harness.RunCommand(time.Minute, []string{"PATH=" + harness.SafePath, "HOME=" + home, "FILESPHERE_CONFIG_DIR=" + filepath.Join(home, "fs")},
		home, harness.BinaryPath(t), "credentials", "--profile", "web")
	var pc struct {
		Version                                                int
		AccessKeyId, SecretAccessKey, SessionToken, Expiration string
	}
	if r.Err != nil || json.Unmarshal([]byte(r.Stdout), &pc) != nil || pc.Version != 1 || !strings.HasPrefix(pc.AccessKeyId, "ASIA") || pc.SessionToken == "" {
		t.Fatalf("credentials:\n%s", r)
	}
	if _, err := time.Parse(time.RFC3339, pc.Expiration); err != nil {
		t.Fatalf("Expiration %q: %v", pc.Expiration, err)
	}
}

// awsWebIdentity: the aws cli exchanges a token file at STS
// (--endpoint-url: 2.9.19 ignores AWS_ENDPOINT_URL_STS) and uses the
// credentials: allowed in alice's bucket, refused in another.
func (o *oauthEnv) awsWebIdentity(t *testing.T, cliID, aliceARN string) {
	tk := o.login(cliID, "", "http://127.0.0.1/callback", "alice")
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	must(t, os.WriteFile(tokenFile, []byte(tk.IDToken), 0o600))
	anon := harness.NewClients(t, o.n.Endpoint(), "", "")
	out := anon.MustAWS("sts", "assume-role-with-web-identity", "--role-arn", aliceARN, "--role-session-name", "cli",
		"--web-identity-token", "file://"+tokenFile)
	var res struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
		Audience    string
	}
	must(t, json.Unmarshal([]byte(out), &res))
	if res.Audience != cliID {
		t.Fatalf("audience %q", res.Audience)
	}
	c := harness.NewClients(t, o.n.Endpoint(), res.Credentials.AccessKeyId, res.Credentials.SecretAccessKey)
	c.Env = append(c.Env, "AWS_SESSION_TOKEN="+res.Credentials.SessionToken)
	src := filepath.Join(dir, "f.txt")
	must(t, os.WriteFile(src, []byte("from a web identity"), 0o600))
	c.MustAWS("s3", "cp", src, "s3://"+o.bucket+"/web.txt")
	if got := c.MustAWS("s3", "cp", "s3://"+o.bucket+"/web.txt", "-"); got != "from a web identity" {
		t.Fatalf("read back %q", got)
	}
	if r := c.AWS("s3", "ls", "s3://"+o.bucket+"-other"); r.Err == nil || !strings.Contains(r.Output, "AccessDenied") {
		t.Fatalf("other bucket:\n%s", r)
	}
	if r := c.AWS("s3", "cp", src, "s3://"+o.bucket+"-other/x"); r.Err == nil || !strings.Contains(r.Output, "AccessDenied") {
		t.Fatalf("write to the other bucket:\n%s", r)
	}
}

const boto3WebIdentity = `
import os, sys, functools
import boto3, botocore.session
from botocore.credentials import AssumeRoleWithWebIdentityProvider
from botocore.exceptions import ClientError
endpoint, bucket = os.environ["FS_ENDPOINT"], sys.argv[1]
bs = botocore.session.get_session()
# boto3 1.26 has no AWS_ENDPOINT_URL_STS: only the STS client is pointed here.
provider = AssumeRoleWithWebIdentityProvider(load_config=lambda: bs.full_config,
    client_creator=functools.partial(bs.create_client, endpoint_url=endpoint), cache={}, profile_name="default")
resolver = bs.get_component("credential_provider")
resolver.providers.insert(0, provider)
s3 = boto3.Session(botocore_session=bs).client("s3", endpoint_url=endpoint)
s3.put_object(Bucket=bucket, Key="boto3.txt", Body=b"boto3 web identity")
assert s3.get_object(Bucket=bucket, Key="boto3.txt")["Body"].read() == b"boto3 web identity"
try:
    s3.list_objects_v2(Bucket=bucket + "-other")
    sys.exit("listing another bucket was allowed")
except ClientError as e:
    assert e.response["Error"]["Code"] == "AccessDenied", e.response
print("method", bs.get_credentials().method)
`

func (o *oauthEnv) boto3WebIdentity(t *testing.T, cliID, aliceARN string) {
	tk := o.login(cliID, "", "http://127.0.0.1/callback", "alice")
	tokenFile := filepath.Join(t.TempDir(), "token")
	must(t, os.WriteFile(tokenFile, []byte(tk.IDToken), 0o600))
	c := harness.NewClients(t, o.n.Endpoint(), "", "")
	c.Env = append(c.Env, "AWS_WEB_IDENTITY_TOKEN_FILE="+tokenFile, "AWS_ROLE_ARN="+aliceARN, "AWS_ROLE_SESSION_NAME=boto3")
	out := c.Must(c.Python(boto3WebIdentity, o.bucket))
	if !strings.Contains(out, "method assume-role-with-web-identity") {
		t.Fatalf("boto3 did not use the web identity provider:\n%s", out)
	}
}

// sdkWebIdentity: aws-sdk-go-v2 with the standard mechanism unchanged —
// AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ENDPOINT_URL_STS read
// by config.LoadDefaultConfig.
func (o *oauthEnv) sdkWebIdentity(t *testing.T, cliID, aliceARN string) {
	tk := o.login(cliID, "", "http://127.0.0.1/callback", "alice")
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	must(t, os.WriteFile(tokenFile, []byte(tk.IDToken), 0o600))
	for k, v := range map[string]string{"AWS_ROLE_ARN": aliceARN, "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
		"AWS_ENDPOINT_URL_STS": o.n.Endpoint(), "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none")} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	must(t, err)
	cr, err := cfg.Credentials.Retrieve(ctx)
	must(t, err)
	if !strings.HasPrefix(cr.AccessKeyID, "ASIA") || cr.Source != stscreds.WebIdentityProviderName {
		t.Fatalf("credentials %s from %s", cr.AccessKeyID, cr.Source)
	}
	s3c := s3.NewFromConfig(cfg, func(op *s3.Options) { op.BaseEndpoint, op.UsePathStyle = aws.String(o.n.Endpoint()), true })
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(o.bucket), Key: aws.String("sdk.txt"), Body: strings.NewReader("sdk")})
	must(t, err)
	if _, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(o.bucket + "-other")}); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("other bucket: %v", err)
	}
}

// credentialProcess: the aws cli with credential_process = filesphere
// credentials; the 40-second credentials expire and are replaced without
// anyone doing anything.
func (o *oauthEnv) credentialProcess(t *testing.T, devID string) {
	home := t.TempDir()
	cmd, lines, _ := o.loginCmd(t, home, "--device", "--client-id", devID, "--profile", "auto")
	var uri, code string
	codeRE := regexp.MustCompile(`enter the code\s+([B-Z]{4}-[B-Z]{4})`)
	for l := range lines {
		if strings.Contains(l, "/.filesphere/oauth/device") {
			uri = strings.TrimSpace(l)
		}
		if m := codeRE.FindStringSubmatch(l); m != nil {
			code = m[1]
			break
		}
	}
	resp := fillLogin(t, noRedirects(), uri, uri, url.Values{"user_code": {code}, "username": {"alice"}, "password": {oauthPassword}})
	body(t, resp)
	must(t, cmd.Wait())
	c := harness.NewClients(t, o.n.Endpoint(), "", "")
	c.Env = append(c.Env, "AWS_PROFILE=auto", "FILESPHERE_CONFIG_DIR="+filepath.Join(home, "fs"))
	// The client environment's own config file is the login's.
	aws := func(args ...string) harness.Result {
		env := append(c.Environ(), "AWS_CONFIG_FILE="+filepath.Join(home, ".aws", "config"))
		return harness.RunCommand(time.Minute, env, home, harness.AWSCLI, append([]string{"--endpoint-url", o.n.Endpoint()}, args...)...)
	}
	keyOf := func() string {
		var p struct {
			Cached struct{ AccessKeyId, Expiration string }
		}
		b, err := os.ReadFile(filepath.Join(home, "fs", "profiles", "auto.json"))
		must(t, err)
		must(t, json.Unmarshal(b, &p))
		return p.Cached.AccessKeyId + " " + p.Cached.Expiration
	}
	if r := aws("s3", "ls", "s3://"+o.bucket); r.Err != nil || !strings.Contains(r.Output, "web.txt") {
		t.Fatalf("aws s3 ls with credential_process:\n%s", r)
	}
	if r := aws("s3", "ls", "s3://"+o.bucket+"-other"); r.Err == nil || !strings.Contains(r.Output, "AccessDenied") {
		t.Fatalf("other bucket:\n%s", r)
	}
	start := time.Now()
	first := keyOf()
	exp, err := time.Parse(time.RFC3339, strings.Fields(first)[1])
	must(t, err)
	if d := time.Until(exp); d > 41*time.Second {
		t.Fatalf("credentials last %s, past the 40 s ID token", d)
	}
	// An ID token from before the wait: expired after it.
	old := o.login(o.cliID, "", "http://127.0.0.1/callback", "alice")
	time.Sleep(max(time.Until(exp), 41*time.Second-time.Since(start)) + time.Second)
	if st, code := o.sts(o.aliceARN, old.IDToken); st != http.StatusBadRequest || code != "ExpiredTokenException" {
		t.Fatalf("an expired ID token: %d %s", st, code)
	}
	if r := aws("s3", "ls", "s3://"+o.bucket); r.Err != nil || !strings.Contains(r.Output, "web.txt") {
		t.Fatalf("aws s3 ls after the credentials expired:\n%s", r)
	}
	if second := keyOf(); second == first {
		t.Fatalf("the credentials were not replaced: %s", second)
	}
	if r := aws("sts", "get-caller-identity"); r.Err != nil || !strings.Contains(r.Output, "user/alice") {
		t.Fatalf("caller identity:\n%s", r)
	}
}

// testOIDC is an independent OpenID Connect issuer (go-jose), run here.
type testOIDC struct {
	srv *httptest.Server
	mu  sync.Mutex
	key *rsa.PrivateKey
	kid string
}

func newTestOIDC(t *testing.T) *testOIDC {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	o := &testOIDC{key: k, kid: "kid-1"}
	mux := http.NewServeMux()
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": o.srv.URL, "jwks_uri": o.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &o.key.PublicKey, KeyID: o.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	return o
}

func (o *testOIDC) token(t *testing.T, sub, aud string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	return signJWT(t, o.key, o.kid, map[string]any{"iss": o.srv.URL, "sub": sub, "aud": aud, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
}

func (o *oauthEnv) externalIssuer(t *testing.T) {
	idp := newTestOIDC(t)
	provider := strings.TrimPrefix(idp.srv.URL, "http://")
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"%[1]s"},
		"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"%[1]s:aud":"filesphere","%[1]s:sub":"ci-runner"}}}]}`, provider)
	var role struct{ Role struct{ Arn string } }
	must(t, json.Unmarshal([]byte(o.root.MustAWS("iam", "create-role", "--role-name", "ci", "--assume-role-policy-document", trust)), &role))
	pol := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::%s"}]}`, o.bucket)
	o.root.MustAWS("iam", "put-role-policy", "--role-name", "ci", "--policy-name", "list", "--policy-document", pol)
	tok := idp.token(t, "ci-runner", "filesphere")
	if st, code := o.sts(role.Role.Arn, tok); code != "InvalidIdentityToken" {
		t.Fatalf("before registration: %d %s", st, code)
	}
	o.admin("oauth", "issuer", "add", idp.srv.URL, "--audience", "filesphere")
	if l := o.admin("oauth", "issuer", "list"); !strings.Contains(l, idp.srv.URL) {
		t.Fatalf("issuer list:\n%s", l)
	}
	// The aws cli exchanges it and lists the bucket with the role.
	tokenFile := filepath.Join(t.TempDir(), "token")
	must(t, os.WriteFile(tokenFile, []byte(tok), 0o600))
	anon := harness.NewClients(t, o.n.Endpoint(), "", "")
	var res struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	}
	must(t, json.Unmarshal([]byte(anon.MustAWS("sts", "assume-role-with-web-identity", "--role-arn", role.Role.Arn,
		"--role-session-name", "ci", "--web-identity-token", "file://"+tokenFile)), &res))
	c := harness.NewClients(t, o.n.Endpoint(), res.Credentials.AccessKeyId, res.Credentials.SecretAccessKey)
	c.Env = append(c.Env, "AWS_SESSION_TOKEN="+res.Credentials.SessionToken)
	c.MustAWS("s3", "ls", "s3://"+o.bucket)
	if r := c.AWS("s3", "cp", "s3://"+o.bucket+"/web.txt", "-"); r.Err == nil || !strings.Contains(r.Output, "(403)") {
		t.Fatalf("the role may only list:\n%s", r)
	}
	if st, code := o.sts(role.Role.Arn, idp.token(t, "ci-runner", "someone-else")); code != "InvalidIdentityToken" {
		t.Fatalf("wrong audience: %d %s", st, code)
	}
	if st, code := o.sts(role.Role.Arn, idp.token(t, "intruder", "filesphere")); st != http.StatusForbidden || code != "AccessDenied" {
		t.Fatalf("wrong subject: %d %s", st, code)
	}
	o.admin("oauth", "issuer", "remove", idp.srv.URL)
	if err := harness.Eventually(10*time.Second, 100*time.Millisecond, func() error {
		if st, code := o.sts(role.Role.Arn, idp.token(t, "ci-runner", "filesphere")); code != "InvalidIdentityToken" {
			return fmt.Errorf("after unregistering: %d %s", st, code)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
