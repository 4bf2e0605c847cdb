package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// issue makes a node identity from ca.
func issue(t *testing.T, ca *CA, nodeID string, validity time.Duration) (Files, *Identity) {
	t.Helper()
	csr, key, err := NewRequest(nodeID, []string{"127.0.0.1", "node.example"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Sign(csr, nodeID, validity, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := Files{CA: ca.CertPEM(), Cert: cert, Key: key}
	id, err := NewIdentity(f.CA, f.Cert, f.Key, nodeID)
	if err != nil {
		t.Fatal(err)
	}
	return f, id
}

func newCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestSignedCertificate(t *testing.T) {
	ca := newCA(t)
	csr, _, err := NewRequest("claimed-name", []string{"10.0.0.7", "n1.example"})
	if err != nil {
		t.Fatal(err)
	}
	pemCert, err := ca.Sign(csr, "n1", 90*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(pemCert, mustKey(t)); err == nil {
		t.Fatal("certificate pairs with an unrelated key")
	}
	leaf := parseLeaf(t, pemCert)
	if leaf.Subject.CommonName != "n1" {
		t.Errorf("CN %q: the signer's node id must win over the request's", leaf.Subject.CommonName)
	}
	if leaf.IsCA {
		t.Error("node certificate is a CA")
	}
	wantDNS := []string{ServerName, "n1.example"}
	if strings.Join(leaf.DNSNames, ",") != strings.Join(wantDNS, ",") {
		t.Errorf("DNS names %v, want %v", leaf.DNSNames, wantDNS)
	}
	if len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "10.0.0.7" {
		t.Errorf("IP addresses %v", leaf.IPAddresses)
	}
	if d := time.Until(leaf.NotAfter); d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Errorf("validity ends in %v, want about 90 days", d)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: ServerName, KeyUsages: []x509.ExtKeyUsage{u}}); err != nil {
			t.Errorf("verify for usage %v: %v", u, err)
		}
	}
}

func mustKey(t *testing.T) []byte {
	_, k, err := NewRequest("x", nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignRefusesBadRequests(t *testing.T) {
	ca := newCA(t)
	csr, _, err := NewRequest("n1", nil)
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), csr...)
	tampered[len(tampered)-5] ^= 0xff // inside the signature
	tests := []struct {
		name string
		csr  []byte
		node string
	}{
		{"garbage", []byte("not a request"), "n1"},
		{"bad signature", tampered, "n1"},
		{"no node id", csr, ""},
	}
	for _, tc := range tests {
		if _, err := ca.Sign(tc.csr, tc.node, time.Hour, time.Now()); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v, want ErrBadRequest", tc.name, err)
		}
	}
}

func TestSealOpen(t *testing.T) {
	ca := newCA(t)
	secret := []byte("the-cluster-secret-0123")
	blob, err := ca.Seal(secret)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(blob), "PRIVATE") {
		t.Fatal("sealed CA contains a PEM private key")
	}
	got, err := OpenCA(blob, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Certificate().Equal(ca.Certificate()) || !got.key.Equal(ca.key) {
		t.Fatal("opened CA differs")
	}
	// The opened CA signs certificates the original's pool accepts.
	_, id := issue(t, got, "n2", time.Hour)
	if !id.CA().Equal(ca.Certificate()) {
		t.Error("identity from the opened CA trusts another CA")
	}
	if c, err := CertOfSealed(blob); err != nil || !c.Equal(ca.Certificate()) {
		t.Errorf("CertOfSealed: %v", err)
	}
	if _, err := OpenCA(blob, []byte("another-secret-0123456")); !errors.Is(err, ErrWrongSecret) {
		t.Errorf("wrong secret: %v, want ErrWrongSecret", err)
	}
	// The certificate is bound to the sealed key: swapping in another CA's
	// certificate does not open.
	other := newCA(t)
	swapped := strings.Replace(string(blob), b64(ca.Certificate().Raw), b64(other.Certificate().Raw), 1)
	if swapped == string(blob) {
		t.Fatal("test did not alter the certificate")
	}
	if _, err := OpenCA([]byte(swapped), secret); !errors.Is(err, ErrWrongSecret) {
		t.Errorf("swapped certificate: %v, want ErrWrongSecret", err)
	}
	if _, err := OpenCA([]byte(`{"v":1,"n":1073741824,"r":8,"p":1}`), secret); err == nil {
		t.Error("absurd scrypt cost accepted")
	}
}

func TestIdentityRefusesForeignOrMisnamedCertificates(t *testing.T) {
	a, b := newCA(t), newCA(t)
	fb, _ := issue(t, b, "n1", time.Hour)
	if _, err := NewIdentity(a.CertPEM(), fb.Cert, fb.Key, "n1"); !errors.Is(err, ErrForeignCertificate) {
		t.Errorf("certificate of another CA: %v, want ErrForeignCertificate", err)
	}
	fa, id := issue(t, a, "n1", time.Hour)
	if _, err := NewIdentity(fa.CA, fa.Cert, fa.Key, "n2"); err == nil {
		t.Error("certificate accepted for another node id")
	}
	if err := id.Swap(fb.Cert, fb.Key, "n1"); !errors.Is(err, ErrForeignCertificate) {
		t.Errorf("Swap to a foreign certificate: %v", err)
	}
	if !id.Leaf().Equal(parseLeaf(t, fa.Cert)) {
		t.Error("a refused Swap changed the certificate")
	}
}

func TestFilesRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	if _, err := LoadFiles(dir); !errors.Is(err, os.ErrNotExist) || HasFiles(dir) {
		t.Fatalf("empty folder: %v", err)
	}
	f, _ := issue(t, newCA(t), "n1", time.Hour)
	if err := SaveFiles(dir, f); err != nil {
		t.Fatal(err)
	}
	got, err := LoadFiles(dir)
	if err != nil || string(got.Cert) != string(f.Cert) || string(got.Key) != string(f.Key) || string(got.CA) != string(f.CA) {
		t.Fatalf("loaded %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, %v", fi.Mode(), err)
	}
}

// tlsServer accepts connections with id's server settings and echoes; it
// reports each accepted connection's peer node (or the handshake error).
type accepted struct {
	node string
	ok   bool
	err  error
}

func tlsServer(t *testing.T, id *Identity) (string, <-chan accepted) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", id.ServerConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan accepted, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					ch <- accepted{err: err}
					return
				}
				st := tc.ConnectionState()
				node, ok := PeerNode(&st)
				ch <- accepted{node: node, ok: ok}
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String(), ch
}

func roundTrip(c net.Conn) error {
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "ping" {
		return errors.New("echo mismatch")
	}
	return nil
}

func TestMutualTLS(t *testing.T) {
	a, b := newCA(t), newCA(t)
	_, srvID := issue(t, a, "n1", time.Hour)
	_, peer := issue(t, a, "n2", time.Hour)
	fb, foreign := issue(t, b, "n3", time.Hour)
	addr, acc := tlsServer(t, srvID)

	// A peer of the same CA connects and is known by its node id.
	c, err := tls.Dial("tcp", addr, peer.ClientConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c); err != nil {
		t.Fatal(err)
	}
	if got := <-acc; !got.ok || got.node != "n2" {
		t.Fatalf("server saw %+v, want peer n2", got)
	}
	c.Close()

	// A node of another cluster refuses our server's certificate.
	if c, err := tls.Dial("tcp", addr, foreign.ClientConfig("test")); err == nil {
		c.Close()
		t.Error("a client trusting another CA accepted the server")
	}
	<-acc

	// A client that trusts our CA but shows another CA's certificate is
	// refused by the server.
	cb, err := tls.X509KeyPair(fb.Cert, fb.Key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := peer.ClientConfig("test")
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cb, nil }
	if c, err := tls.Dial("tcp", addr, cfg); err == nil {
		// TLS 1.3: the client learns of the refusal on its first read.
		if err := roundTrip(c); err == nil {
			t.Error("the server accepted a certificate from another CA")
		}
		c.Close()
	}
	if got := <-acc; got.err == nil {
		t.Errorf("server accepted a foreign certificate: %+v", got)
	}

	// No certificate at all: the handshake completes (a joiner asks for
	// its certificate this way) but the peer is anonymous.
	cfg = peer.ClientConfig("test")
	cfg.GetClientCertificate = nil
	c, err = tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c); err != nil {
		t.Fatal(err)
	}
	if got := <-acc; got.ok {
		t.Errorf("a client without certificate counted as node %q", got.node)
	}
	c.Close()
	if err := VerifyServer(nil, a.CertPEM()); err == nil {
		t.Error("VerifyServer accepted a missing state")
	}
}

// TestSwapKeepsOpenConnections rotates the server's certificate: new
// handshakes see the new one, an open connection keeps working.
func TestSwapKeepsOpenConnections(t *testing.T) {
	a := newCA(t)
	_, srvID := issue(t, a, "n1", time.Hour)
	_, peer := issue(t, a, "n2", time.Hour)
	addr, acc := tlsServer(t, srvID)
	old, err := tls.Dial("tcp", addr, peer.ClientConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := roundTrip(old); err != nil {
		t.Fatal(err)
	}
	<-acc
	before := old.ConnectionState().PeerCertificates[0]

	next, _ := issue(t, a, "n1", 2*time.Hour)
	if err := srvID.Swap(next.Cert, next.Key, "n1"); err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", addr, peer.ClientConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-acc
	after := c.ConnectionState().PeerCertificates[0]
	if after.Equal(before) || !after.Equal(parseLeaf(t, next.Cert)) {
		t.Error("a handshake after Swap does not see the new certificate")
	}
	if err := roundTrip(old); err != nil {
		t.Errorf("the connection opened before the swap broke: %v", err)
	}
	if !srvID.NeedsRenewal(time.Now().Add(time.Hour), 90*time.Minute) || srvID.NeedsRenewal(time.Now(), time.Hour) {
		t.Error("NeedsRenewal misjudges a certificate ending in 2 hours")
	}
}

func parseLeaf(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	c, err := parseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// BenchmarkOpenCA is the cost a node pays once per process to open the
// sealed CA (scrypt dominates).
func BenchmarkOpenCA(b *testing.B) {
	ca, err := NewCA(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	secret := []byte("the-cluster-secret-0123")
	blob, err := ca.Seal(secret)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := OpenCA(blob, secret); err != nil {
			b.Fatal(err)
		}
	}
}
