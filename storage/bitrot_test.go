package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/erasure"
	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/drive"
)

// faultyEngine is a testEngine whose Local drives sit behind drive.Faulty,
// with the shard files of one object located by shard index.
type faultyEngine struct {
	*testEngine
	faulty []*drive.Faulty // by drive index (drive "d<i>", root roots[i])
}

func newFaultyEngine(t *testing.T, k, m, block int) *faultyEngine {
	fe := &faultyEngine{}
	fe.testEngine = newTestEngineWrapped(t, k, m, block, 0, func(d drive.ShardStore) drive.ShardStore {
		f := drive.NewFaulty(d)
		fe.faulty = append(fe.faulty, f)
		return f
	})
	return fe
}

// objectShard is one shard file of an object on disk.
type objectShard struct {
	path  string
	drive int // index into roots and faulty
}

// putObject stores data under key and returns its shard files by shard
// index (the files that appeared with the upload).
func (fe *faultyEngine) putObject(t *testing.T, key string, data []byte) map[int]objectShard {
	t.Helper()
	before := map[string]bool{}
	for i := range fe.roots {
		for _, p := range fe.shardFiles(t, i) {
			before[p] = true
		}
	}
	ctx := context.Background()
	if _, err := fe.PutObject(ctx, "bkt", key, bytes.NewReader(data), storage.PutOptions{Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	shards := map[int]objectShard{}
	for d := range fe.roots {
		for _, p := range fe.shardFiles(t, d) {
			if before[p] {
				continue
			}
			// <drive>/data/<fan>/<xx>+<data id>+<index>
			base := filepath.Base(p)
			i, err := strconv.Atoi(base[strings.LastIndexByte(base, '+')+1:])
			if err != nil {
				t.Fatalf("shard file %s", p)
			}
			shards[i] = objectShard{path: p, drive: d}
		}
	}
	if len(shards) != len(fe.roots) {
		t.Fatalf("%s: %d shard files, want %d", key, len(shards), len(fe.roots))
	}
	return shards
}

func flipFileByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (fe *faultyEngine) opens() []int {
	out := make([]int, len(fe.faulty))
	for i, f := range fe.faulty {
		out[i] = f.Calls(drive.OpOpen)
	}
	return out
}

// TestEngineHealsBitrotSpreadOverBlocks: m+1 and k+m shards of an object
// each have a flipped byte in a block of their own, so every block keeps
// k+m-1 good chunks. The object reads back identical; a deep heal reports
// it healed (not lost) at redundancy k+m-1, restores every shard file
// byte-identical, and afterwards the object is healthy at full redundancy
// and a GET opens only the k data shards: no reconstruction needed.
func TestEngineHealsBitrotSpreadOverBlocks(t *testing.T) {
	const block = 16 << 10
	ctx := context.Background()
	for _, g := range [][2]int{{2, 1}, {2, 2}, {4, 2}, {8, 4}} {
		k, m := g[0], g[1]
		n := k + m
		for _, bad := range []int{m + 1, n} {
			t.Run(fmt.Sprintf("%d+%d/bad=%d", k, m, bad), func(t *testing.T) {
				fe := newFaultyEngine(t, k, m, block)
				if err := fe.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
					t.Fatal(err)
				}
				data := randBytes(uint64(n*100+bad), (n+1)*block+77)
				shards := fe.putObject(t, "obj", data)
				orig := map[int][]byte{}
				for i, sh := range shards {
					b, err := os.ReadFile(sh.path)
					if err != nil {
						t.Fatal(err)
					}
					orig[i] = b
				}
				codec, err := erasure.New(k, m, erasure.WithBlockSize(block))
				if err != nil {
					t.Fatal(err)
				}
				// Shard i (counted from the last, so parity is always hit)
				// is damaged in block i.
				for j := range bad {
					i := n - 1 - j
					flipFileByte(t, shards[i].path, codec.ShardOffset(int64(j))+erasure.HashSize+int64(5+j))
				}

				got, err := readAll(t, fe, "bkt", "obj", storage.GetOptions{})
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("GET with %d shards each bad in its own block: err=%v identical=%v", bad, err, bytes.Equal(got, data))
				}

				rep, err := fe.Heal(ctx, storage.HealOptions{Deep: true})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Streams != 1 || rep.Healed != 1 || rep.Failed != 0 || rep.Lost != 0 || rep.ShardsHealed != bad || rep.Redundancy[n-1] != 1 {
					t.Fatalf("deep heal: %+v, want the stream healed (%d shards) at redundancy %d", rep, bad, n-1)
				}
				for i, sh := range shards {
					b, err := os.ReadFile(sh.path)
					if err != nil || !bytes.Equal(b, orig[i]) {
						t.Fatalf("shard %d not restored byte-identical (err %v)", i, err)
					}
				}
				rep, err = fe.Heal(ctx, storage.HealOptions{Deep: true})
				if err != nil || rep.Healthy != 1 || rep.Redundancy[n] != 1 {
					t.Fatalf("second deep heal: %+v %v, want healthy at full redundancy", rep, err)
				}

				before := fe.opens()
				got, err = readAll(t, fe, "bkt", "obj", storage.GetOptions{})
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("GET after heal: err=%v identical=%v", err, bytes.Equal(got, data))
				}
				after := fe.opens()
				for i, sh := range shards {
					want := 0
					if i < k {
						want = 1
					}
					if d := after[sh.drive] - before[sh.drive]; d != want {
						t.Errorf("GET after heal opened shard %d %d times, want %d (data shards only)", i, d, want)
					}
				}
			})
		}
	}
}

// TestEngineGetUnreadable: a GET that cannot be served fails before the
// caller gets a reader when the damage shows at the first block (too few
// shards to open), and otherwise ends in ErrReadQuorum (never io.EOF) after
// only the verified bytes, so the protocol layer can cut the connection.
func TestEngineGetUnreadable(t *testing.T) {
	const block = 16 << 10
	ctx := context.Background()
	fe := newFaultyEngine(t, 2, 2, block)
	if err := fe.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	size := 3*block + 5
	codec, err := erasure.New(2, 2, erasure.WithBlockSize(block))
	if err != nil {
		t.Fatal(err)
	}

	gone := fe.putObject(t, "gone", randBytes(1, size))
	for i := range 3 {
		if err := os.Remove(gone[i+1].path); err != nil {
			t.Fatal(err)
		}
	}
	offline := fe.putObject(t, "offline", randBytes(2, size))
	for i := range 3 {
		fe.faulty[offline[i].drive].FailAll(drive.OpOpen, drive.ErrOffline)
	}
	for _, key := range []string{"gone", "offline"} {
		for _, rng := range []*storage.Range{nil, {Start: block + 10, End: 2 * block}} {
			or, err := fe.GetObject(ctx, "bkt", key, storage.GetOptions{Range: rng})
			if or != nil || !errors.Is(err, storage.ErrReadQuorum) {
				t.Fatalf("GET %s range %v with 3 of 4 shards unopenable: reader %v, err %v; want ErrReadQuorum and no reader", key, rng, or != nil, err)
			}
		}
	}
	for _, f := range fe.faulty {
		f.Reset()
	}

	data := randBytes(3, size)
	rotten := fe.putObject(t, "rotten", data)
	for i := range 3 { // block 1 keeps one good chunk of four
		flipFileByte(t, rotten[i].path, codec.ShardOffset(1)+erasure.HashSize+9)
	}
	or, err := fe.GetObject(ctx, "bkt", "rotten", storage.GetOptions{})
	if err != nil {
		t.Fatalf("GET whose first block is sound: %v", err)
	}
	defer or.Close()
	got, err := io.ReadAll(or)
	if !errors.Is(err, storage.ErrReadQuorum) {
		t.Fatalf("reading past an unreadable block: err %v after %d bytes, want ErrReadQuorum", err, len(got))
	}
	if !bytes.Equal(got, data[:block]) {
		t.Fatalf("got %d bytes before the error, want exactly the %d verified ones of block 0", len(got), block)
	}
}
