package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// cookieName holds the session token; over TLS the __Host- prefix makes
// the browser refuse it from any other host, path or insecure page.
const (
	cookieName       = "filesphere_console"
	secureCookieName = "__Host-filesphere_console"
	// csrfHeader carries the session's CSRF token on every request that
	// may change something.
	csrfHeader = "X-Filesphere-Csrf"
)

// session is one logged-in browser: the temporary credentials its
// requests are signed with, and who they belong to.
type session struct {
	creds   aws.Credentials
	csrf    string
	who     identity
	expires time.Time
}

// identity is what GetCallerIdentity said of the credentials.
type identity struct {
	ARN     string `json:"arn"`
	UserID  string `json:"userId"`
	Account string `json:"account"`
}

// errTooManySessions refuses a login while the store is full.
var errTooManySessions = errors.New("console: too many sessions")

// sessionStore holds the sessions of this node by the SHA-256 of their
// token, so that a lookup's timing tells nothing about other tokens and
// the tokens themselves are never kept.
type sessionStore struct {
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[[32]byte]*session
}

func newSessionStore(max int, now func() time.Time) *sessionStore {
	return &sessionStore{max: max, now: now, m: map[[32]byte]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create stores a new session and returns its token.
func (st *sessionStore) create(s *session) (string, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.m) >= st.max {
		now := st.now()
		for k, v := range st.m {
			if !now.Before(v.expires) {
				delete(st.m, k)
			}
		}
		if len(st.m) >= st.max {
			return "", errTooManySessions
		}
	}
	token := randomToken()
	s.csrf = randomToken()
	st.m[sha256.Sum256([]byte(token))] = s
	return token, nil
}

// get returns the live session of a token; an expired one is dropped.
func (st *sessionStore) get(token string) (*session, bool, bool) {
	k := sha256.Sum256([]byte(token))
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[k]
	if !ok {
		return nil, false, false
	}
	if !st.now().Before(s.expires) {
		delete(st.m, k)
		return nil, true, false
	}
	return s, true, true
}

func (st *sessionStore) remove(token string) {
	st.mu.Lock()
	delete(st.m, sha256.Sum256([]byte(token)))
	st.mu.Unlock()
}

func (st *sessionStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.m)
}

func cookieNameFor(r *http.Request) string {
	if r.TLS != nil {
		return secureCookieName
	}
	return cookieName
}

func sessionCookie(r *http.Request, token string, expires time.Time) *http.Cookie {
	return &http.Cookie{Name: cookieNameFor(r), Value: token, Path: "/", Expires: expires, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}
}

func clearedCookie(r *http.Request) *http.Cookie {
	return &http.Cookie{Name: cookieNameFor(r), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}
}

// authenticated returns the request's session, or answers 401 (no or an
// expired session) or 403 (a request that may change something without
// the session's CSRF token, or from another site) and returns nil.
func (s *Server) authenticated(w http.ResponseWriter, r *http.Request, changes bool) (*session, string) {
	c, err := r.Cookie(cookieNameFor(r))
	if err != nil || c.Value == "" {
		writeError(w, http.StatusUnauthorized, "NotLoggedIn", "Log in first.")
		return nil, ""
	}
	sess, known, live := s.sessions.get(c.Value)
	if !live {
		if known {
			http.SetCookie(w, clearedCookie(r))
			writeError(w, http.StatusUnauthorized, "SessionExpired", "The session expired with its credentials; log in again.")
		} else {
			writeError(w, http.StatusUnauthorized, "NotLoggedIn", "Log in first.")
		}
		return nil, ""
	}
	if !sameSite(r, changes) {
		writeError(w, http.StatusForbidden, "CrossSiteRequest", "The console answers its own pages only.")
		return nil, ""
	}
	if changes && subtle.ConstantTimeCompare([]byte(r.Header.Get(csrfHeader)), []byte(sess.csrf)) != 1 {
		writeError(w, http.StatusForbidden, "InvalidCSRFToken", "The request lacks the session's CSRF token.")
		return nil, ""
	}
	return sess, c.Value
}

// sameSite refuses what a browser marks as sent by another site: an
// Origin other than the console's, and (for requests that may change
// something) a Sec-Fetch-Site other than same-origin. The cookie is
// SameSite=Strict and the CSRF token is required besides; this is one
// more wall.
func sameSite(r *http.Request, changes bool) bool {
	if o := r.Header.Get("Origin"); o != "" {
		if o != "http://"+r.Host && o != "https://"+r.Host {
			return false
		}
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin":
		return true
	case "none": // typed or bookmarked: a navigation, never a change
		return !changes
	}
	return false
}
