package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// NewRequest makes a fresh ECDSA P-256 key and a certificate request for
// nodeID naming hosts (IP addresses or DNS names). It returns the request
// (DER) and the key (PEM).
func NewRequest(nodeID string, hosts []string) (csrDER, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: nodeID}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	csrDER, err = x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return csrDER, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseCACert reads a PEM CA certificate.
func ParseCACert(caPEM []byte) (*x509.Certificate, error) {
	c, err := ParseCertPEM(caPEM)
	if err != nil {
		return nil, err
	}
	if !c.IsCA {
		return nil, errors.New("pki: the CA certificate is not a CA")
	}
	return c, nil
}

// ParseCertPEM reads the first certificate of PEM data.
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("pki: no PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// MatchesRequest checks that a certificate was issued for the key of a
// certificate request and for nodeID.
func MatchesRequest(certPEM, csrDER []byte, nodeID string) error {
	c, err := ParseCertPEM(certPEM)
	if err != nil {
		return err
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return err
	}
	k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !k.Equal(csr.PublicKey) {
		return errors.New("pki: the certificate is not for the requested key")
	}
	if c.Subject.CommonName != nodeID {
		return fmt.Errorf("pki: the certificate is for node %q, not %q", c.Subject.CommonName, nodeID)
	}
	return nil
}

// ErrForeignCertificate is returned for a node certificate that was not
// issued by the cluster CA in use.
var ErrForeignCertificate = errors.New("pki: certificate not issued by this cluster's CA")

// Identity is a node's TLS identity: the cluster CA it trusts and its
// current certificate, which Swap replaces without a restart (handshakes
// take the current one; open connections keep theirs). It is safe for
// concurrent use.
type Identity struct {
	ca   *x509.Certificate
	pool *x509.CertPool
	cur  atomic.Pointer[tls.Certificate]
}

// NewIdentity checks that cert/key belong together and were issued by the
// CA for nodeID, and returns the identity.
func NewIdentity(caPEM, certPEM, keyPEM []byte, nodeID string) (*Identity, error) {
	ca, err := ParseCACert(caPEM)
	if err != nil {
		return nil, err
	}
	id := &Identity{ca: ca, pool: x509.NewCertPool()}
	id.pool.AddCert(ca)
	if err := id.Swap(certPEM, keyPEM, nodeID); err != nil {
		return nil, err
	}
	return id, nil
}

// Swap installs a new certificate and key, after the same checks as
// NewIdentity; on error the current one stays.
func (id *Identity) Swap(certPEM, keyPEM []byte, nodeID string) error {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("pki: node certificate and key: %w", err)
	}
	if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
		return err
	}
	// Checked at a moment inside its validity: this is about who issued it;
	// an expired certificate is the caller's to renew (NeedsRenewal).
	opts := x509.VerifyOptions{Roots: id.pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		CurrentTime: c.Leaf.NotBefore.Add(c.Leaf.NotAfter.Sub(c.Leaf.NotBefore) / 2)}
	if _, err := c.Leaf.Verify(opts); err != nil {
		return fmt.Errorf("%w: %v", ErrForeignCertificate, err)
	}
	if c.Leaf.Subject.CommonName != nodeID {
		return fmt.Errorf("pki: the certificate is for node %q, not %q", c.Leaf.Subject.CommonName, nodeID)
	}
	id.cur.Store(&c)
	return nil
}

// CA is the cluster CA certificate trusted.
func (id *Identity) CA() *x509.Certificate { return id.ca }

// Leaf is the current node certificate.
func (id *Identity) Leaf() *x509.Certificate { return id.cur.Load().Leaf }

// NeedsRenewal reports whether the certificate ends within before.
func (id *Identity) NeedsRenewal(now time.Time, before time.Duration) bool {
	return now.Add(before).After(id.Leaf().NotAfter)
}

func (id *Identity) certificate() *tls.Certificate { return id.cur.Load() }

// ServerConfig is the node's listener: TLS 1.3 only, the current
// certificate, client certificates verified against the cluster CA when
// given. A client without one completes the handshake (so a joining node
// can ask for its certificate); what such a connection may do is the
// server's to decide, with PeerNode.
func (id *Identity) ServerConfig(protos ...string) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return id.certificate(), nil },
		ClientAuth:     tls.VerifyClientCertIfGiven,
		ClientCAs:      id.pool,
		NextProtos:     protos,
	}
}

// ClientConfig dials a peer: TLS 1.3, the peer must present a certificate of
// the cluster CA (for ServerName), and this node presents its current one.
func (id *Identity) ClientConfig(protos ...string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		RootCAs:    id.pool,
		ServerName: ServerName,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return id.certificate(), nil
		},
		NextProtos: protos,
	}
}

// PeerNode returns the node id of a connection's verified client
// certificate; false when the peer presented none.
func PeerNode(cs *tls.ConnectionState) (string, bool) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return "", false
	}
	return cs.VerifiedChains[0][0].Subject.CommonName, true
}

// VerifyServer checks that a connection's server presented a certificate of
// the CA in caPEM (used by a joining node, which learns the CA only in the
// answer it receives).
func VerifyServer(cs *tls.ConnectionState, caPEM []byte) error {
	ca, err := ParseCACert(caPEM)
	if err != nil {
		return err
	}
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return errors.New("pki: the server presented no certificate")
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: ServerName,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrForeignCertificate, err)
	}
	return nil
}
