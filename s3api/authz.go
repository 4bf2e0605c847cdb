package s3api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/iam/policy"
	"github.com/filesphere/filesphere/s3api/sigv4"
	"github.com/filesphere/filesphere/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

// Identity is who made a request, as authentication established it.
type Identity struct {
	// AccessKey is the key that signed the request; empty when Anonymous.
	AccessKey string
	Anonymous bool
	// Principal is the caller for policies (the zero Principal, of type
	// Anonymous, for an anonymous request).
	Principal policy.Principal
	// Credential is the key's credential (nil when Anonymous); policies
	// are evaluated against it as of the moment of each decision.
	Credential *iam.Credential
	// Temporary: signed with session credentials (and their token).
	Temporary bool
	// AuthType is the s3:authType of the request: "REST-HEADER",
	// "REST-QUERY-STRING" (presigned) or "POST" (a browser form upload);
	// empty when Anonymous.
	AuthType string
	// SignatureAge is how long ago the request was signed.
	SignatureAge time.Duration
	// TLS: the request came over TLS (aws:SecureTransport; see
	// secureTransport for proxies).
	TLS bool
}

// access is the authentication and authorization part of a Server.
type access struct {
	ids      *iam.Service
	verifier *sigv4.Verifier
	account  iam.Account
	buckets  bucketCache
	// decisions counts authorization decisions (the audit metric), by
	// their children resolved on first use (see childCache).
	decisions *childCache[decisionLabels, prometheus.Counter]
	now       func() time.Time
	region    string
	// objectTags reads the tags of the object version a request acts on,
	// for the s3:ExistingObjectTag/<key> condition keys.
	objectTags func(ctx context.Context, bucket, key, versionID string) (map[string]string, error)
}

func (a *access) init(cfg Config, ids *iam.Service) error {
	if ids == nil {
		return errors.New("s3api: an iam.Service is required")
	}
	vcfg := sigv4.DefaultConfig()
	vcfg.Region, vcfg.Now = cfg.Region, cfg.Now
	vcfg.Services = []string{string(APIS3), string(APIIAM), string(APISTS)}
	// Verify is never called without a lookup of its own (VerifyWith).
	vcfg.Lookup = func(string) (string, error) { return "", sigv4.ErrInvalidAccessKeyID }
	v, err := sigv4.New(vcfg)
	if err != nil {
		return err
	}
	a.ids, a.verifier, a.account, a.now, a.region = ids, v, ids.Account(), cfg.Now, cfg.Region
	a.buckets.init(4096)
	if cfg.Registry != nil {
		a.decisions = newDecisions(cfg.Registry)
	}
	return nil
}

// newDecisions registers the decision counter in reg.
func newDecisions(reg prometheus.Registerer) *childCache[decisionLabels, prometheus.Counter] {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "filesphere_s3_authz_decisions_total",
		Help: "Authorization decisions by action, effect, reason and the kind of policy that decided.",
	}, []string{"action", "effect", "reason", "source"})
	reg.MustRegister(vec)
	return &childCache[decisionLabels, prometheus.Counter]{resolve: func(k decisionLabels) prometheus.Counter {
		return vec.WithLabelValues(k.action, string(k.effect), k.reason.String(), k.source.String())
	}}
}

// decisionLabels is the labels of a decision's series.
type decisionLabels struct {
	action string
	effect policy.Effect
	reason policy.Reason
	source policy.Source
}

// requestAuthz is what authorization learnt about a request, for the
// handler and the logs.
type requestAuthz struct {
	// bucket is the request bucket's access settings (nil when the
	// operation names no bucket, or the bucket does not exist).
	bucket *bucketAccess
	cond   *policy.Context // built on first use
	// decision is the last decision, for the access log.
	decision policy.Decision
	decided  bool
}

// authenticate verifies the request's signature with the secret iam holds
// for its key, then its session token, and fills req.id and the payload.
func (s *Server) authenticate(ctx context.Context, req *request) error {
	var cred *iam.Credential
	res, err := s.verifier.VerifyWith(req.Request, s.credentialLookup(ctx, &cred))
	if err != nil {
		return err
	}
	req.body, req.bodySize, req.trailer, req.maxBuffered = res.Body, res.ContentLength, res.Trailer, res.MaxBuffered
	req.payloadSHA256 = res.PayloadSHA256
	if req.body == nil {
		req.body, req.bodySize = req.Body, req.ContentLength
	}
	return s.identify(req, res, cred)
}

// identify sets the request's identity from a verified signature and the
// credential its lookup found (nil when anonymous).
func (s *Server) identify(req *request, res *sigv4.Result, cred *iam.Credential) error {
	id := Identity{Anonymous: res.Anonymous, TLS: secureTransport(req.Request, s.cfg.TrustForwardedProto)}
	if !res.Anonymous {
		if err := cred.VerifySessionToken(res.SessionToken); err != nil {
			return err
		}
		s.ids.RecordAccessKeyUse(res.AccessKey, res.Service, s.region)
		id.AccessKey, id.Credential, id.Principal, id.Temporary = res.AccessKey, cred, cred.Principal, cred.Temporary
		switch {
		case res.PostPolicy:
			id.AuthType = "POST"
		case res.Presigned:
			id.AuthType = "REST-QUERY-STRING"
		default:
			id.AuthType = "REST-HEADER"
		}
		id.SignatureAge = max(s.now().Sub(res.Signed), 0)
	}
	req.id = id
	return nil
}

// credentialLookup is a sigv4 key lookup through iam that keeps the
// credential it found in *found for the rest of the request.
func (s *Server) credentialLookup(ctx context.Context, found **iam.Credential) sigv4.Lookup {
	return func(ak string) (string, error) {
		c, err := s.ids.Credentials(ctx, ak)
		if err != nil {
			return "", lookupError(err)
		}
		*found = c
		return c.SecretAccessKey, nil
	}
}

// lookupError makes an unknown or inactive key the signature verifier's
// InvalidAccessKeyId; other refusals (a disabled user, an expired session)
// pass through to be answered as iam says.
func lookupError(err error) error {
	if errors.Is(err, iam.ErrInvalidAccessKeyID) || errors.Is(err, iam.ErrAccessKeyInactive) {
		return fmt.Errorf("%w: %w", sigv4.ErrInvalidAccessKeyID, err)
	}
	return err
}

// authorize decides the request's operation by the permission table before
// any of its work is done: its action on its resource, and the further
// actions some requests need (the copy source, an ACL, tags).
func (s *Server) authorize(ctx context.Context, req *request) error {
	p, ok := permissionOf(req.route.Op)
	if !ok {
		return fmt.Errorf("s3api: operation %s has no permission entry", req.route.Op)
	}
	switch p.scope {
	case scopeSigned:
		if req.id.Anonymous {
			return apiErr(ErrAccessDenied, "")
		}
		return nil
	case scopeQuery, scopeOwn:
		return nil
	case scopeBucket, scopeObject, scopeEachKey:
		b, err := s.bucketAccess(ctx, req.route.Bucket)
		if err != nil {
			return err
		}
		req.authz.bucket = b
	}
	if p.scope == scopeEachKey {
		return nil // the handler asks for each key (authorizeKey)
	}
	q := req.queryValues()
	if p.scope == scopeObject && s.objectTags != nil && needsObjectTags(&req.id, req.authz.bucket) {
		if err := s.existingTags(ctx, req, q.Get("versionId")); err != nil {
			return err
		}
	}
	resource := resourceFor(p.scope, req.route.Bucket, req.route.Key)
	if err := s.allow(ctx, req, req.authz.bucket, p.actionFor(q.Has("versionId")), resource); err != nil {
		return err
	}
	if p.aclAction != "" && hasACLHeaders(req.Header) {
		if err := s.allow(ctx, req, req.authz.bucket, p.aclAction, resource); err != nil {
			return err
		}
	}
	if p.tagging && req.Header.Get("X-Amz-Tagging") != "" {
		if err := s.allow(ctx, req, req.authz.bucket, "s3:PutObjectTagging", resource); err != nil {
			return err
		}
	}
	if p.copySource {
		return s.authorizeCopySource(ctx, req)
	}
	return nil
}

// authorizeCopySource checks the read of x-amz-copy-source, under the
// source bucket's own policy.
func (s *Server) authorizeCopySource(ctx context.Context, req *request) error {
	b, k, v, err := parseCopySource(req.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	src := req.authz.bucket
	if b != req.route.Bucket {
		if src, err = s.bucketAccess(ctx, b); err != nil {
			return err
		}
	}
	action := "s3:GetObject"
	if v != "" {
		action = "s3:GetObjectVersion"
	}
	return s.allow(ctx, req, src, action, policy.S3ObjectARN(b, k))
}

// authorizeKey is DeleteObjects' check of one key, before any is deleted.
func (s *Server) authorizeKey(ctx context.Context, req *request, key, version string) error {
	p, _ := permissionOf(req.route.Op)
	return s.allow(ctx, req, req.authz.bucket, p.actionFor(version != ""), policy.S3ObjectARN(req.route.Bucket, key))
}

// allow decides one action on one resource and refuses with AccessDenied
// unless it is allowed. Every decision is logged (debug) and counted.
func (s *Server) allow(ctx context.Context, req *request, b *bucketAccess, action, resource string) error {
	d, err := s.decide(ctx, req, b, action, resource)
	if err != nil {
		return err
	}
	req.authz.decision, req.authz.decided = d, true
	if s.decisions != nil {
		s.decisions.get(decisionLabels{action, d.Effect, d.Reason, d.Source}).Inc()
	}
	if s.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
		s.log.WithFields(logrus.Fields{"request_id": req.reqID, "op": req.route.Op, "action": action, "resource": resource,
			"principal": principalName(&req.id), "decision": d.String()}).Debug("authorization")
	}
	if d.Allowed() {
		return nil
	}
	return deniedError(&req.id, action, resource, d)
}

// decide evaluates the caller's policies, the bucket policy and the ACLs.
func (s *Server) decide(ctx context.Context, req *request, b *bucketAccess, action, resource string) (policy.Decision, error) {
	id := &req.id
	bucketPolicy := b.policyFor(id, action)
	if id.Principal.Type == policy.PrincipalAccount && id.Principal.Account == s.account.ID && bucketPolicy == nil {
		// What policy.Decide answers for the account's root when no
		// resource policy applies; skipping it saves building the
		// condition keys on the root's every request.
		return policy.Decision{Effect: policy.Allow, Reason: policy.ReasonRoot, Statement: -1}, nil
	}
	ar := iam.AuthRequest{Caller: id.Credential, Action: action, Resource: resource,
		ResourceAccount: s.account.ID, Context: *s.conditions(req)}
	if bucketPolicy != nil {
		ar.ResourcePolicy, ar.ResourcePolicyName = bucketPolicy, "bucket policy"
	}
	d, err := s.ids.Authorize(ctx, ar)
	if err != nil {
		return d, err
	}
	if !d.Allowed() && d.Reason != policy.ReasonExplicitDeny {
		if g, ok := s.aclAllows(ctx, req, b, action, resource); ok {
			return g, nil
		}
	}
	return d, nil
}

// principalName names the caller in logs.
func principalName(id *Identity) string {
	if id.Anonymous {
		return "anonymous"
	}
	return id.Principal.ARN
}

// deniedError is AccessDenied worded as S3 words it, naming the caller,
// the action and why.
func deniedError(id *Identity, action, resource string, d policy.Decision) error {
	e := &APIError{Code: ErrAccessDenied}
	if id.Anonymous {
		return e
	}
	why := "because no identity-based policy allows the " + action + " action"
	switch d.Reason {
	case policy.ReasonExplicitDeny:
		kind := "an identity-based"
		switch d.Source {
		case policy.SourceResource:
			kind = "a resource-based"
		case policy.SourceSession:
			kind = "a session"
		}
		why = "with an explicit deny in " + kind + " policy"
	case policy.ReasonSessionPolicy:
		why = "because no session policy allows the " + action + " action"
	}
	e.Message = fmt.Sprintf("User: %s is not authorized to perform: %s on resource: \"%s\" %s", id.Principal.ARN, action, resource, why)
	return e
}

// conditions are the request's condition keys (built once per request).
// Keys are written in lower case, which policy.Context stores as is.
func (s *Server) conditions(req *request) *policy.Context {
	if req.authz.cond != nil {
		return req.authz.cond
	}
	c := new(policy.Context)
	req.authz.cond = c
	if host, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		c.Set("aws:sourceip", host)
	}
	c.Set("aws:securetransport", strconv.FormatBool(req.id.TLS))
	setHeader(c, req.Header, "aws:useragent", "User-Agent")
	setHeader(c, req.Header, "aws:referer", "Referer")
	if !req.id.Anonymous {
		c.Set("s3:authtype", req.id.AuthType)
		c.Set("s3:signatureversion", "AWS4-HMAC-SHA256")
		c.Set("s3:signatureage", strconv.FormatInt(req.id.SignatureAge.Milliseconds(), 10))
	}
	for _, h := range conditionHeaders {
		setHeader(c, req.Header, h.key, h.header)
	}
	q := req.queryValues()
	for _, p := range conditionParams {
		if vs, ok := q[p.param]; ok && len(vs) > 0 {
			c.Set(p.key, vs[0])
		}
	}
	if tags := req.Header.Get("X-Amz-Tagging"); tags != "" {
		setRequestObjectTags(c, tags)
	}
	return c
}

// conditionHeaders are the S3 condition keys read from request headers.
var conditionHeaders = []struct{ key, header string }{
	{"s3:x-amz-content-sha256", "X-Amz-Content-Sha256"},
	{"s3:x-amz-acl", "X-Amz-Acl"},
	{"s3:x-amz-server-side-encryption", "X-Amz-Server-Side-Encryption"},
	{"s3:x-amz-server-side-encryption-aws-kms-key-id", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"},
	{"s3:x-amz-copy-source", "X-Amz-Copy-Source"},
	{"s3:x-amz-metadata-directive", "X-Amz-Metadata-Directive"},
	{"s3:x-amz-storage-class", "X-Amz-Storage-Class"},
	{"s3:x-amz-grant-read", "X-Amz-Grant-Read"},
	{"s3:x-amz-grant-write", "X-Amz-Grant-Write"},
	{"s3:x-amz-grant-read-acp", "X-Amz-Grant-Read-Acp"},
	{"s3:x-amz-grant-write-acp", "X-Amz-Grant-Write-Acp"},
	{"s3:x-amz-grant-full-control", "X-Amz-Grant-Full-Control"},
	{"s3:x-amz-object-ownership", "X-Amz-Object-Ownership"},
}

// conditionParams are the S3 condition keys read from query parameters.
var conditionParams = []struct{ key, param string }{
	{"s3:versionid", "versionId"},
	{"s3:prefix", "prefix"},
	{"s3:delimiter", "delimiter"},
	{"s3:max-keys", "max-keys"},
}

func setHeader(c *policy.Context, h http.Header, key, name string) {
	if v := h.Get(name); v != "" {
		c.Set(key, v)
	}
}

// setRequestObjectTags sets s3:RequestObjectTag/<key> and
// s3:RequestObjectTagKeys from an x-amz-tagging header (URL-encoded
// key=value pairs). The header table still refuses x-amz-tagging until
// object tagging lands; the keys are gathered already so that policies
// work the moment it does.
func setRequestObjectTags(c *policy.Context, header string) {
	var keys []string
	for pair := range strings.SplitSeq(header, "&") {
		k, v, _ := strings.Cut(pair, "=")
		k, v = unescapeQuery(k), unescapeQuery(v)
		if k == "" {
			continue
		}
		c.Set(policy.KeyS3RequestObjectTagPrefix+k, v)
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		c.Set("s3:RequestObjectTagKeys", keys...)
	}
}

// needsObjectTags reports whether a decision may turn on the object's tags:
// for every caller but the account's root, whose decision reads only the
// bucket policy (checked for a tag condition once per policy revision).
// Reading them for everyone else keeps a Deny on a tag from failing open.
func needsObjectTags(id *Identity, b *bucketAccess) bool {
	root := id.Principal.Type == policy.PrincipalAccount
	return !root || (b != nil && b.bucketSettings != nil && b.objectTags)
}

// existingTags sets s3:ExistingObjectTag/<key> from the objectTags hook; a
// missing object has none.
func (s *Server) existingTags(ctx context.Context, req *request, version string) error {
	tags, err := s.objectTags(ctx, req.route.Bucket, req.route.Key, version)
	if err != nil && !isNotFound(err) {
		return err
	}
	c := s.conditions(req)
	for k, v := range tags {
		c.Set(policy.KeyS3ExistingObjectTagPrefix+k, v)
	}
	return nil
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// bucketAccess reads a bucket's access settings; nil (no error) when the
// bucket does not exist, so that a caller not allowed to act on it is
// refused before it learns that.
func (s *Server) bucketAccess(ctx context.Context, bucket string) (*bucketAccess, error) {
	b, err := s.buckets.load(ctx, s.backend, bucket)
	if err == nil {
		return b, nil
	}
	var nb *storage.BucketNotFoundError
	if errors.As(err, &nb) {
		return nil, nil
	}
	return nil, err
}
