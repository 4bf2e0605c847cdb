package drive_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/filesphere/filesphere/storage/drive"
)

func instanceOf(t *testing.T, d drive.ShardStore) string {
	t.Helper()
	info, err := d.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.Instance
}

// TestLocalInstance: a drive keeps its instance across reopening; emptying
// its folder under the running drive gives a new one at the next Info,
// with no failed operation needed to notice; a folder formatted before
// instances were kept gets one.
func TestLocalInstance(t *testing.T) {
	root := t.TempDir()
	d := openLocal(t, "inst", root)
	first := instanceOf(t, d)
	if len(first) != 32 {
		t.Fatalf("instance %q", first)
	}
	if again := instanceOf(t, openLocal(t, "inst", root)); again != first {
		t.Fatalf("reopened: instance %q, want %q", again, first)
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	emptied := instanceOf(t, d)
	if emptied == "" || emptied == first {
		t.Fatalf("after emptying the folder: instance %q (was %q)", emptied, first)
	}

	// An old format.json without an instance.
	old := t.TempDir()
	if err := os.MkdirAll(filepath.Join(old, ".filesphere"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, ".filesphere", "format.json"), []byte(`{"id":"old","version":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	upgraded := instanceOf(t, openLocal(t, "old", old))
	if upgraded == "" || instanceOf(t, openLocal(t, "old", old)) != upgraded {
		t.Fatalf("old folder: instance %q, not kept", upgraded)
	}
}

// TestMemoryInstance: Reset empties a Memory drive under a new instance;
// an offline drive reports none.
func TestMemoryInstance(t *testing.T) {
	m := drive.NewMemory("m")
	ctx := context.Background()
	w, _ := m.Create(ctx, "ab/x/0")
	w.Write([]byte("x"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	first := instanceOf(t, m)
	m.Reset()
	if got := instanceOf(t, m); got == "" || got == first {
		t.Fatalf("after Reset: instance %q (was %q)", got, first)
	}
	if _, err := m.Stat(ctx, "ab/x/0"); err == nil {
		t.Fatal("shard survived Reset")
	}
	m.SetOffline(true)
	if got := instanceOf(t, m); got != "" {
		t.Fatalf("offline drive reports instance %q", got)
	}
}
