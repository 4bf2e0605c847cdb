// Package metatest is the conformance suite every meta.KV implementation
// passes: the in-process Local KV and the Raft-backed KV.
package metatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
)

// Run runs the suite. newKV returns an empty KV; it registers its own cleanup
// with t.Cleanup.
func Run(t *testing.T, newKV func(t *testing.T) meta.KV) {
	tests := []struct {
		name string
		fn   func(t *testing.T, kv meta.KV)
	}{
		{"GetPutDelete", testGetPutDelete},
		{"ValuesAreCopies", testValuesAreCopies},
		{"ListOrderPrefixStartLimit", testList},
		{"CompareAbsent", testCompareAbsent},
		{"ComparePresentAndStale", testComparePresentAndStale},
		{"Atomicity", testAtomicity},
		{"RevisionsIncrease", testRevisionsIncrease},
		{"InvalidTxn", testInvalidTxn},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentCAS", testConcurrentCAS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newKV(t))
		})
	}
}

func put(t *testing.T, kv meta.KV, key, val string) uint64 {
	t.Helper()
	rev, err := kv.Txn(context.Background(), meta.Txn{Ops: []meta.Op{meta.Put(key, []byte(val))}})
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return rev
}

func mustGet(t *testing.T, kv meta.KV, key string) meta.Entry {
	t.Helper()
	e, err := kv.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return e
}

func wantAbsent(t *testing.T, kv meta.KV, key string) {
	t.Helper()
	if e, err := kv.Get(context.Background(), key); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("get %q = %+v, %v; want ErrNotFound", key, e, err)
	}
}

func wantCompareFailed(t *testing.T, err error, key string, want, actual uint64) {
	t.Helper()
	var cf *meta.CompareFailedError
	if !errors.As(err, &cf) {
		t.Fatalf("err = %v; want *CompareFailedError", err)
	}
	if cf.Key != key || cf.Want != want || cf.Actual != actual {
		t.Fatalf("compare failed = %+v; want {Key:%q Want:%d Actual:%d}", *cf, key, want, actual)
	}
}

func testGetPutDelete(t *testing.T, kv meta.KV) {
	ctx := context.Background()
	wantAbsent(t, kv, "t/a")
	rev := put(t, kv, "t/a", "one")
	e := mustGet(t, kv, "t/a")
	if e.Key != "t/a" || string(e.Value) != "one" || e.Revision != rev || rev == 0 {
		t.Fatalf("get = %+v; want value one at revision %d", e, rev)
	}
	rev2 := put(t, kv, "t/a", "two")
	if e := mustGet(t, kv, "t/a"); string(e.Value) != "two" || e.Revision != rev2 {
		t.Fatalf("after overwrite get = %+v", e)
	}
	// Empty value is a value, not a delete.
	put(t, kv, "t/empty", "")
	if e := mustGet(t, kv, "t/empty"); len(e.Value) != 0 {
		t.Fatalf("empty value = %q", e.Value)
	}
	if _, err := kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Delete("t/a")}}); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, kv, "t/a")
	// Deleting an absent key is a no-op that succeeds.
	if _, err := kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Delete("t/never")}}); err != nil {
		t.Fatalf("delete absent: %v", err)
	}
	// Later ops in one Txn win over earlier ones on the same key.
	if _, err := kv.Txn(ctx, meta.Txn{Ops: []meta.Op{
		meta.Put("t/b", []byte("x")), meta.Delete("t/b"), meta.Put("t/b", []byte("y")),
	}}); err != nil {
		t.Fatal(err)
	}
	if e := mustGet(t, kv, "t/b"); string(e.Value) != "y" {
		t.Fatalf("t/b = %q; want y", e.Value)
	}
	// Large value round trip.
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	if _, err := kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put("t/big", big)}}); err != nil {
		t.Fatal(err)
	}
	if e := mustGet(t, kv, "t/big"); !bytes.Equal(e.Value, big) {
		t.Fatalf("big value: got %d bytes", len(e.Value))
	}
}

func testValuesAreCopies(t *testing.T, kv meta.KV) {
	ctx := context.Background()
	v := []byte("abc")
	if _, err := kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put("t/k", v)}}); err != nil {
		t.Fatal(err)
	}
	v[0] = 'X'
	e := mustGet(t, kv, "t/k")
	if string(e.Value) != "abc" {
		t.Fatalf("store aliases caller's value: %q", e.Value)
	}
	e.Value[0] = 'Y'
	if e := mustGet(t, kv, "t/k"); string(e.Value) != "abc" {
		t.Fatalf("Get aliases stored value: %q", e.Value)
	}
	l, err := kv.List(ctx, "t/", "", 0)
	if err != nil || len(l) != 1 {
		t.Fatalf("list = %v, %v", l, err)
	}
	l[0].Value[0] = 'Z'
	if e := mustGet(t, kv, "t/k"); string(e.Value) != "abc" {
		t.Fatalf("List aliases stored value: %q", e.Value)
	}
}

func keysOf(es []meta.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Key
	}
	return out
}

func testList(t *testing.T, kv meta.KV) {
	ctx := context.Background()
	// Keys in the tested prefix "p/", chosen to exercise byte order: \x00,
	// multibyte UTF-8 (above ASCII, below \xff), \xff, and a key equal to
	// the prefix.
	inside := []string{
		"p/", "p/\x00", "p/\x00\x00", "p/a", "p/a\x00", "p/a/b", "p/ab", "p/b",
		"p/z", "p/é", "p/日本", "p/😀", "p/\xff", "p/\xff\xff",
	}
	// Keys that sort just outside the prefix on either side.
	outside := []string{"p", "p.", "o/z", "p0", "q/", "p\xff", "\xff"}
	for i, k := range append(append([]string{}, inside...), outside...) {
		put(t, kv, k, strconv.Itoa(i))
	}
	want := append([]string{}, inside...)
	sort.Strings(want) // Go string order is byte order

	list := func(prefix, start string, limit int) []string {
		t.Helper()
		es, err := kv.List(ctx, prefix, start, limit)
		if err != nil {
			t.Fatalf("List(%q, %q, %d): %v", prefix, start, limit, err)
		}
		for i, e := range es {
			if e.Revision == 0 || len(e.Value) == 0 {
				t.Fatalf("entry %d = %+v", i, e)
			}
		}
		return keysOf(es)
	}
	eq := func(name string, got, want []string) {
		t.Helper()
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("%s:\n got %q\nwant %q", name, got, want)
		}
	}

	eq("all", list("p/", "", 0), want)
	eq("negative limit", list("p/", "", -1), want)
	eq("limit 3", list("p/", "", 3), want[:3])
	eq("limit larger than result", list("p/", "", 1000), want)
	// start inclusive, in the middle.
	mid := len(want) / 2
	eq("start mid", list("p/", want[mid], 0), want[mid:])
	eq("start mid limit 2", list("p/", want[mid], 2), want[mid:mid+2])
	// start between keys.
	eq("start between", list("p/", "p/a\x00\x00", 0), []string{"p/a/b", "p/ab", "p/b", "p/z", "p/é", "p/日本", "p/😀", "p/\xff", "p/\xff\xff"})
	// start before the prefix is the same as no start.
	eq("start before prefix", list("p/", "a", 0), want)
	// start after every key of the prefix.
	eq("start after prefix", list("p/", "p0", 0), nil)
	eq("start at \\xff", list("p/", "p/\xff", 0), []string{"p/\xff", "p/\xff\xff"})
	// Paging with start = last key + "\x00" visits every key once.
	var paged []string
	start := ""
	for {
		page := list("p/", start, 4)
		paged = append(paged, page...)
		if len(page) < 4 {
			break
		}
		start = page[len(page)-1] + "\x00"
	}
	eq("paging", paged, want)
	// Narrower prefixes.
	eq("prefix p/a", list("p/a", "", 0), []string{"p/a", "p/a\x00", "p/a/b", "p/ab"})
	eq("prefix p/\\xff", list("p/\xff", "", 0), []string{"p/\xff", "p/\xff\xff"})
	eq("prefix p/\\x00", list("p/\x00", "", 0), []string{"p/\x00", "p/\x00\x00"})
	eq("prefix multibyte", list("p/日", "", 0), []string{"p/日本"})
	eq("prefix none", list("nothing/", "", 0), nil)
	// Empty prefix lists everything in byte order.
	all := append(append([]string{}, inside...), outside...)
	sort.Strings(all)
	eq("empty prefix", list("", "", 0), all)
}

func testCompareAbsent(t *testing.T, kv meta.KV) {
	ctx := context.Background()
	create := meta.Txn{
		Compares: []meta.Compare{{Key: "t/x", Revision: 0}},
		Ops:      []meta.Op{meta.Put("t/x", []byte("first"))},
	}
	rev, err := kv.Txn(ctx, create)
	if err != nil {
		t.Fatalf("create if absent: %v", err)
	}
	create.Ops = []meta.Op{meta.Put("t/x", []byte("second"))}
	_, err = kv.Txn(ctx, create)
	wantCompareFailed(t, err, "t/x", 0, rev)
	if e := mustGet(t, kv, "t/x"); string(e.Value) != "first" {
		t.Fatalf("value = %q", e.Value)
	}
	// After delete the key is absent again: rev 0 holds.
	if _, err := kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Delete("t/x")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Txn(ctx, create); err != nil {
		t.Fatalf("create after delete: %v", err)
	}
	// A non-zero revision on an absent key fails with Actual 0.
	_, err = kv.Txn(ctx, meta.Txn{
		Compares: []meta.Compare{{Key: "t/absent", Revision: rev}},
		Ops:      []meta.Op{meta.Put("t/absent", []byte("v"))},
	})
	wantCompareFailed(t, err, "t/absent", rev, 0)
	wantAbsent(t, kv, "t/absent")
}

func testComparePresentAndStale(t *testing.T, kv meta.KV) {
	ctx := context.Background()
	r1 := put(t, kv, "t/k", "v1")
	r2, err := kv.Txn(ctx, meta.Txn{
		Compares: []meta.Compare{{Key: "t/k", Revision: r1}},
		Ops:      []meta.Op{meta.Put("t/k", []byte("v2"))},
	})
	if err != nil {
		t.Fatalf("CAS at current revision: %v", err)
	}
	// Stale: r1 is no longer current.
	_, err = kv.Txn(ctx, meta.Txn{
		Compares: []meta.Compare{{Key: "t/k", Revision: r1}},
		Ops:      []meta.Op{meta.Put("t/k", []byte("v3"))},
	})
	wantCompareFailed(t, err, "t/k", r1, r2)
	// Rev 0 on a present key fails.
	_, err = kv.Txn(ctx, meta.Txn{
		Compares: []meta.Compare{{Key: "t/k", Revision: 0}},
		Ops:      []meta.Op{meta.Put("t/k", []byte("v3"))},
	})
	wantCompareFailed(t, err, "t/k", 0, r2)
	// A future revision fails too.
	_, err = kv.Txn(ctx, meta.Txn{
		Compares: []meta.Compare{{Key: "t/k", Revision: r2 + 1000}},
		Ops:      []meta.Op{meta.Put("t/k", []byte("v3"))},
	})
	wantCompareFailed(t, err, "t/k", r2+1000, r2)
	if e := mustGet(t, kv, "t/k"); string(e.Value) != "v2" || e.Revision != r2 {
		t.Fatalf("get = %+v; want v2 at %d", e, r2)
	}
	// Compare-only Txn (a consistent check) succeeds without writing.
	if _, err := kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: "t/k", Revision: r2}}}); err != nil {
		t.Fatalf("compare-only txn: %v", err)
	}
	if e := mustGet(t, kv, "t/k"); e.Revision != r2 {
		t.Fatalf("compare-only txn changed revision to %d", e.Revision)
	}
	// A compare on one key guarding a write to another.
	if _, err := kv.Txn(ctx, meta.Txn{
		Compares: []meta.Compare{{Key: "t/k", Revision: r2}},
		Ops:      []meta.Op{meta.Put("t/other", []byte("o"))},
	}); err != nil {
		t.Fatal(err)
	}
	if e := mustGet(t, kv, "t/k"); e.Revision != r2 {
		t.Fatal("guard key changed")
	}
}

func testAtomicity(t *testing.T, kv meta.KV) {
	ctx := context.Background()
	ra := put(t, kv, "t/a", "a0")
	rb := put(t, kv, "t/b", "b0")
	_, err := kv.Txn(ctx, meta.Txn{
		Compares: []meta.Compare{
			{Key: "t/a", Revision: ra}, // holds
			{Key: "t/b", Revision: ra}, // stale: fails
			{Key: "t/c", Revision: 7},  // would fail too; the first failure is reported
		},
		Ops: []meta.Op{
			meta.Put("t/a", []byte("a1")),
			meta.Delete("t/b"),
			meta.Put("t/new", []byte("n")),
		},
	})
	wantCompareFailed(t, err, "t/b", ra, rb)
	if e := mustGet(t, kv, "t/a"); string(e.Value) != "a0" || e.Revision != ra {
		t.Fatalf("t/a changed: %+v", e)
	}
	if e := mustGet(t, kv, "t/b"); string(e.Value) != "b0" || e.Revision != rb {
		t.Fatalf("t/b changed: %+v", e)
	}
	wantAbsent(t, kv, "t/new")
	l, err := kv.List(ctx, "t/", "", 0)
	if err != nil || len(l) != 2 {
		t.Fatalf("list = %q, %v", keysOf(l), err)
	}
	// The same Txn with correct compares applies every op at one revision.
	rev, err := kv.Txn(ctx, meta.Txn{
		Compares: []meta.Compare{{Key: "t/a", Revision: ra}, {Key: "t/b", Revision: rb}},
		Ops: []meta.Op{
			meta.Put("t/a", []byte("a1")),
			meta.Delete("t/b"),
			meta.Put("t/new", []byte("n")),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, n := mustGet(t, kv, "t/a"), mustGet(t, kv, "t/new"); a.Revision != rev || n.Revision != rev || string(a.Value) != "a1" {
		t.Fatalf("after txn at %d: a=%+v new=%+v", rev, a, n)
	}
	wantAbsent(t, kv, "t/b")
}

func testRevisionsIncrease(t *testing.T, kv meta.KV) {
	ctx := context.Background()
	var last uint64
	for i := range 20 {
		key := fmt.Sprintf("t/%d", i%3)
		rev := put(t, kv, key, strconv.Itoa(i))
		if rev <= last {
			t.Fatalf("txn %d: revision %d after %d", i, rev, last)
		}
		if e := mustGet(t, kv, key); e.Revision != rev {
			t.Fatalf("entry revision %d; txn returned %d", e.Revision, rev)
		}
		last = rev
	}
	// A failed Txn does not reuse or skip past later revisions' ordering.
	_, err := kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: "t/0", Revision: 1 << 60}}})
	wantCompareFailed(t, err, "t/0", 1<<60, mustGet(t, kv, "t/0").Revision)
	if rev := put(t, kv, "t/after", "x"); rev <= last {
		t.Fatalf("revision %d after failed txn; last %d", rev, last)
	}
	// An empty Txn commits and gets a revision too.
	rev, err := kv.Txn(ctx, meta.Txn{})
	if err != nil || rev <= last {
		t.Fatalf("empty txn = %d, %v", rev, err)
	}
}

func testInvalidTxn(t *testing.T, kv meta.KV) {
	ctx := context.Background()
	bad := []meta.Txn{
		{Ops: []meta.Op{meta.Put("", []byte("v"))}},
		{Ops: []meta.Op{meta.Delete("")}},
		{Compares: []meta.Compare{{Key: ""}}},
		{Ops: []meta.Op{{Kind: 0, Key: "t/k"}}},
		{Ops: []meta.Op{{Kind: 99, Key: "t/k"}}},
		{Ops: []meta.Op{meta.Put(string(make([]byte, meta.MaxKeySize+1)), nil)}},
		// A valid op before an invalid one is not applied either.
		{Ops: []meta.Op{meta.Put("t/ok", []byte("v")), meta.Put("", nil)}},
	}
	for i, txn := range bad {
		if _, err := kv.Txn(ctx, txn); !errors.Is(err, meta.ErrInvalidTxn) {
			t.Errorf("txn %d: err = %v; want ErrInvalidTxn", i, err)
		}
	}
	wantAbsent(t, kv, "t/ok")
	wantAbsent(t, kv, "t/k")
	// A key of exactly the maximum size is fine.
	long := "t/" + string(bytes.Repeat([]byte("k"), meta.MaxKeySize-2))
	put(t, kv, long, "v")
	mustGet(t, kv, long)
}

func testCancelledContext(t *testing.T, kv meta.KV) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put("t/k", []byte("v"))}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Txn with cancelled ctx: %v", err)
	}
	if _, err := kv.Get(ctx, "t/k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with cancelled ctx: %v", err)
	}
	if _, err := kv.List(ctx, "t/", "", 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("List with cancelled ctx: %v", err)
	}
}

func testConcurrentCAS(t *testing.T, kv meta.KV) {
	const workers, perWorker = 16, 25
	const key = "t/counter"
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	var conflicts sync.Map
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for done := 0; done < perWorker; {
				var cur int
				var rev uint64
				e, err := kv.Get(ctx, key)
				switch {
				case errors.Is(err, meta.ErrNotFound):
				case err != nil:
					errc <- err
					return
				default:
					if cur, err = strconv.Atoi(string(e.Value)); err != nil {
						errc <- err
						return
					}
					rev = e.Revision
				}
				_, err = kv.Txn(ctx, meta.Txn{
					Compares: []meta.Compare{{Key: key, Revision: rev}},
					Ops:      []meta.Op{meta.Put(key, []byte(strconv.Itoa(cur+1)))},
				})
				var cf *meta.CompareFailedError
				switch {
				case err == nil:
					done++
				case errors.As(err, &cf):
					n++
				default:
					errc <- err
					return
				}
			}
			conflicts.Store(w, n)
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	total := 0
	conflicts.Range(func(_, v any) bool { total += v.(int); return true })
	e := mustGet(t, kv, key)
	if got := string(e.Value); got != strconv.Itoa(workers*perWorker) {
		t.Fatalf("counter = %s; want %d (lost updates)", got, workers*perWorker)
	}
	t.Logf("%d increments, %d CAS conflicts retried", workers*perWorker, total)
}
