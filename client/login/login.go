// Package login is the client side of `filesphere login` and `filesphere
// credentials`: it signs a person in to a FileSphere endpoint's OAuth2
// authorization server (authorization code with PKCE on a loopback
// redirect, or the device grant for machines without a browser), keeps the
// refresh token in a 0600 file, and turns it into short-lived S3
// credentials through STS AssumeRoleWithWebIdentity, in the JSON the aws
// credential_process protocol reads. No long-term secret is on disk: the
// refresh token is rotated on every use and revocable on the server.
package login

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Config says where to log in and where to keep the result.
type Config struct {
	// Endpoint is the FileSphere S3 endpoint (the OAuth2 issuer).
	Endpoint string
	// ClientID is the public OAuth client registered for the CLI
	// (filesphere admin oauth client add … --public).
	ClientID string
	// Profile names the login; Dir is where profiles are kept
	// ($FILESPHERE_CONFIG_DIR, else ~/.config/filesphere).
	Profile string
	Dir     string
	// RoleARN is what the tokens exchange for at STS; empty means the
	// user's own identity (the filesphere_arn claim of the ID token).
	RoleARN string
	// DurationSeconds of the S3 credentials (0: the server's default).
	DurationSeconds int
	HTTPClient      *http.Client
	// Out receives what the person must read (the URL, the device code).
	Out io.Writer
	// OpenBrowser opens a URL (nil: only print it).
	OpenBrowser func(string) error
	Now         func() time.Time
}

func (c *Config) defaults() {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Profile == "" {
		c.Profile = "default"
	}
	c.Endpoint = strings.TrimSuffix(c.Endpoint, "/")
}

// DefaultDir is where profiles are kept.
func DefaultDir() (string, error) {
	if d := os.Getenv("FILESPHERE_CONFIG_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "filesphere"), nil
}

// Profile is one login, stored 0600.
type Profile struct {
	Endpoint     string `json:"endpoint"`
	ClientID     string `json:"client_id"`
	TokenURL     string `json:"token_endpoint"`
	RoleARN      string `json:"role_arn,omitempty"`
	Duration     int    `json:"duration_seconds,omitempty"`
	RefreshToken string `json:"refresh_token"`
	// The last S3 credentials, reused until close to their expiry, and
	// when they were obtained.
	Cached   *ProcessCredentials `json:"cached,omitempty"`
	CachedAt time.Time           `json:"cached_at,omitzero"`
}

// ProcessCredentials is the aws credential_process output.
type ProcessCredentials struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
}

var profileRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (c *Config) profilePath() (string, error) {
	if !profileRE.MatchString(c.Profile) {
		return "", fmt.Errorf("profile name %q: use letters, digits, '.', '_' and '-'", c.Profile)
	}
	dir := c.Dir
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "profiles", c.Profile+".json"), nil
}

func loadProfile(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("not logged in (no %s): run filesphere login", path)
	}
	if err != nil {
		return nil, err
	}
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil || p.RefreshToken == "" || p.TokenURL == "" {
		return nil, fmt.Errorf("%s is not a login profile; run filesphere login again", path)
	}
	return &p, nil
}

// saveProfile writes atomically (temp file, fsync, rename), mode 0600.
func saveProfile(path string, p *Profile) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".profile-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// discovery is the part of the OpenID configuration the client uses.
type discovery struct {
	Issuer      string   `json:"issuer"`
	Authorize   string   `json:"authorization_endpoint"`
	Token       string   `json:"token_endpoint"`
	DeviceAuthz string   `json:"device_authorization_endpoint"`
	CodeMethods []string `json:"code_challenge_methods_supported"`
}

func (c *Config) discover(ctx context.Context) (discovery, error) {
	var d discovery
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Endpoint+"/.well-known/openid-configuration", nil)
	if err != nil {
		return d, err
	}
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("%s has no OAuth2 authorization server (discovery answered %s)", c.Endpoint, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&d); err != nil {
		return d, err
	}
	if d.Token == "" || d.Authorize == "" {
		return d, errors.New("the discovery document names no token or authorization endpoint")
	}
	return d, nil
}

// tokenResponse is a token endpoint answer, or its error.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
	Interval     int    `json:"interval"`
}

// OAuthError is an error answer of the authorization server.
type OAuthError struct {
	Code, Description string
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

func (c *Config) postForm(ctx context.Context, endpoint string, form url.Values) (tokenResponse, error) {
	var tr tokenResponse
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return tr, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return tr, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return tr, fmt.Errorf("%s answered %s with no JSON", endpoint, resp.Status)
	}
	if tr.Error != "" {
		return tr, &OAuthError{Code: tr.Error, Description: tr.Description}
	}
	if resp.StatusCode != http.StatusOK {
		return tr, fmt.Errorf("%s answered %s", endpoint, resp.Status)
	}
	return tr, nil
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Login signs in with the browser (authorization code + PKCE on a
// loopback port) or, with device, the device grant; it stores the profile
// and returns its path.
func Login(ctx context.Context, cfg Config, device bool) (string, error) {
	cfg.defaults()
	if cfg.Endpoint == "" || cfg.ClientID == "" {
		return "", errors.New("an endpoint and a client id are required")
	}
	path, err := cfg.profilePath()
	if err != nil {
		return "", err
	}
	d, err := cfg.discover(ctx)
	if err != nil {
		return "", err
	}
	var tr tokenResponse
	if device {
		tr, err = cfg.deviceLogin(ctx, d)
	} else {
		tr, err = cfg.browserLogin(ctx, d)
	}
	if err != nil {
		return "", err
	}
	if tr.RefreshToken == "" {
		return "", errors.New("the server issued no refresh token (the client needs the offline_access scope)")
	}
	p := &Profile{Endpoint: cfg.Endpoint, ClientID: cfg.ClientID, TokenURL: d.Token, RoleARN: cfg.RoleARN,
		Duration: cfg.DurationSeconds, RefreshToken: tr.RefreshToken}
	if err := saveProfile(path, p); err != nil {
		return "", err
	}
	return path, nil
}

const scopes = "openid offline_access"

func (c *Config) browserLogin(ctx context.Context, d discovery) (tokenResponse, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return tokenResponse{}, err
	}
	defer ln.Close()
	redirect := "http://" + ln.Addr().String() + "/callback"
	verifier, err := randomString(48)
	if err != nil {
		return tokenResponse{}, err
	}
	state, err := randomString(16)
	if err != nil {
		return tokenResponse{}, err
	}
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {c.ClientID}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {scopes},
		"state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	authURL := d.Authorize + "?" + q.Encode()
	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		v := r.URL.Query()
		res := result{code: v.Get("code")}
		switch {
		case v.Get("state") != state:
			res = result{err: errors.New("the answer's state does not match the request (not ours; ignored)")}
		case v.Get("error") != "":
			res = result{err: &OAuthError{Code: v.Get("error"), Description: v.Get("error_description")}}
		case res.code == "":
			res = result{err: errors.New("the answer carries no code")}
		}
		if res.err != nil {
			http.Error(w, "Login failed: "+res.err.Error(), http.StatusBadRequest)
		} else {
			fmt.Fprintln(w, "Logged in to FileSphere. You may close this window.")
		}
		select {
		case done <- res:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	fmt.Fprintf(c.Out, "Open this URL in a browser to log in:\n\n  %s\n\n", authURL)
	if c.OpenBrowser != nil {
		if err := c.OpenBrowser(authURL); err != nil {
			fmt.Fprintf(c.Out, "(could not open a browser: %v)\n", err)
		}
	}
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		return tokenResponse{}, ctx.Err()
	}
	if res.err != nil {
		return tokenResponse{}, res.err
	}
	return c.postForm(ctx, d.Token, url.Values{"grant_type": {"authorization_code"}, "code": {res.code},
		"redirect_uri": {redirect}, "client_id": {c.ClientID}, "code_verifier": {verifier}})
}

func (c *Config) deviceLogin(ctx context.Context, d discovery) (tokenResponse, error) {
	if d.DeviceAuthz == "" {
		return tokenResponse{}, errors.New("the server offers no device authorization endpoint")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.DeviceAuthz,
		strings.NewReader(url.Values{"client_id": {c.ClientID}, "scope": {scopes}}.Encode()))
	if err != nil {
		return tokenResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return tokenResponse{}, err
	}
	var da struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
		URI        string `json:"verification_uri"`
		Complete   string `json:"verification_uri_complete"`
		ExpiresIn  int    `json:"expires_in"`
		Interval   int    `json:"interval"`
		Error      string `json:"error"`
		Desc       string `json:"error_description"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&da)
	resp.Body.Close()
	if err != nil {
		return tokenResponse{}, err
	}
	if da.Error != "" {
		return tokenResponse{}, &OAuthError{Code: da.Error, Description: da.Desc}
	}
	fmt.Fprintf(c.Out, "On any device with a browser, open\n\n  %s\n\nand enter the code  %s\n\n", da.URI, da.UserCode)
	interval := time.Duration(max(da.Interval, 1)) * time.Second
	deadline := c.Now().Add(time.Duration(da.ExpiresIn) * time.Second)
	for c.Now().Before(deadline) {
		select {
		case <-time.After(interval):
		case <-ctx.Done():
			return tokenResponse{}, ctx.Err()
		}
		tr, err := c.postForm(ctx, d.Token, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {da.DeviceCode}, "client_id": {c.ClientID}})
		var oe *OAuthError
		if errors.As(err, &oe) {
			switch oe.Code {
			case "authorization_pending":
				continue
			case "slow_down":
				interval += 5 * time.Second // RFC 8628 §3.5
				continue
			}
		}
		return tr, err
	}
	return tokenResponse{}, errors.New("the device code expired before it was approved")
}

// Credentials returns S3 credentials for the profile: the cached ones
// while they last more than a few minutes, else new ones, through a
// refresh (the new refresh token is saved before it is used) and STS.
// A lock file keeps two processes from rotating the same refresh token
// (which the server would take for a stolen token and revoke).
func Credentials(ctx context.Context, cfg Config) (ProcessCredentials, error) {
	cfg.defaults()
	path, err := cfg.profilePath()
	if err != nil {
		return ProcessCredentials{}, err
	}
	unlock, err := lockFile(ctx, path+".lock")
	if err != nil {
		return ProcessCredentials{}, err
	}
	defer unlock()
	p, err := loadProfile(path)
	if err != nil {
		return ProcessCredentials{}, err
	}
	if c := p.Cached; c != nil {
		if exp, err := time.Parse(time.RFC3339, c.Expiration); err == nil && exp.Sub(cfg.Now()) > refreshMargin(exp.Sub(p.CachedAt)) {
			return *c, nil
		}
	}
	tr, err := cfg.postForm(ctx, p.TokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.RefreshToken}, "client_id": {p.ClientID}})
	if err != nil {
		var oe *OAuthError
		if errors.As(err, &oe) && oe.Code == "invalid_grant" {
			return ProcessCredentials{}, fmt.Errorf("the login of profile %s has ended (%s); run filesphere login again", cfg.Profile, oe.Description)
		}
		return ProcessCredentials{}, err
	}
	if tr.RefreshToken != "" {
		p.RefreshToken = tr.RefreshToken
	}
	p.Cached = nil
	if err := saveProfile(path, p); err != nil {
		return ProcessCredentials{}, err
	}
	if tr.IDToken == "" {
		return ProcessCredentials{}, errors.New("the server issued no ID token")
	}
	role := p.RoleARN
	if role == "" {
		if role, err = claim(tr.IDToken, "filesphere_arn"); err != nil {
			return ProcessCredentials{}, err
		}
	}
	pc, err := cfg.assume(ctx, p.Endpoint, role, tr.IDToken, p.Duration)
	if err != nil {
		return ProcessCredentials{}, err
	}
	p.Cached, p.CachedAt = &pc, cfg.Now()
	if err := saveProfile(path, p); err != nil {
		return ProcessCredentials{}, err
	}
	return pc, nil
}

// refreshMargin is how long before their expiry cached credentials are
// replaced: five minutes, or a quarter of their lifetime if shorter.
func refreshMargin(lifetime time.Duration) time.Duration {
	return min(5*time.Minute, lifetime/4)
}

// claim reads a string claim of a JWT without verifying it (the server
// verifies; the client only needs to know which role to ask for).
func claim(token, name string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("the ID token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return "", err
	}
	v, _ := m[name].(string)
	if v == "" {
		return "", fmt.Errorf("the ID token has no %s claim", name)
	}
	return v, nil
}

// assume calls STS AssumeRoleWithWebIdentity (unsigned, as AWS's).
func (c *Config) assume(ctx context.Context, endpoint, role, token string, duration int) (ProcessCredentials, error) {
	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {role},
		"RoleSessionName": {"filesphere-login"}, "WebIdentityToken": {token}}
	if duration > 0 {
		form.Set("DurationSeconds", fmt.Sprint(duration))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader(form.Encode()))
	if err != nil {
		return ProcessCredentials{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return ProcessCredentials{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return ProcessCredentials{}, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string }
		}
		if xml.Unmarshal(body, &e) == nil && e.Error.Code != "" {
			return ProcessCredentials{}, fmt.Errorf("STS: %s: %s", e.Error.Code, e.Error.Message)
		}
		return ProcessCredentials{}, fmt.Errorf("STS answered %s", resp.Status)
	}
	var out struct {
		Result struct {
			Credentials struct {
				AccessKeyID     string `xml:"AccessKeyId"`
				SecretAccessKey string
				SessionToken    string
				Expiration      string
			}
		} `xml:"AssumeRoleWithWebIdentityResult"`
	}
	if err := xml.Unmarshal(body, &out); err != nil {
		return ProcessCredentials{}, err
	}
	cr := out.Result.Credentials
	if cr.AccessKeyID == "" {
		return ProcessCredentials{}, errors.New("STS answered no credentials")
	}
	return ProcessCredentials{Version: 1, AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey,
		SessionToken: cr.SessionToken, Expiration: cr.Expiration}, nil
}

// lockFile takes an exclusive lock by creating path (portable: O_EXCL); a
// lock older than a minute is taken for abandoned.
func lockFile(ctx context.Context, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if st, err := os.Stat(path); err == nil && time.Since(st.ModTime()) > time.Minute {
			os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s is held by another process", path)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
