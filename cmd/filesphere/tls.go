package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/filesphere/filesphere/cluster"
	"github.com/filesphere/filesphere/internal/tlsutil"
	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
)

// tlsFlags are the S3 listener's HTTPS settings.
type tlsFlags struct {
	cert, key      string
	auto           bool
	reloadInterval time.Duration
	trustForwarded bool
}

func addTLSFlags(fs *pflag.FlagSet, f *tlsFlags) {
	fs.StringVar(&f.cert, "tls-cert", "", "PEM certificate (with its chain) to serve S3 over HTTPS; reloaded on SIGHUP and when the file changes")
	fs.StringVar(&f.key, "tls-key", "", "PEM private key of --tls-cert")
	fs.BoolVar(&f.auto, "tls-auto", false, "serve HTTPS with a self-signed certificate kept in <data>/tls/ (local use: clients trust <data>/tls/cert.pem)")
	fs.DurationVar(&f.reloadInterval, "tls-reload-interval", 10*time.Second, "how often the certificate files are checked for changes")
	fs.BoolVar(&f.trustForwarded, "trust-forwarded-proto", false, "behind a TLS-terminating proxy: count X-Forwarded-Proto: https as a secure request (aws:SecureTransport); only if clients cannot bypass the proxy")
}

// autoTLSDir is where --tls-auto keeps its certificate.
func autoTLSDir(dataDir string) string { return filepath.Join(dataDir, "tls") }

// s3TLS is the S3 listener's certificate, nil for plain HTTP.
type s3TLS struct {
	reloader   *tlsutil.Reloader
	interval   time.Duration
	selfSigned bool
	created    bool
}

// setupS3TLS loads --tls-cert/--tls-key or makes the --tls-auto
// certificate; it returns nil for plain HTTP.
func setupS3TLS(f serverFlags, log *logrus.Entry) (*s3TLS, error) {
	t := f.tls
	switch {
	case t.auto && (t.cert != "" || t.key != ""):
		return nil, errors.New("--tls-auto makes its own certificate: give it or --tls-cert/--tls-key, not both")
	case (t.cert == "") != (t.key == ""):
		return nil, errors.New("--tls-cert and --tls-key go together")
	case t.reloadInterval <= 0:
		return nil, errors.New("--tls-reload-interval must be positive")
	case !t.auto && t.cert == "":
		return nil, nil
	}
	st := &s3TLS{interval: t.reloadInterval}
	cert, key := t.cert, t.key
	if t.auto {
		ss, err := tlsutil.EnsureSelfSigned(autoTLSDir(f.dataDir), autoHosts(f), time.Now())
		if err != nil {
			return nil, fmt.Errorf("--tls-auto: %w", err)
		}
		cert, key, st.selfSigned, st.created = ss.CertFile, ss.KeyFile, true, ss.Created
	}
	r, err := tlsutil.NewReloader(cert, key, log)
	if err != nil {
		return nil, err
	}
	st.reloader = r
	return st, nil
}

// autoHosts are the names the self-signed certificate covers: loopback,
// this host's name, the host of --address and the --domain (with its
// virtual-host buckets).
func autoHosts(f serverFlags) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	if h, _, err := net.SplitHostPort(f.address); err == nil && h != "" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			hosts = append(hosts, h)
		}
	}
	if f.domain != "" {
		hosts = append(hosts, f.domain, "*."+f.domain)
	}
	return hosts
}

func (t *s3TLS) scheme() string {
	if t == nil {
		return "http"
	}
	return "https"
}

// serve runs srv on ln, over TLS when configured (HTTP/2 and HTTP/1.1 as
// clients negotiate).
func (t *s3TLS) serve(srv *http.Server, ln net.Listener) error {
	if t == nil {
		return srv.Serve(ln)
	}
	srv.TLSConfig = tlsutil.ServerConfig(t.reloader.GetCertificate)
	return srv.ServeTLS(ln, "", "")
}

// printBanner prints where the certificate is and how clients trust it.
func (t *s3TLS) printBanner(w io.Writer) {
	if t == nil {
		return
	}
	leaf := t.reloader.Leaf()
	fmt.Fprintf(w, "TLS certificate: %s (SHA-256 fingerprint %s, valid until %s)\n", t.reloader.CertFile(),
		tlsutil.Fingerprint(leaf.Raw), leaf.NotAfter.UTC().Format(time.DateOnly))
	if t.selfSigned {
		how := "reused"
		if t.created {
			how = "generated now"
		}
		fmt.Fprintf(w, "  self-signed (%s); clients trust it with --ca-bundle %s or export AWS_CA_BUNDLE=%s\n", how, t.reloader.CertFile(), t.reloader.CertFile())
	}
}

// awsHint is the example aws cli command of the banner.
func (t *s3TLS) awsHint(endpoint string) string {
	if t != nil && t.selfSigned {
		return fmt.Sprintf("aws --endpoint-url %s --ca-bundle %s s3 ls", endpoint, t.reloader.CertFile())
	}
	return fmt.Sprintf("aws --endpoint-url %s s3 ls", endpoint)
}

// reloadOnSignals reloads the S3 certificate on SIGHUP and when its files
// change, and rotates the node's cluster certificate on SIGHUP, until ctx
// ends. Open connections keep the certificates they started with.
func reloadOnSignals(ctx context.Context, t *s3TLS, node *cluster.Node, log *logrus.Entry) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	if t != nil {
		go t.reloader.Watch(ctx, t.interval)
	}
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			log.Info("SIGHUP: reloading certificates")
			if t != nil {
				_ = t.reloader.Reload() // logs its own failure; the old pair stays
			}
			if err := node.RotateCertificate(); err != nil {
				log.WithError(err).Error("SIGHUP: rotating the node certificate")
			}
		}
	}()
}

// clientTLS is the TLS configuration of a client of our S3 endpoint: the
// system roots plus caFile, or no verification at all with insecure.
func clientTLS(caFile string, insecure bool) (*tls.Config, error) {
	if insecure {
		return &tls.Config{InsecureSkipVerify: true}, nil // the user asked for it (--insecure)
	}
	if caFile == "" {
		return nil, nil
	}
	pool, err := tlsutil.RootsWith(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-cert: %w", err)
	}
	return &tls.Config{RootCAs: pool}, nil
}
