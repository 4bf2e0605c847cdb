package tlsutil

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Reloader serves a certificate and key from two PEM files and reloads them
// when asked (Reload, e.g. on SIGHUP) or when Watch sees the files change.
// A handshake takes whatever pair is current, so open connections keep the
// one they started with. A pair that fails to load (unreadable, a key that
// does not match, a half-written file) is logged and the old one stays.
type Reloader struct {
	certFile, keyFile string
	log               *logrus.Entry
	cur               atomic.Pointer[keyPair]

	mu    sync.Mutex // serialises reloads
	tried stamp      // the files' state at the last attempt
}

// keyPair is one loaded certificate.
type keyPair struct {
	cert *tls.Certificate
	leaf *x509.Certificate
}

// stamp identifies a version of the two files without reading them.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// NewReloader loads the pair; it fails if the first load fails.
func NewReloader(certFile, keyFile string, log *logrus.Entry) (*Reloader, error) {
	if log == nil {
		l := logrus.New()
		l.SetOutput(discard{})
		log = logrus.NewEntry(l)
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log.WithField("component", "tls")}
	st, _ := r.stat()
	kp, err := load(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	r.cur.Store(kp)
	r.tried = st
	return r, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func load(certFile, keyFile string) (*keyPair, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: loading %s and %s: %w", certFile, keyFile, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls: %s: %w", certFile, err)
		}
	}
	return &keyPair{cert: &c, leaf: c.Leaf}, nil
}

// GetCertificate is the tls.Config hook.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load().cert, nil
}

// Leaf is the certificate being served.
func (r *Reloader) Leaf() *x509.Certificate { return r.cur.Load().leaf }

// CertFile is the certificate's path.
func (r *Reloader) CertFile() string { return r.certFile }

// Reload loads the files again. On error the current pair stays and the
// error is returned (and logged).
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, _ := r.stat()
	r.tried = st
	return r.reloadLocked()
}

func (r *Reloader) reloadLocked() error {
	kp, err := load(r.certFile, r.keyFile)
	if err != nil {
		r.log.WithError(err).Error("tls: new certificate refused; still serving the previous one")
		return err
	}
	old := r.cur.Swap(kp)
	if old != nil && string(old.leaf.Raw) == string(kp.leaf.Raw) {
		return nil
	}
	r.log.WithFields(logrus.Fields{"cert": r.certFile, "sha256": Fingerprint(kp.leaf.Raw),
		"not_after": kp.leaf.NotAfter.UTC().Format(time.RFC3339)}).Info("tls: certificate reloaded")
	return nil
}

func (r *Reloader) stat() (stamp, error) {
	c, err1 := os.Stat(r.certFile)
	k, err2 := os.Stat(r.keyFile)
	if err := errors.Join(err1, err2); err != nil {
		return stamp{}, err
	}
	return stamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// Check reloads if the files changed since the last attempt; it reports
// whether it tried. A failed attempt is not repeated until the files change
// again, so a bad pair is logged once, not on every poll.
func (r *Reloader) Check() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.stat()
	if err != nil || st == r.tried {
		return false, nil // missing files mid-rename: wait for them
	}
	r.tried = st
	return true, r.reloadLocked()
}

// Watch polls the files every interval until ctx ends. Polling (rather than
// inotify) also follows files replaced by renaming a symlink, as secret
// mounts do.
func (r *Reloader) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = r.Check()
		}
	}
}
