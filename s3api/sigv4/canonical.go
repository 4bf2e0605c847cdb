package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// canonBuf is the scratch of one verification, pooled so that a request
// builds its canonical request, string to sign and signature in reused
// memory: buf holds all three, qbuf and qidx the encoded query parameters
// while they are sorted, params the decoded query.
type canonBuf struct {
	buf    []byte
	qbuf   []byte
	qidx   []encParam
	params []queryParam
}

// encParam locates one encoded parameter in canonBuf.qbuf: key qbuf[k0:k1],
// value qbuf[k1:v1].
type encParam struct{ k0, k1, v1 int }

// maxPooledBuf keeps one huge request (a long query or many signed headers)
// from pinning its buffer in the pool.
const maxPooledBuf = 64 << 10

var canonPool = sync.Pool{New: func() any { return &canonBuf{buf: make([]byte, 0, 1024)} }}

func getCanonBuf() *canonBuf { return canonPool.Get().(*canonBuf) }

func putCanonBuf(cb *canonBuf) {
	if cap(cb.buf) > maxPooledBuf || cap(cb.qbuf) > maxPooledBuf || cap(cb.params) > 1024 {
		return
	}
	// Drop the request's strings so the pool does not keep them alive.
	clear(cb.params)
	cb.buf, cb.qbuf, cb.qidx, cb.params = cb.buf[:0], cb.qbuf[:0], cb.qidx[:0], cb.params[:0]
	canonPool.Put(cb)
}

// isUnreserved reports whether b is in the RFC 3986 unreserved set, the only
// bytes SigV4 leaves unencoded.
func isUnreserved(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' ||
		b == '-' || b == '.' || b == '_' || b == '~'
}

const upperHex = "0123456789ABCDEF"

// appendAWSEncode appends s URI-encoded the SigV4 way: every byte outside
// the unreserved set as %XX with uppercase hex (so a space is %20, never '+').
func appendAWSEncode(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = appendAWSEncodeByte(dst, s[i])
	}
	return dst
}

func appendAWSEncodeByte(dst []byte, b byte) []byte {
	if isUnreserved(b) {
		return append(dst, b)
	}
	return append(dst, '%', upperHex[b>>4], upperHex[b&15])
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 0xff
}

// validEscapes reports whether every '%' in s starts a two-digit hex escape,
// which is when url.PathUnescape accepts a segment.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) > 15 || unhex(s[i+2]) > 15 {
			return false
		}
		i += 2
	}
	return true
}

// appendCanonicalURI re-encodes the path as sent. S3 does not double-encode,
// but clients differ in which reserved characters they leave bare ("$", "+",
// "!" are legal in a URL path), so each segment is decoded and encoded again
// with the SigV4 rules; "/" separates segments and is kept, "%2F" inside a
// segment survives as "%2F". A segment with a bad escape (net/http rejects
// those before we get here) is encoded as literal bytes rather than failed,
// so the signature decides.
func appendCanonicalURI(dst []byte, escapedPath string) []byte {
	if escapedPath == "" {
		return append(dst, '/')
	}
	for rest, first := escapedPath, true; ; first = false {
		seg, tail, more := strings.Cut(rest, "/")
		if !first {
			dst = append(dst, '/')
		}
		if strings.IndexByte(seg, '%') < 0 || !validEscapes(seg) {
			dst = appendAWSEncode(dst, seg)
		} else {
			for i := 0; i < len(seg); i++ {
				b := seg[i]
				if b == '%' {
					b = unhex(seg[i+1])<<4 | unhex(seg[i+2])
					i += 2
				}
				dst = appendAWSEncodeByte(dst, b)
			}
		}
		if !more {
			return dst
		}
		rest = tail
	}
}

type queryParam struct{ key, value string }

// appendQuery splits a raw query into decoded pairs appended to params,
// keeping duplicates and order. It is more lenient than url.ParseQuery
// (which drops pairs with semicolons or bad escapes): every byte the client
// sent is signed, so nothing may be silently dropped from the canonical
// query.
func appendQuery(params []queryParam, raw string) []queryParam {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, queryParam{queryUnescape(k), queryUnescape(v)})
	}
	return params
}

func queryUnescape(s string) string {
	// '+' means space in a query, as url.Values and the SDKs read it.
	d, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return d
}

// appendCanonicalQuery appends params encoded and sorted by encoded key, then
// encoded value. skip names a parameter left out (X-Amz-Signature for
// presigned URLs). Clients usually send the query sorted already, so the
// sort runs only when it is not.
func appendCanonicalQuery(dst []byte, cb *canonBuf, params []queryParam, skip string) []byte {
	q, idx := cb.qbuf[:0], cb.qidx[:0]
	for _, p := range params {
		if skip != "" && p.key == skip {
			continue
		}
		k0 := len(q)
		q = appendAWSEncode(q, p.key)
		k1 := len(q)
		q = appendAWSEncode(q, p.value)
		idx = append(idx, encParam{k0, k1, len(q)})
	}
	cmp := func(a, b encParam) int {
		if c := bytes.Compare(q[a.k0:a.k1], q[b.k0:b.k1]); c != 0 {
			return c
		}
		return bytes.Compare(q[a.k1:a.v1], q[b.k1:b.v1])
	}
	if !slices.IsSortedFunc(idx, cmp) {
		slices.SortFunc(idx, cmp)
	}
	for i, e := range idx {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, q[e.k0:e.k1]...)
		dst = append(dst, '=')
		dst = append(dst, q[e.k1:e.v1]...)
	}
	cb.qbuf, cb.qidx = q, idx
	return dst
}

// headerValues returns r.Header.Values(name) for a lowercase signed header
// name without allocating its canonical form: the name is canonicalized
// into a stack buffer, which a map index reads without a copy.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h.Values(name)
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isHeaderNameByte(c) {
			// Not a lowercase token: leave it to textproto's rules.
			return h.Values(name)
		}
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
		upper = c == '-'
	}
	return h[string(buf[:len(name)])]
}

// appendHeaderValues appends the values of a signed header as the server
// sees them, comma-joined and each canonicalized. net/http moves Host, and
// on the client side Content-Length and Transfer-Encoding, out of the header
// map; they are read back from the request fields.
func appendHeaderValues(dst []byte, r *http.Request, name string) []byte {
	switch name {
	case "host":
		if r.Host != "" {
			return appendCanonicalHeaderValue(dst, r.Host)
		}
		if r.URL != nil {
			return appendCanonicalHeaderValue(dst, r.URL.Host)
		}
		return dst
	case "content-length":
		if v := headerValues(r.Header, name); len(v) > 0 {
			return appendValues(dst, v)
		}
		if r.ContentLength >= 0 {
			return strconv.AppendInt(dst, r.ContentLength, 10)
		}
		return dst
	case "transfer-encoding":
		if v := headerValues(r.Header, name); len(v) > 0 {
			return appendValues(dst, v)
		}
		if len(r.TransferEncoding) > 0 {
			return appendCanonicalHeaderValue(dst, strings.Join(r.TransferEncoding, ","))
		}
		return dst
	}
	return appendValues(dst, headerValues(r.Header, name))
}

func appendValues(dst []byte, vs []string) []byte {
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendCanonicalHeaderValue(dst, v)
	}
	return dst
}

// appendCanonicalHeaderValue appends the value trimmed, runs of spaces
// collapsed to one.
func appendCanonicalHeaderValue(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		dst = append(dst, v[i])
	}
	return dst
}

// appendCanonicalRequest appends the SigV4 canonical request. Headers are
// written as "name:v1,v2\n" in the order of SignedHeaders (which the client
// also used).
func appendCanonicalRequest(dst []byte, cb *canonBuf, r *http.Request, query []queryParam, skipParam string, signed []string, payloadHash string) []byte {
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')
	dst = appendCanonicalURI(dst, r.URL.EscapedPath())
	dst = append(dst, '\n')
	dst = appendCanonicalQuery(dst, cb, query, skipParam)
	dst = append(dst, '\n')
	for _, name := range signed {
		dst = append(dst, name...)
		dst = append(dst, ':')
		dst = appendHeaderValues(dst, r, name)
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	for i, name := range signed {
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = append(dst, name...)
	}
	dst = append(dst, '\n')
	return append(dst, payloadHash...)
}

// appendStringToSign appends the string to sign of a request signature
// over canonical (which must not alias the bytes appended to).
func appendStringToSign(dst []byte, amzDate string, c credential, canonical []byte) []byte {
	sum := sha256.Sum256(canonical)
	dst = append(dst, algorithm+"\n"...)
	dst = append(dst, amzDate...)
	dst = append(dst, '\n')
	dst = c.appendScope(dst)
	dst = append(dst, '\n')
	return hex.AppendEncode(dst, sum[:])
}

// signRequest builds the canonical request and the string to sign of r in
// cb.buf and signs it with key; the three slices alias cb.buf, valid until
// cb goes back to the pool.
func signRequest(cb *canonBuf, key *signingKey, r *http.Request, query []queryParam, skipParam string, signed []string, payloadHash, amzDate string, c credential) (canonical, sts, sig []byte) {
	b := appendCanonicalRequest(cb.buf[:0], cb, r, query, skipParam, signed, payloadHash)
	nc := len(b)
	b = appendStringToSign(b, amzDate, c, b[:nc])
	ns := len(b)
	b = key.sign(b, b[nc:ns])
	cb.buf = b
	return b[:nc], b[nc:ns], b[ns:]
}
