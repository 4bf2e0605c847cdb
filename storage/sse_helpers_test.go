package storage_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/sse"
)

// fakeKeys is the in-memory twin of the key service (kms.KMS): named keys
// with versions, disable, rotate; data keys sealed with AES-GCM bound to
// the encryption context. "" is the default key, made on first use.
type fakeKeys struct {
	mu   sync.Mutex
	keys map[string]*fakeKey
	// decrypts counts Decrypt calls, so tests see HEAD spare the service.
	decrypts int
}

type fakeKey struct {
	versions [][32]byte
	disabled bool
}

var (
	errFakeNotFound = errors.New("fake kms: no such key")
	errFakeDisabled = errors.New("fake kms: key disabled")
	errFakeOpen     = errors.New("fake kms: blob does not open")
)

const fakeDefault = "default-key"

func newFakeKeys() *fakeKeys { return &fakeKeys{keys: map[string]*fakeKey{}} }

func (f *fakeKeys) create(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[name] = &fakeKey{versions: [][32]byte{randKey()}}
}

func (f *fakeKeys) rotate(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.keys[name]
	k.versions = append(k.versions, randKey())
}

func (f *fakeKeys) setDisabled(name string, d bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[name].disabled = d
}

func randKey() [32]byte {
	var k [32]byte
	_, _ = rand.Read(k[:])
	return k
}

func fakeAEAD(k [32]byte) cipher.AEAD {
	b, _ := aes.NewCipher(k[:])
	g, _ := cipher.NewGCM(b)
	return g
}

func fakeAAD(name string, ec map[string]string) []byte {
	b, _ := json.Marshal(ec) // sorted keys
	return append([]byte(name+"\x00"), b...)
}

func (f *fakeKeys) GenerateDataKey(_ context.Context, name string, ec map[string]string) ([32]byte, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "" {
		name = fakeDefault
		if f.keys[name] == nil {
			f.keys[name] = &fakeKey{versions: [][32]byte{randKey()}}
		}
	}
	k := f.keys[name]
	switch {
	case k == nil:
		return [32]byte{}, nil, errFakeNotFound
	case k.disabled:
		return [32]byte{}, nil, errFakeDisabled
	}
	dk := randKey()
	v := uint32(len(k.versions))
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	blob := append([]byte{byte(len(name))}, name...)
	blob = binary.BigEndian.AppendUint32(blob, v)
	blob = append(blob, nonce...)
	blob = fakeAEAD(k.versions[v-1]).Seal(blob, nonce, dk[:], fakeAAD(name, ec))
	return dk, blob, nil
}

func (f *fakeKeys) Decrypt(_ context.Context, blob []byte, ec map[string]string) ([32]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.decrypts++
	var dk [32]byte
	n := int(blob[0])
	name := string(blob[1 : 1+n])
	v := binary.BigEndian.Uint32(blob[1+n:])
	nonce := blob[5+n : 17+n]
	k := f.keys[name]
	switch {
	case k == nil || int(v) > len(k.versions):
		return dk, errFakeNotFound
	case k.disabled:
		return dk, errFakeDisabled
	}
	plain, err := fakeAEAD(k.versions[v-1]).Open(nil, nonce, blob[17+n:], fakeAAD(name, ec))
	if err != nil {
		return dk, errFakeOpen
	}
	copy(dk[:], plain)
	return dk, nil
}

func (f *fakeKeys) SealedVersion(blob []byte) (uint32, error) {
	if len(blob) < 1 || len(blob) < 5+int(blob[0]) {
		return 0, errFakeOpen
	}
	return binary.BigEndian.Uint32(blob[1+int(blob[0]):]), nil
}

func (f *fakeKeys) KeyVersion(_ context.Context, name string) (uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "" {
		name = fakeDefault
		if f.keys[name] == nil {
			f.keys[name] = &fakeKey{versions: [][32]byte{randKey()}}
		}
	}
	k := f.keys[name]
	switch {
	case k == nil:
		return 0, errFakeNotFound
	case k.disabled:
		return 0, errFakeDisabled
	}
	return uint32(len(k.versions)), nil
}

// newSSEEngine is a testEngine (EC 2+2, 64 KiB blocks, inline up to
// inline bytes, parts of any size) with keys as its key service and a
// bucket "bkt".
func newSSEEngine(t testing.TB, keys storage.KeyService, inline int64) *testEngine {
	t.Helper()
	return newSSEEngineBlock(t, keys, inline, 64<<10)
}

func newSSEEngineBlock(t testing.TB, keys storage.KeyService, inline int64, block int) *testEngine {
	t.Helper()
	te := newTestEngineInline(t, 2, 2, block, inline)
	te.Engine.Close()
	cfg := te.cfg
	cfg.Keys, cfg.MinPartSize = keys, 1
	e, err := storage.NewEngine(cfg, te.kv, te.set, storage.FixedPlacement(te.rg))
	if err != nil {
		t.Fatal(err)
	}
	te.Engine, te.cfg = e, cfg
	if err := te.CreateBucket(context.Background(), "bkt", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return te
}

// customer returns a fixed SSE-C key numbered i.
func customer(i byte) *sse.Key {
	var k sse.Key
	for j := range k {
		k[j] = i + byte(j)
	}
	return &k
}

// markerBody is n bytes made of a marker string repeated: if any stretch
// of it reached a disk in clear, the marker would be found there.
func markerBody(marker string, n int) []byte {
	return bytes.Repeat([]byte(marker), n/len(marker)+1)[:n]
}

// secretForms are the ways a secret can sit in a file: raw, and base64 as
// JSON records hold bytes (a repeated marker is found at any alignment as
// the encoding of three copies of it).
func secretForms(secrets ...[]byte) [][]byte {
	var out [][]byte
	for _, s := range secrets {
		out = append(out, s, []byte(base64.StdEncoding.EncodeToString(s)),
			[]byte(base64.StdEncoding.EncodeToString(bytes.Repeat(s, 3))))
	}
	return out
}

// scanFor walks every file under root (drives, metadata store) and fails
// the test if any holds one of the needles.
func scanFor(t testing.TB, root string, needles ...[]byte) int {
	t.Helper()
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("%s holds %q in clear", p, strings.ToValidUTF8(string(n[:min(len(n), 24)]), "?"))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
