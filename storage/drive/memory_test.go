package drive_test

import (
	"context"
	"errors"
	"testing"

	"github.com/filesphere/filesphere/storage/drive"
	"github.com/filesphere/filesphere/storage/drive/drivetest"
)

func TestMemoryConformance(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) drive.ShardStore { return drive.NewMemory("mem1") })
}

func TestMemoryOffline(t *testing.T) {
	ctx := context.Background()
	m := drive.NewMemory("m")
	drivetest.Put(t, m, "x", []byte("x"))
	w, err := m.Create(ctx, "y")
	if err != nil {
		t.Fatal(err)
	}
	m.SetOffline(true)
	if _, err := m.Open(ctx, "x", 0, -1); !errors.Is(err, drive.ErrOffline) {
		t.Fatalf("open offline: %v", err)
	}
	if err := w.Commit(); !errors.Is(err, drive.ErrOffline) {
		t.Fatalf("commit offline: %v", err)
	}
	info, err := m.Info(ctx)
	if err != nil || info.Online {
		t.Fatalf("info = %+v, %v", info, err)
	}
	m.SetOffline(false)
	if got := drivetest.Get(t, m, "x", 0, -1); string(got) != "x" {
		t.Fatalf("got %q", got)
	}
	if _, err := m.Stat(ctx, "y"); !errors.Is(err, drive.ErrShardNotFound) {
		t.Fatalf("failed commit left %v", err)
	}
}

func TestMemoryCapacity(t *testing.T) {
	m := drive.NewMemory("m")
	m.SetCapacity(10)
	drivetest.Put(t, m, "a", []byte("123456"))
	w, _ := m.Create(context.Background(), "b")
	w.Write([]byte("12345"))
	if err := w.Commit(); !errors.Is(err, drive.ErrDiskFull) {
		t.Fatalf("commit over capacity: %v", err)
	}
	drivetest.Put(t, m, "a", []byte("1234567890")) // overwrite frees the old bytes
	info, _ := m.Info(context.Background())
	if info.TotalBytes != 10 || info.FreeBytes != 0 {
		t.Fatalf("info = %+v", info)
	}
}
