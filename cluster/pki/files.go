package pki

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/filesphere/filesphere/internal/tlsutil"
)

// The files of a node's identity in its folder.
const (
	CAFile   = "ca.pem"       // the cluster CA certificate
	CertFile = "node.pem"     // this node's certificate
	KeyFile  = "node-key.pem" // its key (0600)
	// SealedCAFile holds the sealed CA on the node that created it until
	// the CA is in the replicated metadata.
	SealedCAFile = "ca.sealed"
)

// Files are the PEM contents of a node identity.
type Files struct {
	CA, Cert, Key []byte
}

// LoadFiles reads the identity in dir; it returns an error matching
// fs.ErrNotExist when the node has none yet.
func LoadFiles(dir string) (Files, error) {
	var f Files
	var errs []error
	for _, p := range []struct {
		name string
		dst  *[]byte
	}{{CAFile, &f.CA}, {CertFile, &f.Cert}, {KeyFile, &f.Key}} {
		b, err := os.ReadFile(filepath.Join(dir, p.name))
		*p.dst = b
		errs = append(errs, err)
	}
	return f, errors.Join(errs...)
}

// HasFiles reports whether any identity file exists in dir.
func HasFiles(dir string) bool {
	for _, n := range []string{CAFile, CertFile, KeyFile} {
		if _, err := os.Stat(filepath.Join(dir, n)); !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// SaveFiles writes the identity into dir, each file atomically, the key
// first and with mode 0600.
func SaveFiles(dir string, f Files) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := tlsutil.WriteFileAtomic(filepath.Join(dir, KeyFile), f.Key, 0o600); err != nil {
		return err
	}
	if err := tlsutil.WriteFileAtomic(filepath.Join(dir, CertFile), f.Cert, 0o644); err != nil {
		return err
	}
	return tlsutil.WriteFileAtomic(filepath.Join(dir, CAFile), f.CA, 0o644)
}

// SaveSealedCA keeps a sealed CA in dir (SealedCAFile, mode 0600).
func SaveSealedCA(dir string, sealed []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return tlsutil.WriteFileAtomic(filepath.Join(dir, SealedCAFile), sealed, 0o600)
}
