// Package pki is the cluster's certificate authority and each node's TLS
// identity for mutual TLS on the node-to-node port: creating the CA,
// signing node certificate requests, sealing the CA key under the cluster
// secret, and the TLS settings of a node as server and as client (TLS 1.3,
// both sides verified against the cluster CA). It knows nothing of Raft,
// storage or S3.
package pki

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/scrypt"
)

// ServerName is the DNS name every node certificate carries and every node
// asks for when it dials a peer: peers are identified by their certificate
// from the cluster CA (and the node id in it), not by their address, which
// may change.
const ServerName = "filesphere-node"

// caValidity is how long a cluster CA lasts.
const caValidity = 10 * 365 * 24 * time.Hour

// clockSlack backdates certificates so peers whose clocks are a little
// behind accept them.
const clockSlack = time.Hour

var (
	// ErrWrongSecret is returned when a sealed CA does not open with the
	// secret given.
	ErrWrongSecret = errors.New("pki: the cluster CA does not open with this secret")
	// ErrBadRequest is returned for a certificate request that is malformed
	// or not signed by its own key.
	ErrBadRequest = errors.New("pki: bad certificate request")
)

// CA is the cluster certificate authority.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
}

// NewCA creates a CA with a fresh ECDSA P-256 key.
func NewCA(now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"FileSphere"}, CommonName: "FileSphere cluster CA " + serial.Text(16)[:8]},
		NotBefore:             now.Add(-clockSlack),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return fromParts(der, key)
}

func fromParts(der []byte, key *ecdsa.PrivateKey) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("pki: CA certificate and key do not belong together")
	}
	return &CA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// Certificate is the CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM is the CA certificate in PEM.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// Sign issues a certificate for a node's request: the subject's common name
// is nodeID whatever the request says (the caller authenticated the node),
// the DNS names and IP addresses requested are kept (for people and tools)
// beside ServerName, and it serves both as server and as client
// certificate. It returns the certificate in PEM.
func (ca *CA) Sign(csrDER []byte, nodeID string, validity time.Duration, now time.Time) ([]byte, error) {
	if nodeID == "" {
		return nil, fmt.Errorf("%w: empty node id", ErrBadRequest)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	dns := []string{ServerName}
	for _, d := range csr.DNSNames {
		if d != ServerName {
			dns = append(dns, d)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"FileSphere"}, CommonName: nodeID},
		NotBefore:    now.Add(-clockSlack),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     dns,
		IPAddresses:  csr.IPAddresses,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: signing the certificate of %s: %w", nodeID, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// Sealing the CA key. The key is encrypted with AES-256-GCM under a key
// derived from the cluster secret with scrypt (memory-hard, so a copy of
// the replicated metadata does not let anyone try secrets quickly); the CA
// certificate is authenticated as additional data.
const sealVersion = 1

// scrypt cost: about 32 MiB and tens of milliseconds per open, paid once per
// process (the opened CA is kept).
var scryptN, scryptR, scryptP = 1 << 15, 8, 1

type sealed struct {
	Version int    `json:"v"`
	Cert    []byte `json:"cert"` // DER
	Salt    []byte `json:"salt"`
	N       int    `json:"n"`
	R       int    `json:"r"`
	P       int    `json:"p"`
	Nonce   []byte `json:"nonce"`
	Key     []byte `json:"key"` // sealed PKCS#8
}

// Seal encrypts the CA (key and certificate) under secret.
func (ca *CA) Seal(secret []byte) ([]byte, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return nil, err
	}
	s := sealed{Version: sealVersion, Cert: ca.cert.Raw, Salt: make([]byte, 16), N: scryptN, R: scryptR, P: scryptP}
	if _, err := rand.Read(s.Salt); err != nil {
		return nil, err
	}
	aead, err := sealKey(secret, s)
	if err != nil {
		return nil, err
	}
	s.Nonce = make([]byte, aead.NonceSize())
	if _, err := rand.Read(s.Nonce); err != nil {
		return nil, err
	}
	s.Key = aead.Seal(nil, s.Nonce, keyDER, s.Cert)
	return json.Marshal(s)
}

// OpenCA decrypts a sealed CA; a wrong secret gives ErrWrongSecret.
func OpenCA(blob, secret []byte) (*CA, error) {
	var s sealed
	if err := json.Unmarshal(blob, &s); err != nil || s.Version != sealVersion {
		return nil, fmt.Errorf("pki: sealed CA unreadable (version %d): %v", s.Version, err)
	}
	// Bound the cost an altered record could make us pay.
	if s.N < 2 || s.N > 1<<20 || s.R < 1 || s.R > 32 || s.P < 1 || s.P > 4 {
		return nil, errors.New("pki: sealed CA has out-of-range scrypt parameters")
	}
	aead, err := sealKey(secret, s)
	if err != nil {
		return nil, err
	}
	if len(s.Nonce) != aead.NonceSize() {
		return nil, errors.New("pki: sealed CA has a bad nonce")
	}
	keyDER, err := aead.Open(nil, s.Nonce, s.Key, s.Cert)
	if err != nil {
		return nil, ErrWrongSecret
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("pki: CA key is %T, want ECDSA", k)
	}
	return fromParts(s.Cert, key)
}

// CertOfSealed returns the CA certificate of a sealed CA without the secret.
func CertOfSealed(blob []byte) (*x509.Certificate, error) {
	var s sealed
	if err := json.Unmarshal(blob, &s); err != nil {
		return nil, fmt.Errorf("pki: sealed CA unreadable: %w", err)
	}
	return x509.ParseCertificate(s.Cert)
}

func sealKey(secret []byte, s sealed) (cipher.AEAD, error) {
	k, err := scrypt.Key(secret, s.Salt, s.N, s.R, s.P, 32)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
