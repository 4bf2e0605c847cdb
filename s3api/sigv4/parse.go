package sigv4

import (
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxAuthLen bounds the Authorization header and X-Amz-Credential values we
// are willing to parse; real ones are a few hundred bytes.
const maxAuthLen = 8 << 10

// maxSignedHeaders bounds SignedHeaders; real clients sign fewer than 30.
const maxSignedHeaders = 128

// credential is the parsed Credential: AK/date/region/service/aws4_request.
type credential struct {
	accessKey, date, region, service string
}

func (c credential) scope() string { return string(c.appendScope(nil)) }

func (c credential) appendScope(dst []byte) []byte {
	dst = append(dst, c.date...)
	dst = append(dst, '/')
	dst = append(dst, c.region...)
	dst = append(dst, '/')
	dst = append(dst, c.service...)
	return append(dst, "/"+scopeTerminal...)
}

// authorization is a parsed Authorization header (or its presigned twin).
type authorization struct {
	cred          credential
	signedHeaders []string
	signature     []byte // decoded, 32 bytes
}

// parseAuthorization parses
//
//	AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex>
//
// strictly: each of the three fields exactly once, in any order, separated by
// commas with optional spaces, nothing else.
func parseAuthorization(v string) (authorization, error) {
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
	if n := strings.Count(rest, ",") + 1; n != 3 {
		return a, errorf(ErrAuthorizationHeaderMalformed, "want the 3 comma-separated fields Credential, SignedHeaders and Signature, got %d", n)
	}
	for range 3 {
		var f string
		f, rest, _ = strings.Cut(rest, ",")
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
			a.cred, err = parseCredential(val, ErrAuthorizationHeaderMalformed)
		case "SignedHeaders":
			if haveSigned {
				return a, errorf(ErrAuthorizationHeaderMalformed, "duplicate SignedHeaders")
			}
			haveSigned = true
			a.signedHeaders, err = parseSignedHeaders(val, ErrAuthorizationHeaderMalformed)
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
func parseCredential(v string, sentinel error) (credential, error) {
	var c credential
	if len(v) > maxAuthLen {
		return c, errorf(sentinel, "credential too long")
	}
	// slash[i] is the (i+1)th '/' from the end.
	var slash [4]int
	end := len(v)
	for i := range slash {
		if slash[i] = strings.LastIndexByte(v[:end], '/'); slash[i] < 0 {
			return c, errorf(sentinel, "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"")
		}
		end = slash[i]
	}
	c.accessKey = v[:slash[3]]
	c.date, c.region, c.service = v[slash[3]+1:slash[2]], v[slash[2]+1:slash[1]], v[slash[1]+1:slash[0]]
	terminal := v[slash[0]+1:]
	switch {
	case c.accessKey == "":
		return c, errorf(sentinel, "empty access key in credential")
	case !validScopeDate(c.date):
		return c, errorf(sentinel, "invalid credential date %.16q", c.date)
	case c.region == "" || strings.ContainsAny(c.region, " \t"):
		return c, errorf(sentinel, "invalid region in credential")
	case !knownService(c.service):
		return c, errorf(sentinel, "incorrect service %.32q, expecting %q", c.service, serviceS3)
	case terminal != scopeTerminal:
		return c, errorf(sentinel, "incorrect terminal %.32q, expecting %q", terminal, scopeTerminal)
	}
	return c, nil
}

func validScopeDate(d string) bool {
	if len(d) != 8 {
		return false
	}
	_, err := time.Parse(scopeDateLayout, d)
	return err == nil
}

// parseSignedHeaders parses "host;range;x-amz-date": lowercase names, no
// duplicates, host included (without it the request could be replayed
// against another bucket in virtual-host style).
func parseSignedHeaders(v string, sentinel error) ([]string, error) {
	if v == "" {
		return nil, errorf(sentinel, "empty SignedHeaders")
	}
	names := strings.Split(v, ";")
	if len(names) > maxSignedHeaders {
		return nil, errorf(sentinel, "too many SignedHeaders")
	}
	// Real lists are short: comparing pairs beats building a set, which
	// is kept for long (hostile) lists.
	var seen map[string]struct{}
	if len(names) > 16 {
		seen = make(map[string]struct{}, len(names))
	}
	for i, n := range names {
		if !validHeaderName(n) {
			return nil, errorf(sentinel, "invalid signed header name %.64q", n)
		}
		dup := false
		if seen != nil {
			_, dup = seen[n]
			seen[n] = struct{}{}
		} else {
			dup = slices.Contains(names[:i], n)
		}
		if dup {
			return nil, errorf(sentinel, "duplicate signed header %.64q", n)
		}
	}
	if !slices.Contains(names, "host") {
		return nil, errorf(sentinel, "host must be a signed header")
	}
	return names, nil
}

// validHeaderName accepts lowercase HTTP token characters.
func validHeaderName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !isHeaderNameByte(n[i]) {
			return false
		}
	}
	return true
}

// isHeaderNameByte reports whether c is a lowercase HTTP token character.
func isHeaderNameByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// parseSignature decodes a 64-digit hex signature.
func parseSignature(v string, sentinel error) ([]byte, error) {
	if len(v) != 64 {
		return nil, errorf(sentinel, "signature must be 64 hex digits")
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return nil, errorf(sentinel, "signature is not hex")
	}
	return b, nil
}

// CredentialService returns the service named in a request's credential
// scope (Authorization header or X-Amz-Credential), "" when there is none
// or it cannot be read. It verifies nothing: it lets a server route a
// request to the API it addresses (s3, iam, sts) before verifying it.
func CredentialService(r *http.Request) string {
	var cred string
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, rest, _ := strings.Cut(auth, "Credential=")
		cred, _, _ = strings.Cut(rest, ",")
	} else {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	if len(cred) > maxAuthLen {
		return ""
	}
	return scopeService(strings.TrimSpace(cred))
}

// scopeService is the next-to-last of the "/"-separated fields of a
// credential, "" when it has fewer than five (no allocation, unlike a
// split).
func scopeService(cred string) string {
	if strings.Count(cred, "/") < 4 {
		return ""
	}
	last := strings.LastIndexByte(cred, '/')
	prev := strings.LastIndexByte(cred[:last], '/')
	return cred[prev+1 : last]
}
