package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/drive"
)

// flakyKV commits a transaction but then reports that its outcome is
// unknown, as the Raft KV does when leadership changes mid-commit; or, with
// dropNext, reports it without committing.
type flakyKV struct {
	meta.KV
	commitThenUnknown atomic.Int32
	dropThenUnknown   atomic.Int32
}

func (k *flakyKV) Txn(ctx context.Context, t meta.Txn) (uint64, error) {
	if k.dropThenUnknown.Add(-1) >= 0 {
		return 0, fmt.Errorf("%w: dropped", meta.ErrOutcomeUnknown)
	}
	rev, err := k.KV.Txn(ctx, t)
	if err == nil && k.commitThenUnknown.Add(-1) >= 0 {
		return 0, fmt.Errorf("%w: leadership lost", meta.ErrOutcomeUnknown)
	}
	return rev, err
}

// TestCommitOutcomeUnknown: a PUT whose commit outcome is unknown must find
// out by reading: a committed version is acknowledged and its shards kept;
// an uncommitted one is retried. Never a version pointing at deleted shards.
func TestCommitOutcomeUnknown(t *testing.T) {
	for _, tc := range []struct {
		name            string
		committed, drop int32
	}{{"committed", 1, 0}, {"not committed", 0, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			local, err := meta.OpenLocal(filepath.Join(dir, "meta.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer local.Close()
			kv := &flakyKV{KV: local}
			set := drive.Set{}
			var ms []ring.Member
			for i := range 3 {
				id := fmt.Sprintf("d%d", i)
				set[id] = drive.NewMemory(id)
				ms = append(ms, ring.Member{DriveID: id, NodeID: id})
			}
			rg, _ := ring.New(1, ms)
			cfg := storage.DefaultEngineConfig()
			cfg.DataShards, cfg.ParityShards, cfg.InlineThreshold, cfg.DeleteGrace = 2, 1, 0, 0
			e, err := storage.NewEngine(cfg, kv, set, storage.FixedPlacement(rg))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			e.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{})
			data := randBytes(3, 50<<10)
			kv.commitThenUnknown.Store(tc.committed)
			kv.dropThenUnknown.Store(tc.drop)
			if _, err := e.PutObject(ctx, "bkt", "k", bytes.NewReader(data), storage.PutOptions{Size: int64(len(data))}); err != nil {
				t.Fatalf("put: %v", err)
			}
			e.Close() // let any background deletion run
			got, err := readAll(t, e, "bkt", "k", storage.GetOptions{})
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read after an unknown outcome: %d bytes, %v", len(got), err)
			}
			res, _ := e.ListObjectVersions(ctx, "bkt", storage.ListVersionsOptions{MaxKeys: 10})
			if len(res.Versions) != 1 {
				t.Fatalf("%d versions, want exactly 1", len(res.Versions))
			}
		})
	}
}
