package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam"
	"github.com/ory/fosite"
)

// The login page: a plain HTML form (no script, nothing fetched from
// elsewhere) asking for an IAM user name and its password (the login
// profile: aws iam create-login-profile, filesphere admin user passwd).
// It is guarded by
//   - a CSRF token: the form carries HMAC(key, nonce) where the nonce sits
//     in an HttpOnly, SameSite=Strict cookie (Secure and __Host- prefixed
//     over TLS), compared in constant time;
//   - throttling per user name and per source address (Config.Login*),
//     counted in the KV so that every node enforces the same count;
//   - no open redirect: the authorization request is fosite's, whose
//     redirect URI must match one the client registered (exactly; for
//     loopback addresses any port, as RFC 8252 requires of native apps).
// Passwords are never logged; a failure never says whether the user exists.

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}} – FileSphere</title>
<style>body{font-family:sans-serif;max-width:26em;margin:4em auto;padding:0 1em}
label{display:block;margin:.8em 0 .2em}input{width:100%;padding:.4em;box-sizing:border-box}
button{margin-top:1.2em;padding:.5em 1.5em}.err{color:#a00}.ok{color:#070}</style></head>
<body><h1>{{.Title}}</h1>
{{if .Client}}<p>Sign in to FileSphere for <b>{{.Client}}</b>.</p>{{end}}
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
{{if .Message}}<p class="ok">{{.Message}}</p>{{end}}
{{if .Form}}<form method="post" action="{{.Action}}" autocomplete="off">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
{{range $k, $v := .Hidden}}{{range $v}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
{{if .AskCode}}<label for="user_code">Code shown on your device</label>
<input id="user_code" name="user_code" value="{{.UserCode}}" required>{{end}}
<label for="username">User name</label><input id="username" name="username" value="{{.Username}}" required autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" required autocomplete="current-password">
<button type="submit" name="decision" value="approve">Sign in</button>
{{if .AskCode}}<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>{{end}}
</form>{{end}}
</body></html>`))

type page struct {
	Title, Client, Error, Message string
	Form                          bool
	Action, CSRF                  string
	Hidden                        url.Values
	AskCode                       bool
	UserCode, Username            string
}

func (p *Provider) render(w http.ResponseWriter, status int, pg page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, pg); err != nil {
		p.log.WithError(err).Warn("rendering the login page")
	}
}

// csrfCookie names the cookie: __Host- (Secure, path /, no domain) over TLS.
func csrfCookie(secure bool) string {
	if secure {
		return "__Host-filesphere-csrf"
	}
	return "filesphere-csrf"
}

// csrfToken returns the form token for the request's nonce cookie,
// setting a new cookie when there is none.
func (p *Provider) csrfToken(w http.ResponseWriter, r *http.Request) string {
	secure := p.secure(r)
	nonce := ""
	if c, err := r.Cookie(csrfCookie(secure)); err == nil && len(c.Value) == 43 {
		nonce = c.Value
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		nonce = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie(secure), Value: nonce, Path: "/", MaxAge: 3600,
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	}
	return p.csrfFor(nonce)
}

func (p *Provider) csrfFor(nonce string) string {
	m := hmac.New(sha256.New, p.csrfKey)
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfValid checks the posted token against the cookie.
func (p *Provider) csrfValid(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie(p.secure(r)))
	if err != nil || c.Value == "" {
		return false
	}
	want := p.csrfFor(c.Value)
	got := r.PostForm.Get("csrf_token")
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// authorize is the authorization endpoint: GET shows the login form for
// a valid authorization request; POST (the form) checks the login and
// answers the client's redirect URI with a code.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := p.fosite.NewAuthorizeRequest(ctx, r)
	if err != nil {
		p.logRefusal("authorize", err)
		p.fosite.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	// PKCE (S256) is required of every client; refuse before the form.
	if r.Form.Get("code_challenge") == "" || r.Form.Get("code_challenge_method") != "S256" {
		p.fosite.WriteAuthorizeError(ctx, w, ar, fosite.ErrInvalidRequest.WithHint("PKCE is required: send code_challenge with code_challenge_method=S256."))
		return
	}
	if strings.Contains(" "+r.Form.Get("prompt")+" ", " none ") {
		p.fosite.WriteAuthorizeError(ctx, w, ar, fosite.ErrLoginRequired.WithHint("FileSphere keeps no login session; sign in interactively."))
		return
	}
	pg := page{Title: "Sign in", Client: clientName(ar.GetClient()), Form: true, Action: PathAuthorize, Hidden: authorizeParams(r.Form)}
	if r.Method == http.MethodGet {
		pg.CSRF = p.csrfToken(w, r)
		p.render(w, http.StatusOK, pg)
		return
	}
	u, status, msg := p.login(ctx, r)
	if msg != "" {
		pg.CSRF, pg.Error, pg.Username = p.csrfToken(w, r), msg, r.PostForm.Get("username")
		p.render(w, status, pg)
		return
	}
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s) // the scope strategy admitted only the client's scopes
	}
	sess := newUserSession(p.cfg.Issuer, ar.GetClient().GetID(), u.Name, u.UserID, u.ARN, ar.GetID(), p.cfg.Now())
	if nonce := ar.GetRequestForm().Get("nonce"); nonce != "" {
		sess.OIDC.Claims.Nonce = nonce
	}
	resp, err := p.fosite.NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		p.logRefusal("authorize", err)
		p.fosite.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	p.log.WithField("user", u.Name).WithField("client", ar.GetClient().GetID()).Info("OAuth login")
	p.fosite.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// authorizeParams are the authorization request's parameters, carried
// through the login form.
func authorizeParams(form url.Values) url.Values {
	out := url.Values{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
		"code_challenge", "code_challenge_method", "audience", "response_mode"} {
		if v, ok := form[k]; ok {
			out[k] = v[:1]
		}
	}
	return out
}

func clientName(c fosite.Client) string {
	if cl, ok := c.(*client); ok {
		return cl.rec.Name
	}
	return ""
}

// login checks a posted login form: the CSRF token, the throttles, the
// password. On failure it returns the HTTP status and the message to show.
func (p *Provider) login(ctx context.Context, r *http.Request) (iam.User, int, string) {
	if !p.csrfValid(r) {
		return iam.User{}, http.StatusForbidden, "The form expired or did not come from this page. Please try again."
	}
	user, pass := r.PostForm.Get("username"), r.PostForm.Get("password")
	if user == "" || pass == "" || len(user) > 128 || len(pass) > 1024 {
		return iam.User{}, http.StatusBadRequest, "Enter your user name and password."
	}
	addr := sourceAddr(r)
	wait, err := p.throttled(ctx, user, addr)
	if err != nil {
		p.log.WithError(err).Error("reading login throttles")
		return iam.User{}, http.StatusServiceUnavailable, "Sign-in is unavailable; try again later."
	}
	if wait > 0 {
		return iam.User{}, http.StatusTooManyRequests, "Too many failed sign-in attempts. Try again in " + wait.Round(time.Second).String() + "."
	}
	u, _, err := p.ids.VerifyPassword(ctx, user, pass)
	if errors.Is(err, iam.ErrLoginFailed) {
		p.log.WithField("user", printable(user)).WithField("source", addr).Info("OAuth login failed")
		if err := p.noteLogin(ctx, user, addr, false); err != nil {
			p.log.WithError(err).Warn("recording a failed login")
		}
		return iam.User{}, http.StatusUnauthorized, "The user name or password is incorrect."
	}
	if err != nil {
		p.log.WithError(err).Error("checking a login")
		return iam.User{}, http.StatusServiceUnavailable, "Sign-in is unavailable; try again later."
	}
	if err := p.noteLogin(ctx, user, addr, true); err != nil {
		p.log.WithError(err).Warn("clearing login failures")
	}
	return u, 0, ""
}

// failRecord counts the failed logins of a user name or source address.
type failRecord struct {
	Failures int       `json:"failures"`
	Last     time.Time `json:"last"`
	Until    time.Time `json:"until"`   // no attempt before this
	Expires  time.Time `json:"expires"` // swept after
}

// throttled returns how long the user name or the address must still wait.
func (p *Provider) throttled(ctx context.Context, user, addr string) (time.Duration, error) {
	now := p.cfg.Now()
	var wait time.Duration
	for _, key := range []string{failKey("u", user), failKey("a", addr)} {
		var f failRecord
		if _, _, err := get(ctx, p.stale, key, &f); err != nil {
			return 0, err
		}
		if d := f.Until.Sub(now); d > wait {
			wait = d
		}
	}
	return wait, nil
}

// noteLogin counts a failure (pushing the next attempt out once the free
// failures are used up) or clears the user's count after a success.
func (p *Provider) noteLogin(ctx context.Context, user, addr string, ok bool) error {
	keys := []string{failKey("u", user), failKey("a", addr)}
	if ok {
		// A success clears the user's count only: an address that keeps
		// failing on other names stays throttled.
		keys = keys[:1]
	}
	for _, key := range keys {
		for attempt := 0; attempt < 8; attempt++ {
			var f failRecord
			rev, found, err := get(ctx, p.kv, key, &f)
			if err != nil {
				return err
			}
			var op meta.Op
			if ok {
				if !found {
					break
				}
				op = meta.Delete(key)
			} else {
				now := p.cfg.Now()
				if now.Sub(f.Last) > p.cfg.LoginFailureWindow {
					f = failRecord{}
				}
				f.Failures++
				f.Last = now
				if n := f.Failures - p.cfg.LoginFreeFailures; n >= 0 {
					d := time.Duration(float64(p.cfg.LoginDelay) * math.Pow(2, float64(min(n, 30))))
					f.Until = now.Add(min(d, p.cfg.LoginMaxDelay))
				}
				f.Expires = now.Add(p.cfg.LoginFailureWindow + p.cfg.LoginMaxDelay)
				if op, err = put(key, f); err != nil {
					return err
				}
			}
			_, err = p.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: key, Revision: rev}}, Ops: []meta.Op{op}})
			var cf *meta.CompareFailedError
			if errors.As(err, &cf) {
				continue
			}
			if err != nil {
				return err
			}
			break
		}
	}
	return nil
}

// printable shortens and sanitises hostile input for logs.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := rand.Read(b)
	return b, err
}
