package console

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// "Log in with FileSphere": the console is an OAuth2 client of the node's
// own OpenID Connect issuer (iam/oauth), a public one using the
// authorization code flow with PKCE (S256). Start sends the browser to the
// issuer's authorization endpoint (its login page) with a fresh state,
// PKCE challenge and nonce; the issuer sends it back to the callback,
// whose URI the client registered exactly. The callback accepts only the
// state it gave this browser (a sealed, HttpOnly cookie: login CSRF is
// refused), redeems the code with the PKCE verifier at the token endpoint,
// checks the ID token's issuer, audience and nonce, and exchanges it with
// STS AssumeRoleWithWebIdentity for the user's own credentials (the role
// is the token's filesphere_arn claim, the user's ARN); STS verifies the
// token's signature. Discovery, the token request and STS are all requests
// to the S3 API handler, in-process, as any client's would be. The session
// then holds those credentials and ends with them, no later than the ID
// token. No access or refresh token is kept.

// Paths of the login and its callback.
const (
	oauthStartPath = "/api/login/web-identity"
	// CallbackPath is the path of the redirect URI the console's OAuth
	// client registers: <console URL>/api/login/web-identity/callback.
	CallbackPath = oauthStartPath + "/callback"
)

// discoveryPath is OpenID Connect discovery's well-known path.
const discoveryPath = "/.well-known/openid-configuration"

// oauthLoginTTL is how long a started login may take (the login page
// included).
const oauthLoginTTL = 10 * time.Minute

// claimARN is the built-in issuer's claim naming the user's ARN.
const claimARN = "filesphere_arn"

// OAuthConfig configures "Log in with FileSphere".
type OAuthConfig struct {
	// Issuer is the OpenID Connect issuer URL, as browsers reach it (its
	// authorization endpoint is where they log in). Its discovery
	// document is read through the S3 API handler and must name it.
	Issuer string
	// RedirectURL is the console's callback as browsers reach it and as
	// the client registered it, exactly: the console's URL followed by
	// CallbackPath.
	RedirectURL string
	// ClientID returns the console's client id at the issuer, registering
	// the client when needed. It is asked at every login.
	ClientID func(ctx context.Context) (string, error)
}

func (o *OAuthConfig) validate() error {
	iss, err := url.Parse(o.Issuer)
	if err != nil || (iss.Scheme != "http" && iss.Scheme != "https") || iss.Host == "" || iss.RawQuery != "" || iss.Fragment != "" {
		return errors.New("console: OAuth.Issuer must be an http or https URL")
	}
	red, err := url.Parse(o.RedirectURL)
	if err != nil || (red.Scheme != "http" && red.Scheme != "https") || red.Host == "" || red.Path != CallbackPath || red.RawQuery != "" {
		return errors.New("console: OAuth.RedirectURL must be an http or https URL with the path " + CallbackPath)
	}
	if o.ClientID == nil {
		return errors.New("console: OAuth.ClientID required")
	}
	return nil
}

// oauthClient is the console's side of the flow.
type oauthClient struct {
	cfg      *OAuthConfig
	redirect *url.URL
	seal     cipher.AEAD // seals the pending login in its cookie; the key lives in memory only

	mu   sync.Mutex
	disc *discovery // read once, then kept
}

func newOAuthClient(cfg *OAuthConfig) (*oauthClient, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	red, _ := url.Parse(cfg.RedirectURL) // validated
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	return &oauthClient{cfg: cfg, redirect: red, seal: aead}, nil
}

// discovery is what the console reads of the issuer's discovery document.
type discovery struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	// tokenPath is the token endpoint's path on the S3 API handler.
	tokenPath string
}

// discover reads the issuer's discovery document through the S3 API
// handler (once; a failure is tried again at the next login).
func (s *Server) discover(ctx context.Context, r *http.Request) (*discovery, error) {
	o := s.oauth
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.disc != nil {
		return o.disc, nil
	}
	u := s.endpoint(r)
	u.Path = discoveryPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.inProcess(r).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var d discovery
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the issuer's discovery document answered %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return nil, fmt.Errorf("reading the issuer's discovery document: %w", err)
	}
	if d.Issuer != o.cfg.Issuer {
		return nil, fmt.Errorf("the S3 API's issuer is %q, not %q", d.Issuer, o.cfg.Issuer)
	}
	for _, e := range []string{d.AuthorizationEndpoint, d.TokenEndpoint} {
		if !strings.HasPrefix(e, d.Issuer+"/") {
			return nil, fmt.Errorf("the issuer's endpoint %q is not under the issuer", e)
		}
	}
	tu, err := url.Parse(d.TokenEndpoint)
	if err != nil {
		return nil, err
	}
	d.tokenPath = tu.EscapedPath()
	o.disc = &d
	return o.disc, nil
}

// config is the golang.org/x/oauth2 view of the client: the browser goes
// to the issuer's authorization endpoint, the console posts to the token
// endpoint of the S3 API handler.
func (s *Server) config(r *http.Request, clientID string, d *discovery) *oauth2.Config {
	tok := s.endpoint(r)
	tok.Path = d.tokenPath
	return &oauth2.Config{ClientID: clientID, RedirectURL: s.oauth.cfg.RedirectURL, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: d.AuthorizationEndpoint, TokenURL: tok.String(), AuthStyle: oauth2.AuthStyleInParams}}
}

// pendingLogin is a started login, sealed into the browser's cookie.
type pendingLogin struct {
	State    string    `json:"s"`
	Verifier string    `json:"v"`
	Nonce    string    `json:"n"`
	ClientID string    `json:"c"`
	Expires  time.Time `json:"e"`
}

// oauthCookieName holds the pending login; __Host- over TLS.
func oauthCookieName(r *http.Request) string {
	if r.TLS != nil {
		return "__Host-filesphere_console_login"
	}
	return "filesphere_console_login"
}

// oauthCookie is Lax, not Strict: the browser comes back from the issuer
// by a top-level navigation, which may be cross-site (another host name).
func oauthCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: oauthCookieName(r), Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode}
}

func (o *oauthClient) sealLogin(p pendingLogin) (string, error) {
	plain, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, o.seal.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(o.seal.Seal(nonce, nonce, plain, []byte("console-login"))), nil
}

func (o *oauthClient) openLogin(value string, now time.Time) (pendingLogin, error) {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < o.seal.NonceSize() {
		return pendingLogin{}, errors.New("the login cookie is malformed")
	}
	n := o.seal.NonceSize()
	plain, err := o.seal.Open(nil, b[:n], b[n:], []byte("console-login"))
	if err != nil {
		return pendingLogin{}, errors.New("the login cookie was not made by this console (or it restarted)")
	}
	var p pendingLogin
	if err := json.Unmarshal(plain, &p); err != nil {
		return pendingLogin{}, err
	}
	if !now.Before(p.Expires) {
		return pendingLogin{}, errors.New("the login took longer than " + oauthLoginTTL.String())
	}
	return p, nil
}

// loginBack sends the browser to the application, with the refusal to
// show when code is set.
func loginBack(w http.ResponseWriter, r *http.Request, code, msg string) {
	target := "/"
	if code != "" {
		target += "?login_error=" + url.QueryEscape(code+": "+msg)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// webIdentityStart begins "Log in with FileSphere".
func (s *Server) webIdentityStart(w http.ResponseWriter, r *http.Request) {
	if s.oauth == nil {
		writeError(w, http.StatusNotFound, "NotEnabled", "Logging in with FileSphere's OAuth2 server is not enabled here.")
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "GET the login.")
		return
	}
	// The pending login's cookie must be set on the host the issuer sends
	// the browser back to.
	if red := s.oauth.redirect; !strings.EqualFold(r.Host, red.Host) {
		http.Redirect(w, r, red.Scheme+"://"+red.Host+oauthStartPath, http.StatusSeeOther)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	clientID, err := s.oauth.cfg.ClientID(ctx)
	if err != nil {
		s.log.WithError(err).Warn("console: the OAuth client is not registered")
		loginBack(w, r, "NotAvailable", "The console's OAuth client could not be registered; log in with an access key.")
		return
	}
	d, err := s.discover(ctx, r)
	if err != nil {
		s.log.WithError(err).Warn("console: reading the issuer's discovery document")
		loginBack(w, r, "NotAvailable", "The OAuth2 server gave no usable discovery document; log in with an access key.")
		return
	}
	p := pendingLogin{State: randomToken(), Verifier: oauth2.GenerateVerifier(), Nonce: randomToken(), ClientID: clientID,
		Expires: s.cfg.Now().Add(oauthLoginTTL)}
	sealed, err := s.oauth.sealLogin(p)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalError", "The login could not be started.")
		return
	}
	http.SetCookie(w, oauthCookie(r, sealed, int(oauthLoginTTL/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.config(r, clientID, d).AuthCodeURL(p.State, oauth2.S256ChallengeOption(p.Verifier),
		oauth2.SetAuthURLParam("nonce", p.Nonce)), http.StatusSeeOther)
}

// webIdentityFinish takes the browser back from the issuer and, when
// everything checks out, opens the session.
func (s *Server) webIdentityFinish(w http.ResponseWriter, r *http.Request) {
	if s.oauth == nil {
		writeError(w, http.StatusNotFound, "NotEnabled", "Logging in with FileSphere's OAuth2 server is not enabled here.")
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The issuer sends the browser back with a GET.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	// One attempt per started login, whatever comes of it.
	http.SetCookie(w, oauthCookie(r, "", -1))
	c, err := r.Cookie(oauthCookieName(r))
	if err != nil {
		loginBack(w, r, "InvalidLogin", "This login was not started from this console; start it again.")
		return
	}
	p, err := s.oauth.openLogin(c.Value, s.cfg.Now())
	if err != nil {
		loginBack(w, r, "InvalidLogin", err.Error()+"; start it again.")
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(p.State)) != 1 {
		s.log.WithField("remote", r.RemoteAddr).Warn("console: an OAuth callback with a state this browser was not given")
		loginBack(w, r, "InvalidLogin", "The answer does not belong to the login this browser started; start it again.")
		return
	}
	if e := q.Get("error"); e != "" {
		loginBack(w, r, "LoginRefused", strings.TrimSpace(e+" "+q.Get("error_description")))
		return
	}
	token, role, err := s.redeem(r, p, q.Get("code"))
	if err != nil {
		s.log.WithError(err).Info("console: OAuth login refused")
		loginBack(w, r, "InvalidLogin", err.Error())
		return
	}
	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {role},
		"RoleSessionName": {"console-" + strconv.FormatInt(s.cfg.Now().Unix(), 10)}, "WebIdentityToken": {token}}
	if s.cfg.SessionSeconds > 0 {
		form.Set("DurationSeconds", strconv.Itoa(s.cfg.SessionSeconds))
	}
	creds, err := s.stsCredentials(r, form, nil, "AssumeRoleWithWebIdentity")
	if err == nil {
		_, err = s.startSession(w, r, creds)
	}
	if err != nil {
		_, code, msg := s.refusal(r, "", err)
		loginBack(w, r, code, msg)
		return
	}
	loginBack(w, r, "", "")
}

// redeem exchanges the code (with the PKCE verifier) for an ID token and
// checks what the console relies on: its issuer, its audience (this
// client) and its nonce (this login). It returns the token and the ARN of
// the user it stands for.
func (s *Server) redeem(r *http.Request, p pendingLogin, code string) (string, string, error) {
	if code == "" {
		return "", "", errors.New("the issuer sent no code")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	d, err := s.discover(ctx, r)
	if err != nil {
		return "", "", err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.inProcess(r))
	tok, err := s.config(r, p.ClientID, d).Exchange(ctx, code, oauth2.VerifierOption(p.Verifier))
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return "", "", fmt.Errorf("the token endpoint refused the code: %s %s", re.ErrorCode, re.ErrorDescription)
	}
	if err != nil {
		return "", "", fmt.Errorf("redeeming the code: %w", err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	if idToken == "" {
		return "", "", errors.New("the token endpoint issued no ID token")
	}
	var cl struct {
		Issuer   string          `json:"iss"`
		Audience json.RawMessage `json:"aud"`
		Nonce    string          `json:"nonce"`
		ARN      string          `json:"filesphere_arn"`
	}
	if err := unverifiedClaims(idToken, &cl); err != nil {
		return "", "", err
	}
	var aud []string
	if json.Unmarshal(cl.Audience, &aud) != nil {
		var one string
		_ = json.Unmarshal(cl.Audience, &one)
		aud = []string{one}
	}
	switch {
	case cl.Issuer != s.oauth.cfg.Issuer:
		return "", "", fmt.Errorf("the ID token's issuer is %q", cl.Issuer)
	case !slices.Contains(aud, p.ClientID):
		return "", "", errors.New("the ID token is not for the console's client")
	case subtle.ConstantTimeCompare([]byte(cl.Nonce), []byte(p.Nonce)) != 1:
		return "", "", errors.New("the ID token's nonce is not this login's")
	case cl.ARN == "":
		return "", "", errors.New("the ID token names no user (" + claimARN + ")")
	}
	return idToken, cl.ARN, nil
}

// unverifiedClaims decodes a JWT's claims without checking its signature:
// it came straight from the token endpoint, and STS verifies it before
// anything is granted.
func unverifiedClaims(token string, v any) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("the ID token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return errors.New("the ID token's claims are not base64url")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New("the ID token's claims are not JSON")
	}
	return nil
}

// inProcess is an HTTP client whose requests are served by the S3 API
// handler in this process, as from the browser's connection.
func (s *Server) inProcess(from *http.Request) *http.Client {
	return &http.Client{Transport: handlerTransport{h: s.s3, from: from}, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type handlerTransport struct {
	h    http.Handler
	from *http.Request
}

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	in.RemoteAddr, in.TLS = t.from.RemoteAddr, t.from.TLS
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := newRecorder(maxInternalAnswer)
	t.h.ServeHTTP(rec, in)
	if rec.overflow {
		return nil, errors.New("console: the S3 API's answer is too large")
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	body := rec.buf.Bytes()
	return &http.Response{StatusCode: rec.status, Status: strconv.Itoa(rec.status) + " " + http.StatusText(rec.status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: rec.header, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}, nil
}
