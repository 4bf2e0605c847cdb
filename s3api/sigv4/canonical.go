package sigv4

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// isUnreserved reports whether b is in the RFC 3986 unreserved set, the only
// bytes SigV4 leaves unencoded.
func isUnreserved(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' ||
		b == '-' || b == '.' || b == '_' || b == '~'
}

// awsEncode appends s URI-encoded the SigV4 way: every byte outside the
// unreserved set as %XX with uppercase hex (so a space is %20, never '+').
func awsEncode(sb *strings.Builder, s string) {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		b := s[i]
		if isUnreserved(b) {
			sb.WriteByte(b)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hexDigits[b>>4])
		sb.WriteByte(hexDigits[b&15])
	}
}

// canonicalURI re-encodes the path as sent. S3 does not double-encode, but
// clients differ in which reserved characters they leave bare ("$", "+", "!"
// are legal in a URL path), so each segment is decoded and encoded again with
// the SigV4 rules; "/" separates segments and is kept, "%2F" inside a segment
// survives as "%2F".
func canonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	var sb strings.Builder
	sb.Grow(len(escapedPath) + 16)
	for i, seg := range strings.Split(escapedPath, "/") {
		if i > 0 {
			sb.WriteByte('/')
		}
		dec, err := url.PathUnescape(seg)
		if err != nil {
			// net/http rejects bad escapes before we get here; encode the
			// literal bytes rather than fail so the signature decides.
			dec = seg
		}
		awsEncode(&sb, dec)
	}
	return sb.String()
}

type queryParam struct{ key, value string }

// parseQuery splits a raw query into decoded pairs, keeping duplicates and
// order. It is more lenient than url.ParseQuery (which drops pairs with
// semicolons or bad escapes): every byte the client sent is signed, so
// nothing may be silently dropped from the canonical query.
func parseQuery(raw string) []queryParam {
	if raw == "" {
		return nil
	}
	params := make([]queryParam, 0, strings.Count(raw, "&")+1)
	for part := range strings.SplitSeq(raw, "&") {
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

// canonicalQuery encodes and sorts params by encoded key, then encoded value.
// skip names a parameter left out (X-Amz-Signature for presigned URLs).
func canonicalQuery(params []queryParam, skip string) string {
	enc := make([]queryParam, 0, len(params))
	for _, p := range params {
		if skip != "" && p.key == skip {
			continue
		}
		var k, v strings.Builder
		awsEncode(&k, p.key)
		awsEncode(&v, p.value)
		enc = append(enc, queryParam{k.String(), v.String()})
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].key != enc[j].key {
			return enc[i].key < enc[j].key
		}
		return enc[i].value < enc[j].value
	})
	var sb strings.Builder
	for i, p := range enc {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(p.key)
		sb.WriteByte('=')
		sb.WriteString(p.value)
	}
	return sb.String()
}

// headerValues returns the values of a signed header as the server sees them.
// net/http moves Host, and on the client side Content-Length and
// Transfer-Encoding, out of the header map; they are read back from the
// request fields.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		if r.Host != "" {
			return []string{r.Host}
		}
		if r.URL != nil {
			return []string{r.URL.Host}
		}
		return nil
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			return v
		}
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		return nil
	case "transfer-encoding":
		if v := r.Header.Values("Transfer-Encoding"); len(v) > 0 {
			return v
		}
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
		return nil
	}
	return r.Header.Values(name)
}

// canonicalHeaderValue trims the value and collapses runs of spaces.
func canonicalHeaderValue(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var sb strings.Builder
	sb.Grow(len(v))
	prevSpace := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if prevSpace {
				continue
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// canonicalHeaders writes "name:v1,v2\n" for each signed header, in the order
// of SignedHeaders (which the client also used).
func canonicalHeaders(sb *strings.Builder, r *http.Request, signed []string) {
	for _, name := range signed {
		sb.WriteString(name)
		sb.WriteByte(':')
		for i, v := range headerValues(r, name) {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(canonicalHeaderValue(v))
		}
		sb.WriteByte('\n')
	}
}

// canonicalRequest builds the SigV4 canonical request.
func canonicalRequest(r *http.Request, query []queryParam, skipParam string, signed []string, payloadHash string) string {
	var sb strings.Builder
	sb.Grow(512)
	sb.WriteString(r.Method)
	sb.WriteByte('\n')
	sb.WriteString(canonicalURI(r.URL.EscapedPath()))
	sb.WriteByte('\n')
	sb.WriteString(canonicalQuery(query, skipParam))
	sb.WriteByte('\n')
	canonicalHeaders(&sb, r, signed)
	sb.WriteByte('\n')
	sb.WriteString(strings.Join(signed, ";"))
	sb.WriteByte('\n')
	sb.WriteString(payloadHash)
	return sb.String()
}

// stringToSign builds the string to sign of a request signature.
func stringToSign(amzDate, scope, canonical string) string {
	return algorithm + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
}
