package sigv4

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/filesphere/filesphere/internal/ascii"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PayloadMode says how the request payload is protected, from
// x-amz-content-sha256.
type PayloadMode int

const (
	// Unsigned: "UNSIGNED-PAYLOAD" (and anonymous or presigned requests
	// without a payload hash). The body is passed through.
	Unsigned PayloadMode = iota
	// SignedSingle: a hex SHA-256 of the whole body, checked at EOF.
	SignedSingle
	// Streaming: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", aws-chunked with a
	// signature per chunk.
	Streaming
	// StreamingTrailer: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", signed
	// chunks followed by signed trailing headers.
	StreamingTrailer
	// StreamingUnsignedTrailer: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", unsigned
	// chunks followed by unsigned trailing headers (usually a checksum).
	StreamingUnsignedTrailer
)

const (
	unsignedPayload                 = "UNSIGNED-PAYLOAD"
	streamingPayload                = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingTrailerPayload         = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailerPayload = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

func (m PayloadMode) String() string {
	switch m {
	case Unsigned:
		return "Unsigned"
	case SignedSingle:
		return "SignedSingle"
	case Streaming:
		return "Streaming"
	case StreamingTrailer:
		return "StreamingTrailer"
	case StreamingUnsignedTrailer:
		return "StreamingUnsignedTrailer"
	}
	return "PayloadMode(" + strconv.Itoa(int(m)) + ")"
}

func (m PayloadMode) streaming() bool { return m >= Streaming }

// parsePayloadMode classifies an x-amz-content-sha256 value; for SignedSingle
// it also returns the decoded hash.
func parsePayloadMode(v string) (PayloadMode, []byte, error) {
	switch v {
	case unsignedPayload:
		return Unsigned, nil, nil
	case streamingPayload:
		return Streaming, nil, nil
	case streamingTrailerPayload:
		return StreamingTrailer, nil, nil
	case streamingUnsignedTrailerPayload:
		return StreamingUnsignedTrailer, nil, nil
	}
	if strings.HasPrefix(v, "STREAMING-") {
		// e.g. STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD (SigV4A).
		return 0, nil, errorf(ErrUnsupportedAlgorithm, "payload mode %.64q (SigV4A) is not accepted, please use AWS4-HMAC-SHA256", v)
	}
	if len(v) == 64 {
		if sum, err := hex.DecodeString(v); err == nil {
			return SignedSingle, sum, nil
		}
	}
	return 0, nil, errorf(ErrInvalidContentSHA256, "got %.80q", v)
}

// Result is an authenticated request.
type Result struct {
	// AccessKey is the key that signed the request; empty when Anonymous.
	AccessKey string
	// SessionToken is X-Amz-Security-Token (header or query), if any. Verify
	// does not check it: whoever owns temporary credentials must confirm it
	// belongs to AccessKey.
	SessionToken string
	Anonymous    bool
	Presigned    bool
	// PostPolicy marks a browser-based POST upload authenticated by its
	// form's policy signature (VerifyPost).
	PostPolicy bool
	// Service is the service of the credential scope ("s3", "iam", "sts");
	// empty when Anonymous.
	Service string
	// Signed is the time the request was signed (X-Amz-Date or Date, or the
	// form's x-amz-date); zero when Anonymous.
	Signed time.Time
	Mode   PayloadMode
	// Body is the payload to consume instead of r.Body. It checks the payload
	// as it is read and returns io.EOF only when all of it verified; any
	// other error means the request must be rejected.
	Body io.ReadCloser
	// PayloadSHA256 is the payload's SHA-256 from x-amz-content-sha256 when
	// it names one (Mode SignedSingle): Body returns io.EOF only if the
	// payload hashed to it, so a caller needing the payload's SHA-256 can
	// take it from here once Body is at EOF instead of hashing again.
	PayloadSHA256 []byte
	// ContentLength is the decoded payload length: x-amz-decoded-content-length
	// for streaming modes, else r.ContentLength (-1 unknown).
	ContentLength int64
	// MaxBuffered is the most payload bytes Body holds in memory at once:
	// an aws-chunked chunk is kept whole until its signature verified, a
	// single-chunk payload is passed through (0).
	MaxBuffered int64
	// Trailer returns the trailing headers (e.g. x-amz-checksum-crc32) once
	// Body has returned io.EOF in a trailer mode; otherwise it returns nil.
	// It is never nil itself.
	Trailer func() http.Header
}

// Verifier checks SigV4 signatures. It is safe for concurrent use.
type Verifier struct {
	cfg  Config
	now  func() time.Time
	keys keyCache
}

// New returns a Verifier for a valid c.
func New(c Config) (*Verifier, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{cfg: c, now: c.Now}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// Verify authenticates r. For anonymous requests (no Authorization header, no
// presigned query parameters) it returns Result{Anonymous: true} and nil. It
// does not read r.Body (except the small body of a request for another
// service than s3 that does not send its payload hash, see MaxHashedBody);
// the payload is verified while Result.Body is read.
func (v *Verifier) Verify(r *http.Request) (*Result, error) { return v.VerifyWith(r, v.cfg.Lookup) }

// VerifyWith is Verify with the secrets from lookup instead of the
// configured Lookup, so a caller can keep what its lookup learnt about the
// key for the rest of the request.
func (v *Verifier) VerifyWith(r *http.Request, lookup Lookup) (*Result, error) {
	cb := getCanonBuf()
	defer putCanonBuf(cb)
	cb.params = appendQuery(cb.params[:0], r.URL.RawQuery)
	query := cb.params
	auth := r.Header.Values("Authorization")
	presigned := hasParam(query, "X-Amz-Credential") || hasParam(query, "X-Amz-Algorithm") ||
		hasParam(query, "X-Amz-Signature")
	switch {
	case len(auth) > 0 && presigned:
		return nil, errorf(ErrAuthorizationQueryParametersError, "only one auth mechanism allowed: send either the X-Amz-Algorithm query parameters or the Authorization header")
	case len(auth) > 1:
		return nil, errorf(ErrAuthorizationHeaderMalformed, "more than one Authorization header")
	case len(auth) == 1:
		return v.verifyHeader(r, cb, auth[0], query, lookup)
	case presigned:
		return v.verifyPresigned(r, cb, query, lookup)
	case hasParam(query, "AWSAccessKeyId") && hasParam(query, "Signature"):
		return nil, errorf(ErrUnsupportedAlgorithm, "Signature Version 2 presigned URLs (AWSAccessKeyId, Signature) are not accepted, please presign with AWS4-HMAC-SHA256")
	}
	return v.anonymous(r)
}

func (v *Verifier) anonymous(r *http.Request) (*Result, error) {
	res := &Result{Anonymous: true}
	mode, sum := Unsigned, []byte(nil)
	// An anonymous client may still protect its payload (SDKs with anonymous
	// credentials send checksummed unsigned-trailer uploads); honor that so
	// the body is decoded and checked the same way.
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		var err error
		if mode, sum, err = parsePayloadMode(h); err != nil {
			return nil, err
		}
		if mode == Streaming || mode == StreamingTrailer {
			return nil, errorf(ErrAccessDenied, "signed streaming payload on an anonymous request")
		}
	}
	if err := attachBody(res, r, mode, sum, nil); err != nil {
		return nil, err
	}
	return res, nil
}

func (v *Verifier) verifyHeader(r *http.Request, cb *canonBuf, header string, query []queryParam, lookup Lookup) (*Result, error) {
	auth, err := parseAuthorization(header)
	if err != nil {
		return nil, err
	}
	amzDate, t, fromDate, err := requestTime(r)
	if err != nil {
		return nil, err
	}
	if fromDate && !slices.Contains(auth.signedHeaders, "date") {
		return nil, errorf(ErrAuthorizationHeaderMalformed, "the Date header must be signed")
	}
	if err := v.checkScope(auth.cred, t, ErrAuthorizationHeaderMalformed); err != nil {
		return nil, err
	}
	if skew := v.now().Sub(t).Abs(); skew > v.cfg.MaxSkew {
		return nil, errorf(ErrRequestTimeTooSkewed, "request time %s differs from the server time by %s, at most %s is allowed", amzDate, skew.Round(time.Second), v.cfg.MaxSkew)
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" && auth.cred.service != serviceS3 {
		if payload, err = v.hashBody(r); err != nil {
			return nil, err
		}
	}
	if payload == "" {
		return nil, fail(ErrMissingContentSHA256)
	}
	mode, sum, err := parsePayloadMode(payload)
	if err != nil {
		return nil, err
	}
	if err := checkUnsignedAmzHeaders(r, auth.signedHeaders); err != nil {
		return nil, err
	}
	key, err := v.signingKey(auth.cred, lookup)
	if err != nil {
		return nil, err
	}
	canonical, sts, computed := signRequest(cb, key, r, query, "", auth.signedHeaders, payload, amzDate, auth.cred)
	if !signatureEqual(computed, auth.signature) {
		return nil, &SignatureMismatchError{AccessKey: auth.cred.accessKey, StringToSign: string(sts), CanonicalRequest: string(canonical)}
	}
	res := &Result{
		AccessKey:    auth.cred.accessKey,
		SessionToken: r.Header.Get("X-Amz-Security-Token"),
		Service:      auth.cred.service,
		Signed:       t,
		Mode:         mode,
	}
	var chain *chunkChain
	if mode.streaming() {
		// The seed of the chunk signatures; computed aliases cb.buf.
		chain = &chunkChain{key: key.key, amzDate: amzDate, scope: auth.cred.scope(), prev: hex.EncodeToString(computed)}
	}
	if err := attachBody(res, r, mode, sum, chain); err != nil {
		return nil, err
	}
	return res, nil
}

// maxPresignExpires is AWS's limit of seven days.
const maxPresignExpires = 604800

func (v *Verifier) verifyPresigned(r *http.Request, cb *canonBuf, query []queryParam, lookup Lookup) (*Result, error) {
	sentinel := ErrAuthorizationQueryParametersError
	get := func(name string) (string, error) {
		val, n := "", 0
		for _, p := range query {
			if p.key == name {
				val, n = p.value, n+1
			}
		}
		switch n {
		case 0:
			return "", errorf(sentinel, "query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Expires parameters; %s is missing", name)
		case 1:
			return val, nil
		}
		return "", errorf(sentinel, "%s is given more than once", name)
	}
	var vals [6]string
	for i, name := range [...]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		val, err := get(name)
		if err != nil {
			return nil, err
		}
		vals[i] = val
	}
	alg, credStr, amzDate, expStr, signedStr, sigStr := vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]
	if alg != algorithm {
		return nil, errorf(ErrUnsupportedAlgorithm, "X-Amz-Algorithm %.32q is not accepted, X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"", alg)
	}
	cred, err := parseCredential(credStr, sentinel)
	if err != nil {
		return nil, err
	}
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return nil, errorf(sentinel, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	expires, err := strconv.Atoi(expStr)
	if err != nil || expires < 1 || expires > maxPresignExpires {
		return nil, errorf(sentinel, "X-Amz-Expires must be a number of seconds from 1 to %d (a week)", maxPresignExpires)
	}
	signed, err := parseSignedHeaders(signedStr, sentinel)
	if err != nil {
		return nil, err
	}
	sig, err := parseSignature(sigStr, sentinel)
	if err != nil {
		return nil, err
	}
	if err := v.checkScope(cred, t, sentinel); err != nil {
		return nil, err
	}
	now := v.now()
	if t.Sub(now) > v.cfg.MaxSkew {
		return nil, errorf(ErrAccessDenied, "Request is not valid yet: X-Amz-Date is in the future")
	}
	if now.After(t.Add(time.Duration(expires) * time.Second)) {
		return nil, errorf(ErrExpiredPresignedRequest, "expired at %s", t.Add(time.Duration(expires)*time.Second).Format(time.RFC3339))
	}
	// A presigned URL is usually unsigned, but a client may pin the payload
	// by signing its hash, in a header or a query parameter.
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		for _, p := range query {
			if p.key == "X-Amz-Content-Sha256" {
				payload = p.value
			}
		}
	}
	if payload == "" {
		payload = unsignedPayload
	}
	mode, sum, err := parsePayloadMode(payload)
	if err != nil {
		return nil, err
	}
	if mode.streaming() {
		return nil, errorf(sentinel, "streaming payloads cannot be presigned")
	}
	if err := checkUnsignedAmzHeaders(r, signed); err != nil {
		return nil, err
	}
	key, err := v.signingKey(cred, lookup)
	if err != nil {
		return nil, err
	}
	canonical, sts, computed := signRequest(cb, key, r, query, "X-Amz-Signature", signed, payload, amzDate, cred)
	if !signatureEqual(computed, sig) {
		return nil, &SignatureMismatchError{AccessKey: cred.accessKey, StringToSign: string(sts), CanonicalRequest: string(canonical)}
	}
	res := &Result{AccessKey: cred.accessKey, Presigned: true, Service: cred.service, Signed: t, Mode: mode}
	for _, p := range query {
		if p.key == "X-Amz-Security-Token" {
			res.SessionToken = p.value
		}
	}
	if res.SessionToken == "" {
		res.SessionToken = r.Header.Get("X-Amz-Security-Token")
	}
	if err := attachBody(res, r, mode, sum, nil); err != nil {
		return nil, err
	}
	return res, nil
}

// checkScope checks the credential scope against the request time, region
// and the services served.
func (v *Verifier) checkScope(c credential, t time.Time, sentinel error) error {
	if !slices.Contains(v.cfg.Services, c.service) {
		return errorf(sentinel, "incorrect service %.32q, expecting %q", c.service, strings.Join(v.cfg.Services, `" or "`))
	}
	var buf [len(scopeDateLayout)]byte
	if c.date != string(t.UTC().AppendFormat(buf[:0], scopeDateLayout)) {
		return errorf(sentinel, "invalid credential date %s: it is not the date of X-Amz-Date (%s)", c.date, t.UTC().Format(scopeDateLayout))
	}
	if v.cfg.Region != "" && c.region != v.cfg.Region {
		return &Error{Err: sentinel, Region: v.cfg.Region,
			Detail: fmt.Sprintf("the region '%.64s' is wrong; expecting '%s'", c.region, v.cfg.Region)}
	}
	return nil
}

// signingKey looks up the secret and returns the (cached) signing key.
func (v *Verifier) signingKey(c credential, lookup Lookup) (*signingKey, error) {
	if lookup == nil {
		return nil, errorf(ErrInvalidAccessKeyID, "no key lookup")
	}
	secret, err := lookup(c.accessKey)
	if err != nil {
		if errors.Is(err, ErrInvalidAccessKeyID) {
			return nil, err
		}
		return nil, fmt.Errorf("sigv4: looking up access key: %w", err)
	}
	return v.keys.get(c.accessKey, secret, c.date, c.region, c.service), nil
}

// hashBody reads a small body that the client signed without sending its
// hash (the Query APIs) and returns its hex SHA-256; r.Body is replaced by
// the bytes read.
func (v *Verifier) hashBody(r *http.Request) (string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return emptySHA256, nil
	}
	if r.ContentLength > v.cfg.MaxHashedBody {
		return "", errorf(ErrBodyTooLarge, "%d bytes, at most %d", r.ContentLength, v.cfg.MaxHashedBody)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, v.cfg.MaxHashedBody+1))
	if err != nil {
		return "", errorf(ErrIncompleteBody, "reading the body: %v", err)
	}
	if int64(len(b)) > v.cfg.MaxHashedBody {
		return "", errorf(ErrBodyTooLarge, "at most %d bytes", v.cfg.MaxHashedBody)
	}
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return sha256Hex(b), nil
}

// requestTime returns the request time from X-Amz-Date, or else Date, and the
// timestamp string that goes into the string to sign.
func requestTime(r *http.Request) (amzDate string, t time.Time, fromDate bool, err error) {
	if s := r.Header.Get("X-Amz-Date"); s != "" {
		t, err := time.Parse(amzDateLayout, s)
		if err != nil {
			return "", time.Time{}, false, errorf(ErrMissingDate, "x-amz-date %.32q is not ISO8601 basic format", s)
		}
		return s, t, false, nil
	}
	if s := r.Header.Get("Date"); s != "" {
		t, err := http.ParseTime(s)
		if err != nil {
			return "", time.Time{}, false, errorf(ErrMissingDate, "unparseable Date header")
		}
		t = t.UTC()
		return t.Format(amzDateLayout), t, true, nil
	}
	return "", time.Time{}, false, fail(ErrMissingDate)
}

// checkUnsignedAmzHeaders refuses x-amz-* headers the signature does not
// cover: they change what a request does (x-amz-copy-source, x-amz-acl,
// x-amz-decoded-content-length), so a captured presigned URL must not be
// able to gain them.
func checkUnsignedAmzHeaders(r *http.Request, signed []string) error {
	for k := range r.Header {
		if ascii.Is(k) {
			// The common case, without lowering a copy of each name.
			if len(k) < 6 || !strings.EqualFold(k[:6], "x-amz-") ||
				slices.ContainsFunc(signed, func(s string) bool { return ascii.EqualLower(s, k) }) {
				continue
			}
		} else if lk := strings.ToLower(k); !strings.HasPrefix(lk, "x-amz-") || slices.Contains(signed, lk) {
			continue
		}
		return errorf(ErrAccessDenied, "There were headers present in the request which were not signed: %.64s", strings.ToLower(k))
	}
	return nil
}

func hasParam(q []queryParam, name string) bool {
	for _, p := range q {
		if p.key == name {
			return true
		}
	}
	return false
}

// maxTrailerNames bounds x-amz-trailer; S3 clients send one checksum.
const maxTrailerNames = 16

// attachBody sets Body, ContentLength and Trailer for mode. chain is nil for
// unsigned modes.
func attachBody(res *Result, r *http.Request, mode PayloadMode, sum []byte, chain *chunkChain) error {
	src := r.Body
	if src == nil {
		src = http.NoBody
	}
	res.Mode = mode
	res.Trailer = func() http.Header { return nil }
	if !mode.streaming() {
		res.ContentLength = r.ContentLength
		res.Body = &plainBody{src: src, length: r.ContentLength, want: sum}
		res.PayloadSHA256 = sum
		return nil
	}
	dl := r.Header.Get("X-Amz-Decoded-Content-Length")
	if dl == "" {
		return fail(ErrMissingContentLength)
	}
	n, err := strconv.ParseInt(dl, 10, 64)
	if err != nil || n < 0 {
		return errorf(ErrMissingContentLength, "invalid x-amz-decoded-content-length %.32q", dl)
	}
	var names []string
	if mode != Streaming {
		for _, v := range r.Header.Values("X-Amz-Trailer") {
			for name := range strings.SplitSeq(v, ",") {
				name = strings.ToLower(strings.TrimSpace(name))
				if name == "" {
					continue
				}
				if !validHeaderName(name) || len(names) >= maxTrailerNames {
					return errorf(ErrMalformedTrailer, "invalid x-amz-trailer")
				}
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	if mode == StreamingUnsignedTrailer {
		chain = nil
	} else if chain == nil {
		return errorf(ErrAccessDenied, "signed streaming payload without a request signature")
	}
	cr := newChunkedReader(src, mode, n, names, chain)
	res.Body = cr
	res.ContentLength = n
	res.MaxBuffered = maxLineLen
	if chain != nil {
		res.MaxBuffered += min(n, maxChunkSize)
	}
	res.Trailer = cr.trailers
	return nil
}
