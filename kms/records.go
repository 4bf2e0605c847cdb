package kms

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
)

// The KMS key space, all under meta.PrefixKMS.
const (
	keyRecords  = meta.PrefixKMS + "key/"   // key/<name> → keyRecord (JSON)
	masterCheck = meta.PrefixKMS + "master" // master → masterRecord (JSON)
)

func recordKey(name string) string { return keyRecords + name }

// State is a key's state.
type State string

// Key states.
const (
	StateEnabled  State = "enabled"
	StateDisabled State = "disabled"
)

type keyRecord struct {
	Name     string          `json:"name"`
	State    State           `json:"state"`
	Created  time.Time       `json:"created"`
	Updated  time.Time       `json:"updated"`
	Versions []versionRecord `json:"versions"` // version i+1 at index i
}

type versionRecord struct {
	Version uint32    `json:"version"`
	Created time.Time `json:"created"`
	// Sealed is nonce (12) || AES-256-GCM(master key, material) under
	// materialAAD(name, version).
	Sealed []byte `json:"sealed"`
}

// masterRecord lets a node check that its master key is the cluster's
// before it writes anything sealed with it.
type masterRecord struct {
	KeyID   string    `json:"key_id"` // MasterKeyID of the master key
	Check   []byte    `json:"check"`  // nonce || AES-256-GCM(master key, random 32 bytes)
	Created time.Time `json:"created"`
}

const (
	materialAADPrefix = "filesphere/kms/v1 key material\x00"
	masterCheckAAD    = "filesphere/kms/v1 master check"
	gcmNonceSize      = 12
)

func materialAAD(name string, version uint32) []byte {
	b := append([]byte(materialAADPrefix), name...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint32(b, version)
}

// sealMaster seals plain with the master key under aad.
func (k *KMS) sealMaster(plain, aad []byte) ([]byte, error) {
	nonce := make([]byte, gcmNonceSize, gcmNonceSize+len(plain)+k.master.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.master.Seal(nonce, nonce, plain, aad), nil
}

// openMaster opens what sealMaster sealed; failure is ErrMasterKeyMismatch.
func (k *KMS) openMaster(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < gcmNonceSize+k.master.Overhead() {
		return nil, fmt.Errorf("%w: sealed record too short", ErrMasterKeyMismatch)
	}
	plain, err := k.master.Open(nil, sealed[:gcmNonceSize], sealed[gcmNonceSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w (this node's master key id is %s, or the record was tampered with)", ErrMasterKeyMismatch, k.masterID)
	}
	return plain, nil
}

func decodeRecord(e meta.Entry) (keyRecord, error) {
	var rec keyRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		return keyRecord{}, fmt.Errorf("kms: corrupt key record %q: %w", e.Key, err)
	}
	if !storedName(rec.Name) || recordKey(rec.Name) != e.Key || len(rec.Versions) == 0 {
		return keyRecord{}, fmt.Errorf("kms: corrupt key record %q", e.Key)
	}
	for i, v := range rec.Versions {
		if v.Version != uint32(i+1) {
			return keyRecord{}, fmt.Errorf("kms: corrupt key record %q: version %d at %d", e.Key, v.Version, i)
		}
	}
	return rec, nil
}

// KeyInfo describes a key; it never holds key material.
type KeyInfo struct {
	Name     string
	State    State
	Created  time.Time
	Updated  time.Time
	Versions []VersionInfo // oldest first; the last one seals new data keys
}

// VersionInfo describes one version of a key.
type VersionInfo struct {
	Version uint32
	Created time.Time
}

// Current is the version that seals new data keys.
func (i KeyInfo) Current() uint32 { return uint32(len(i.Versions)) }

func (r keyRecord) info() KeyInfo {
	info := KeyInfo{Name: r.Name, State: r.State, Created: r.Created, Updated: r.Updated}
	for _, v := range r.Versions {
		info.Versions = append(info.Versions, VersionInfo{Version: v.Version, Created: v.Created})
	}
	return info
}
