package tlsutil

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var hosts = []string{"localhost", "127.0.0.1", "::1", "myhost"}

func TestEnsureSelfSigned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	s, err := EnsureSelfSigned(dir, hosts, now)
	if err != nil || !s.Created {
		t.Fatalf("first call: %+v, %v; want a created certificate", s, err)
	}
	fi, err := os.Stat(s.KeyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v; want mode 0600", fi.Mode(), err)
	}
	leaf, err := LeafOf(s.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", leaf.PublicKey)
	}
	// The file is its own CA bundle: it verifies for every host.
	pool := x509.NewCertPool()
	if err := AppendBundle(pool, s.CertFile); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: pool}); err != nil {
			t.Errorf("verify for %s: %v", h, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.example", Roots: pool}); err == nil {
		t.Error("certificate verifies for a host it was not made for")
	}

	tests := []struct {
		name    string
		hosts   []string
		now     time.Time
		created bool
	}{
		{"restart reuses it", hosts, now.Add(time.Hour), false},
		{"subset of hosts reuses it", hosts[:2], now, false},
		{"new host name replaces it", append(hosts, "newname"), now, true},
		{"near expiry replaces it", hosts, now.Add(340 * 24 * time.Hour), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := EnsureSelfSigned(dir, hosts, now)
			if err != nil {
				t.Fatal(err)
			}
			first, _ := os.ReadFile(s.CertFile)
			got, err := EnsureSelfSigned(dir, tc.hosts, tc.now)
			if err != nil || got.Created != tc.created {
				t.Fatalf("%+v, %v; want created=%v", got, err, tc.created)
			}
			after, _ := os.ReadFile(s.CertFile)
			if changed := string(after) != string(first); changed != tc.created {
				t.Errorf("certificate file changed=%v, want %v", changed, tc.created)
			}
			if _, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile); err != nil {
				t.Errorf("pair after the call: %v", err)
			}
		})
	}
}

func TestEnsureSelfSignedReplacesADamagedPair(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, SelfSignedCert), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := EnsureSelfSigned(dir, hosts, time.Now())
	if err != nil || !s.Created {
		t.Fatalf("%+v, %v", s, err)
	}
	if _, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile); err != nil {
		t.Fatal(err)
	}
}

func TestFingerprint(t *testing.T) {
	fp := Fingerprint([]byte("abc"))
	// SHA-256("abc") = ba7816bf…
	if !strings.HasPrefix(fp, "BA:78:16:BF:") || len(fp) != 32*3-1 {
		t.Fatalf("fingerprint %q", fp)
	}
}

func TestAppendBundle(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	os.WriteFile(empty, []byte("not a certificate\n"), 0o644)
	if err := AppendBundle(x509.NewCertPool(), empty); !errors.Is(err, ErrNoCertificates) {
		t.Errorf("empty bundle: %v, want ErrNoCertificates", err)
	}
	if err := AppendBundle(x509.NewCertPool(), filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing bundle: %v", err)
	}
	if _, err := RootsWith(empty); err == nil {
		t.Error("RootsWith accepted an empty bundle")
	}
}

// pair writes a fresh self-signed pair for 127.0.0.1 into dir/name.{crt,key}.
func pair(t *testing.T, dir, name string) (certFile, keyFile string, leaf *x509.Certificate) {
	t.Helper()
	c, k, err := GenerateSelfSigned([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := WriteFileAtomic(certFile, c, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(keyFile, k, 0o600); err != nil {
		t.Fatal(err)
	}
	kp, err := KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, kp.Leaf
}

// serve runs an HTTPS server with cfg that answers with the protocol used.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: cfg, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Proto)
	}), ErrorLog: log.New(io.Discard, "", 0)}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestServerConfigVersionsCiphersAndALPN(t *testing.T) {
	dir := t.TempDir()
	cf, kf, leaf := pair(t, dir, "a")
	r, err := NewReloader(cf, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, ServerConfig(r.GetCertificate))
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	dial := func(c *tls.Config) (tls.ConnectionState, error) {
		c.RootCAs, c.ServerName = roots, "127.0.0.1"
		conn, err := tls.Dial("tcp", addr, c)
		if err != nil {
			return tls.ConnectionState{}, err
		}
		defer conn.Close()
		return conn.ConnectionState(), nil
	}
	tests := []struct {
		name  string
		cfg   *tls.Config
		ok    bool
		proto string
	}{
		{"TLS 1.1 refused", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false, ""},
		{"TLS 1.2 CBC-only client refused", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}}, false, ""},
		{"TLS 1.2 GCM", &tls.Config{MaxVersion: tls.VersionTLS12}, true, ""},
		{"TLS 1.3 with h2", &tls.Config{NextProtos: []string{"h2", "http/1.1"}}, true, "h2"},
		{"TLS 1.3 with http/1.1 only", &tls.Config{NextProtos: []string{"http/1.1"}}, true, "http/1.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := dial(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("handshake error %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if st.NegotiatedProtocol != tc.proto {
				t.Errorf("ALPN %q, want %q", st.NegotiatedProtocol, tc.proto)
			}
			if st.Version == tls.VersionTLS12 && !isAEAD(st.CipherSuite) {
				t.Errorf("TLS 1.2 suite %s is not in the AEAD list", tls.CipherSuiteName(st.CipherSuite))
			}
		})
	}
	// Real HTTP clients get the protocol they negotiate.
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		resp, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := map[bool]string{true: "HTTP/2.0", false: "HTTP/1.1"}[h2]
		if string(body) != want {
			t.Errorf("h2=%v: server saw %s, want %s", h2, body, want)
		}
		tr.CloseIdleConnections()
	}
}

func isAEAD(id uint16) bool {
	for _, s := range aeadSuites {
		if s == id {
			return true
		}
	}
	return false
}

// TestReloaderSwapsWithoutDroppingConnections swaps the files under a
// running server: new handshakes see the new certificate, a connection
// opened before keeps working, and a bad pair keeps the good one.
func TestReloaderSwapsWithoutDroppingConnections(t *testing.T) {
	dir := t.TempDir()
	cf, kf, leafA := pair(t, dir, "live")
	r, err := NewReloader(cf, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, ServerConfig(r.GetCertificate))
	trustBoth := x509.NewCertPool()
	trustBoth.AddCert(leafA)
	seen := func() *x509.Certificate {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0]
	}
	if !seen().Equal(leafA) {
		t.Fatal("server does not present the first certificate")
	}
	// An open HTTP/1.1 keep-alive connection, from before the swap.
	old, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: trustBoth, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	br := bufio.NewReader(old)
	get := func() error {
		if _, err := io.WriteString(old, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}

	// Unchanged files: nothing to do.
	if tried, _ := r.Check(); tried {
		t.Error("Check reloaded unchanged files")
	}
	// A new pair written over the files.
	ncf, nkf, leafB := pair(t, dir, "next")
	replace(t, ncf, cf)
	replace(t, nkf, kf)
	if tried, err := r.Check(); !tried || err != nil {
		t.Fatalf("Check after the swap: tried=%v, %v", tried, err)
	}
	if !seen().Equal(leafB) {
		t.Error("a new handshake does not see the new certificate")
	}
	if !r.Leaf().Equal(leafB) {
		t.Error("Leaf is not the new certificate")
	}
	if err := get(); err != nil {
		t.Errorf("the connection opened before the swap broke: %v", err)
	}

	// A certificate with the wrong key is refused; the good pair stays.
	_, _, _ = pair(t, dir, "other")
	replace(t, filepath.Join(dir, "other.crt"), cf)
	tried, err := r.Check()
	if !tried || err == nil {
		t.Fatalf("mismatched pair: tried=%v, %v; want an error", tried, err)
	}
	if !seen().Equal(leafB) {
		t.Error("after a bad pair the server no longer presents the good certificate")
	}
	if tried, _ := r.Check(); tried {
		t.Error("a bad pair is retried although the files did not change")
	}
	if err := r.Reload(); err == nil {
		t.Error("Reload of a mismatched pair succeeded")
	}
}

// replace renames a copy of src over dst, as a deployment would.
func replace(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dst)
	if err := WriteFileAtomic(dst, b, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
	// Same size and a coarse clock could hide the change from the stamp;
	// push the modification time forward.
	later := time.Now().Add(time.Duration(len(b)) * time.Millisecond)
	if err := os.Chtimes(dst, later, later); err != nil {
		t.Fatal(err)
	}
}

func TestNewReloaderRefusesABadPair(t *testing.T) {
	dir := t.TempDir()
	cf, _, _ := pair(t, dir, "a")
	_, kf, _ := pair(t, dir, "b")
	if _, err := NewReloader(cf, kf, nil); err == nil {
		t.Fatal("mismatched pair accepted")
	}
	if _, err := NewReloader(filepath.Join(dir, "none.crt"), kf, nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestWatchPicksUpChangedFiles: the poll reloads without being asked.
func TestWatchPicksUpChangedFiles(t *testing.T) {
	dir := t.TempDir()
	cf, kf, _ := pair(t, dir, "w")
	r, err := NewReloader(cf, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Watch(ctx, 10*time.Millisecond)
	ncf, nkf, next := pair(t, dir, "next")
	replace(t, nkf, kf)
	replace(t, ncf, cf)
	deadline := time.Now().Add(10 * time.Second)
	for !r.Leaf().Equal(next) {
		if time.Now().After(deadline) {
			t.Fatal("Watch did not reload the changed files")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
