package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/erasure"
	"github.com/filesphere/filesphere/storage"
)

// reconfigure replaces the engine with one over the same metadata and
// drives whose configuration mutate changed (a restart with new flags).
func (te *testEngine) reconfigure(t *testing.T, mutate func(*storage.EngineConfig)) {
	t.Helper()
	cfg := te.cfg
	mutate(&cfg)
	e, err := storage.NewEngine(cfg, te.kv, te.set, storage.FixedPlacement(te.rg))
	if err != nil {
		t.Fatal(err)
	}
	te.Engine.Close()
	te.Engine, te.cfg = e, cfg
}

func useBitrot(b erasure.Bitrot) func(*storage.EngineConfig) {
	return func(c *storage.EngineConfig) { c.Bitrot = b }
}

// partsDocs returns the stored parts records (where each version's bytes
// are) as generic JSON, with their keys.
func partsDocs(t *testing.T, kv meta.KV) map[string]map[string]any {
	t.Helper()
	ents, err := kv.List(context.Background(), meta.PrefixStorage+"d/", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, e := range ents {
		var doc map[string]any
		if err := json.Unmarshal(storage.LegacyRecord(t, e.Key, e.Value), &doc); err != nil {
			t.Fatalf("%s: %v", e.Key, err)
		}
		out[e.Key] = doc
	}
	return out
}

// ecOf returns the "ec" object of every part of a parts record.
func ecOf(doc map[string]any) []map[string]any {
	var out []map[string]any
	for _, p := range doc["parts"].([]any) {
		out = append(out, p.(map[string]any)["ec"].(map[string]any))
	}
	return out
}

func otherBitrot(b erasure.Bitrot) erasure.Bitrot {
	if b == erasure.BitrotSHA256 {
		return erasure.BitrotHighwayHash
	}
	return erasure.BitrotSHA256
}

// verifyShardFile checks a whole shard file with alg's frame hash.
func verifyShardFile(t *testing.T, path string, alg erasure.Bitrot, k, m, block int, size int64) error {
	t.Helper()
	c, err := erasure.New(k, m, erasure.WithBlockSize(block), erasure.WithBitrot(alg))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return c.VerifyShard(context.Background(), bytes.NewReader(b), size)
}

func TestEngineConfigBitrot(t *testing.T) {
	cfg := storage.DefaultEngineConfig()
	if cfg.Bitrot != erasure.BitrotHighwayHash {
		t.Fatalf("default bitrot %q", cfg.Bitrot)
	}
	for _, b := range []erasure.Bitrot{"", "md5"} {
		cfg.Bitrot = b
		if err := cfg.Validate(); err == nil {
			t.Errorf("Validate accepted bitrot %q", b)
		}
	}
}

// TestEngineRecordsBitrot: each new stream records the configured frame
// hash, and its shard files are framed with exactly that hash.
func TestEngineRecordsBitrot(t *testing.T) {
	const block = 16 << 10
	ctx := context.Background()
	for _, alg := range []erasure.Bitrot{erasure.BitrotSHA256, erasure.BitrotHighwayHash} {
		t.Run(string(alg), func(t *testing.T) {
			fe := newFaultyEngine(t, 2, 2, block)
			fe.reconfigure(t, useBitrot(alg))
			if err := fe.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
				t.Fatal(err)
			}
			data := randBytes(9, 3*block+11)
			shards := fe.putObject(t, "obj", data)
			docs := partsDocs(t, fe.kv)
			if len(docs) != 1 {
				t.Fatalf("%d parts records, want 1", len(docs))
			}
			for key, doc := range docs {
				if ec := ecOf(doc); len(ec) != 1 || ec[0]["bitrot"] != string(alg) {
					t.Fatalf("%s: ec %v, want bitrot %q", key, ec, alg)
				}
			}
			for i, sh := range shards {
				if err := verifyShardFile(t, sh.path, alg, 2, 2, block, int64(len(data))); err != nil {
					t.Errorf("shard %d with %s: %v", i, alg, err)
				}
				if err := verifyShardFile(t, sh.path, otherBitrot(alg), 2, 2, block, int64(len(data))); !errors.Is(err, erasure.ErrCorruptBlock) {
					t.Errorf("shard %d with %s: %v, want ErrCorruptBlock", i, otherBitrot(alg), err)
				}
			}
			if got, err := readAll(t, fe, "bkt", "obj", storage.GetOptions{}); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("GET: err=%v identical=%v", err, bytes.Equal(got, data))
			}
		})
	}
}

// TestEngineReadsRecordsWithoutBitrot: a record written before the field
// existed (SHA-256 frames, no "bitrot" key) reads and heals with SHA-256
// on an engine whose new writes use HighwayHash, and the heal leaves its
// shards SHA-256 framed, byte-identical to what was written.
func TestEngineReadsRecordsWithoutBitrot(t *testing.T) {
	const block = 16 << 10
	ctx := context.Background()
	fe := newFaultyEngine(t, 2, 2, block)
	fe.reconfigure(t, useBitrot(erasure.BitrotSHA256))
	if err := fe.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(10, 4*block+3)
	shards := fe.putObject(t, "old", data)
	orig := map[int][]byte{}
	for i, sh := range shards {
		b, err := os.ReadFile(sh.path)
		if err != nil {
			t.Fatal(err)
		}
		orig[i] = b
	}
	// Make the record an old one: drop the field.
	for key, doc := range partsDocs(t, fe.kv) {
		for _, ec := range ecOf(doc) {
			delete(ec, "bitrot")
		}
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "bitrot") {
			t.Fatalf("record still names its hash: %s", b)
		}
		if _, err := fe.kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(key, b)}}); err != nil {
			t.Fatal(err)
		}
	}
	fe.reconfigure(t, useBitrot(erasure.BitrotHighwayHash))

	if got, err := readAll(t, fe, "bkt", "old", storage.GetOptions{}); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GET of an old record: err=%v identical=%v", err, bytes.Equal(got, data))
	}
	codec, err := erasure.New(2, 2, erasure.WithBlockSize(block))
	if err != nil {
		t.Fatal(err)
	}
	flipFileByte(t, shards[0].path, codec.ShardOffset(1)+erasure.HashSize+3)
	if err := os.Remove(shards[3].path); err != nil {
		t.Fatal(err)
	}
	rep, err := fe.Heal(ctx, storage.HealOptions{Deep: true})
	if err != nil || rep.Healed != 1 || rep.ShardsHealed != 2 {
		t.Fatalf("deep heal: %+v %v, want the stream healed (2 shards)", rep, err)
	}
	for i, sh := range shards {
		b, err := os.ReadFile(sh.path)
		if err != nil || !bytes.Equal(b, orig[i]) {
			t.Fatalf("shard %d not restored byte-identical with SHA-256 frames (err %v)", i, err)
		}
	}
	for key, doc := range partsDocs(t, fe.kv) {
		if ec := ecOf(doc); ec[0]["bitrot"] != nil {
			t.Fatalf("%s: heal rewrote the record's hash: %v", key, ec)
		}
	}
	if got, err := readAll(t, fe, "bkt", "old", storage.GetOptions{}); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GET after heal: err=%v identical=%v", err, bytes.Equal(got, data))
	}

	// New writes on the same engine use the configured hash, beside the old.
	newer := fe.putObject(t, "new", data)
	if err := verifyShardFile(t, newer[0].path, erasure.BitrotHighwayHash, 2, 2, block, int64(len(data))); err != nil {
		t.Fatalf("new write not HighwayHash framed: %v", err)
	}
}

// TestEngineHealKeepsBitrot: after the configured hash changes, a heal
// rebuilds an older stream's lost and rotten shards with the stream's own
// hash, byte-identical to what was written.
func TestEngineHealKeepsBitrot(t *testing.T) {
	const block = 16 << 10
	ctx := context.Background()
	for _, alg := range []erasure.Bitrot{erasure.BitrotSHA256, erasure.BitrotHighwayHash} {
		t.Run(string(alg), func(t *testing.T) {
			fe := newFaultyEngine(t, 4, 2, block)
			fe.reconfigure(t, useBitrot(alg))
			if err := fe.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
				t.Fatal(err)
			}
			data := randBytes(11, 9*block+5)
			shards := fe.putObject(t, "obj", data)
			orig := map[int][]byte{}
			for i, sh := range shards {
				b, err := os.ReadFile(sh.path)
				if err != nil {
					t.Fatal(err)
				}
				orig[i] = b
			}
			fe.reconfigure(t, useBitrot(otherBitrot(alg)))
			codec, err := erasure.New(4, 2, erasure.WithBlockSize(block))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(shards[1].path); err != nil {
				t.Fatal(err)
			}
			flipFileByte(t, shards[4].path, codec.ShardOffset(2)+erasure.HashSize+1)
			rep, err := fe.Heal(ctx, storage.HealOptions{Deep: true})
			if err != nil || rep.Healed != 1 || rep.ShardsHealed != 2 {
				t.Fatalf("deep heal: %+v %v", rep, err)
			}
			for i, sh := range shards {
				b, err := os.ReadFile(sh.path)
				if err != nil || !bytes.Equal(b, orig[i]) {
					t.Fatalf("shard %d not rebuilt byte-identical with %s (err %v)", i, alg, err)
				}
			}
			if got, err := readAll(t, fe, "bkt", "obj", storage.GetOptions{}); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("GET after heal: err=%v identical=%v", err, bytes.Equal(got, data))
			}
		})
	}
}
