package kms

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/sirupsen/logrus"
)

// maxAttempts bounds compare-and-swap retries of one update.
const maxAttempts = 8

// KMS is the key manager of one node. It is safe for concurrent use.
type KMS struct {
	cfg Config
	kv  meta.KV // admin reads (linearizable) and writes
	// local serves the per-operation reads of key records: the KV's local
	// replica when it offers one (Stale), so Decrypt costs no round trip.
	local    meta.KV
	master   cipher.AEAD
	masterID string
	log      *logrus.Entry
	cache    *keyCache
	// masterChecked is set once the cluster's master check record is known
	// to open with this node's master key; writes wait for it.
	masterChecked atomic.Bool
	unseals       atomic.Int64 // key records unsealed (cache misses), for tests
}

// New returns a KMS over kv. It reads cfg.MasterKeyFile if set, but does no
// KV I/O: call CheckMasterKey at startup to fail fast on a wrong master key
// (writes check it themselves).
func New(cfg Config, kv meta.KV) (*KMS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if kv == nil {
		return nil, errors.New("kms: KV required")
	}
	master := bytes.Clone(cfg.MasterKey)
	if cfg.MasterKeyFile != "" {
		var err error
		if master, err = LoadMasterKeyFile(cfg.MasterKeyFile); err != nil {
			return nil, err
		}
	}
	cfg.MasterKey, cfg.MasterKeyFile = nil, "" // the key lives only in the cipher
	block, err := aes.NewCipher(master)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = logrus.NewEntry(l)
	}
	k := &KMS{cfg: cfg, kv: kv, local: kv, master: gcm, masterID: MasterKeyID(master),
		log: cfg.Log.WithField("component", "kms"), cache: newKeyCache(cfg.CacheSize)}
	if s, ok := kv.(interface{ Stale() meta.KV }); ok {
		k.local = s.Stale()
	}
	clear(master)
	return k, nil
}

// MasterKeyID is a public fingerprint of a master key (16 hex digits of an
// HMAC keyed by it), for logs and for comparing nodes' keys; it reveals
// nothing of the key.
func MasterKeyID(master []byte) string {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("filesphere/kms/v1 master key id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// MasterKeyID is this node's master key fingerprint.
func (k *KMS) MasterKeyID() string { return k.masterID }

// CheckMasterKey verifies that this node's master key is the one the
// cluster's keys are sealed with, recording it if the cluster has none yet.
// A different key fails with ErrMasterKeyMismatch.
func (k *KMS) CheckMasterKey(ctx context.Context) error {
	if k.masterChecked.Load() {
		return nil
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		e, err := k.kv.Get(ctx, masterCheck)
		if errors.Is(err, meta.ErrNotFound) {
			err = k.createMasterCheck(ctx)
			var cf *meta.CompareFailedError
			if errors.As(err, &cf) {
				continue // another node recorded its key first: check against it
			}
			if err == nil {
				k.masterChecked.Store(true)
			}
			return err
		}
		if err != nil {
			return fmt.Errorf("kms: read master check: %w", err)
		}
		var rec masterRecord
		if err := json.Unmarshal(e.Value, &rec); err != nil {
			return fmt.Errorf("kms: corrupt master check record: %w", err)
		}
		if _, err := k.openMaster(rec.Check, []byte(masterCheckAAD)); err != nil {
			return fmt.Errorf("%w: the cluster's master key id is %s, this node's is %s", ErrMasterKeyMismatch, rec.KeyID, k.masterID)
		}
		k.masterChecked.Store(true)
		return nil
	}
	return ErrConflict
}

func (k *KMS) createMasterCheck(ctx context.Context) error {
	canary := make([]byte, 32)
	if _, err := rand.Read(canary); err != nil {
		return err
	}
	sealed, err := k.sealMaster(canary, []byte(masterCheckAAD))
	if err != nil {
		return err
	}
	v, err := json.Marshal(masterRecord{KeyID: k.masterID, Check: sealed, Created: k.cfg.Now().UTC()})
	if err != nil {
		return err
	}
	_, err = k.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: masterCheck}}, Ops: []meta.Op{meta.Put(masterCheck, v)}})
	if err == nil {
		k.log.WithField("master_key_id", k.masterID).Info("kms: recorded the cluster's master key id")
	}
	return err
}

// CreateKey creates an enabled key with one version.
func (k *KMS) CreateKey(ctx context.Context, name string) (KeyInfo, error) {
	if !ValidKeyName(name) {
		return KeyInfo{}, fmt.Errorf("%w: %q", ErrInvalidKeyName, name)
	}
	return k.createKey(ctx, name)
}

func (k *KMS) createKey(ctx context.Context, name string) (KeyInfo, error) {
	if err := k.CheckMasterKey(ctx); err != nil {
		return KeyInfo{}, err
	}
	now := k.cfg.Now().UTC()
	rec := keyRecord{Name: name, State: StateEnabled, Created: now, Updated: now}
	if err := k.addVersion(&rec, now); err != nil {
		return KeyInfo{}, err
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return KeyInfo{}, err
	}
	_, err = k.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: recordKey(name)}}, Ops: []meta.Op{meta.Put(recordKey(name), v)}})
	var cf *meta.CompareFailedError
	if errors.As(err, &cf) {
		return KeyInfo{}, fmt.Errorf("%w: %q", ErrKeyExists, name)
	}
	if err != nil {
		return KeyInfo{}, fmt.Errorf("kms: create key %q: %w", name, err)
	}
	k.log.WithField("key", name).Info("kms: key created")
	return rec.info(), nil
}

// addVersion appends a new random version to rec.
func (k *KMS) addVersion(rec *keyRecord, now time.Time) error {
	material := make([]byte, 32)
	if _, err := rand.Read(material); err != nil {
		return err
	}
	defer clear(material)
	version := uint32(len(rec.Versions) + 1)
	sealed, err := k.sealMaster(material, materialAAD(rec.Name, version))
	if err != nil {
		return err
	}
	rec.Versions = append(rec.Versions, versionRecord{Version: version, Created: now, Sealed: sealed})
	rec.Updated = now
	return nil
}

// ListKeys returns the admin-visible keys in name order.
func (k *KMS) ListKeys(ctx context.Context) ([]KeyInfo, error) {
	ents, err := k.kv.List(ctx, keyRecords, "", 0)
	if err != nil {
		return nil, fmt.Errorf("kms: list keys: %w", err)
	}
	var out []KeyInfo
	for _, e := range ents {
		rec, err := decodeRecord(e)
		if err != nil {
			return nil, err
		}
		if ValidKeyName(rec.Name) { // internal keys are not listed
			out = append(out, rec.info())
		}
	}
	return out, nil
}

// DescribeKey returns one key's state and versions.
func (k *KMS) DescribeKey(ctx context.Context, name string) (KeyInfo, error) {
	if !ValidKeyName(name) {
		return KeyInfo{}, fmt.Errorf("%w: %q", ErrInvalidKeyName, name)
	}
	e, err := k.kv.Get(ctx, recordKey(name))
	if errors.Is(err, meta.ErrNotFound) {
		return KeyInfo{}, fmt.Errorf("%w: %q", ErrKeyNotFound, name)
	}
	if err != nil {
		return KeyInfo{}, fmt.Errorf("kms: describe key %q: %w", name, err)
	}
	rec, err := decodeRecord(e)
	if err != nil {
		return KeyInfo{}, err
	}
	return rec.info(), nil
}

// RotateKey adds a version to an enabled key: new data keys are sealed with
// it, older ones still open with theirs.
func (k *KMS) RotateKey(ctx context.Context, name string) (KeyInfo, error) {
	return k.update(ctx, name, "rotated", func(rec *keyRecord, now time.Time) error {
		if rec.State != StateEnabled {
			return fmt.Errorf("%w: %q", ErrKeyDisabled, name)
		}
		return k.addVersion(rec, now)
	})
}

// DisableKey disables a key: its data keys can neither be generated nor
// decrypted until EnableKey. Disabling a disabled key changes nothing.
func (k *KMS) DisableKey(ctx context.Context, name string) (KeyInfo, error) {
	return k.setState(ctx, name, StateDisabled)
}

// EnableKey enables a disabled key.
func (k *KMS) EnableKey(ctx context.Context, name string) (KeyInfo, error) {
	return k.setState(ctx, name, StateEnabled)
}

func (k *KMS) setState(ctx context.Context, name string, s State) (KeyInfo, error) {
	return k.update(ctx, name, string(s), func(rec *keyRecord, now time.Time) error {
		if rec.State == s {
			return errUnchanged
		}
		rec.State, rec.Updated = s, now
		return nil
	})
}

var errUnchanged = errors.New("unchanged")

// update applies fn to the key's record by compare-and-swap. The first read
// is local (the compare validates it); retries read linearizably.
func (k *KMS) update(ctx context.Context, name, event string, fn func(*keyRecord, time.Time) error) (KeyInfo, error) {
	if !ValidKeyName(name) {
		return KeyInfo{}, fmt.Errorf("%w: %q", ErrInvalidKeyName, name)
	}
	if err := k.CheckMasterKey(ctx); err != nil {
		return KeyInfo{}, err
	}
	kv := k.local
	for attempt := 0; attempt < maxAttempts; attempt++ {
		e, err := kv.Get(ctx, recordKey(name))
		kv = k.kv
		if errors.Is(err, meta.ErrNotFound) {
			return KeyInfo{}, fmt.Errorf("%w: %q", ErrKeyNotFound, name)
		}
		if err != nil {
			return KeyInfo{}, fmt.Errorf("kms: read key %q: %w", name, err)
		}
		rec, err := decodeRecord(e)
		if err != nil {
			return KeyInfo{}, err
		}
		err = fn(&rec, k.cfg.Now().UTC())
		if errors.Is(err, errUnchanged) {
			return rec.info(), nil
		}
		if err != nil {
			return KeyInfo{}, err
		}
		v, err := json.Marshal(rec)
		if err != nil {
			return KeyInfo{}, err
		}
		_, err = k.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: e.Key, Revision: e.Revision}}, Ops: []meta.Op{meta.Put(e.Key, v)}})
		var cf *meta.CompareFailedError
		if errors.As(err, &cf) {
			continue
		}
		if err != nil {
			return KeyInfo{}, fmt.Errorf("kms: update key %q: %w", name, err)
		}
		k.log.WithFields(logrus.Fields{"key": name, "version": len(rec.Versions)}).Info("kms: key " + event)
		return rec.info(), nil
	}
	return KeyInfo{}, fmt.Errorf("%w: key %q", ErrConflict, name)
}

// loadKey returns the key's unsealed state as of the local replica, from
// the cache when the record's revision is unchanged. create makes a missing
// key (the default and internal keys).
func (k *KMS) loadKey(ctx context.Context, name string, create bool) (*cachedKey, error) {
	kv := k.local
	for attempt := 0; attempt < 2; attempt++ {
		e, err := kv.Get(ctx, recordKey(name))
		if errors.Is(err, meta.ErrNotFound) && create && attempt == 0 {
			// Read it back linearizably: a follower's replica may not have
			// applied the create yet.
			kv = k.kv
			if _, err := k.createKey(ctx, name); err != nil && !errors.Is(err, ErrKeyExists) {
				return nil, err
			}
			continue
		}
		if errors.Is(err, meta.ErrNotFound) {
			return nil, fmt.Errorf("%w: %q", ErrKeyNotFound, name)
		}
		if err != nil {
			return nil, fmt.Errorf("kms: read key %q: %w", name, err)
		}
		if ck := k.cache.get(name, e.Revision); ck != nil {
			return ck, nil
		}
		rec, err := decodeRecord(e)
		if err != nil {
			return nil, err
		}
		k.unseals.Add(1)
		ck := &cachedKey{rev: e.Revision, name: name, state: rec.State}
		for _, v := range rec.Versions {
			m, err := k.openMaster(v.Sealed, materialAAD(name, v.Version))
			if err != nil {
				return nil, fmt.Errorf("key %q version %d: %w", name, v.Version, err)
			}
			ck.materials = append(ck.materials, m)
		}
		k.cache.put(ck)
		return ck, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrKeyNotFound, name)
}
