// Package console serves the FileSphere web console on its own listener:
// a single-page application (HTML, JavaScript and CSS embedded in the
// binary; nothing loaded from elsewhere) and a small backend.
//
// The backend logs a user in and holds the session; it does no storage or
// identity work of its own. An access-key login is an STS GetSessionToken
// request signed with the user's key and sent through the S3 API handler;
// the session keeps the temporary credentials it returns, server-side
// (the browser holds only an HttpOnly cookie and a CSRF token), and ends
// when they expire. "Log in with FileSphere" (oauth.go) gets the
// credentials from STS AssumeRoleWithWebIdentity instead, for an ID token
// of the node's own OAuth2 server. Every other call of the application — S3, the IAM
// Query API, the admin API — is forwarded to the same S3 API handler,
// in-process, signed with the session's credentials. So each console
// action is exactly the logged-in user's S3 request: the same pipeline,
// the same authorization and the same condition keys (the browser's
// address and transport), and the console can do nothing the API cannot.
package console

import (
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/sirupsen/logrus"
	"golang.org/x/sync/semaphore"
)

//go:embed web
var webFiles embed.FS

// appCSP is the application's content security policy: its own scripts
// and styles only; blob: frames and images for previews it builds itself.
const appCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob:; frame-src blob:; object-src blob:; connect-src 'self'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// dataCSP is set on forwarded answers (object bodies among them): opened
// directly, an object is an opaque sandboxed document, so an HTML object
// cannot act as the console.
const dataCSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"

// Server is the console's http.Handler.
type Server struct {
	cfg      Config
	s3       http.Handler
	log      *logrus.Entry
	sessions *sessionStore
	signer   *v4.Signer
	buffers  *semaphore.Weighted
	web      fs.FS
	oauth    *oauthClient // nil: no "Log in with FileSphere"
}

// New builds a console forwarding to s3, the S3 API handler.
func New(cfg Config, s3 http.Handler) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if s3 == nil {
		return nil, errors.New("console: the S3 API handler is required")
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = logrus.NewEntry(l)
	}
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, s3: s3, log: cfg.Log.WithField("component", "console"),
		sessions: newSessionStore(cfg.MaxSessions, cfg.Now), signer: v4.NewSigner(),
		buffers: semaphore.NewWeighted(cfg.BufferMemory), web: web}
	if cfg.OAuth != nil {
		o := *cfg.OAuth
		if s.oauth, err = newOAuthClient(&o); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ServeHTTP routes by the escaped path, never cleaned: a forwarded key is
// the user's, byte for byte.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	path := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(path, s3Prefix):
		s.forward(w, r, forwardS3, strings.TrimPrefix(path, s3Prefix[:len(s3Prefix)-1]))
	case path == "/api/iam":
		s.forward(w, r, forwardIAM, "/")
	case path == "/api/sts":
		s.forward(w, r, forwardSTS, "/")
	case path == "/api/session":
		s.sessionInfo(w, r)
	case path == "/api/login":
		s.login(w, r)
	case path == "/api/logout":
		s.logout(w, r)
	case path == oauthStartPath:
		s.webIdentityStart(w, r)
	case path == CallbackPath:
		s.webIdentityFinish(w, r)
	case path == "/api/presign":
		s.presign(w, r)
	case strings.HasPrefix(path, "/api/"):
		writeError(w, http.StatusNotFound, "NotFound", "No such console API.")
	default:
		s.static(w, r, path)
	}
}

// static serves the application: index.html at /, its files by name.
func (s *Server) static(w http.ResponseWriter, r *http.Request, path string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The console's pages are read with GET.")
		return
	}
	name := strings.TrimPrefix(path, "/")
	if name == "" {
		name = "index.html"
	}
	if st, err := fs.Stat(s.web, name); err != nil || st.IsDir() || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", appCSP)
	h.Set("Cache-Control", "no-cache")
	// ServeFileFS would redirect /index.html to /; read it directly.
	f, err := s.web.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		http.Error(w, "unreadable", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, name, time.Time{}, rs) // embedded: no modification time
}

// errorBody is the console backend's own error answer (S3, IAM and admin
// errors pass through in their own XML).
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, struct {
		Error errorBody `json:"error"`
	}{errorBody{code, msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"InternalError","message":"encoding failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
