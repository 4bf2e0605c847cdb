// Package drivetest is the conformance suite every drive.ShardStore must
// pass: Local, Memory, the decorators and the remote (RPC) client. Running
// one suite on all of them is what lets the layers above test against Memory
// and trust the result on real disks.
package drivetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/filesphere/filesphere/storage/drive"
)

// Run runs the suite. newStore must return an empty, online store; each
// subtest gets its own.
func Run(t *testing.T, newStore func(t *testing.T) drive.ShardStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s drive.ShardStore)
	}{
		{"CreateCommitOpen", testCreateCommitOpen},
		{"Ranges", testRanges},
		{"EmptyShard", testEmptyShard},
		{"Missing", testMissing},
		{"UncommittedInvisible", testUncommittedInvisible},
		{"Abort", testAbort},
		{"WriterLifecycle", testWriterLifecycle},
		{"Overwrite", testOverwrite},
		{"ReaderSurvivesOverwriteAndDelete", testReaderSurvives},
		{"Delete", testDelete},
		{"Walk", testWalk},
		{"WalkDeletesWhileWalking", testWalkDelete},
		{"InvalidIDs", testInvalidIDs},
		{"ValidIDs", testValidIDs},
		{"IndependentIDs", testIndependentIDs},
		{"ConcurrentWritersSameID", testConcurrentWriters},
		{"CanceledContext", testCanceledContext},
		{"Info", testInfo},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// Put writes and commits one shard, failing the test on error.
func Put(t testing.TB, s drive.ShardStore, id string, data []byte) {
	t.Helper()
	if err := put(s, id, data); err != nil {
		t.Fatalf("put %q: %v", id, err)
	}
}

func put(s drive.ShardStore, id string, data []byte) error {
	w, err := s.Create(context.Background(), id)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}

// Get reads a whole range, failing the test on error.
func Get(t testing.TB, s drive.ShardStore, id string, off, length int64) []byte {
	t.Helper()
	b, err := get(s, id, off, length)
	if err != nil {
		t.Fatalf("get %q [%d,%d]: %v", id, off, length, err)
	}
	return b
}

func get(s drive.ShardStore, id string, off, length int64) ([]byte, error) {
	r, err := s.Open(context.Background(), id, off, length)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func walkIDs(t *testing.T, s drive.ShardStore, prefix string) []string {
	t.Helper()
	var ids []string
	err := s.Walk(context.Background(), prefix, func(si drive.ShardInfo) error {
		ids = append(ids, si.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("walk %q: %v", prefix, err)
	}
	slices.Sort(ids)
	return ids
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func testCreateCommitOpen(t *testing.T, s drive.ShardStore) {
	ctx := context.Background()
	data := pattern(3<<20 + 17)
	w, err := s.Create(ctx, "obj1/part.1")
	if err != nil {
		t.Fatal(err)
	}
	// Odd-sized writes, as a codec produces them.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 65537)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := Get(t, s, "obj1/part.1", 0, -1); !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, differ from the %d written", len(got), len(data))
	}
	si, err := s.Stat(ctx, "obj1/part.1")
	if err != nil {
		t.Fatal(err)
	}
	if si.ID != "obj1/part.1" || si.Size != int64(len(data)) || si.ModTime.IsZero() {
		t.Fatalf("stat = %+v", si)
	}
}

func testRanges(t *testing.T, s drive.ShardStore) {
	Put(t, s, "r", []byte("hello world"))
	tests := []struct {
		off, length int64
		want        string
	}{
		{0, -1, "hello world"},
		{0, 5, "hello"},
		{6, 5, "world"},
		{6, -1, "world"},
		{6, 100, "world"}, // short: returned as-is, the codec detects it
		{10, 1, "d"},
		{0, 0, ""},
		{11, -1, ""},
		{100, 10, ""},
	}
	for _, tc := range tests {
		if got := Get(t, s, "r", tc.off, tc.length); string(got) != tc.want {
			t.Errorf("Open(%d, %d) = %q, want %q", tc.off, tc.length, got, tc.want)
		}
	}
	_, err := s.Open(context.Background(), "r", -1, 1)
	wantErr(t, "negative offset", err, drive.ErrInvalidRange)
}

func testEmptyShard(t *testing.T, s drive.ShardStore) {
	Put(t, s, "empty", nil)
	if got := Get(t, s, "empty", 0, -1); len(got) != 0 {
		t.Fatalf("got %q", got)
	}
	si, err := s.Stat(context.Background(), "empty")
	if err != nil || si.Size != 0 {
		t.Fatalf("stat = %+v, %v", si, err)
	}
}

func testMissing(t *testing.T, s drive.ShardStore) {
	ctx := context.Background()
	_, err := s.Open(ctx, "nope/x", 0, -1)
	wantErr(t, "open", err, drive.ErrShardNotFound)
	_, err = s.Stat(ctx, "nope/x")
	wantErr(t, "stat", err, drive.ErrShardNotFound)
	if err := s.Delete(ctx, "nope/x"); err != nil {
		t.Fatalf("delete of a missing shard: %v", err)
	}
	// A directory of shards is not itself a shard.
	Put(t, s, "dir/child", []byte("x"))
	_, err = s.Open(ctx, "dir", 0, -1)
	wantErr(t, "open dir", err, drive.ErrShardNotFound)
	_, err = s.Stat(ctx, "dir")
	wantErr(t, "stat dir", err, drive.ErrShardNotFound)
	if err := s.Delete(ctx, "dir"); err != nil {
		t.Fatalf("delete dir: %v", err)
	}
	if got := Get(t, s, "dir/child", 0, -1); string(got) != "x" {
		t.Fatalf("child = %q", got)
	}
	// Below a shard.
	_, err = s.Open(ctx, "dir/child/x", 0, -1)
	wantErr(t, "open below shard", err, drive.ErrShardNotFound)
}

func testUncommittedInvisible(t *testing.T, s drive.ShardStore) {
	ctx := context.Background()
	w, err := s.Create(ctx, "u/1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("pending")); err != nil {
		t.Fatal(err)
	}
	_, err = s.Stat(ctx, "u/1")
	wantErr(t, "stat before commit", err, drive.ErrShardNotFound)
	_, err = s.Open(ctx, "u/1", 0, -1)
	wantErr(t, "open before commit", err, drive.ErrShardNotFound)
	if ids := walkIDs(t, s, ""); len(ids) != 0 {
		t.Fatalf("walk before commit = %v", ids)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if ids := walkIDs(t, s, ""); !slices.Equal(ids, []string{"u/1"}) {
		t.Fatalf("walk after commit = %v", ids)
	}
}

func testAbort(t *testing.T, s drive.ShardStore) {
	ctx := context.Background()
	Put(t, s, "a/keep", []byte("old"))
	for _, id := range []string{"a/new", "a/keep"} {
		w, err := s.Create(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("discarded")); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "commit after abort", w.Commit(), drive.ErrAborted)
		if err := w.Abort(); err != nil {
			t.Fatalf("second abort: %v", err)
		}
	}
	_, err := s.Stat(ctx, "a/new")
	wantErr(t, "aborted shard", err, drive.ErrShardNotFound)
	if got := Get(t, s, "a/keep", 0, -1); string(got) != "old" {
		t.Fatalf("aborted overwrite changed the shard: %q", got)
	}
	if ids := walkIDs(t, s, ""); !slices.Equal(ids, []string{"a/keep"}) {
		t.Fatalf("walk = %v", ids)
	}
}

func testWriterLifecycle(t *testing.T, s drive.ShardStore) {
	ctx := context.Background()
	w, err := s.Create(ctx, "life")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("second commit: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("abort after commit: %v", err)
	}
	if _, err := w.Write([]byte("more")); err == nil {
		t.Fatal("write after commit succeeded")
	}
	if got := Get(t, s, "life", 0, -1); string(got) != "v1" {
		t.Fatalf("got %q after abort-after-commit", got)
	}
}

func testOverwrite(t *testing.T, s drive.ShardStore) {
	Put(t, s, "o/x", []byte("first version, longer"))
	Put(t, s, "o/x", []byte("second"))
	if got := Get(t, s, "o/x", 0, -1); string(got) != "second" {
		t.Fatalf("got %q", got)
	}
	si, err := s.Stat(context.Background(), "o/x")
	if err != nil || si.Size != 6 {
		t.Fatalf("stat = %+v, %v", si, err)
	}
	if ids := walkIDs(t, s, ""); !slices.Equal(ids, []string{"o/x"}) {
		t.Fatalf("walk = %v", ids)
	}
}

func testReaderSurvives(t *testing.T, s drive.ShardStore) {
	ctx := context.Background()
	old := pattern(100 << 10)
	Put(t, s, "rs", old)
	r, err := s.Open(ctx, "rs", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := make([]byte, 10)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	Put(t, s, "rs", []byte("new"))
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(head, rest...); !bytes.Equal(got, old) {
		t.Fatalf("an open reader saw the overwrite (%d bytes)", len(got))
	}
	r2, err := s.Open(ctx, "rs", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if err := s.Delete(ctx, "rs"); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r2); err != nil || string(got) != "new" {
		t.Fatalf("reader after delete: %q, %v", got, err)
	}
}

func testDelete(t *testing.T, s drive.ShardStore) {
	ctx := context.Background()
	Put(t, s, "d/1/a", []byte("a"))
	Put(t, s, "d/1/b", []byte("b"))
	if err := s.Delete(ctx, "d/1/a"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Stat(ctx, "d/1/a")
	wantErr(t, "deleted", err, drive.ErrShardNotFound)
	if err := s.Delete(ctx, "d/1/a"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if got := Get(t, s, "d/1/b", 0, -1); string(got) != "b" {
		t.Fatalf("sibling = %q", got)
	}
	if err := s.Delete(ctx, "d/1/b"); err != nil {
		t.Fatal(err)
	}
	if ids := walkIDs(t, s, ""); len(ids) != 0 {
		t.Fatalf("walk = %v", ids)
	}
	// The emptied directories do not block using their names as shards.
	Put(t, s, "d", []byte("now a shard"))
}

func testWalk(t *testing.T, s drive.ShardStore) {
	ids := []string{"a/1", "a/2", "a/b/3", "ab/4", "b/5", "a.c"}
	for i, id := range ids {
		Put(t, s, id, bytes.Repeat([]byte{'x'}, i))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a.c", "a/1", "a/2", "a/b/3", "ab/4", "b/5"}},
		{"a", []string{"a.c", "a/1", "a/2", "a/b/3", "ab/4"}},
		{"a/", []string{"a/1", "a/2", "a/b/3"}},
		{"a/b", []string{"a/b/3"}},
		{"a/b/", []string{"a/b/3"}},
		{"a/1", []string{"a/1"}},
		{"b/5", []string{"b/5"}},
		{"zz", nil},
		{"zz/", nil},
		{"a/b/3/x", nil},
	}
	for _, tc := range tests {
		if got := walkIDs(t, s, tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("Walk(%q) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
	// Sizes are reported.
	err := s.Walk(context.Background(), "", func(si drive.ShardInfo) error {
		if want := int64(slices.Index(ids, si.ID)); si.Size != want || si.ModTime.IsZero() {
			return fmt.Errorf("%+v: want size %d", si, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// An error from fn stops the walk and comes back unchanged.
	stop := errors.New("stop")
	calls := 0
	err = s.Walk(context.Background(), "", func(drive.ShardInfo) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Fatalf("walk with failing fn: err %v after %d calls", err, calls)
	}
	for _, bad := range []string{"../", "/a", "a//", "./", "a/../"} {
		err := s.Walk(context.Background(), bad, func(drive.ShardInfo) error { return nil })
		wantErr(t, fmt.Sprintf("walk %q", bad), err, drive.ErrInvalidID)
	}
}

func testWalkDelete(t *testing.T, s drive.ShardStore) {
	ctx := context.Background()
	for i := range 20 {
		Put(t, s, fmt.Sprintf("gc/%02d/%d", i/4, i), []byte("x"))
	}
	n := 0
	err := s.Walk(ctx, "gc/", func(si drive.ShardInfo) error {
		n++
		return s.Delete(ctx, si.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 20 {
		t.Fatalf("walked %d shards, want 20", n)
	}
	if ids := walkIDs(t, s, ""); len(ids) != 0 {
		t.Fatalf("left: %v", ids)
	}
}

// InvalidIDs are ids every store must refuse with ErrInvalidID.
var InvalidIDs = []string{
	"", ".", "..", "../x", "x/..", "a/../b", "a/./b", "/abs", "a//b", "a/", "/",
	"x y", `a\b`, "a:b", "é", "a\x00b", "*", strings.Repeat("a", 256),
	strings.Repeat("abcdefg/", 64) + "x", // 513 bytes
}

func testInvalidIDs(t *testing.T, s drive.ShardStore) {
	ctx := context.Background()
	for _, id := range InvalidIDs {
		_, err := s.Create(ctx, id)
		wantErr(t, fmt.Sprintf("Create(%q)", id), err, drive.ErrInvalidID)
		_, err = s.Open(ctx, id, 0, -1)
		wantErr(t, fmt.Sprintf("Open(%q)", id), err, drive.ErrInvalidID)
		_, err = s.Stat(ctx, id)
		wantErr(t, fmt.Sprintf("Stat(%q)", id), err, drive.ErrInvalidID)
		err = s.Delete(ctx, id)
		wantErr(t, fmt.Sprintf("Delete(%q)", id), err, drive.ErrInvalidID)
	}
	if ids := walkIDs(t, s, ""); len(ids) != 0 {
		t.Fatalf("walk = %v", ids)
	}
}

func testValidIDs(t *testing.T, s drive.ShardStore) {
	long := strings.Repeat(strings.Repeat("z", 127)+"/", 4)[:drive.MaxIDLength-1] + "q"
	ids := []string{".a", "a..b", "...", "A-Z_0.9", "x/.y/z", strings.Repeat("s", 255), long}
	for _, id := range ids {
		Put(t, s, id, []byte(id))
		if got := Get(t, s, id, 0, -1); string(got) != id {
			t.Fatalf("%q: got %q", id, got)
		}
	}
	if got := walkIDs(t, s, ""); len(got) != len(ids) {
		t.Fatalf("walk = %v", got)
	}
}

// testIndependentIDs: ids are names, not paths, so "p", "p/q" and "p/q/r"
// are three shards; deleting one leaves the others.
func testIndependentIDs(t *testing.T, s drive.ShardStore) {
	ids := []string{"p/q", "p", "p/q/r"}
	for _, id := range ids {
		Put(t, s, id, []byte(id))
	}
	for _, id := range ids {
		if got := Get(t, s, id, 0, -1); string(got) != id {
			t.Fatalf("%s = %q", id, got)
		}
	}
	if got := walkIDs(t, s, "p/"); !slices.Equal(got, []string{"p/q", "p/q/r"}) {
		t.Fatalf("walk p/ = %v", got)
	}
	if err := s.Delete(context.Background(), "p/q"); err != nil {
		t.Fatal(err)
	}
	if got := walkIDs(t, s, ""); !slices.Equal(got, []string{"p", "p/q/r"}) {
		t.Fatalf("walk after delete = %v", got)
	}
}

// testConcurrentWriters: writers racing on one id each commit; afterwards
// (and at every moment in between) the shard is exactly one writer's full
// content, never a mix or a prefix.
func testConcurrentWriters(t *testing.T, s drive.ShardStore) {
	const writers, size, chunk = 8, 256 << 10, 10000
	ctx := context.Background()
	check := func(b []byte) error {
		if len(b) != size {
			return fmt.Errorf("read %d bytes, want %d", len(b), size)
		}
		if n := bytes.Count(b, b[:1]); n != size {
			return fmt.Errorf("mixed content: %d of %d bytes are %q", n, size, b[0])
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	done := make(chan struct{})
	go func() { // a reader racing the writers
		defer close(errs)
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := get(s, "race/x", 0, -1)
			if errors.Is(err, drive.ErrShardNotFound) {
				continue
			}
			if err == nil {
				err = check(b)
			}
			if err != nil {
				errs <- fmt.Errorf("reader: %w", err)
				return
			}
		}
	}()
	for i := range writers {
		wg.Go(func() {
			w, err := s.Create(ctx, "race/x")
			if err != nil {
				errs <- err
				return
			}
			data := bytes.Repeat([]byte{byte('A' + i)}, size)
			for off := 0; off < size; off += chunk {
				if _, err := w.Write(data[off:min(off+chunk, size)]); err != nil {
					errs <- err
					return
				}
			}
			if err := w.Commit(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(done)
	for err := range errs {
		t.Error(err)
	}
	if err := check(Get(t, s, "race/x", 0, -1)); err != nil {
		t.Fatal(err)
	}
	if ids := walkIDs(t, s, ""); !slices.Equal(ids, []string{"race/x"}) {
		t.Fatalf("walk = %v", ids)
	}
}

func testCanceledContext(t *testing.T, s drive.ShardStore) {
	Put(t, s, "c", []byte("c"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Create(ctx, "c2")
	wantErr(t, "create", err, context.Canceled)
	_, err = s.Open(ctx, "c", 0, -1)
	wantErr(t, "open", err, context.Canceled)
	_, err = s.Stat(ctx, "c")
	wantErr(t, "stat", err, context.Canceled)
	err = s.Delete(ctx, "c")
	wantErr(t, "delete", err, context.Canceled)
	err = s.Walk(ctx, "", func(drive.ShardInfo) error { return nil })
	wantErr(t, "walk", err, context.Canceled)
	if got := Get(t, s, "c", 0, -1); string(got) != "c" {
		t.Fatalf("canceled delete removed the shard")
	}
}

func testInfo(t *testing.T, s drive.ShardStore) {
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != s.ID() || !info.Online {
		t.Fatalf("info = %+v, want id %q online", info, s.ID())
	}
	if info.FreeBytes > info.TotalBytes {
		t.Fatalf("free %d > total %d", info.FreeBytes, info.TotalBytes)
	}
}

// pattern returns n bytes that differ at every offset within 251 bytes, so a
// misplaced range shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}
