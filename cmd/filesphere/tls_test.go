package main

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/internal/tlsutil"
)

func TestSetupS3TLSFlags(t *testing.T) {
	dir := t.TempDir()
	base := serverFlags{dataDir: dir, address: "127.0.0.1:0", domain: "s3.test"}
	base.tls.reloadInterval = 10 * time.Second
	tests := []struct {
		name    string
		mod     func(*tlsFlags)
		wantErr string
		want    string // scheme
	}{
		{"plain by default", func(*tlsFlags) {}, "", "http"},
		{"auto with cert", func(f *tlsFlags) { f.auto, f.cert, f.key = true, "c", "k" }, "not both", ""},
		{"cert without key", func(f *tlsFlags) { f.cert = "c" }, "go together", ""},
		{"missing files", func(f *tlsFlags) { f.cert, f.key = filepath.Join(dir, "no.crt"), filepath.Join(dir, "no.key") }, "no such file", ""},
		{"zero interval", func(f *tlsFlags) { f.auto, f.reloadInterval = true, 0 }, "positive", ""},
		{"auto", func(f *tlsFlags) { f.auto = true }, "", "https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := base
			tc.mod(&f.tls)
			st, err := setupS3TLS(f, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || st.scheme() != tc.want {
				t.Fatalf("scheme %s, %v; want %s", st.scheme(), err, tc.want)
			}
		})
	}
	// --tls-auto: the certificate covers loopback, the domain and its
	// buckets; the banner names the file and its fingerprint; a restart
	// reuses it.
	f := base
	f.tls.auto = true
	st, err := setupS3TLS(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf := st.reloader.Leaf()
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "s3.test", "bucket.s3.test"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("self-signed certificate does not cover %s: %v", h, err)
		}
	}
	var out bytes.Buffer
	st.printBanner(&out)
	cert := filepath.Join(dir, "tls", tlsutil.SelfSignedCert)
	for _, want := range []string{"TLS certificate: " + cert, tlsutil.Fingerprint(leaf.Raw), "AWS_CA_BUNDLE=" + cert, "reused"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(st.awsHint("https://127.0.0.1:9000"), "--ca-bundle "+cert) {
		t.Errorf("aws hint %q", st.awsHint("https://127.0.0.1:9000"))
	}
}

// TestAdminVerifiesTLS: an https endpoint is verified against --ca-cert,
// the --tls-auto certificate of the local data folder, or not at all with
// --insecure; an unknown certificate is refused.
func TestAdminVerifiesTLS(t *testing.T) {
	clearCredentialEnv(t)
	dataDir := t.TempDir()
	ss, err := tlsutil.EnsureSelfSigned(autoTLSDir(dataDir), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r, err := tlsutil.NewReloader(ss.CertFile, ss.KeyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: tlsutil.ServerConfig(r.GetCertificate), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"node_id":"n1","healthy":true}`))
	}), ErrorLog: discardLog()}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	endpoint := "https://" + ln.Addr().String()
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		ok   bool
	}{
		{"unknown certificate", []string{"--data", empty}, nil, false},
		{"local --tls-auto certificate", []string{"--data", dataDir}, nil, true},
		{"--ca-cert", []string{"--data", empty, "--ca-cert", ss.CertFile}, nil, true},
		{"FILESPHERE_CA_CERT", []string{"--data", empty}, map[string]string{"FILESPHERE_CA_CERT": ss.CertFile}, true},
		{"--insecure", []string{"--data", empty, "--insecure"}, nil, true},
		{"--ca-cert that is not a certificate", []string{"--data", dataDir, "--ca-cert", ss.KeyFile}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"cluster", "status", "--json", "--endpoint", endpoint, "--access-key", "AK", "--secret-key", "SK"}, tc.args...)
			out, err := runAdmin(t, args...)
			if (err == nil) != tc.ok {
				t.Fatalf("ok=%v (%v, %q), want ok=%v", err == nil, err, out, tc.ok)
			}
			if !tc.ok && !strings.Contains(err.Error(), "certificate") {
				t.Errorf("error does not say what is wrong: %v", err)
			}
		})
	}
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }
