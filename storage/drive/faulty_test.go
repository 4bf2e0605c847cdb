package drive_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
	"github.com/filesphere/filesphere/storage/drive/drivetest"
)

func TestFaultyConformance(t *testing.T) {
	// With nothing programmed, Faulty is transparent.
	drivetest.Run(t, func(t *testing.T) drive.ShardStore {
		return drive.NewFaulty(drive.NewMemory("faulty"))
	})
}

var errBoom = errors.New("boom")

func TestFaultyFailNth(t *testing.T) {
	ctx := context.Background()
	f := drive.NewFaulty(drive.NewMemory("m"))
	drivetest.Put(t, f, "x", []byte("x"))
	f.FailNth(drive.OpStat, 2, errBoom)
	f.FailNth(drive.OpStat, 4, nil)
	var got []error
	for range 5 {
		_, err := f.Stat(ctx, "x")
		got = append(got, err)
	}
	want := []error{nil, errBoom, nil, drive.ErrInjected, nil}
	for i := range want {
		if !errors.Is(got[i], want[i]) || (want[i] == nil) != (got[i] == nil) {
			t.Fatalf("call %d: %v, want %v", i+1, got[i], want[i])
		}
	}
	if n := f.Calls(drive.OpStat); n != 5 {
		t.Fatalf("Calls = %d", n)
	}
}

func TestFaultyFailAllAndClear(t *testing.T) {
	ctx := context.Background()
	f := drive.NewFaulty(drive.NewMemory("m"))
	for _, op := range []drive.Op{drive.OpCreate, drive.OpOpen, drive.OpStat, drive.OpDelete, drive.OpWalk, drive.OpInfo} {
		f.FailAll(op, errBoom)
	}
	_, err := f.Create(ctx, "x")
	wantErr(t, "create", err, errBoom)
	_, err = f.Open(ctx, "x", 0, -1)
	wantErr(t, "open", err, errBoom)
	_, err = f.Stat(ctx, "x")
	wantErr(t, "stat", err, errBoom)
	wantErr(t, "delete", f.Delete(ctx, "x"), errBoom)
	wantErr(t, "walk", f.Walk(ctx, "", nil), errBoom)
	_, err = f.Info(ctx)
	wantErr(t, "info", err, errBoom)

	f.Clear(drive.OpCreate)
	drivetest.Put(t, f, "x", []byte("x"))
	f.Reset()
	if got := drivetest.Get(t, f, "x", 0, -1); string(got) != "x" {
		t.Fatalf("got %q", got)
	}
}

func TestFaultyWriterFaults(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		program func(f *drive.Faulty)
		wantErr error
	}{
		{"write fails", func(f *drive.Faulty) { f.FailNth(drive.OpWrite, 2, errBoom) }, errBoom},
		{"writes fail after N bytes", func(f *drive.Faulty) { f.FailWritesAfter(5, drive.ErrDiskFull) }, drive.ErrDiskFull},
		{"commit fails", func(f *drive.Faulty) { f.FailAll(drive.OpCommit, errBoom) }, errBoom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := drive.NewFaulty(drive.NewMemory("m"))
			tc.program(f)
			w, err := f.Create(ctx, "w")
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for _, chunk := range []string{"abc", "def", "ghi"} {
				if _, err := w.Write([]byte(chunk)); err != nil && werr == nil {
					werr = err
				}
			}
			err = w.Commit()
			wantErr(t, "commit", err, tc.wantErr)
			if werr != nil {
				wantErr(t, "write", werr, tc.wantErr)
			}
			_, err = f.Stat(ctx, "w")
			wantErr(t, "stat after failed write", err, drive.ErrShardNotFound)
		})
	}
	t.Run("short write count", func(t *testing.T) {
		f := drive.NewFaulty(drive.NewMemory("m"))
		f.FailWritesAfter(5, nil)
		w, _ := f.Create(ctx, "w")
		if n, err := w.Write([]byte("abc")); n != 3 || err != nil {
			t.Fatalf("first write: %d, %v", n, err)
		}
		if n, err := w.Write([]byte("defg")); n != 2 || !errors.Is(err, drive.ErrInjected) {
			t.Fatalf("crossing write: %d, %v", n, err)
		}
	})
}

func TestFaultyReadFaults(t *testing.T) {
	data := []byte("0123456789")
	tests := []struct {
		name        string
		program     func(f *drive.Faulty)
		off, length int64
		want        string
	}{
		{"corrupt", func(f *drive.Faulty) { f.CorruptOpen("s", 3) }, 0, -1, "012" + string('3'^1) + "456789"},
		{"corrupt in range", func(f *drive.Faulty) { f.CorruptOpen("s", 5) }, 4, 3, "4" + string('5'^1) + "6"},
		{"corrupt outside range", func(f *drive.Faulty) { f.CorruptOpen("", 1) }, 4, 3, "456"},
		{"corrupt other shard", func(f *drive.Faulty) { f.CorruptOpen("other", 3) }, 0, -1, "0123456789"},
		{"truncate", func(f *drive.Faulty) { f.TruncateOpen("s", 4) }, 0, -1, "0123"},
		{"truncate range", func(f *drive.Faulty) { f.TruncateOpen("", 6) }, 4, 4, "45"},
		{"truncate before range", func(f *drive.Faulty) { f.TruncateOpen("s", 2) }, 4, 4, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := drive.NewFaulty(drive.NewMemory("m"))
			drivetest.Put(t, f, "s", data)
			tc.program(f)
			if got := drivetest.Get(t, f, "s", tc.off, tc.length); string(got) != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			// The stored shard is untouched.
			f.Reset()
			if got := drivetest.Get(t, f, "s", 0, -1); string(got) != string(data) {
				t.Fatalf("stored shard changed: %q", got)
			}
		})
	}
	t.Run("read fails", func(t *testing.T) {
		f := drive.NewFaulty(drive.NewMemory("m"))
		drivetest.Put(t, f, "s", data)
		f.FailAll(drive.OpRead, errBoom)
		r, err := f.Open(context.Background(), "s", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		_, err = io.ReadAll(r)
		wantErr(t, "read", err, errBoom)
	})
}

func TestFaultyLatency(t *testing.T) {
	f := drive.NewFaulty(drive.NewMemory("m"))
	f.SetLatency(drive.OpStat, 20*time.Millisecond)
	start := time.Now()
	_, err := f.Stat(context.Background(), "x")
	wantErr(t, "stat", err, drive.ErrShardNotFound)
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("stat took %v, want >= 20ms", d)
	}
	f.SetLatency(drive.OpStat, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = f.Stat(ctx, "x")
	wantErr(t, "stat with deadline", err, context.DeadlineExceeded)
}

// TestFaultyConcurrent runs calls while faults are reprogrammed; -race
// checks Faulty's own state.
func TestFaultyConcurrent(t *testing.T) {
	f := drive.NewFaulty(drive.NewMemory("m"))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				id := fmt.Sprintf("c/%d/%d", i, j)
				if w, err := f.Create(context.Background(), id); err == nil {
					w.Write([]byte(id))
					w.Commit()
				}
				if r, err := f.Open(context.Background(), "c/0/0", 0, -1); err == nil {
					io.Copy(io.Discard, r)
					r.Close()
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			f.FailNth(drive.OpCommit, 3, errBoom)
			f.CorruptOpen("", 0)
			f.SetLatency(drive.OpWrite, time.Microsecond)
			f.Reset()
		}
	})
	wg.Wait()
}
