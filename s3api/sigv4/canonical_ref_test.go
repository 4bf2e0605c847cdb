package sigv4

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// String forms of the append-style builders, for the tests.

func canonicalURI(escapedPath string) string { return string(appendCanonicalURI(nil, escapedPath)) }

func parseQuery(raw string) []queryParam { return appendQuery(nil, raw) }

func canonicalQuery(params []queryParam, skip string) string {
	return string(appendCanonicalQuery(nil, &canonBuf{}, params, skip))
}

func canonicalHeaderValue(v string) string { return string(appendCanonicalHeaderValue(nil, v)) }

func canonicalRequest(r *http.Request, query []queryParam, skipParam string, signed []string, payloadHash string) string {
	return string(appendCanonicalRequest(nil, &canonBuf{}, r, query, skipParam, signed, payloadHash))
}

func stringToSign(amzDate, scope, canonical string) string {
	return algorithm + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
}

// The reference implementations below are the string-building versions
// the append-style ones replaced (commit d7bf9ea); the fuzzers hold the
// two equal, byte for byte and error for error.

func refAWSEncode(sb *strings.Builder, s string) {
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

func refCanonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	var sb strings.Builder
	for i, seg := range strings.Split(escapedPath, "/") {
		if i > 0 {
			sb.WriteByte('/')
		}
		dec, err := url.PathUnescape(seg)
		if err != nil {
			dec = seg
		}
		refAWSEncode(&sb, dec)
	}
	return sb.String()
}

func refParseQuery(raw string) []queryParam {
	if raw == "" {
		return nil
	}
	var params []queryParam
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, queryParam{queryUnescape(k), queryUnescape(v)})
	}
	return params
}

func refCanonicalQuery(params []queryParam, skip string) string {
	enc := make([]queryParam, 0, len(params))
	for _, p := range params {
		if skip != "" && p.key == skip {
			continue
		}
		var k, v strings.Builder
		refAWSEncode(&k, p.key)
		refAWSEncode(&v, p.value)
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

func refCanonicalHeaderValue(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var sb strings.Builder
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

func refHeaderValues(r *http.Request, name string) []string {
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

func refCanonicalRequest(r *http.Request, query []queryParam, skipParam string, signed []string, payloadHash string) string {
	var sb strings.Builder
	sb.WriteString(r.Method)
	sb.WriteByte('\n')
	sb.WriteString(refCanonicalURI(r.URL.EscapedPath()))
	sb.WriteByte('\n')
	sb.WriteString(refCanonicalQuery(query, skipParam))
	sb.WriteByte('\n')
	for _, name := range signed {
		sb.WriteString(name)
		sb.WriteByte(':')
		for i, v := range refHeaderValues(r, name) {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(refCanonicalHeaderValue(v))
		}
		sb.WriteByte('\n')
	}
	sb.WriteByte('\n')
	sb.WriteString(strings.Join(signed, ";"))
	sb.WriteByte('\n')
	sb.WriteString(payloadHash)
	return sb.String()
}

func refCheckUnsignedAmzHeaders(r *http.Request, signed []string) error {
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") && !slices.Contains(signed, lk) {
			return errorf(ErrAccessDenied, "There were headers present in the request which were not signed: %.64s", lk)
		}
	}
	return nil
}

func refParseAuthorization(v string) (authorization, error) {
	var a authorization
	if len(v) > maxAuthLen {
		return a, errorf(ErrAuthorizationHeaderMalformed, "header too long")
	}
	alg, rest, ok := strings.Cut(v, " ")
	if alg != algorithm {
		// "AWS AK:sig" (SigV2), "AWS4-ECDSA-P256-SHA256" (SigV4A), Bearer, ...
		return a, errorf(ErrUnsupportedAlgorithm, "authorization type %.32q is not accepted, please use AWS4-HMAC-SHA256", alg)
	}
	if !ok {
		return a, errorf(ErrAuthorizationHeaderMalformed, "no fields after algorithm")
	}
	var haveCred, haveSigned, haveSig bool
	fields := strings.Split(rest, ",")
	if len(fields) != 3 {
		return a, errorf(ErrAuthorizationHeaderMalformed, "want the 3 comma-separated fields Credential, SignedHeaders and Signature, got %d", len(fields))
	}
	for _, f := range fields {
		f = strings.Trim(f, " ")
		name, val, ok := strings.Cut(f, "=")
		if !ok {
			return a, errorf(ErrAuthorizationHeaderMalformed, "field without '='")
		}
		var err error
		switch name {
		case "Credential":
			if haveCred {
				return a, errorf(ErrAuthorizationHeaderMalformed, "duplicate Credential")
			}
			haveCred = true
			a.cred, err = refParseCredential(val, ErrAuthorizationHeaderMalformed)
		case "SignedHeaders":
			if haveSigned {
				return a, errorf(ErrAuthorizationHeaderMalformed, "duplicate SignedHeaders")
			}
			haveSigned = true
			a.signedHeaders, err = refParseSignedHeaders(val, ErrAuthorizationHeaderMalformed)
		case "Signature":
			if haveSig {
				return a, errorf(ErrAuthorizationHeaderMalformed, "duplicate Signature")
			}
			haveSig = true
			a.signature, err = parseSignature(val, ErrAuthorizationHeaderMalformed)
		default:
			return a, errorf(ErrAuthorizationHeaderMalformed, "unknown field %.32q", name)
		}
		if err != nil {
			return a, err
		}
	}
	return a, nil
}

// parseCredential parses AK/YYYYMMDD/region/service/aws4_request. The access
// key is everything before the last four parts, so keys containing '/' work.
func refParseCredential(v string, sentinel error) (credential, error) {
	var c credential
	if len(v) > maxAuthLen {
		return c, errorf(sentinel, "credential too long")
	}
	parts := strings.Split(v, "/")
	n := len(parts)
	if n < 5 {
		return c, errorf(sentinel, "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"")
	}
	c.accessKey = strings.Join(parts[:n-4], "/")
	c.date, c.region, c.service = parts[n-4], parts[n-3], parts[n-2]
	switch {
	case c.accessKey == "":
		return c, errorf(sentinel, "empty access key in credential")
	case !validScopeDate(c.date):
		return c, errorf(sentinel, "invalid credential date %.16q", c.date)
	case c.region == "" || strings.ContainsAny(c.region, " \t"):
		return c, errorf(sentinel, "invalid region in credential")
	case !knownService(c.service):
		return c, errorf(sentinel, "incorrect service %.32q, expecting %q", c.service, serviceS3)
	case parts[n-1] != scopeTerminal:
		return c, errorf(sentinel, "incorrect terminal %.32q, expecting %q", parts[n-1], scopeTerminal)
	}
	return c, nil
}

func refParseSignedHeaders(v string, sentinel error) ([]string, error) {
	if v == "" {
		return nil, errorf(sentinel, "empty SignedHeaders")
	}
	names := strings.Split(v, ";")
	if len(names) > maxSignedHeaders {
		return nil, errorf(sentinel, "too many SignedHeaders")
	}
	seen := make(map[string]struct{}, len(names))
	for _, n := range names {
		if !validHeaderName(n) {
			return nil, errorf(sentinel, "invalid signed header name %.64q", n)
		}
		if _, dup := seen[n]; dup {
			return nil, errorf(sentinel, "duplicate signed header %.64q", n)
		}
		seen[n] = struct{}{}
	}
	if _, ok := seen["host"]; !ok {
		return nil, errorf(sentinel, "host must be a signed header")
	}
	return names, nil
}

// FuzzCanonicalEquivalence holds the append-style canonical request builder
// equal to the string-building one it replaced, on paths, queries, header
// values and header names (which also drive the unsigned x-amz-* check).
func FuzzCanonicalEquivalence(f *testing.F) {
	f.Add("/bucket/a%20b/c+d//%2F/ü/%zz/%4", "list-type=2&prefix=a+b%2F&&x=%zz&b=1&a=2&a=1", "  a   b\t c  ", "X-Amz-Meta-Ü", "x-amz-meta-ü")
	f.Add("", "", "", "x-amz-date", "x-amz-date")
	f.Add("/k", "X-Amz-Signature=1;2&z", "v", "X-Amz-\u212aey", "x-amz-key")
	f.Fuzz(func(t *testing.T, path, rawQuery, value, hdrName, signedName string) {
		if got, want := canonicalURI(path), refCanonicalURI(path); got != want {
			t.Fatalf("canonicalURI(%q) = %q, want %q", path, got, want)
		}
		q := parseQuery(rawQuery)
		if want := refParseQuery(rawQuery); !slices.Equal(q, want) {
			t.Fatalf("parseQuery(%q) = %q, want %q", rawQuery, q, want)
		}
		for _, skip := range []string{"", "X-Amz-Signature"} {
			if got, want := canonicalQuery(q, skip), refCanonicalQuery(q, skip); got != want {
				t.Fatalf("canonicalQuery(%q, %q) = %q, want %q", rawQuery, skip, got, want)
			}
		}
		if got, want := canonicalHeaderValue(value), refCanonicalHeaderValue(value); got != want {
			t.Fatalf("canonicalHeaderValue(%q) = %q, want %q", value, got, want)
		}
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/", RawQuery: rawQuery}, Host: value, ContentLength: int64(len(value)) - 1,
			Header: http.Header{hdrName: {value, "x"}, http.CanonicalHeaderKey(hdrName): {value}, "X-Amz-Date": {value}}}
		signed := []string{signedName, "host", "content-length", "transfer-encoding", "x-amz-date", strings.ToLower(hdrName)}
		if got, want := canonicalRequest(r, q, "", signed, "h"), refCanonicalRequest(r, q, "", signed, "h"); got != want {
			t.Fatalf("canonicalRequest = %q, want %q", got, want)
		}
		if got, want := headerValues(r.Header, signedName), r.Header.Values(signedName); !slices.Equal(got, want) {
			t.Fatalf("headerValues(%q) = %q, want %q", signedName, got, want)
		}
		for _, s := range [][]string{nil, {signedName}, {"x-amz-date", signedName}} {
			got, want := checkUnsignedAmzHeaders(r, s), refCheckUnsignedAmzHeaders(r, s)
			if (got == nil) != (want == nil) {
				t.Fatalf("checkUnsignedAmzHeaders(%q, %q) = %v, want %v", r.Header, s, got, want)
			}
		}
	})
}

// FuzzParseAuthorizationEquivalence holds parseAuthorization equal to the
// Split-based parser it replaced: same result, same error text.
func FuzzParseAuthorizationEquivalence(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/20130524/r/s3/aws4_request,SignedHeaders=host;host,Signature=" + strings.Repeat("A", 64))
	f.Add("AWS4-HMAC-SHA256 Credential=/20130524/r/s3/aws4_request,SignedHeaders=a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p;q;host;a,Signature=00")
	f.Add("AWS4-HMAC-SHA256 Credential=k/20130524/r/s3/aws4_requesT, SignedHeaders=x, Signature=")
	f.Fuzz(func(t *testing.T, in string) {
		got, gerr := parseAuthorization(in)
		want, werr := refParseAuthorization(in)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("parseAuthorization(%q) error %v, want %v", in, gerr, werr)
		}
		for _, sentinel := range []error{ErrAuthorizationHeaderMalformed, ErrUnsupportedAlgorithm} {
			if errors.Is(gerr, sentinel) != errors.Is(werr, sentinel) {
				t.Fatalf("parseAuthorization(%q) error class %v, want %v", in, gerr, werr)
			}
		}
		if got.cred != want.cred || !slices.Equal(got.signedHeaders, want.signedHeaders) || !bytes.Equal(got.signature, want.signature) {
			t.Fatalf("parseAuthorization(%q) = %+v, want %+v", in, got, want)
		}
	})
}
