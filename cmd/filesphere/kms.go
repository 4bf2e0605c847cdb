package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/kms"
	"github.com/sirupsen/logrus"
)

// masterKey picks the KMS master key: --kms-master-key-file, else
// $FILESPHERE_KMS_MASTER_KEY, else <data>/kms-master.key, generated on the
// first start (with a warning: the key then sits beside the data it
// protects).
func masterKey(keyFile, dataDir string, log *logrus.Entry) ([]byte, string, error) {
	if keyFile != "" {
		k, err := kms.LoadMasterKeyFile(keyFile)
		return k, keyFile, err
	}
	if v, ok := os.LookupEnv(kms.MasterKeyEnv); ok {
		k, err := kms.ParseMasterKey([]byte(v))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", kms.MasterKeyEnv, err)
		}
		return k, "$" + kms.MasterKeyEnv, nil
	}
	k, path, created, err := kms.LoadOrCreateMasterKey(dataDir)
	if err != nil {
		return nil, "", err
	}
	if created {
		log.WithField("path", path).Warn("kms: generated a new master key in the data folder; it protects every encrypted object " +
			"and every sealed secret and now lies next to the data it protects: keep a copy in a secret store, move it out of the " +
			"data folder and start with --kms-master-key-file (or FILESPHERE_KMS_MASTER_KEY); every node of a cluster needs the same key, " +
			"and losing it loses every encrypted object")
	}
	return k, path, nil
}

// openKMS builds the node's built-in KMS over the replicated metadata and
// checks that its master key is the cluster's: a node with another key
// would fail every encrypted read, so it refuses to start. When the check
// cannot run yet (no leader), the KMS checks again on its first write.
func openKMS(ctx context.Context, keyFile, dataDir string, kv meta.KV, log *logrus.Entry) (*kms.KMS, error) {
	master, source, err := masterKey(keyFile, dataDir, log)
	if err != nil {
		return nil, err
	}
	cfg := kms.DefaultConfig()
	cfg.MasterKey, cfg.Log = master, log
	k, err := kms.New(cfg, kv)
	clear(master)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = k.CheckMasterKey(cctx)
	switch {
	case errors.Is(err, kms.ErrMasterKeyMismatch):
		return nil, fmt.Errorf("%w (key from %s): give this node the cluster's master key with --kms-master-key-file or %s", err, source, kms.MasterKeyEnv)
	case err != nil:
		log.WithError(err).Warn("kms: could not check the master key against the cluster's yet; it is checked again before the first key is written")
	default:
		log.WithFields(logrus.Fields{"master_key_id": k.MasterKeyID(), "source": source}).Info("kms: master key matches the cluster's")
	}
	return k, nil
}
