package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/kms"
	"github.com/sirupsen/logrus"
)

// masterKey picks the KMS master key: --kms-master-key-file, else
// $FILESPHERE_KMS_MASTER_KEY, else the key file in the data folder (made on
// a standalone node's first start). Every node of a cluster needs the same
// key: a node joining without one is refused here, and one with another
// key fails CheckMasterKey.
func masterKey(file, dataDir string, joining bool, log *logrus.Entry) ([]byte, error) {
	if file != "" {
		return kms.LoadMasterKeyFile(file)
	}
	if v := os.Getenv(kms.MasterKeyEnv); v != "" {
		k, err := kms.ParseMasterKey([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", kms.MasterKeyEnv, err)
		}
		return k, nil
	}
	path := filepath.Join(dataDir, kms.MasterKeyFileName)
	if joining {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("a node joining a cluster needs the cluster's KMS master key: copy %s from a member into %s, "+
				"or pass --kms-master-key-file or $%s", kms.MasterKeyFileName, dataDir, kms.MasterKeyEnv)
		}
	}
	k, path, created, err := kms.LoadOrCreateMasterKey(dataDir)
	if err != nil {
		return nil, err
	}
	verb := "using"
	if created {
		verb = "generated"
	}
	log.WithField("path", path).Warnf("KMS master key: %s the key file in the data folder: it sits next to the data it protects; "+
		"move it to a secret store and pass --kms-master-key-file or $%s", verb, kms.MasterKeyEnv)
	return k, nil
}

// openKMS builds the node's built-in KMS over kv, checking the master key
// against the cluster's: a node with another key would fail every
// encrypted read and sealed secret, so it does not start. The one KMS
// seals IAM secrets and makes the engine's data keys.
func openKMS(ctx context.Context, kv meta.KV, key []byte, log *logrus.Entry) (*kms.KMS, error) {
	kcfg := kms.DefaultConfig()
	kcfg.MasterKey, kcfg.Log = key, log
	keys, err := kms.New(kcfg, kv)
	if err != nil {
		return nil, err
	}
	if err := keys.CheckMasterKey(ctx); err != nil {
		if errors.Is(err, kms.ErrMasterKeyMismatch) {
			return nil, fmt.Errorf("%w; every node needs the same key (copy %s from a member, or set --kms-master-key-file or $%s)",
				err, kms.MasterKeyFileName, kms.MasterKeyEnv)
		}
		return nil, fmt.Errorf("checking the KMS master key: %w", err)
	}
	return keys, nil
}

// openAccess builds the IAM service over kv with the root credentials,
// its secrets sealed by keys.
func openAccess(ctx context.Context, kv meta.KV, keys *kms.KMS, root rootCredentials, log *logrus.Entry) (*iam.Service, error) {
	icfg := iam.DefaultConfig()
	icfg.Root = iam.RootCredentials{AccessKeyID: root.AccessKey, SecretAccessKey: root.SecretKey}
	icfg.Log = log
	return iam.New(ctx, icfg, kv, keys)
}
