package kms

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// MasterKeySize is the master key's length: 256 bits.
const MasterKeySize = 32

// MasterKeyFileName is the file LoadOrCreateMasterKey keeps in the data
// folder.
const MasterKeyFileName = "kms-master.key"

// maxMasterKeyFile bounds what LoadMasterKeyFile reads.
const maxMasterKeyFile = 1 << 10

// ParseMasterKey decodes a master key given as exactly 32 raw bytes, or as
// text (surrounding whitespace ignored): 64 hex digits, or standard base64
// (padded or not) of 32 bytes. Raw input that is all printable text is
// refused: that is a passphrase, not a random key. An all-zero key is
// refused too.
func ParseMasterKey(b []byte) ([]byte, error) {
	if len(b) == MasterKeySize && !printable(b) {
		k := bytes.Clone(b)
		return k, checkMasterKey(k)
	}
	text := string(bytes.TrimSpace(b))
	var k []byte
	switch {
	case len(text) == 2*MasterKeySize:
		k, _ = hex.DecodeString(text)
	default:
		if d, err := base64.StdEncoding.DecodeString(text); err == nil {
			k = d
		} else if d, err := base64.RawStdEncoding.DecodeString(text); err == nil {
			k = d
		}
	}
	if len(k) != MasterKeySize {
		return nil, fmt.Errorf("%w: want 32 random bytes, 64 hex digits or base64 of 32 bytes (generate one with: openssl rand -hex 32)", ErrInvalidMasterKey)
	}
	return k, checkMasterKey(k)
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func checkMasterKey(k []byte) error {
	if len(k) != MasterKeySize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrInvalidMasterKey, len(k), MasterKeySize)
	}
	for _, c := range k {
		if c != 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: all zero", ErrInvalidMasterKey)
}

// LoadMasterKeyFile reads and parses (ParseMasterKey) the key file at path.
func LoadMasterKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kms: master key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMasterKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("kms: master key file: %w", err)
	}
	if len(b) > maxMasterKeyFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidMasterKey, path, maxMasterKeyFile)
	}
	k, err := ParseMasterKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// GenerateMasterKey returns a new random master key.
func GenerateMasterKey() ([]byte, error) {
	k := make([]byte, MasterKeySize)
	_, err := rand.Read(k)
	return k, err
}

// LoadOrCreateMasterKey loads <dataDir>/kms-master.key, or, if there is
// none, generates a key and writes it there (64 hex digits, mode 0600,
// fsynced, never replacing a file another process made meanwhile).
// created reports the latter: cmd must then log a warning that the key
// protecting every encrypted object lives next to the data it protects, and
// should be moved to a secret store and passed with --kms-master-key-file.
func LoadOrCreateMasterKey(dataDir string) (key []byte, path string, created bool, err error) {
	path = filepath.Join(dataDir, MasterKeyFileName)
	key, err = LoadMasterKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, path, false, err
	}
	if key, err = GenerateMasterKey(); err != nil {
		return nil, path, false, err
	}
	if err := writeNewFile(path, []byte(hex.EncodeToString(key)+"\n")); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race: use its key
			key, err = LoadMasterKeyFile(path)
			return key, path, false, err
		}
		return nil, path, false, fmt.Errorf("kms: write master key: %w", err)
	}
	return key, path, true, nil
}

// writeNewFile writes data to a temporary file, fsyncs it, and links it to
// path only if path does not exist: a crash leaves either no key file or a
// complete one, never a torn one.
func writeNewFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+MasterKeyFileName+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
