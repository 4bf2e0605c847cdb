package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// nodeState is what a node remembers about itself between starts.
type nodeState struct {
	NodeID string `json:"node_id"`
}

const nodeFile = "node.json"

var validNodeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// resolveNodeID returns the node id: the flag, else the stored one, else
// "node1". A flag that contradicts the stored id is refused, because the
// node's Raft state and drives are recorded under it.
func resolveNodeID(flag, dataDir string) (string, error) {
	path := filepath.Join(dataDir, nodeFile)
	var st nodeState
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &st); err != nil || st.NodeID == "" {
			return "", fmt.Errorf("%s is corrupt", path)
		}
		if flag != "" && flag != st.NodeID {
			return "", fmt.Errorf("this data folder belongs to node %q, not %q", st.NodeID, flag)
		}
		return st.NodeID, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	id := flag
	if id == "" {
		id = "node1"
	}
	if !validNodeID.MatchString(id) {
		return "", fmt.Errorf("invalid node id %q: use letters, digits, '.', '_' or '-'", id)
	}
	b, _ = json.Marshal(nodeState{NodeID: id})
	return id, os.WriteFile(path, b, 0o600)
}

const secretFile = "cluster-secret"

// resolveSecret returns FILESPHERE_CLUSTER_SECRET, which a node joining or
// serving a multi-node cluster needs. A standalone node without it uses a
// random secret kept in its data folder, so it is never a well-known value.
func resolveSecret(dataDir string, joining bool) ([]byte, bool, error) {
	if s := os.Getenv("FILESPHERE_CLUSTER_SECRET"); s != "" {
		if len(s) < 16 {
			return nil, true, errors.New("FILESPHERE_CLUSTER_SECRET must be at least 16 characters")
		}
		return []byte(s), true, nil
	}
	if joining {
		return nil, false, errors.New("FILESPHERE_CLUSTER_SECRET is required to join a cluster")
	}
	path := filepath.Join(dataDir, secretFile)
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, false, nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, false, err
	}
	s := []byte(hex.EncodeToString(buf))
	return s, false, os.WriteFile(path, s, 0o600)
}
