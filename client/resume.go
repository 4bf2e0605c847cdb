package client

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// uploadState is what a multipart upload from a local file records so a
// re-run of the same command can resume it: the upload, its part size,
// the parts done and the source as it was when the upload began.
type uploadState struct {
	Version  int    `json:"version"`
	Source   string `json:"source"`
	Size     int64  `json:"size"`
	MtimeNS  int64  `json:"mtime_ns"`
	Alias    string `json:"alias"`
	Endpoint string `json:"endpoint"`
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	UploadID string `json:"upload_id"`
	PartSize int64  `json:"part_size"`
	// Parts maps part numbers to their ETags and sizes.
	Parts   map[int32]partState `json:"parts"`
	Started time.Time           `json:"started"`
}

type partState struct {
	ETag string `json:"etag"`
	Size int64  `json:"size"`
}

const stateVersion = 1

// stateFile is the upload state of one source and destination: a file
// under <Dir>/uploads named by a hash of both, written atomically after
// each part.
type stateFile struct {
	path string
	mu   sync.Mutex
	st   uploadState
}

func (c *Client) stateFile(absSource string, k *conn, dst Location) *stateFile {
	h := sha256.Sum256([]byte(absSource + "\x00" + k.alias.Name + "\x00" + k.alias.URL + "\x00" + dst.Bucket + "\x00" + dst.Key))
	return &stateFile{path: filepath.Join(c.cfg.Dir, "uploads", hex.EncodeToString(h[:16])+".json")}
}

// load reads the state; ok is false when there is none (or it is
// unreadable, which is then removed).
func (s *stateFile) load() (uploadState, bool) {
	b, err := os.ReadFile(s.path)
	if err != nil {
		return uploadState{}, false
	}
	var st uploadState
	if json.Unmarshal(b, &st) != nil || st.Version != stateVersion || st.UploadID == "" {
		_ = os.Remove(s.path)
		return uploadState{}, false
	}
	if st.Parts == nil {
		st.Parts = map[int32]partState{}
	}
	return st, true
}

func (s *stateFile) start(st uploadState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
	return s.saveLocked()
}

// part records a finished part.
func (s *stateFile) part(n int32, p partState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Parts[n] = p
	return s.saveLocked()
}

func (s *stateFile) saveLocked() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(s.st)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, b); err != nil {
		return fmt.Errorf("upload state: %w", err)
	}
	return nil
}

func (s *stateFile) remove() error {
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
