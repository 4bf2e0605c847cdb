package console

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// s3Prefix is where the application's S3 requests (and the admin API
// under /.filesphere/admin/v1) go; the rest of the path is the S3 path.
const s3Prefix = "/api/s3/"

// unsignedPayload marks a streamed body that the signature does not cover.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// target is the API a forwarded request is signed for.
type target struct {
	service string
	// postOnly: the Query APIs take actions in a form, so only POST,
	// and every call may change something.
	postOnly bool
}

var (
	forwardS3  = target{service: "s3"}
	forwardIAM = target{service: "iam", postOnly: true}
	forwardSTS = target{service: "sts", postOnly: true}
)

// droppedHeaders never reach the S3 API from the browser: the console's
// own cookie and token, any authentication (the console signs), what
// would let a browser claim another transport or address, and hop-by-hop
// headers.
var droppedHeaders = []string{"Cookie", "Authorization", "X-Amz-Security-Token", "X-Amz-Date", "X-Amz-Content-Sha256",
	csrfHeader, "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Real-Ip",
	"Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect"}

// forward sends one application request to the S3 API handler, signed
// with the session's credentials. Reads (GET and HEAD of S3) need the
// session only, so that links and images work; anything else also needs
// the CSRF token.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, t target, rawPath string) {
	if t.postOnly && r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Query API calls are POSTed.")
		return
	}
	changes := t.postOnly || (r.Method != http.MethodGet && r.Method != http.MethodHead)
	sess, _ := s.authenticated(w, r, changes)
	if sess == nil {
		return
	}
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidURI", "The path is not validly escaped.")
		return
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidURI", "The query is not validly escaped.")
		return
	}
	for k := range query {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			delete(query, k) // presigning parameters: the console signs
		}
	}
	u := s.endpoint(r)
	// Re-escaped as SDKs escape, whatever escaping the browser chose.
	u.Path, u.RawPath, u.RawQuery = path, s3Escape(path), strings.ReplaceAll(query.Encode(), "+", "%20")

	body, small, hash, release, ok := s.readBody(w, r)
	if !ok {
		return
	}
	defer release()
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidURI", "The request cannot be forwarded.")
		return
	}
	for k, vs := range r.Header {
		out.Header[k] = vs
	}
	for _, k := range droppedHeaders {
		out.Header.Del(k)
	}
	out.ContentLength = r.ContentLength
	if small != nil {
		out.ContentLength = int64(len(small))
		if !hasIntegrityHeader(out.Header) {
			// What an SDK adds: S3 requires it of configuration
			// documents and multi-object deletes, and checks it on any.
			sum := md5.Sum(small)
			out.Header.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
		}
	}
	out.Host, out.RemoteAddr, out.TLS = u.Host, r.RemoteAddr, r.TLS
	opts := func(o *v4.SignerOptions) {}
	if t.service == "s3" {
		out.Header.Set("X-Amz-Content-Sha256", hash)
		opts = func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }
	}
	if err := s.signer.SignHTTP(context.Background(), sess.creds, out, hash, t.service, s.cfg.Region, s.cfg.Now().UTC(), opts); err != nil {
		writeError(w, http.StatusInternalServerError, "InternalError", "Signing failed.")
		return
	}
	w.Header().Set("Content-Security-Policy", dataCSP)
	s.s3.ServeHTTP(&noStore{ResponseWriter: w}, out)
}

// objectCacheControl carries an object's own Cache-Control to the
// application, since the answer's Cache-Control is the console's.
const objectCacheControl = "X-Filesphere-Object-Cache-Control"

// noStore keeps the browser from storing what the console forwards (a
// shared computer's next user must not find the last one's objects in
// its cache); an object's own Cache-Control moves to objectCacheControl.
type noStore struct {
	http.ResponseWriter
	wrote bool
}

func (n *noStore) WriteHeader(status int) {
	if !n.wrote {
		n.wrote = true
		h := n.Header()
		if v := h.Get("Cache-Control"); v != "" {
			h.Set(objectCacheControl, v)
		}
		h.Set("Cache-Control", "private, no-store")
	}
	n.ResponseWriter.WriteHeader(status)
}

func (n *noStore) Write(p []byte) (int, error) {
	if !n.wrote {
		n.WriteHeader(http.StatusOK)
	}
	return n.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (the S3
// handler sets body deadlines through it).
func (n *noStore) Unwrap() http.ResponseWriter { return n.ResponseWriter }

// readBody returns the body to forward and its payload hash: a small
// body read whole (bounded memory, deadline) and hashed, also returned as
// small; a larger one streamed unsigned. release gives the memory back.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (io.Reader, []byte, string, func(), bool) {
	empty := sha256.Sum256(nil)
	switch {
	case r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody:
		return http.NoBody, nil, hex.EncodeToString(empty[:]), func() {}, true
	case r.ContentLength < 0 || r.ContentLength > s.cfg.SmallBody:
		return r.Body, nil, unsignedPayload, func() {}, true
	}
	n := r.ContentLength
	if !s.buffers.TryAcquire(n) {
		writeError(w, http.StatusServiceUnavailable, "SlowDown", "The console is busy; try again.")
		return nil, nil, "", nil, false
	}
	release := func() { s.buffers.Release(n) }
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
	buf := make([]byte, n)
	_, err := io.ReadFull(r.Body, buf)
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		release()
		writeError(w, http.StatusBadRequest, "IncompleteBody", "The request body ended early or came too slowly.")
		return nil, nil, "", nil, false
	}
	sum := sha256.Sum256(buf)
	return bytes.NewReader(buf), buf, hex.EncodeToString(sum[:]), release, true
}

// hasIntegrityHeader reports whether the browser already named the
// body's digest.
func hasIntegrityHeader(h http.Header) bool {
	for k := range h {
		if k == "Content-Md5" || strings.HasPrefix(k, "X-Amz-Checksum-") || k == "X-Amz-Sdk-Checksum-Algorithm" {
			return true
		}
	}
	return false
}

// endpoint is the S3 API's URL for this console request: the configured
// one, its missing or unspecified host replaced by the request's.
func (s *Server) endpoint(r *http.Request) *url.URL {
	u, _ := url.Parse(s.cfg.S3Endpoint) // validated
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			host = h
		}
	}
	if p := u.Port(); p != "" {
		u.Host = net.JoinHostPort(host, p)
	} else {
		u.Host = host
	}
	u.Path, u.RawPath = "", ""
	return u
}
