// Package s3api serves the S3 HTTP API over a storage.Backend.
package s3api

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

// Config configures the S3 API server.
type Config struct {
	// Domain enables virtual-host-style addressing for "<bucket>.<Domain>".
	Domain string
	// Region is reported by GetBucketLocation and accepted in signatures.
	Region string
	// MaxHeaderBytes bounds the request header section (S3 allows 8 KiB of
	// PUT headers; clients send a little more on other requests).
	MaxHeaderBytes int
	// Ready reports whether the node can serve (for /health/ready).
	Ready func() bool
	// Metrics serves the Prometheus metrics to signed requests (the admin
	// operation AdminMetrics); nil disables them.
	Metrics http.Handler
	// MetricsPublic also serves them to unsigned GET /metrics, for a
	// Prometheus that cannot sign; otherwise such a request is an
	// anonymous S3 request like any other (and refused).
	MetricsPublic bool
	// Admin backs the admin API under AdminPrefix; nil disables it.
	Admin Admin
	// KMS backs the KMS admin operations; nil disables them.
	KMS KeyManager
	// AccessLog logs one info line per S3 request.
	AccessLog bool
	// TrustForwardedProto counts "X-Forwarded-Proto: https" as TLS, for a
	// server behind a TLS-terminating proxy (transport.go).
	TrustForwardedProto bool

	Log *logrus.Entry
	// Registry receives the API metrics; nil disables them.
	Registry prometheus.Registerer
	Now      func() time.Time
	// BodyReadTimeout is how long a request body may pause: the read
	// deadline starts this long after the first read and is moved as bytes
	// arrive, never further than this ahead. A missed deadline answers
	// RequestTimeout and stores nothing.
	BodyReadTimeout time.Duration
	// MinBodyRate is the slowest average rate (bytes/s) a body may arrive
	// at: each byte moves the deadline by 1/MinBodyRate seconds, so a
	// client trickling slower falls behind and is cut.
	MinBodyRate int64
	// UploadMemory bounds the memory of the request bodies being read at
	// once (upload buffers, XML documents); past it requests are refused
	// with SlowDown before any body byte is read.
	UploadMemory int64
	// Answered, when set, is called with a request's context once its
	// answer is on the wire and its connection only lingers before it
	// closes, so that a connection limiter may reclaim it first.
	Answered func(ctx context.Context)
	// OAuth serves the OAuth2 / OpenID Connect endpoints (oauth.go); nil
	// answers them NotImplemented. WebIdentity backs STS
	// AssumeRoleWithWebIdentity (nil: NotImplemented); OAuthAdmin the
	// admin oauth operations.
	OAuth       http.Handler
	WebIdentity WebIdentity
	OAuthAdmin  OAuthAdmin
	// CORSCacheTTL is how long a node answers from a bucket's CORS
	// configuration as it read it: a change made through another node
	// takes up to this long to apply here. Zero reads it on every request
	// with an Origin header.
	CORSCacheTTL time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Region: "us-east-1", MaxHeaderBytes: 16 << 10, Now: time.Now,
		BodyReadTimeout: 20 * time.Second, MinBodyRate: 4 << 10, UploadMemory: 1 << 30, CORSCacheTTL: 5 * time.Second}
}

// Validate checks a Config.
func (c Config) Validate() error {
	if c.Region == "" {
		return errors.New("s3api: region required")
	}
	if c.MaxHeaderBytes < 8<<10 {
		return errors.New("s3api: MaxHeaderBytes must be at least 8 KiB")
	}
	if c.Now == nil {
		return errors.New("s3api: Now required")
	}
	if c.BodyReadTimeout <= 0 || c.MinBodyRate <= 0 {
		return errors.New("s3api: BodyReadTimeout and MinBodyRate must be positive")
	}
	if c.UploadMemory <= 0 {
		return errors.New("s3api: UploadMemory must be positive")
	}
	if c.CORSCacheTTL < 0 {
		return errors.New("s3api: CORSCacheTTL must not be negative")
	}
	return nil
}

// Server is the S3 API http.Handler.
type Server struct {
	cfg     Config
	backend storage.Backend
	access  // authentication and authorization (authz.go)
	log     *logrus.Entry
	// probes answer unsigned GET and HEAD requests at their exact paths
	// (dispatch); every other request is an S3 request.
	probes  map[string]http.Handler
	s3      http.Handler // serveS3, made once
	metrics *metrics
	ops     map[Operation]handlerFunc
	uploads *uploadBudget
	cors    *corsCache
}

// New builds a Server. Every request is authenticated and authorized
// through ids: its users, keys and sessions sign requests, its policies
// and the buckets' policies and ACLs decide them.
func New(cfg Config, backend storage.Backend, ids *iam.Service) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = logrus.NewEntry(l)
	}
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}
	s := &Server{cfg: cfg, backend: backend, log: cfg.Log.WithField("component", "s3api"), metrics: newMetrics(cfg.Registry),
		uploads: newUploadBudget(cfg.UploadMemory), cors: newCORSCache(backend, cfg.Now, cfg.CORSCacheTTL)}
	if err := s.access.init(cfg, ids); err != nil {
		return nil, err
	}
	s.objectTags = func(ctx context.Context, bucket, key, version string) (map[string]string, error) {
		tags, _, err := backend.GetObjectTags(ctx, bucket, key, version)
		if err != nil {
			return nil, err
		}
		m := make(map[string]string, len(tags))
		for _, t := range tags {
			m[t.Key] = t.Value
		}
		return m, nil
	}
	// Health and metrics answer only unsigned requests, so a bucket named
	// "health" or "metrics" stays reachable through S3.
	s.probes = map[string]http.Handler{"/health/live": http.HandlerFunc(s.live), "/health/ready": http.HandlerFunc(s.ready)}
	if cfg.Metrics != nil && cfg.MetricsPublic {
		s.probes["/metrics"] = cfg.Metrics
	}
	s.s3 = http.HandlerFunc(s.serveS3)
	s.ops = s.handlers()
	s.adminHandlers(s.ops)
	s.oauthAdminHandlers(s.ops)
	s.accessHandlers(s.ops)
	if missing := missingPermissions(s.ops); len(missing) > 0 {
		return nil, fmt.Errorf("s3api: operations without a permission entry: %v", missing)
	}
	return s, nil
}

// ServeHTTP implements http.Handler: it dispatches by hand, without a
// router's per-request allocations, since there are only two destinations.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.dispatch(r).ServeHTTP(w, r)
}

// dispatch picks a request's handler: a probe for an unsigned GET or HEAD
// of its path (compared with the path as sent, not cleaned), serveS3 for
// every other path starting with "/", and 404 for the rest ("*", an
// authority), which are no S3 requests.
func (s *Server) dispatch(r *http.Request) http.Handler {
	path := r.URL.EscapedPath()
	if h, ok := s.probes[path]; ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) && unsigned(r) {
		return h
	}
	if !strings.HasPrefix(path, "/") {
		return notFound
	}
	return s.s3
}

var notFound = http.NotFoundHandler()

// unsigned reports whether a request carries no S3 authentication.
func unsigned(r *http.Request) bool {
	return r.Header.Get("Authorization") == "" && r.URL.Query().Get("X-Amz-Credential") == ""
}

// unsignedQuery is unsigned given the request's parsed query q.
func unsignedQuery(r *http.Request, q url.Values) bool {
	return r.Header.Get("Authorization") == "" && q.Get("X-Amz-Credential") == ""
}

func (s *Server) live(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

func (s *Server) ready(w http.ResponseWriter, _ *http.Request) {
	if !s.cfg.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// request is what a handler gets: the classified route, the identity and
// the authenticated payload.
type request struct {
	*http.Request
	route    Route
	id       Identity
	authz    requestAuthz // what authorization learnt (authz.go)
	body     io.ReadCloser
	bodySize int64 // decoded payload size, -1 unknown
	// maxBuffered is what the authenticated body reader may hold in memory.
	maxBuffered int64
	trailer     func() http.Header
	// payloadSHA256 is the signed payload's SHA-256 (sigv4.Result), which
	// body checks before its io.EOF; nil for other payload modes.
	payloadSHA256 []byte
	reqID         string
	// query is the URL's query, parsed once for the pipeline's hot steps
	// (classify, authorize, GET/HEAD); read it through queryValues.
	query url.Values
	// vals backs the one-value header slices of the response (one), so
	// that its common headers cost no allocation each.
	vals  [12]string
	nvals int
}

// one is []string{v}, from req.vals while it lasts. Each slice is capped
// at its one value, so an append to it (Header.Add) copies rather than
// overwrites its neighbour.
func (r *request) one(v string) []string {
	if r.nvals == len(r.vals) {
		return []string{v}
	}
	i := r.nvals
	r.vals[i], r.nvals = v, i+1
	return r.vals[i : i+1 : i+1]
}

// queryValues is the request URL's parsed query, parsed on first use: a
// request built without it (an authorization probe) still sees its own
// parameters. Callers must not modify it.
func (r *request) queryValues() url.Values {
	if r.query == nil {
		r.query = r.URL.Query()
	}
	return r.query
}

// response is what a handler returns; render writes it.
type response struct {
	status int
	header http.Header
	xml    any           // marshalled as the body when set
	body   io.ReadCloser // streamed when set
	length int64         // Content-Length of body, -1 unknown
	// lines: body is a stream of lines the server produces at its own
	// pace (admin progress); each is sent as it comes (streamWriter).
	lines bool
}

type handlerFunc func(ctx context.Context, req *request) (*response, error)

func (s *Server) handlers() map[Operation]handlerFunc {
	return map[Operation]handlerFunc{
		OpListBuckets:             s.listBuckets,
		OpFindBySHA256:            s.findBySHA256,
		OpCreateBucket:            s.createBucket,
		OpHeadBucket:              s.headBucket,
		OpDeleteBucket:            s.deleteBucket,
		OpGetBucketLocation:       s.getBucketLocation,
		OpGetBucketVersioning:     s.getBucketVersioning,
		OpPutBucketVersioning:     s.putBucketVersioning,
		OpGetBucketACL:            s.getBucketACL,
		OpListObjectsV1:           s.listObjectsV1,
		OpListObjectsV2:           s.listObjectsV2,
		OpListObjectVersions:      s.listObjectVersions,
		OpListMultipartUploads:    s.listMultipartUploads,
		OpDeleteObjects:           s.deleteObjects,
		OpPutObject:               s.putObject,
		OpCopyObject:              s.copyObject,
		OpGetObject:               s.getObject,
		OpHeadObject:              s.headObject,
		OpDeleteObject:            s.deleteObject,
		OpGetObjectACL:            s.getObjectACL,
		OpCreateMultipartUpload:   s.createMultipartUpload,
		OpUploadPart:              s.uploadPart,
		OpUploadPartCopy:          s.uploadPartCopy,
		OpCompleteMultipartUpload: s.completeMultipartUpload,
		OpAbortMultipartUpload:    s.abortMultipartUpload,
		OpListParts:               s.listParts,
		OpGetObjectAttributes:     s.getObjectAttributes,
		OpPutObjectTagging:        s.putObjectTagging,
		OpGetObjectTagging:        s.getObjectTagging,
		OpDeleteObjectTagging:     s.deleteObjectTagging,
		OpPutBucketTagging:        s.putBucketTagging,
		OpGetBucketTagging:        s.getBucketTagging,
		OpDeleteBucketTagging:     s.deleteBucketTagging,
		OpPutObjectLockConfig:     s.putObjectLockConfig,
		OpGetObjectLockConfig:     s.getObjectLockConfig,
		OpPutObjectRetention:      s.putObjectRetention,
		OpGetObjectRetention:      s.getObjectRetention,
		OpPutObjectLegalHold:      s.putObjectLegalHold,
		OpGetObjectLegalHold:      s.getObjectLegalHold,
		OpPutBucketEncryption:     s.putBucketEncryption,
		OpGetBucketEncryption:     s.getBucketEncryption,
		OpDeleteBucketEncryption:  s.deleteBucketEncryption,
		OpPutBucketCors:           s.putBucketCors,
		OpGetBucketCors:           s.getBucketCors,
		OpDeleteBucketCors:        s.deleteBucketCors,
		OpPutBucketLifecycle:      s.putBucketLifecycle,
		OpGetBucketLifecycle:      s.getBucketLifecycle,
		OpDeleteBucketLifecycle:   s.deleteBucketLifecycle,
	}
}

func newRequestID() string {
	const upperHex = "0123456789ABCDEF"
	var b [8]byte
	_, _ = rand.Read(b[:])
	var id [16]byte
	for i, c := range b {
		id[2*i], id[2*i+1] = upperHex[c>>4], upperHex[c&15]
	}
	return string(id[:])
}

// serveS3 is the single pipeline every S3 request goes through: classify,
// authenticate, authorize, handle, render.
func (s *Server) serveS3(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	// A copy, so that guarding Body leaves net/http's own request (whose
	// body type it inspects after the handler) untouched.
	r = r.WithContext(r.Context())
	req := &request{Request: r, reqID: newRequestID()}
	wh := w.Header()
	wh["X-Amz-Request-Id"], wh["X-Amz-Id-2"], wh["Server"] = req.one(req.reqID), req.one(req.reqID), req.one("FileSphere")
	if r.ContentLength == 0 && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		// No body means Go never sends "100 Continue"; botocore then
		// misreads the next response on this connection, so close it.
		w.Header().Set("Connection", "close")
	}
	// rc is needed only to guard a body (and to flush a refusal of one).
	var rc *http.ResponseController
	var guard *bodyGuard
	if r.Body != nil && r.Body != http.NoBody {
		rc = http.NewResponseController(w)
		guard = newBodyGuard(r, rc, s.cfg)
		r.Body = guard
	}
	req.query = r.URL.Query()
	req.route = classifyWith(r, req.query, s.cfg.Domain)
	var counted *countingWriter
	if s.cfg.AccessLog || s.metrics != nil {
		counted = &countingWriter{ResponseWriter: w}
		w = counted
	}
	resp, err := s.handle(r.Context(), req)
	s.corsHeaders(r.Context(), w.Header(), req)
	closing := false
	if guard != nil {
		if terr := guard.timedOut(); terr != nil && err != nil {
			// Whatever layer noticed first, the cause is the stalled client.
			err = terr
		}
		closing = guard.settle(w.Header())
	}
	status := s.render(w, req, resp, err)
	if closing {
		// On the wire now: nothing may stand between a refused client and
		// its answer.
		_ = rc.Flush()
	}
	took := s.cfg.Now().Sub(start)
	var received, sent int64
	if guard != nil {
		received = guard.n
	}
	if counted != nil {
		sent = counted.n
	}
	s.metrics.observe(req.route.Op, status, took, received, sent)
	if s.cfg.AccessLog {
		s.logAccess(req, status, counted.n, took)
	}
	if closing {
		if s.cfg.Answered != nil {
			s.cfg.Answered(r.Context())
		}
		guard.linger()
	}
}

func (s *Server) handle(ctx context.Context, req *request) (*response, error) {
	if err := s.checkHeaders(req.Request); err != nil {
		return nil, err
	}
	if req.route.API == APIIAM || req.route.API == APISTS {
		return s.serveQuery(ctx, req)
	}
	if req.route.Op == OpOAuth {
		// Another protocol at reserved paths, with its own authentication.
		return s.serveOAuth(ctx, req)
	}
	// Refuse what is not honoured before any body is read or stored.
	if err := checkHonoured(req.route.Op, req.Header); err != nil {
		return nil, err
	}
	switch req.route.Op {
	case OpPreflight:
		return s.preflight(ctx, req)
	case OpPostObject:
		// Authenticated by its form, which is read from the body.
		return s.postObject(ctx, req)
	}
	if err := s.authenticate(ctx, req); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, req); err != nil {
		return nil, err
	}
	switch req.route.Op {
	case OpNotImplemented:
		msg := "This operation is not implemented by FileSphere."
		if req.route.Sub != "" {
			msg = fmt.Sprintf("The %q subresource is not implemented by FileSphere.", req.route.Sub)
		}
		return nil, apiErr(ErrNotImplemented, msg)
	case OpMethodNotAllowed:
		return nil, apiErr(ErrMethodNotAllowed, "")
	}
	h, ok := s.ops[req.route.Op]
	if !ok {
		return nil, apiErr(ErrNotImplemented, "")
	}
	release, err := s.uploads.acquire(s.bodyCost(req))
	if err != nil {
		return nil, err
	}
	defer release()
	return h(ctx, req)
}

// checkHeaders bounds the header section (Go's own limit answers in plain
// text, so the server's limit is set higher and this check answers in XML).
func (s *Server) checkHeaders(r *http.Request) error {
	n := len(r.URL.RawQuery)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	if n > s.cfg.MaxHeaderBytes {
		return apiErr(ErrRequestHeaderSectionTooLarge, "")
	}
	return nil
}

// render writes a response or an error and returns the status sent.
func (s *Server) render(w http.ResponseWriter, req *request, resp *response, err error) int {
	if err != nil {
		return s.renderError(w, req, err)
	}
	for k, vs := range resp.header {
		w.Header()[k] = vs
	}
	status := resp.status
	if status == 0 {
		status = http.StatusOK
	}
	switch {
	case resp.xml != nil:
		if doc, ok := resp.xml.(xmlAppender); ok {
			// Built once into a pooled buffer, header included, so its
			// length is the Content-Length.
			bp := getXMLBuf()
			body := doc.appendXML(append((*bp)[:0], xml.Header...))
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(status)
			if req.Method != http.MethodHead {
				_, _ = w.Write(body)
			}
			putXMLBuf(bp, body)
			return status
		}
		body, err := xml.Marshal(resp.xml)
		if err != nil {
			return s.renderError(w, req, err)
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
		w.WriteHeader(status)
		if req.Method != http.MethodHead {
			_, _ = io.WriteString(w, xml.Header)
			_, _ = w.Write(body)
		}
	case resp.body != nil:
		defer resp.body.Close()
		if resp.length >= 0 {
			w.Header()["Content-Length"] = req.one(strconv.FormatInt(resp.length, 10))
		}
		w.WriteHeader(status)
		if req.Method == http.MethodHead {
			return status
		}
		g := newSendGuard(w, http.NewResponseController(w), s.cfg)
		var dst io.Writer = g
		if resp.lines {
			dst = &streamWriter{w: w, rc: http.NewResponseController(w), timeout: s.cfg.BodyReadTimeout, g: g}
		}
		n, err := io.Copy(dst, resp.body)
		if err != nil {
			// Headers are gone: the only honest signal left is to cut the
			// connection short so the client sees a truncated body.
			entry := s.log.WithFields(logrus.Fields{"request_id": req.reqID, "sent": n}).WithError(err)
			if g.clientGone(err) {
				entry.Info("client stopped reading")
			} else {
				entry.Error("stream failed")
			}
			panic(http.ErrAbortHandler)
		}
		g.done()
	default:
		if status != http.StatusNoContent && status != http.StatusNotModified && w.Header().Get("Content-Length") == "" {
			w.Header().Set("Content-Length", "0")
		}
		w.WriteHeader(status)
	}
	return status
}

func (s *Server) renderError(w http.ResponseWriter, req *request, err error) int {
	ae := toAPIError(err)
	status := ae.status()
	entry := s.log.WithFields(logrus.Fields{"request_id": req.reqID, "op": req.route.Op, "code": ae.Code})
	switch {
	case ae.Code == ErrNotImplemented || ae.Code == ErrInvalidAction:
		// A feature not built is no server fault.
		entry.WithError(err).Info("not implemented")
	case status >= 500 && ae.Code != ErrSlowDown: // load shedding is no fault either
		entry.WithError(err).Error("request failed")
	default:
		entry.WithError(err).Debug("request refused")
	}
	for k, vs := range ae.Header {
		w.Header()[k] = vs
	}
	if status == http.StatusNotModified {
		w.WriteHeader(status)
		return status
	}
	body, ctype := errorDocument(req, ae, status)
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(status)
	if req.Method != http.MethodHead {
		_, _ = io.WriteString(w, xml.Header)
		_, _ = w.Write(body)
	}
	return status
}
