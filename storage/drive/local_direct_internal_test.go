package drive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/sirupsen/logrus"
)

// TestShardDirectIO writes shards of sizes around the direct I/O switch in
// odd-sized pieces (as erasure frames are) and reads every byte back: with
// direct I/O available, refused by the filesystem, and with no staging
// buffer free. Each case checks which way the bytes went.
func TestShardDirectIO(t *testing.T) {
	sizes := []int{0, 1000, 1, directAlign - 1, directAlign, directAlign + 1,
		512<<10 + 32, directBufSize, 3*directBufSize + 4097}
	for _, tc := range []struct {
		name       string
		setup      func(*Local) (undo func())
		wantDirect bool
	}{
		{"direct", func(*Local) func() { return func() {} }, runtime.GOOS == "linux"},
		{"refused", func(l *Local) func() { l.noDirect.Store(true); return func() {} }, false},
		{"no buffer free", func(*Local) func() {
			var held [][]byte
			for b := takeDirectBuf(); b != nil; b = takeDirectBuf() {
				held = append(held, b)
			}
			return func() {
				for _, b := range held {
					putDirectBuf(b)
				}
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := newDirectTestLocal(t)
			if err != nil {
				t.Fatal(err)
			}
			undo := tc.setup(l)
			defer undo()
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(1, 2))
			for i, size := range sizes {
				data := make([]byte, size)
				for j := range data {
					data[j] = byte(rng.Uint32())
				}
				before := l.direct.Load()
				id := "direct/" + string(rune('a'+i))
				w, err := l.Create(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				for rest := data; len(rest) > 0; {
					n := min(len(rest), 1+rng.IntN(600<<10))
					if _, err := w.Write(rest[:n]); err != nil {
						t.Fatal(err)
					}
					rest = rest[n:]
				}
				if err := w.Commit(); err != nil {
					t.Fatal(err)
				}
				rc, err := l.Open(ctx, id, 0, -1)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("size %d: read back %d bytes (%v), differ from the %d written", size, len(got), err, len(data))
				}
				wantFlushes := int64(0)
				if rest := size; tc.wantDirect && rest > 0 {
					// whole staging buffers, then the tail's aligned part
					wantFlushes = int64(rest / directBufSize)
					if rest%directBufSize >= directAlign {
						wantFlushes++
					}
				}
				if got := l.direct.Load() - before; got != wantFlushes {
					t.Fatalf("size %d: %d direct writes, want %d", size, got, wantFlushes)
				}
			}
		})
	}
	if len(directBufs) != directBufMax {
		t.Fatalf("%d of %d staging buffers free after the writers ended", len(directBufs), directBufMax)
	}
}

func newDirectTestLocal(t *testing.T) (*Local, error) {
	cfg := DefaultLocalConfig()
	cfg.ID, cfg.Root, cfg.DirectIO = "d", t.TempDir(), true
	cfg.Logger = logrus.NewEntry(logrus.New())
	cfg.Logger.Logger.SetOutput(testWriter{t})
	return NewLocal(cfg)
}

// TestShardDirectOff: without DirectIO nothing goes direct.
func TestShardDirectOff(t *testing.T) {
	l, err := newTestLocal(t)
	if err != nil {
		t.Fatal(err)
	}
	w, err := l.Create(context.Background(), "off/1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 3*directBufSize)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := l.direct.Load(); n != 0 {
		t.Fatalf("%d direct writes with DirectIO off", n)
	}
}

// TestShardDirectAbort: an aborted large shard gives its staging buffer back.
func TestShardDirectAbort(t *testing.T) {
	l, err := newDirectTestLocal(t)
	if err != nil {
		t.Fatal(err)
	}
	for i := range directBufMax + 4 {
		w, err := l.Create(context.Background(), fmt.Sprintf("abort/%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(make([]byte, directBufSize+directBufSize/2)); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
	}
	if len(directBufs) != directBufMax {
		t.Fatalf("%d of %d staging buffers free after aborts", len(directBufs), directBufMax)
	}
}
