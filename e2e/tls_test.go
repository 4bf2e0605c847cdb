package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
	"github.com/filesphere/filesphere/internal/tlsutil"
)

// TestTLSAuto serves S3 over HTTPS with --tls-auto's self-signed
// certificate and drives the real clients with it as their CA bundle: the
// aws cli (--ca-bundle), rclone (--ca-cert), boto3 (AWS_CA_BUNDLE), s3cmd
// and curl run their whole suites; a client without the bundle is refused;
// the admin CLI finds the certificate in the data folder by itself; HTTP/2
// and HTTP/1.1 both work; a restart reuses the certificate.
func TestTLSAuto(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "tls-auto", ExtraArgs: []string{"--tls-auto"}})
	certFile := filepath.Join(n.DataDir(), "tls", "cert.pem")
	if !strings.HasPrefix(n.Endpoint(), "https://127.0.0.1:") || n.CABundle() != certFile {
		t.Fatalf("endpoint %s, CA bundle %q; want https and %s", n.Endpoint(), n.CABundle(), certFile)
	}
	leaf, err := tlsutil.LeafOf(certFile)
	if err != nil {
		t.Fatal(err)
	}
	fp := tlsutil.Fingerprint(leaf.Raw)
	if !strings.Contains(strings.Join(n.Banner(), "\n"), fp) {
		t.Errorf("banner lacks the fingerprint %s:\n%s", fp, strings.Join(n.Banner(), "\n"))
	}
	if fi, err := os.Stat(filepath.Join(n.DataDir(), "tls", "key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}

	t.Run("protocols", func(t *testing.T) { testTLSProtocols(t, n) })
	t.Run("untrusted", func(t *testing.T) { testTLSUntrusted(t, n) })
	t.Run("admin", func(t *testing.T) {
		bin := harness.BinaryPath(t)
		env := []string{"PATH=" + harness.SafePath, "HOME=" + t.TempDir(), "LANG=C.UTF-8",
			"FILESPHERE_ROOT_USER=" + n.AccessKey(), "FILESPHERE_ROOT_PASSWORD=" + n.SecretKey()}
		r := harness.RunCommand(time.Minute, env, t.TempDir(), bin, "admin", "cluster", "status", "--endpoint", n.Endpoint(), "--data", n.DataDir())
		if r.Err != nil || !strings.Contains(r.Output, "cluster healthy") {
			t.Errorf("admin with the data folder's certificate:\n%s", r)
		}
		r = harness.RunCommand(time.Minute, env, t.TempDir(), bin, "admin", "cluster", "status", "--endpoint", n.Endpoint(), "--data", t.TempDir())
		if r.Err == nil || !strings.Contains(r.Output, "certificate") {
			t.Errorf("admin without any CA accepted the self-signed certificate:\n%s", r)
		}
	})
	t.Run("clients", func(t *testing.T) {
		t.Run("awscli", func(t *testing.T) { t.Parallel(); testAWSCLI(t, n) })
		t.Run("rclone", func(t *testing.T) { t.Parallel(); testRclone(t, n) })
		t.Run("boto3", func(t *testing.T) { t.Parallel(); testBoto3(t, n) })
		t.Run("s3cmd", func(t *testing.T) { t.Parallel(); testS3cmd(t, n) })
	})
	if t.Failed() {
		return
	}
	n.Restart()
	if got := n.Banner(); !strings.Contains(strings.Join(got, "\n"), fp) || !strings.Contains(strings.Join(got, "\n"), "(reused)") {
		t.Errorf("after a restart the banner does not show the same certificate reused:\n%s", strings.Join(got, "\n"))
	}
}

// testTLSProtocols: HTTP/2 and HTTP/1.1 by ALPN, health over TLS, plain
// HTTP to the TLS port refused.
func testTLSProtocols(t *testing.T, n *harness.Node) {
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(n.CABundle())
	pool.AppendCertsFromPEM(b)
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		for _, path := range []string{"/health/live", "/health/ready"} {
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(n.URL(path))
			if err != nil {
				t.Fatalf("h2=%v %s: %v", h2, path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || (resp.ProtoMajor == 2) != h2 {
				t.Errorf("h2=%v %s: %s %s", h2, path, resp.Proto, resp.Status)
			}
			if v := resp.TLS.Version; v < tls.VersionTLS12 {
				t.Errorf("TLS version %x", v)
			}
		}
		tr.CloseIdleConnections()
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + n.Addr() + "/health/live")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP to the TLS port answered 200")
		}
	}
}

// testTLSUntrusted: clients that do not trust the certificate are refused
// by their own verification.
func testTLSUntrusted(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	c.CABundle = ""
	if r := c.AWS("s3", "ls"); r.Err == nil || !strings.Contains(r.Output, "CERTIFICATE_VERIFY_FAILED") {
		t.Errorf("aws cli without --ca-bundle:\n%s", r)
	}
	if r := c.Rclone("lsd", harness.RcloneRemote+":", "--retries", "1", "--low-level-retries", "1"); r.Err == nil || !strings.Contains(r.Output, "x509") {
		t.Errorf("rclone without --ca-cert:\n%s", r)
	}
	script := `
import os, boto3, botocore
s3 = boto3.client("s3", endpoint_url=os.environ["FS_ENDPOINT"], region_name="us-east-1")
try:
    s3.list_buckets()
    print("LISTED")
except botocore.exceptions.SSLError as e:
    print("SSLERROR", e)
`
	if r := c.Python(script); !strings.Contains(r.Output, "SSLERROR") {
		t.Errorf("boto3 without AWS_CA_BUNDLE:\n%s", r)
	}
}

// TestTLSReload serves a certificate from files and replaces them: on
// SIGHUP new handshakes see the new certificate, a connection opened before
// keeps working, and a broken pair keeps the good one. (The periodic check
// of the files is tested in internal/tlsutil; here it is set to an hour so
// only SIGHUP can have caused the reload.)
func TestTLSReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	pairs := map[string][2][]byte{}
	for _, name := range []string{"a", "b"} {
		c, k, err := tlsutil.GenerateSelfSigned([]string{"127.0.0.1"}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		pairs[name] = [2][]byte{c, k}
	}
	install := func(cert, key []byte) {
		t.Helper()
		if err := tlsutil.WriteFileAtomic(keyFile, key, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := tlsutil.WriteFileAtomic(certFile, cert, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	install(pairs["a"][0], pairs["a"][1])
	bundle := filepath.Join(dir, "bundle.pem")
	if err := os.WriteFile(bundle, append(append([]byte{}, pairs["a"][0]...), pairs["b"][0]...), 0o644); err != nil {
		t.Fatal(err)
	}
	n := harness.StartNode(t, harness.NodeOptions{Name: "tls-reload", CABundle: bundle,
		ExtraArgs: []string{"--tls-cert", certFile, "--tls-key", keyFile, "--tls-reload-interval", "1h"}})
	leafOf := func(name string) *x509.Certificate {
		kp, err := tlsutil.KeyPair(pairs[name][0], pairs[name][1])
		if err != nil {
			t.Fatal(err)
		}
		return kp.Leaf
	}
	served := func() *x509.Certificate {
		c, err := tls.Dial("tcp", n.Addr(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0]
	}
	if !served().Equal(leafOf("a")) {
		t.Fatal("not serving the first certificate")
	}
	// A keep-alive HTTP/1.1 connection from before the change.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pairs["a"][0])
	old, err := tls.Dial("tcp", n.Addr(), &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	br := bufio.NewReader(old)
	live := func() error {
		if _, err := io.WriteString(old, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return errorf("status %s", resp.Status)
		}
		return nil
	}
	if err := live(); err != nil {
		t.Fatal(err)
	}

	install(pairs["b"][0], pairs["b"][1])
	if !served().Equal(leafOf("a")) {
		t.Fatal("the certificate changed before SIGHUP (the check interval is an hour)")
	}
	if err := n.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := harness.Eventually(20*time.Second, 50*time.Millisecond, func() error {
		if !served().Equal(leafOf("b")) {
			return errorf("still the old certificate")
		}
		return nil
	}); err != nil {
		t.Fatalf("after SIGHUP: %v", err)
	}
	if err := live(); err != nil {
		t.Errorf("the connection opened before the reload broke: %v", err)
	}
	// A certificate with the wrong key: refused, the good one stays.
	install(pairs["a"][0], pairs["b"][1])
	if err := n.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitForLog("new certificate refused", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if !served().Equal(leafOf("b")) {
		t.Error("a broken pair replaced the served certificate")
	}
	if !n.Running() {
		t.Fatal("the server exited on SIGHUP")
	}
	c := n.Clients(t)
	c.MustAWS("s3", "ls")
}
