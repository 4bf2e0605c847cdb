package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Self-signed certificates for local use (--tls-auto).
const (
	SelfSignedCert = "cert.pem"
	SelfSignedKey  = "key.pem"
	// selfSignedValidity is how long a generated certificate lasts, and
	// selfSignedRenew how long before its end a start replaces it.
	selfSignedValidity = 365 * 24 * time.Hour
	selfSignedRenew    = 30 * 24 * time.Hour
)

// SelfSigned is a certificate EnsureSelfSigned found or made.
type SelfSigned struct {
	CertFile, KeyFile string
	// Created is true when this call generated it (first start, expiry
	// near, or a name missing).
	Created bool
}

// EnsureSelfSigned returns the self-signed certificate in dir for hosts (DNS
// names and IP addresses), generating an ECDSA P-256 one when there is
// none, it ends within 30 days or it lacks one of hosts; otherwise the one
// there is reused, so clients that trust it keep working across restarts.
// The key is written with mode 0600. The certificate is its own CA, so
// clients take the file itself as their CA bundle.
func EnsureSelfSigned(dir string, hosts []string, now time.Time) (SelfSigned, error) {
	s := SelfSigned{CertFile: filepath.Join(dir, SelfSignedCert), KeyFile: filepath.Join(dir, SelfSignedKey)}
	// A missing, damaged or unfit pair is replaced rather than blocking the
	// start: it is ours, generated for local use only.
	if kp, err := load(s.CertFile, s.KeyFile); err == nil && reusable(kp.leaf, hosts, now) {
		return s, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return s, err
	}
	certPEM, keyPEM, err := GenerateSelfSigned(hosts, now, selfSignedValidity)
	if err != nil {
		return s, err
	}
	// Key first: a crash between the two leaves a mismatched pair, which
	// the next start regenerates.
	if err := WriteFileAtomic(s.KeyFile, keyPEM, 0o600); err != nil {
		return s, err
	}
	if err := WriteFileAtomic(s.CertFile, certPEM, 0o644); err != nil {
		return s, err
	}
	s.Created = true
	return s, nil
}

func reusable(c *x509.Certificate, hosts []string, now time.Time) bool {
	if now.Before(c.NotBefore) || now.Add(selfSignedRenew).After(c.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(c.DNSNames, h) {
			return false
		}
	}
	return true
}

// GenerateSelfSigned makes a self-signed ECDSA P-256 certificate for hosts,
// valid from an hour before now for validity; it returns both PEM blocks.
func GenerateSelfSigned(hosts []string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// A name of its own: OpenSSL finds issuers by name, so two of these
		// in one CA bundle must not share one.
		Subject:   pkix.Name{Organization: []string{"FileSphere"}, CommonName: "FileSphere self-signed " + serial.Text(16)[:12]},
		NotBefore: now.Add(-time.Hour),
		NotAfter:  now.Add(validity),
		// Its own issuer: a CA that signs only itself, so it can sit in a
		// client's CA bundle.
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsutil: self-signed certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// LeafOf parses the first certificate of a PEM file.
func LeafOf(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: %w", path, ErrNoCertificates)
	}
	return x509.ParseCertificate(blk.Bytes)
}

// KeyPair loads a certificate and key from PEM bytes.
func KeyPair(certPEM, keyPEM []byte) (tls.Certificate, error) {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return c, err
	}
	c.Leaf, err = x509.ParseCertificate(c.Certificate[0])
	return c, err
}

// WriteFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so a reader sees the old or the new file, never a
// torn one.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
