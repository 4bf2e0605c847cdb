package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
)

// rootCredentials are the root user's access key and secret.
type rootCredentials struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
	// source says where the secret is kept, for people (not stored).
	source string
}

const credentialsFile = "root-credentials.json"

// loadRootCredentials takes FILESPHERE_ROOT_USER/PASSWORD when both are
// set; otherwise it reuses the ones stored in the data folder, generating
// strong random ones on first start. There is never a well-known default.
func loadRootCredentials(dataDir string) (rootCredentials, bool, error) {
	user, pass := os.Getenv("FILESPHERE_ROOT_USER"), os.Getenv("FILESPHERE_ROOT_PASSWORD")
	if user != "" || pass != "" {
		if user == "" || pass == "" {
			return rootCredentials{}, false, errors.New("set both FILESPHERE_ROOT_USER and FILESPHERE_ROOT_PASSWORD, or neither")
		}
		if len(user) < 3 || len(pass) < 8 {
			return rootCredentials{}, false, errors.New("FILESPHERE_ROOT_USER needs 3+ characters and FILESPHERE_ROOT_PASSWORD 8+")
		}
		return rootCredentials{user, pass, "$FILESPHERE_ROOT_PASSWORD"}, false, nil
	}
	path := filepath.Join(dataDir, credentialsFile)
	c, err := readCredentialsFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return c, false, err
	}
	c = rootCredentials{AccessKey: randomString(20, upperAlnum), SecretKey: randomString(40, secretChars), source: path}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return c, false, err
	}
	return c, true, nil
}

// readCredentialsFile reads stored root credentials; a missing file is
// fs.ErrNotExist.
func readCredentialsFile(path string) (rootCredentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return rootCredentials{}, err
	}
	c := rootCredentials{source: path}
	if err := json.Unmarshal(b, &c); err != nil || c.AccessKey == "" || c.SecretKey == "" {
		return rootCredentials{}, fmt.Errorf("%s is corrupt; remove it to generate new credentials", path)
	}
	return c, nil
}

const (
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // the OS random source failing is not recoverable
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}
