package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/drive"
	"github.com/sirupsen/logrus"
)

// testEngine is an Engine over real drive folders in a temp dir.
type testEngine struct {
	*storage.Engine
	roots []string
	kv    *meta.Local
	cfg   storage.EngineConfig
	set   drive.Set
	rg    *ring.Ring
}

func newTestEngine(t testing.TB, k, m, block int) *testEngine {
	return newTestEngineInline(t, k, m, block, 0)
}

// setInline rebuilds the engine over the same stores with another inline
// threshold.
func (te *testEngine) setInline(n int64) {
	cfg := te.cfg
	cfg.InlineThreshold = n
	e, err := storage.NewEngine(cfg, te.kv, te.set, storage.FixedPlacement(te.rg))
	if err != nil {
		panic(err)
	}
	te.Engine = e
}

func newTestEngineInline(t testing.TB, k, m, block int, inline int64) *testEngine {
	t.Helper()
	return newTestEngineWrapped(t, k, m, block, inline, nil)
}

// newTestEngineWrapped is newTestEngineInline with each Local drive wrapped
// by wrap (nil: used as is), e.g. in a drive.Faulty.
func newTestEngineWrapped(t testing.TB, k, m, block int, inline int64, wrap func(drive.ShardStore) drive.ShardStore) *testEngine {
	t.Helper()
	dir := t.TempDir()
	kv, err := meta.OpenLocal(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	set := drive.Set{}
	var members []ring.Member
	var roots []string
	for i := range k + m {
		id := "d" + strconv.Itoa(i)
		root := filepath.Join(dir, id)
		lcfg := drive.DefaultLocalConfig()
		lcfg.ID, lcfg.Root, lcfg.Logger = id, root, testLog(t)
		d, err := drive.NewLocal(lcfg)
		if err != nil {
			t.Fatal(err)
		}
		set[id] = d
		if wrap != nil {
			set[id] = wrap(d)
		}
		roots = append(roots, root)
		members = append(members, ring.Member{DriveID: id, NodeID: "n"})
	}
	rg, err := ring.New(1, members)
	if err != nil {
		t.Fatal(err)
	}
	cfg := storage.DefaultEngineConfig()
	cfg.DataShards, cfg.ParityShards, cfg.BlockSize, cfg.InlineThreshold = k, m, block, inline
	cfg.DeleteGrace = 0
	cfg.CacheBytes = 0 // tests of drive damage must read the drives
	e, err := storage.NewEngine(cfg, kv, set, storage.FixedPlacement(rg))
	if err != nil {
		t.Fatal(err)
	}
	te := &testEngine{Engine: e, roots: roots, kv: kv, cfg: cfg, set: set, rg: rg}
	t.Cleanup(func() { te.Engine.Close(); kv.Close() })
	return te
}

// testLog routes log lines to tb.Log until the test ends; lines from work
// still running after that are dropped.
func testLog(tb testing.TB) *logrus.Entry {
	w := &tbWriter{tb: tb}
	tb.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	l := logrus.New()
	l.SetOutput(w)
	l.SetLevel(logrus.DebugLevel)
	return logrus.NewEntry(l)
}

type tbWriter struct {
	tb   testing.TB
	mu   sync.Mutex
	done bool
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.tb.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// shardFiles lists the shard files on drive i.
func (te *testEngine) shardFiles(t testing.TB, i int) []string {
	var out []string
	_ = filepath.WalkDir(filepath.Join(te.roots[i], "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// damage applies one failure mode to drive i.
type damage func(t testing.TB, te *testEngine, i int)

func forEachShard(t testing.TB, te *testEngine, i int, fn func(p string)) {
	for _, p := range te.shardFiles(t, i) {
		fn(p)
	}
}

var damages = map[string]damage{
	"offline": func(t testing.TB, te *testEngine, i int) {
		// The folder is gone and a file sits in its place: unusable.
		if err := os.Rename(te.roots[i], te.roots[i]+".gone"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(te.roots[i], []byte("not a drive"), 0o644); err != nil {
			t.Fatal(err)
		}
	},
	"deleted": func(t testing.TB, te *testEngine, i int) {
		forEachShard(t, te, i, func(p string) { os.Remove(p) })
	},
	"truncated": func(t testing.TB, te *testEngine, i int) {
		forEachShard(t, te, i, func(p string) {
			fi, _ := os.Stat(p)
			os.Truncate(p, fi.Size()/2)
		})
	},
	"bitflip": func(t testing.TB, te *testEngine, i int) {
		forEachShard(t, te, i, func(p string) {
			b, _ := os.ReadFile(p)
			if len(b) > 0 {
				b[len(b)/2] ^= 0x10
				os.WriteFile(p, b, 0o644)
			}
		})
	},
	"emptied": func(t testing.TB, te *testEngine, i int) {
		entries, _ := os.ReadDir(te.roots[i])
		for _, e := range entries {
			os.RemoveAll(filepath.Join(te.roots[i], e.Name()))
		}
	},
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func readAll(t testing.TB, e storage.Backend, bucket, key string, opts storage.GetOptions) ([]byte, error) {
	t.Helper()
	or, err := e.GetObject(context.Background(), bucket, key, opts)
	if err != nil {
		return nil, err
	}
	defer or.Close()
	return io.ReadAll(or)
}

// TestEngineGeometryFailureSize is the engine's main table: every geometry
// × failure mode (on up to m drives) × size reads back byte-identical, and
// one failure too many gives a quorum error, never wrong bytes.
func TestEngineGeometryFailureSize(t *testing.T) {
	const block = 64 << 10
	geometries := [][2]int{{2, 1}, {2, 2}, {4, 2}, {8, 4}}
	sizes := []int{0, 1, block - 1, block, block + 1, 3*block + 7}
	ctx := context.Background()
	for _, g := range geometries {
		k, m := g[0], g[1]
		for name, dmg := range damages {
			t.Run(fmt.Sprintf("%d+%d/%s", k, m, name), func(t *testing.T) {
				te := newTestEngine(t, k, m, block)
				if err := te.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
					t.Fatal(err)
				}
				want := map[string][]byte{}
				for _, n := range sizes {
					key := "obj-" + strconv.Itoa(n)
					want[key] = randBytes(uint64(n), n)
					if _, err := te.PutObject(ctx, "bkt", key, bytes.NewReader(want[key]), storage.PutOptions{Size: int64(n)}); err != nil {
						t.Fatalf("put %d: %v", n, err)
					}
				}
				for i := range m {
					dmg(t, te, i)
				}
				for key, w := range want {
					got, err := readAll(t, te, "bkt", key, storage.GetOptions{})
					if err != nil {
						t.Fatalf("get %s with %d damaged drives: %v", key, m, err)
					}
					if !bytes.Equal(got, w) {
						t.Fatalf("get %s: %d bytes differ from the %d written", key, len(got), len(w))
					}
				}
				// One more damaged drive is beyond what the code can repair.
				dmg(t, te, m)
				for key, w := range want {
					if len(w) == 0 {
						continue
					}
					got, err := readAll(t, te, "bkt", key, storage.GetOptions{})
					if err == nil {
						t.Fatalf("get %s with %d damaged drives returned %d bytes and no error", key, m+1, len(got))
					}
					if !errors.Is(err, storage.ErrReadQuorum) {
						t.Fatalf("get %s with %d damaged drives: %v, want ErrReadQuorum", key, m+1, err)
					}
				}
			})
		}
	}
}

// TestEngineLargeObjectWithLostDrives writes 100 MiB through EC 2+2 and
// reads it back identical with two drives' shards gone.
func TestEngineLargeObjectWithLostDrives(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MiB")
	}
	ctx := context.Background()
	te := newTestEngine(t, 2, 2, 1<<20)
	te.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{})
	const size = 100 << 20
	src := func() io.Reader { return io.LimitReader(newPatternReader(9), size) }
	if _, err := te.PutObject(ctx, "bkt", "big", src(), storage.PutOptions{Size: size}); err != nil {
		t.Fatal(err)
	}
	damages["deleted"](t, te, 1)
	damages["bitflip"](t, te, 2)
	or, err := te.GetObject(ctx, "bkt", "big", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer or.Close()
	want, got := sha256.New(), sha256.New()
	io.Copy(want, src())
	if n, err := io.Copy(got, or); err != nil || n != size {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	if !bytes.Equal(want.Sum(nil), got.Sum(nil)) {
		t.Fatal("100 MiB object differs after losing two drives' shards")
	}
}

// patternReader yields a deterministic byte stream without holding it.
type patternReader struct{ x uint64 }

func newPatternReader(seed uint64) *patternReader { return &patternReader{x: seed*2654435761 + 1} }

func (p *patternReader) Read(b []byte) (int, error) {
	for i := range b {
		p.x ^= p.x << 13
		p.x ^= p.x >> 7
		p.x ^= p.x << 17
		b[i] = byte(p.x)
	}
	return len(b), nil
}

// TestEngineHealRestoresShards damages m drives, heals, and checks every
// shard file is byte-identical to the original.
func TestEngineHealRestoresShards(t *testing.T) {
	ctx := context.Background()
	for name, dmg := range damages {
		if name == "offline" {
			continue // an offline drive cannot be written; heal reports it
		}
		t.Run(name, func(t *testing.T) {
			te := newTestEngine(t, 2, 2, 16<<10)
			if err := te.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				data := randBytes(uint64(i), 40<<10+i)
				if _, err := te.PutObject(ctx, "bkt", "k"+strconv.Itoa(i), bytes.NewReader(data), storage.PutOptions{Size: int64(len(data))}); err != nil {
					t.Fatal(err)
				}
			}
			before := map[string][32]byte{}
			for i := range te.roots {
				for _, p := range te.shardFiles(t, i) {
					b, _ := os.ReadFile(p)
					before[p] = sha256.Sum256(b)
				}
			}
			dmg(t, te, 0)
			dmg(t, te, 3)
			// The drives' probe interval is one second; heal sees them
			// through the same path a server does.
			rep, err := te.Heal(ctx, storage.HealOptions{Deep: true})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Streams != 5 || rep.Failed != 0 || rep.Healed != 5 {
				t.Fatalf("heal report %+v, want 5 streams all healed", rep)
			}
			for p, sum := range before {
				b, err := os.ReadFile(p)
				if err != nil || sha256.Sum256(b) != sum {
					t.Fatalf("shard %s not restored identical (err %v)", p, err)
				}
			}
			rep, err = te.Heal(ctx, storage.HealOptions{Deep: true})
			if err != nil || rep.Healthy != 5 {
				t.Fatalf("second heal %+v %v, want all healthy", rep, err)
			}
		})
	}
}

// TestEngineRangeReads checks range reads across block and part edges.
func TestEngineRangeReads(t *testing.T) {
	ctx := context.Background()
	te := newTestEngine(t, 4, 2, 16<<10)
	te.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{})
	data := randBytes(7, 100<<10+3)
	te.PutObject(ctx, "bkt", "k", bytes.NewReader(data), storage.PutOptions{Size: int64(len(data))})
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		start := r.Int64N(int64(len(data)))
		end := start + r.Int64N(int64(len(data))-start)
		got, err := readAll(t, te, "bkt", "k", storage.GetOptions{Range: &storage.Range{Start: start, End: end}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data[start:end+1]) {
			t.Fatalf("range %d-%d differs", start, end)
		}
	}
}
