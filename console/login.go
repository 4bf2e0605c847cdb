package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/sirupsen/logrus"
)

// maxLoginBody bounds a login request.
const maxLoginBody = 16 << 10

// maxInternalAnswer bounds the STS answers the console reads itself.
const maxInternalAnswer = 64 << 10

// sessionView is what the application learns of its session (never the
// secret key or the session token).
type sessionView struct {
	identity
	Root        bool      `json:"root"`
	AccessKeyID string    `json:"accessKeyId"`
	Expires     time.Time `json:"expires"`
	CSRF        string    `json:"csrf"`
	Region      string    `json:"region"`
	S3Endpoint  string    `json:"s3Endpoint"`
}

// loginOptions is what the login page needs before anyone logs in.
type loginOptions struct {
	WebIdentity bool `json:"webIdentity"`
}

func (s *Server) view(r *http.Request, sess *session) sessionView {
	return sessionView{identity: sess.who, Root: strings.HasSuffix(sess.who.ARN, ":root"), AccessKeyID: sess.creds.AccessKeyID,
		Expires: sess.expires, CSRF: sess.csrf, Region: s.cfg.Region, S3Endpoint: s.endpoint(r).String()}
}

// sessionInfo answers the session of the request, or 401 with the login
// options.
func (s *Server) sessionInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "GET the session.")
		return
	}
	c, err := r.Cookie(cookieNameFor(r))
	if err == nil {
		if sess, _, live := s.sessions.get(c.Value); live && sameSite(r, false) {
			writeJSON(w, http.StatusOK, s.view(r, sess))
			return
		}
	}
	writeJSON(w, http.StatusUnauthorized, struct {
		Error   errorBody    `json:"error"`
		Options loginOptions `json:"options"`
	}{errorBody{"NotLoggedIn", "Log in first."}, loginOptions{WebIdentity: s.oauth != nil}})
}

// loginRequest is an access-key login. The secret is used to sign one
// GetSessionToken request and then forgotten.
type loginRequest struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// login exchanges an access key for a session. It takes JSON only, so a
// page of another site cannot post it without a preflight the console
// never grants.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "POST the login.")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || !sameSite(r, true) {
		writeError(w, http.StatusForbidden, "CrossSiteRequest", "The console answers its own pages only.")
		return
	}
	var in loginRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxLoginBody)).Decode(&in); err != nil || in.AccessKeyID == "" || in.SecretAccessKey == "" {
		writeError(w, http.StatusBadRequest, "InvalidLogin", "Give an access key id and its secret key.")
		return
	}
	form := url.Values{"Action": {"GetSessionToken"}, "Version": {"2011-06-15"}}
	if s.cfg.SessionSeconds > 0 {
		form.Set("DurationSeconds", strconv.Itoa(s.cfg.SessionSeconds))
	}
	creds, err := s.stsCredentials(r, form, &aws.Credentials{AccessKeyID: in.AccessKeyID, SecretAccessKey: in.SecretAccessKey}, "GetSessionToken")
	in.SecretAccessKey = ""
	if err != nil {
		s.refuseLogin(w, r, in.AccessKeyID, err)
		return
	}
	sess, err := s.startSession(w, r, creds)
	if err != nil {
		s.refuseLogin(w, r, in.AccessKeyID, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(r, sess))
}

// startSession asks who the credentials are, opens their session and
// sets its cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, creds aws.Credentials) (*session, error) {
	who, err := s.callerIdentity(r, creds)
	if err != nil {
		return nil, err
	}
	sess := &session{creds: creds, who: who, expires: creds.Expires}
	token, err := s.sessions.create(sess)
	if err != nil {
		return nil, err
	}
	s.log.WithFields(logrus.Fields{"principal": who.ARN, "remote": r.RemoteAddr, "expires": sess.expires}).Info("console login")
	http.SetCookie(w, sessionCookie(r, token, sess.expires))
	return sess, nil
}

// refusal is the status, code and message a failed login is answered with.
func (s *Server) refusal(r *http.Request, ak string, err error) (int, string, string) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		s.log.WithFields(logrus.Fields{"access_key": ak, "remote": r.RemoteAddr, "code": ae.Code}).Info("console login refused")
		status := ae.Status
		if status < 400 || status >= 500 {
			status = http.StatusUnauthorized
		}
		return status, ae.Code, ae.Message
	case errors.Is(err, errTooManySessions):
		return http.StatusServiceUnavailable, "SlowDown", "Too many console sessions; try again later."
	}
	s.log.WithError(err).Error("console login failed")
	return http.StatusBadGateway, "InternalError", "The S3 API gave no usable answer."
}

func (s *Server) refuseLogin(w http.ResponseWriter, r *http.Request, ak string, err error) {
	status, code, msg := s.refusal(r, ak, err)
	writeError(w, status, code, msg)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "POST the logout.")
		return
	}
	_, token := s.authenticated(w, r, true)
	if token == "" {
		return
	}
	s.sessions.remove(token)
	http.SetCookie(w, clearedCookie(r))
	w.WriteHeader(http.StatusNoContent)
}

// apiError is an error answer of the S3 API (S3's <Error> or the Query
// APIs' <ErrorResponse><Error>).
type apiError struct {
	Status  int
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// stsCredentials sends an STS Query request (signed with creds, or
// unsigned when nil) and reads the credentials of its answer.
func (s *Server) stsCredentials(r *http.Request, form url.Values, creds *aws.Credentials, action string) (aws.Credentials, error) {
	body, err := s.internalCall(r, "sts", form, creds)
	if err != nil {
		return aws.Credentials{}, err
	}
	var out struct {
		Result struct {
			Credentials struct {
				AccessKeyID     string    `xml:"AccessKeyId"`
				SecretAccessKey string    `xml:"SecretAccessKey"`
				SessionToken    string    `xml:"SessionToken"`
				Expiration      time.Time `xml:"Expiration"`
			} `xml:"Credentials"`
		} `xml:"Result"`
	}
	// The result element is named after the action.
	body = bytes.ReplaceAll(body, []byte(action+"Result>"), []byte("Result>"))
	if err := xml.Unmarshal(body, &out); err != nil {
		return aws.Credentials{}, fmt.Errorf("console: reading %s: %w", action, err)
	}
	c := out.Result.Credentials
	if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.Expiration.IsZero() {
		return aws.Credentials{}, fmt.Errorf("console: %s answered no credentials", action)
	}
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		CanExpire: true, Expires: c.Expiration}, nil
}

// callerIdentity asks STS GetCallerIdentity who the credentials are.
func (s *Server) callerIdentity(r *http.Request, creds aws.Credentials) (identity, error) {
	body, err := s.internalCall(r, "sts", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, &creds)
	if err != nil {
		return identity{}, err
	}
	var out struct {
		Result struct {
			ARN     string `xml:"Arn"`
			UserID  string `xml:"UserId"`
			Account string `xml:"Account"`
		} `xml:"GetCallerIdentityResult"`
	}
	if err := xml.Unmarshal(body, &out); err != nil || out.Result.ARN == "" {
		return identity{}, fmt.Errorf("console: reading GetCallerIdentity: %v", err)
	}
	return identity{ARN: out.Result.ARN, UserID: out.Result.UserID, Account: out.Result.Account}, nil
}

// internalCall sends one Query API request of the console's own through
// the S3 API handler, as from the browser's connection (its address and
// transport count in policies), and returns the body of a 200 answer or
// the API's error.
func (s *Server) internalCall(r *http.Request, service string, form url.Values, creds *aws.Credentials) ([]byte, error) {
	payload := []byte(form.Encode())
	u := s.endpoint(r)
	u.Path = "/"
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Host, req.RemoteAddr, req.TLS = u.Host, r.RemoteAddr, r.TLS
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", r.UserAgent())
	if creds != nil {
		sum := sha256.Sum256(payload)
		// A signer of its own: the SDK's signer caches the signing key by
		// access key id, not secret, so a shared one would sign a login's
		// wrong secret with the key a right one derived before.
		if err := v4.NewSigner().SignHTTP(context.Background(), *creds, req, hex.EncodeToString(sum[:]), service, s.cfg.Region, s.cfg.Now().UTC()); err != nil {
			return nil, err
		}
	}
	rec := newRecorder(maxInternalAnswer)
	s.s3.ServeHTTP(rec, req)
	if rec.status == http.StatusOK && !rec.overflow {
		return rec.buf.Bytes(), nil
	}
	ae := &apiError{Status: rec.status}
	var doc struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
		Error   *struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	}
	if xml.Unmarshal(rec.buf.Bytes(), &doc) == nil {
		ae.Code, ae.Message = doc.Code, doc.Message
		if doc.Error != nil {
			ae.Code, ae.Message = doc.Error.Code, doc.Error.Message
		}
	}
	if ae.Code == "" {
		ae.Code = "InternalError"
	}
	return nil, ae
}

// recorder collects a bounded answer of the S3 API handler.
type recorder struct {
	header   http.Header
	status   int
	buf      bytes.Buffer
	limit    int
	overflow bool
}

func newRecorder(limit int) *recorder { return &recorder{header: http.Header{}, limit: limit} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if r.overflow || r.buf.Len()+len(p) > r.limit {
		// Not an error: the handler would abort the browser's connection.
		r.overflow = true
		return len(p), nil
	}
	return r.buf.Write(p)
}
