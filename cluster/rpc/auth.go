package rpc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Authentication of peers. Nodes share a secret; every request carries the
// sender's node id, a timestamp, the content length it declares, and an
// HMAC-SHA256 over those and the method and path+query:
//
//	HMAC(secret, "filesphere-rpc-v1\n" + method + "\n" + path?query + "\n" +
//	     timestamp + "\n" + node id + "\n" + declared content length)
//
// The server refuses (401) a request whose signature does not verify or whose
// timestamp is outside the allowed skew, before looking at anything else.
// A streamed body (shard create) declares length -1 and ends with a footer
// carrying its actual length and CRC-32C, signed with a second HMAC bound to
// the request signature, so a cut or spliced stream is never committed. (The
// footer is in the body rather than in HTTP trailers: trailers that cross a
// server's early reset of the stream make Go's HTTP/2 server drop the whole
// connection, and every other stream on it.)
//
// The signature does not encrypt and does not detect replays inside the
// skew window; the cluster runs it inside mutual TLS, which does both, and
// binds the node id signed here to the node id of the client certificate.
const (
	HeaderNode          = "X-Filesphere-Node"
	HeaderTime          = "X-Filesphere-Time"
	HeaderContentLength = "X-Filesphere-Content-Length"
	HeaderSignature     = "X-Filesphere-Signature"

	// TrailerError carries a wire error that happened after a streamed
	// response (open, walk) had started.
	TrailerError = "X-Filesphere-Error"

	signingScheme = "filesphere-rpc-v1"
)

// MinSecretLength is the shortest shared secret accepted.
const MinSecretLength = 16

var errBadAuth = errors.New("authentication failed")

type signer struct {
	secret []byte
}

func (s signer) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.secret)
	for i, p := range parts {
		if i > 0 {
			m.Write([]byte{'\n'})
		}
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// requestSignature signs the request's identifying fields.
func (s signer) requestSignature(method, uri, ts, node string, length int64) string {
	return s.mac(signingScheme, method, uri, ts, node, strconv.FormatInt(length, 10))
}

// bodySignature signs a streamed body's length and checksum, bound to the
// request it belongs to.
func (s signer) bodySignature(reqSig string, length int64, crc uint32) string {
	return s.mac(signingScheme+"-body", reqSig, strconv.FormatInt(length, 10), strconv.FormatUint(uint64(crc), 10))
}

// footerSize is the size of a streamed body's footer: the body length (8
// bytes, big endian), its CRC-32C (4 bytes) and the hex HMAC of both (64).
const footerSize = 8 + 4 + 64

// footer builds the footer that ends a streamed body of n bytes.
func (s signer) footer(reqSig string, n int64, crc uint32) []byte {
	f := make([]byte, 0, footerSize)
	f = binary.BigEndian.AppendUint64(f, uint64(n))
	f = binary.BigEndian.AppendUint32(f, crc)
	return append(f, s.bodySignature(reqSig, n, crc)...)
}

// checkFooter verifies a received footer against the n bytes and CRC that
// preceded it.
func (s signer) checkFooter(reqSig string, f []byte, n int64, crc uint32) error {
	if len(f) != footerSize {
		return errors.New("body ended without a footer")
	}
	length := int64(binary.BigEndian.Uint64(f))
	sum := binary.BigEndian.Uint32(f[8:])
	if !hmac.Equal(f[12:], []byte(s.bodySignature(reqSig, length, sum))) {
		return errors.New("bad body signature")
	}
	if length != n || sum != crc {
		return fmt.Errorf("received %d bytes (crc %08x), sender wrote %d (crc %08x)", n, crc, length, sum)
	}
	return nil
}

// sign sets the authentication headers on an outgoing request. The declared
// length is req.ContentLength (-1 for a streamed body). It returns the
// signature, which a streamed body's footer signature is bound to.
func (s signer) sign(req *http.Request, node string, now time.Time) string {
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	length := req.ContentLength
	if length < 0 || (length == 0 && req.Body != nil && req.Body != http.NoBody) {
		length = -1
	}
	sig := s.requestSignature(req.Method, req.URL.RequestURI(), ts, node, length)
	req.Header.Set(HeaderNode, node)
	req.Header.Set(HeaderTime, ts)
	req.Header.Set(HeaderContentLength, strconv.FormatInt(length, 10))
	req.Header.Set(HeaderSignature, sig)
	return sig
}

// verify checks an incoming request's authentication headers and returns
// the sender's node id and the request signature.
func (s signer) verify(r *http.Request, now time.Time, maxSkew time.Duration) (node, sig string, err error) {
	node = r.Header.Get(HeaderNode)
	ts := r.Header.Get(HeaderTime)
	declared := r.Header.Get(HeaderContentLength)
	sig = r.Header.Get(HeaderSignature)
	if node == "" || ts == "" || declared == "" || sig == "" {
		return "", "", fmt.Errorf("%w: missing authentication headers", errBadAuth)
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", "", fmt.Errorf("%w: bad timestamp", errBadAuth)
	}
	if skew := now.Sub(time.UnixMilli(ms)); skew > maxSkew || skew < -maxSkew {
		return "", "", fmt.Errorf("%w: timestamp off by %v", errBadAuth, skew.Round(time.Millisecond))
	}
	length, err := strconv.ParseInt(declared, 10, 64)
	if err != nil || length < -1 {
		return "", "", fmt.Errorf("%w: bad declared length", errBadAuth)
	}
	// The declared length must be the one the transport enforces: a known
	// Content-Length (HTTP/2 refuses a body that differs from it), or -1
	// for a streamed body whose length the signed footer states.
	if actual := r.ContentLength; actual != length {
		return "", "", fmt.Errorf("%w: declared length %d, request has %d", errBadAuth, length, actual)
	}
	uri := r.RequestURI
	if uri == "" || strings.Contains(uri, "://") {
		uri = r.URL.RequestURI()
	}
	want := s.requestSignature(r.Method, uri, ts, node, length)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return "", "", fmt.Errorf("%w: bad signature", errBadAuth)
	}
	return node, sig, nil
}
