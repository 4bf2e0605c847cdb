// Package tlsutil holds the TLS mechanics of the public listeners: the
// server settings (TLS 1.2+, AEAD cipher suites only), a key pair that is
// reloaded when its files change or on request without dropping open
// connections, a self-signed certificate for local use, fingerprints and CA
// bundles for clients. It knows nothing of S3 or clusters.
package tlsutil

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// aeadSuites are the TLS 1.2 cipher suites offered: forward-secret ECDHE
// key exchange with an AEAD cipher, nothing with CBC or RSA key exchange.
// TLS 1.3 suites are not configurable in Go and are all AEAD.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// CipherSuites returns the TLS 1.2 suites ServerConfig offers.
func CipherSuites() []uint16 { return append([]uint16(nil), aeadSuites...) }

// ServerConfig returns the settings of a public HTTPS listener: TLS 1.2 or
// later, AEAD suites only, HTTP/2 and HTTP/1.1 by ALPN (h2 preferred), and
// the certificate from get, asked on every handshake so that a reloaded
// certificate serves the next handshake while open connections go on.
func ServerConfig(get func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   CipherSuites(),
		GetCertificate: get,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}

// Fingerprint is the SHA-256 of a certificate's DER bytes as colon-separated
// upper-case hex, the form `openssl x509 -fingerprint -sha256` prints.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// ErrNoCertificates is returned for a CA bundle holding no certificate.
var ErrNoCertificates = errors.New("tlsutil: no PEM certificate found")

// AppendBundle adds the PEM certificates of the file at path to pool.
func AppendBundle(pool *x509.CertPool, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	n := 0
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", path, ErrNoCertificates)
	}
	return nil
}

// RootsWith returns the system roots (empty if the system has none) plus the
// certificates of each file.
func RootsWith(files ...string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, f := range files {
		if err := AppendBundle(pool, f); err != nil {
			return nil, err
		}
	}
	return pool, nil
}
