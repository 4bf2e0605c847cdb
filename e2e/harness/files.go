package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// RandomReader returns a fast deterministic pseudo-random stream for seed.
func RandomReader(seed uint64) io.Reader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

// WriteRandomFile creates path (and its parents) with size pseudo-random
// bytes from seed and returns the file's SHA-256 in hex.
func WriteRandomFile(t testing.TB, path string, size int64, seed uint64) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), RandomReader(seed), size); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// RandomBytes returns size pseudo-random bytes from seed.
func RandomBytes(size int, seed uint64) []byte {
	b := make([]byte, size)
	_, _ = io.ReadFull(RandomReader(seed), b)
	return b
}

// SHA256File returns the hex SHA-256 of a file.
func SHA256File(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256 returns the hex SHA-256 of b.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TreeDigest maps each regular file under root (slash-separated relative
// path) to its size and SHA-256.
func TreeDigest(t testing.TB, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m[filepath.ToSlash(rel)] = fmt.Sprintf("%d:%s", info.Size(), SHA256File(t, p))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// DiffTrees describes how two TreeDigests differ ("" when equal).
func DiffTrees(want, got map[string]string) string {
	var out []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			out = append(out, "missing "+k)
		case g != v:
			out = append(out, fmt.Sprintf("differs %s: want %s got %s", k, v, g))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, "unexpected "+k)
		}
	}
	sort.Strings(out)
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("... and %d more", len(out)-20))
	}
	s := ""
	for _, l := range out {
		s += l + "\n"
	}
	return s
}
