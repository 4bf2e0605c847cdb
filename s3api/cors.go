package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/filesphere/filesphere/storage"
)

// S3's limits on a CORS configuration.
const (
	maxCORSRules = 100
	maxCORSBytes = 64 << 10
	maxCORSID    = 255
)

// corsMethods are the methods a CORS rule may allow.
var corsMethods = []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead}

// corsVary is sent with every answer a CORS configuration shaped, so a
// cache never serves one origin's answer to another.
const corsVary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

// element catches an element the schema does not define.
type element struct {
	XMLName xml.Name
}

// corsConfiguration is the CORSConfiguration document of PutBucketCors.
type corsConfiguration struct {
	XMLName xml.Name   `xml:"CORSConfiguration"`
	NS      string     `xml:"xmlns,attr,omitempty"`
	Rules   []corsRule `xml:"CORSRule"`
	Unknown []element  `xml:",any"`
}

type corsRule struct {
	ID             string    `xml:"ID,omitempty"`
	AllowedHeaders []string  `xml:"AllowedHeader"`
	AllowedMethods []string  `xml:"AllowedMethod"`
	AllowedOrigins []string  `xml:"AllowedOrigin"`
	ExposeHeaders  []string  `xml:"ExposeHeader"`
	MaxAgeSeconds  *int      `xml:"MaxAgeSeconds"`
	Unknown        []element `xml:",any"`
}

// parseCORS decodes and validates a CORS configuration the way S3 does.
func parseCORS(data []byte) (*corsConfiguration, error) {
	var c corsConfiguration
	if err := xml.Unmarshal(data, &c); err != nil {
		return nil, &APIError{Code: ErrMalformedXML, Err: err}
	}
	if len(c.Rules) == 0 || len(c.Rules) > maxCORSRules || len(c.Unknown) > 0 {
		return nil, apiErr(ErrMalformedXML, "")
	}
	for i := range c.Rules {
		if err := c.Rules[i].validate(); err != nil {
			return nil, err
		}
	}
	c.NS = s3NS
	return &c, nil
}

func (r *corsRule) validate() error {
	trim := func(vs []string) {
		for i, v := range vs {
			vs[i] = strings.TrimSpace(v)
		}
	}
	trim(r.AllowedHeaders)
	trim(r.AllowedMethods)
	trim(r.AllowedOrigins)
	trim(r.ExposeHeaders)
	r.ID = strings.TrimSpace(r.ID)
	switch {
	case len(r.AllowedMethods) == 0 || len(r.AllowedOrigins) == 0 || len(r.Unknown) > 0:
		return apiErr(ErrMalformedXML, "")
	case len(r.ID) > maxCORSID:
		return apiErr(ErrInvalidArgument, "ID length should not exceed allowed limit of 255")
	case r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0:
		return apiErr(ErrMalformedXML, "")
	}
	for _, m := range r.AllowedMethods {
		if !slices.Contains(corsMethods, m) {
			return apiErr(ErrInvalidRequest, "Found unsupported HTTP method in CORS config. Unsupported method is "+m)
		}
	}
	for _, o := range r.AllowedOrigins {
		if o == "" {
			return apiErr(ErrMalformedXML, "")
		}
		if strings.Count(o, "*") > 1 {
			return apiErr(ErrInvalidRequest, `AllowedOrigin "`+o+`" can not have more than one wildcard.`)
		}
	}
	for _, h := range r.AllowedHeaders {
		if strings.Count(h, "*") > 1 {
			return apiErr(ErrInvalidRequest, `AllowedHeader "`+h+`" can not have more than one wildcard.`)
		}
	}
	for _, h := range r.ExposeHeaders {
		if strings.Contains(h, "*") {
			return apiErr(ErrInvalidRequest, `ExposeHeader "`+h+`" contains wildcard. We currently do not support wildcard for ExposeHeader.`)
		}
	}
	return nil
}

// wildcard reports whether s matches pattern, which holds at most one '*'
// standing for any run of characters.
func wildcard(pattern, s string) bool {
	before, after, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}

// match returns the first rule allowing origin, method and every one of
// the (lower-case) request headers, with the allowed origin that matched.
func (c *corsConfiguration) match(origin, method string, headers []string) (*corsRule, string) {
	for i := range c.Rules {
		r := &c.Rules[i]
		if !slices.Contains(r.AllowedMethods, method) {
			continue
		}
		allowed := ""
		for _, o := range r.AllowedOrigins {
			if wildcard(o, origin) {
				allowed = o
				break
			}
		}
		if allowed == "" {
			continue
		}
		if slices.ContainsFunc(headers, func(h string) bool { return !r.allowsHeader(h) }) {
			continue
		}
		return r, allowed
	}
	return nil, ""
}

func (r *corsRule) allowsHeader(h string) bool {
	return slices.ContainsFunc(r.AllowedHeaders, func(p string) bool { return wildcard(strings.ToLower(p), h) })
}

// setHeaders writes the Access-Control-* headers of a matched rule. An
// origin allowed through "*" is answered "*", without credentials, as S3
// does; any other is echoed and may send credentials.
func (r *corsRule) setHeaders(h http.Header, origin, allowed string) {
	if allowed == "*" {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(r.AllowedMethods, ", "))
	if len(r.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(r.ExposeHeaders, ", "))
	}
	if r.MaxAgeSeconds != nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(*r.MaxAgeSeconds))
	}
}

// requestHeaders splits Access-Control-Request-Headers into lower-case names.
func requestHeaders(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Access-Control-Request-Headers") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

// preflight answers a CORS preflight (OPTIONS) from the bucket's rules.
// Browsers send preflights without credentials, so it is not
// authenticated, as in S3; it reveals only what the rules allow.
func (s *Server) preflight(ctx context.Context, req *request) (*response, error) {
	vary := http.Header{"Vary": {corsVary}}
	origin := req.Header.Get("Origin")
	if origin == "" {
		return nil, &APIError{Code: ErrBadRequest, Message: "Insufficient information. Origin request header needed.", Header: vary}
	}
	method := req.Header.Get("Access-Control-Request-Method")
	if !slices.Contains(corsMethods, method) {
		shown := method
		if shown == "" {
			shown = "null"
		}
		return nil, &APIError{Code: ErrBadRequest, Message: "Invalid Access-Control-Request-Method: " + shown, Header: vary}
	}
	cfg, err := s.cors.get(ctx, req.route.Bucket)
	if err != nil {
		return nil, err
	}
	resource := "BUCKET"
	if req.route.Key != "" {
		resource = "OBJECT"
	}
	forbidden := func(msg string) error {
		return &APIError{Code: ErrAccessForbidden, Message: msg, Header: vary,
			Extra: []errorField{field("Method", method), field("ResourceType", resource)}}
	}
	if cfg == nil {
		return nil, forbidden("CORSResponse: CORS is not enabled for this bucket.")
	}
	headers := requestHeaders(req.Header)
	rule, allowed := cfg.match(origin, method, headers)
	if rule == nil {
		return nil, forbidden("CORSResponse: This CORS request is not allowed. This is usually because the evaluation of Origin, " +
			"request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
	}
	h := vary
	rule.setHeaders(h, origin, allowed)
	if len(headers) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
	}
	return &response{header: h}, nil
}

// corsHeaders adds the CORS headers of the bucket's first rule allowing
// the request's origin and method to its answer, success or error alike,
// as S3 does. A request without Origin costs nothing; one with it, a
// cached lookup.
func (s *Server) corsHeaders(ctx context.Context, h http.Header, req *request) {
	origin := req.Header.Get("Origin")
	if origin == "" || req.route.Bucket == "" || req.route.API != APIS3 || req.route.Op == OpPreflight {
		return
	}
	cfg, err := s.cors.get(ctx, req.route.Bucket)
	if err != nil || cfg == nil {
		return
	}
	h.Set("Vary", corsVary)
	if rule, allowed := cfg.match(origin, req.Method, nil); rule != nil {
		rule.setHeaders(h, origin, allowed)
	}
}

func (s *Server) putBucketCors(ctx context.Context, req *request) (*response, error) {
	if req.Header.Get("Content-Md5") == "" && !hasChecksumHeader(req.Header) {
		return nil, apiErr(ErrInvalidRequest, "Missing required header for this request: Content-Md5.")
	}
	if req.bodySize > maxCORSBytes {
		return nil, apiErr(ErrMalformedXML, "The CORS configuration must not exceed 64 KB.")
	}
	if err := verifyBody(req); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(req.body, maxCORSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCORSBytes {
		return nil, apiErr(ErrMalformedXML, "The CORS configuration must not exceed 64 KB.")
	}
	cfg, err := parseCORS(data)
	if err != nil {
		return nil, err
	}
	doc, err := xml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.backend.PutBucketConfig(ctx, req.route.Bucket, storage.ConfigCORS, doc); err != nil {
		return nil, err
	}
	s.cors.forget(req.route.Bucket)
	return &response{}, nil
}

// hasChecksumHeader reports whether a request names a payload checksum
// (in a header or a trailer).
func hasChecksumHeader(h http.Header) bool {
	if h.Get("X-Amz-Trailer") != "" {
		return true
	}
	return slices.ContainsFunc(algorithms, func(a storage.ChecksumAlgorithm) bool { return h.Get(checksumHeader(a)) != "" })
}

func (s *Server) getBucketCors(ctx context.Context, req *request) (*response, error) {
	doc, err := s.backend.GetBucketConfig(ctx, req.route.Bucket, storage.ConfigCORS)
	if err != nil {
		return nil, err
	}
	var cfg corsConfiguration
	if err := xml.Unmarshal(doc, &cfg); err != nil {
		return nil, err
	}
	cfg.NS = s3NS
	return &response{xml: cfg}, nil
}

func (s *Server) deleteBucketCors(ctx context.Context, req *request) (*response, error) {
	if err := s.backend.DeleteBucketConfig(ctx, req.route.Bucket, storage.ConfigCORS); err != nil {
		return nil, err
	}
	s.cors.forget(req.route.Bucket)
	return &response{status: http.StatusNoContent}, nil
}

// corsCacheMax bounds the cache; when full it starts over (a full cache is
// mostly buckets nobody asks about any more).
const corsCacheMax = 4096

// corsCache keeps each bucket's parsed CORS configuration (or its absence)
// for a short time, so that requests with an Origin header do not each
// cost a replicated read and a parse. A change made through this node is
// seen at once; one made through another node within ttl.
type corsCache struct {
	backend storage.BucketConfigs
	now     func() time.Time
	ttl     time.Duration

	mu sync.Mutex
	m  map[string]corsEntry
}

type corsEntry struct {
	cfg *corsConfiguration // nil: none
	err error              // the bucket does not exist
	at  time.Time
}

func newCORSCache(b storage.BucketConfigs, now func() time.Time, ttl time.Duration) *corsCache {
	return &corsCache{backend: b, now: now, ttl: ttl, m: map[string]corsEntry{}}
}

// get returns the bucket's configuration, nil when it has none, or the
// error of a bucket that does not exist (or of the lookup).
func (c *corsCache) get(ctx context.Context, bucket string) (*corsConfiguration, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[bucket]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.cfg, e.err
	}
	e = corsEntry{at: now}
	doc, err := c.backend.GetBucketConfig(ctx, bucket, storage.ConfigCORS)
	var nf *storage.ConfigNotFoundError
	var nb *storage.BucketNotFoundError
	switch {
	case errors.As(err, &nf):
	case errors.As(err, &nb), errors.Is(err, storage.ErrInvalidBucketName):
		e.err = err
	case err != nil:
		return nil, err // not cached: the next request tries again
	default:
		var cfg corsConfiguration
		if err := xml.Unmarshal(doc, &cfg); err != nil {
			return nil, err
		}
		e.cfg = &cfg
	}
	if c.ttl > 0 {
		c.mu.Lock()
		if len(c.m) >= corsCacheMax {
			clear(c.m)
		}
		c.m[bucket] = e
		c.mu.Unlock()
	}
	return e.cfg, e.err
}

// forget drops a bucket's entry after this node changed its configuration.
func (c *corsCache) forget(bucket string) {
	c.mu.Lock()
	delete(c.m, bucket)
	c.mu.Unlock()
}
