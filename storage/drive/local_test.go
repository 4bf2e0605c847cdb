package drive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
	"github.com/filesphere/filesphere/storage/drive/drivetest"
)

func TestLocalConformance(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) drive.ShardStore {
		return openLocal(t, "local1", t.TempDir())
	})
}

// newLocal opens a Local on root with a fake clock for probe throttling.
func newLocal(t *testing.T, id, root string) (*drive.Local, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	cfg := localConfig(t, id, root)
	cfg.Now = clk.Now
	l, err := drive.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, clk
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func wantOnline(t *testing.T, s drive.ShardStore, want bool) {
	t.Helper()
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	if info.Online != want {
		t.Fatalf("info.Online = %v, want %v (%+v)", info.Online, want, info)
	}
}

func TestLocalLayout(t *testing.T) {
	root := t.TempDir()
	l, _ := newLocal(t, "disk-7", root)
	drivetest.Put(t, l, "obj/1.shard", []byte("data"))

	if ff := readFormat(t, root); ff.ID != "disk-7" || ff.Version != 2 {
		t.Fatalf("format.json = %+v", ff)
	}
	fans, _ := filepath.Glob(filepath.Join(root, "data", "[0-9a-f][0-9a-f]"))
	if len(fans) != 1 { // made on first use, not at format time
		t.Fatalf("%d fan-out directories after one shard; want 1", len(fans))
	}
	files, _ := filepath.Glob(filepath.Join(root, "data", "*", "obj+1.shard"))
	if len(files) != 1 {
		t.Fatalf("shard files %v", files)
	}
	if got, err := os.ReadFile(files[0]); err != nil || string(got) != "data" {
		t.Fatalf("shard file = %q, %v", got, err)
	}
	if fi, err := os.Stat(filepath.Join(root, ".filesphere", "tmp")); err != nil || !fi.IsDir() {
		t.Fatalf("tmp dir: %v", err)
	}
	if err := l.Delete(context.Background(), "obj/1.shard"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(files[0]); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("deleted shard still there: %v", err)
	}
	if fi, err := os.Stat(filepath.Dir(files[0])); err != nil || !fi.IsDir() {
		t.Fatalf("fan-out directory removed: %v", err)
	}
}

type formatJSON struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

func readFormat(t *testing.T, root string) formatJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".filesphere", "format.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ff formatJSON
	if err := json.Unmarshal(b, &ff); err != nil {
		t.Fatalf("format.json = %s: %v", b, err)
	}
	return ff
}

// A drive written by the format 1 code (one path per id under shards/) is
// migrated on open: every shard readable under its id, walkable, and in the
// fan-out layout; files that are not shards are left alone. A migration cut
// short by a crash (some shards already moved, format.json still 1) is
// finished by the next open.
func TestLocalMigratesFormat1(t *testing.T) {
	long := strings.Repeat("L", 150) + "/" + strings.Repeat("M", 150) + "/" + strings.Repeat("N", 150)
	shards := map[string]string{
		"ab/ab0f3c2e-1111-4c1e-9a51-7d3bd84a5e01/0": "zero",
		"ab/ab0f3c2e-1111-4c1e-9a51-7d3bd84a5e01/1": "one",
		"top.level": "top",
		long:        "long",
	}
	for _, crashed := range []bool{false, true} {
		t.Run(fmt.Sprintf("crashed=%v", crashed), func(t *testing.T) {
			root := t.TempDir()
			writeFileAll(t, filepath.Join(root, ".filesphere", "format.json"), `{"id":"old","version":1}`)
			for id, data := range shards {
				writeFileAll(t, filepath.Join(root, "shards", filepath.FromSlash(id)), data)
			}
			writeFileAll(t, filepath.Join(root, "shards", "not a shard"), "keep")
			want := shards
			if crashed {
				// One shard already moved by an interrupted migration (its
				// fan-out directory learnt from a scratch drive).
				l, _ := newLocal(t, "scratch", t.TempDir())
				drivetest.Put(t, l, "moved/7", []byte("moved"))
				moved, _ := filepath.Glob(filepath.Join(l.Root(), "data", "*", "moved+7"))
				writeFileAll(t, filepath.Join(root, "data", filepath.Base(filepath.Dir(moved[0])), "moved+7"), "moved")
				want = maps.Clone(shards)
				want["moved/7"] = "moved"
			}
			checkMigrated(t, root, want)
		})
	}
}

func checkMigrated(t *testing.T, root string, shards map[string]string) {
	t.Helper()
	for range 2 { // the second open finds format 2 and moves nothing
		l, _ := newLocal(t, "old", root)
		for id, data := range shards {
			if got := drivetest.Get(t, l, id, 0, -1); string(got) != data {
				t.Fatalf("%s = %q, want %q", id, got, data)
			}
		}
		var walked []string
		if err := l.Walk(context.Background(), "", func(si drive.ShardInfo) error {
			walked = append(walked, si.ID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(walked) != len(shards) {
			t.Fatalf("walk = %v; want %d shards", walked, len(shards))
		}
		if ff := readFormat(t, root); ff.Version != 2 || ff.ID != "old" {
			t.Fatalf("format.json after migration = %+v", ff)
		}
		if _, err := os.Stat(filepath.Join(root, "shards", "ab")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("old directories left: %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(root, "shards", "not a shard")); err != nil || string(b) != "keep" {
			t.Fatalf("non-shard file: %q, %v", b, err)
		}
	}
}

func TestLocalRemovesLeftoverTempFiles(t *testing.T) {
	root := t.TempDir()
	l, _ := newLocal(t, "d", root)
	// A write in flight when the process dies.
	w, err := l.Create(context.Background(), "crash/1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("x"), 4096)); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(root, ".filesphere", "tmp")
	if err := os.MkdirAll(filepath.Join(tmp, "stray-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 2 {
		t.Fatalf("tmp holds %d entries before restart, want 2", len(entries))
	}

	l2, _ := newLocal(t, "d", root) // the restart
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("leftovers not removed: %v", entries)
	}
	_, err = l2.Stat(context.Background(), "crash/1")
	wantErr(t, "uncommitted shard after restart", err, drive.ErrShardNotFound)
	drivetest.Put(t, l2, "after", []byte("ok"))
}

func TestLocalEmptiedFolderComesBack(t *testing.T) {
	for _, how := range []string{"emptied", "replaced"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			root := t.TempDir()
			l, _ := newLocal(t, "d1", root)
			drivetest.Put(t, l, "a/b", []byte("lost"))

			switch how {
			case "emptied":
				entries, _ := os.ReadDir(root)
				for _, e := range entries {
					if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
						t.Fatal(err)
					}
				}
			case "replaced":
				if err := os.RemoveAll(root); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(root, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// The next operation notices the layout is gone: offline, not
			// "not found", so the caller does not conclude the shard was
			// deleted on purpose.
			_, err := l.Stat(ctx, "a/b")
			wantErr(t, "stat after wipe", err, drive.ErrOffline)
			// The very next call re-creates the layout without waiting for
			// the probe interval: an emptied folder is an empty drive.
			wantOnline(t, l, true)
			_, err = l.Stat(ctx, "a/b")
			wantErr(t, "stat after comeback", err, drive.ErrShardNotFound)
			drivetest.Put(t, l, "a/b", []byte("new"))
			if got := drivetest.Get(t, l, "a/b", 0, -1); string(got) != "new" {
				t.Fatalf("got %q", got)
			}
			b, _ := os.ReadFile(filepath.Join(root, ".filesphere", "format.json"))
			if !strings.Contains(string(b), `"d1"`) {
				t.Fatalf("format.json = %s", b)
			}
		})
	}
}

func TestLocalMissingRootIsCreated(t *testing.T) {
	root := filepath.Join(t.TempDir(), "not", "yet")
	l, _ := newLocal(t, "d", root)
	wantOnline(t, l, true)
	drivetest.Put(t, l, "x", []byte("x"))
}

// TestLocalUnusableRoot: tests run as root, where chmod 000 does not deny
// anything, so an unusable folder is a regular file where the folder (or a
// parent of it) should be.
func TestLocalUnusableRoot(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, root string)
		fix     func(t *testing.T, root string)
	}{
		{
			name: "file instead of root",
			breakIt: func(t *testing.T, root string) {
				mkdir(t, filepath.Dir(root))
				writeFile(t, root, "not a dir")
			},
			fix: func(t *testing.T, root string) { removeAll(t, root) },
		},
		{
			name:    "file instead of parent",
			breakIt: func(t *testing.T, root string) { writeFile(t, filepath.Dir(root), "not a dir") },
			fix:     func(t *testing.T, root string) { removeAll(t, filepath.Dir(root)) },
		},
		{
			name: "format of another drive",
			breakIt: func(t *testing.T, root string) {
				mkdir(t, filepath.Join(root, ".filesphere"))
				writeFile(t, filepath.Join(root, ".filesphere", "format.json"), `{"id":"other","version":1}`)
			},
			fix: func(t *testing.T, root string) { removeAll(t, filepath.Join(root, ".filesphere")) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			root := filepath.Join(t.TempDir(), "parent", "drive")
			mkdir(t, filepath.Dir(filepath.Dir(root)))
			tc.breakIt(t, root)

			l, clk := newLocal(t, "d", root)
			wantOnline(t, l, false)
			_, err := l.Create(ctx, "x")
			wantErr(t, "create", err, drive.ErrOffline)
			_, err = l.Open(ctx, "x", 0, -1)
			wantErr(t, "open", err, drive.ErrOffline)
			_, err = l.Stat(ctx, "x")
			wantErr(t, "stat", err, drive.ErrOffline)
			wantErr(t, "delete", l.Delete(ctx, "x"), drive.ErrOffline)
			wantErr(t, "walk", l.Walk(ctx, "", func(drive.ShardInfo) error { return nil }), drive.ErrOffline)

			tc.fix(t, root)
			// Fixed, but not probed again before the interval has passed.
			_, err = l.Stat(ctx, "x")
			wantErr(t, "stat within probe interval", err, drive.ErrOffline)
			clk.Advance(time.Second)
			_, err = l.Stat(ctx, "x")
			wantErr(t, "stat after fix", err, drive.ErrShardNotFound)
			drivetest.Put(t, l, "x", []byte("back"))
			wantOnline(t, l, true)
		})
	}
}

func TestLocalFormatMismatchWrapsSentinel(t *testing.T) {
	root := t.TempDir()
	openLocal(t, "first", root)
	l, _ := newLocal(t, "second", root)
	_, err := l.Stat(context.Background(), "x")
	wantErr(t, "stat", err, drive.ErrOffline)
	wantErr(t, "stat", err, drive.ErrDriveMismatch)
}

func TestLocalRootReplacedByFileWhileOnline(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "drive")
	l, clk := newLocal(t, "d", root)
	drivetest.Put(t, l, "s/1", []byte("1"))
	w, err := l.Create(ctx, "s/2")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("2"))

	removeAll(t, root)
	writeFile(t, root, "pulled")

	wantErr(t, "commit", w.Commit(), drive.ErrOffline)
	_, err = l.Open(ctx, "s/1", 0, -1)
	wantErr(t, "open", err, drive.ErrOffline)
	wantOnline(t, l, false)

	removeAll(t, root)
	clk.Advance(time.Second)
	drivetest.Put(t, l, "s/3", []byte("3"))
}

// TestLocalPathEscape: no id, however spelled, touches anything outside the
// drive folder.
func TestLocalPathEscape(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	root := filepath.Join(base, "drive")
	outside := filepath.Join(base, "secret")
	writeFile(t, outside, "keep")
	l, _ := newLocal(t, "d", root)

	ids := append([]string{"../secret", "../../secret", "shards/../../secret", "..\\secret", "%2e%2e/secret"}, drivetest.InvalidIDs...)
	for _, id := range ids {
		if w, err := l.Create(ctx, id); err == nil {
			w.Write([]byte("pwned"))
			if err := w.Commit(); err == nil {
				t.Errorf("Create(%q) committed", id)
			}
		}
		l.Delete(ctx, id)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "keep" {
		t.Fatalf("outside file changed: %q, %v", b, err)
	}
	// Everything created lives under root.
	filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if p != base && p != outside && !strings.HasPrefix(p, root) {
			t.Errorf("created outside the drive: %s", p)
		}
		return nil
	})
}

func writeFileAll(t *testing.T, p, s string) {
	t.Helper()
	mkdir(t, filepath.Dir(p))
	writeFile(t, p, s)
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func removeAll(t *testing.T, p string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkLocalCreate(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			l := openLocal(b, "bench", b.TempDir())
			data := bytes.Repeat([]byte{0xa5}, size)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				w, err := l.Create(ctx, "obj/"+strconv.Itoa(i%64)+"/part")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.Write(data); err != nil {
					b.Fatal(err)
				}
				if err := w.Commit(); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkLocalOpen(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			l := openLocal(b, "bench", b.TempDir())
			drivetest.Put(b, l, "obj/part", bytes.Repeat([]byte{0x5a}, size))
			buf := make([]byte, 256<<10)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				r, err := l.Open(ctx, "obj/part", 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					m, err := r.Read(buf)
					n += m
					if err != nil {
						break
					}
				}
				r.Close()
				if n != size {
					b.Fatalf("read %d bytes", n)
				}
			}
		})
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	return strconv.Itoa(n>>10) + "KiB"
}

func TestLocalConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*drive.LocalConfig)
		ok     bool
	}{
		{"default", func(*drive.LocalConfig) {}, true},
		{"no probe throttling", func(c *drive.LocalConfig) { c.ProbeInterval = 0 }, true},
		{"empty id", func(c *drive.LocalConfig) { c.ID = "" }, false},
		{"empty root", func(c *drive.LocalConfig) { c.Root = "" }, false},
		{"negative interval", func(c *drive.LocalConfig) { c.ProbeInterval = -1 }, false},
		{"nil clock", func(c *drive.LocalConfig) { c.Now = nil }, false},
		{"nil logger", func(c *drive.LocalConfig) { c.Logger = nil }, false},
	}
	for _, tc := range tests {
		cfg := localConfig(t, "d", t.TempDir())
		tc.modify(&cfg)
		if err := cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
		if _, err := drive.NewLocal(cfg); (err == nil) != tc.ok {
			t.Errorf("%s: NewLocal() = %v", tc.name, err)
		}
	}
}
