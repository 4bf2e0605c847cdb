package meta

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openTestFSM(t *testing.T) *FSM {
	t.Helper()
	f, err := OpenFSM(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func cmd(index uint64, txn Txn) Command { return Command{Index: index, Data: EncodeTxn(txn)} }

func putTxn(kv ...string) Txn {
	var t Txn
	for i := 0; i < len(kv); i += 2 {
		t.Ops = append(t.Ops, Put(kv[i], []byte(kv[i+1])))
	}
	return t
}

func mustEntry(t *testing.T, f *FSM, key string) Entry {
	t.Helper()
	e, err := f.Get(key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return e
}

func TestFSMApplyBatchPerCommandResults(t *testing.T) {
	f := openTestFSM(t)
	if r := f.Apply(1, EncodeTxn(putTxn("a", "a1", "b", "b1"))); r.Err != nil || r.Revision != 1 {
		t.Fatalf("apply 1 = %+v", r)
	}
	res := f.ApplyBatch([]Command{
		cmd(2, Txn{Compares: []Compare{{Key: "a", Revision: 1}}, Ops: []Op{Put("a", []byte("a2"))}}),
		// Fails: b is at 1, not 0. Must not affect its neighbours.
		cmd(3, Txn{Compares: []Compare{{Key: "b", Revision: 0}}, Ops: []Op{Put("b", []byte("bad")), Put("c", []byte("bad"))}}),
		// Sees the effect of command 2 in the same batch.
		cmd(5, Txn{Compares: []Compare{{Key: "a", Revision: 2}}, Ops: []Op{Put("a", []byte("a5")), Delete("b")}}),
		{Index: 6, Data: []byte{0xde, 0xad}},                      // undecodable
		cmd(7, Txn{Ops: []Op{Put("", []byte("x"))}}),              // invalid
		cmd(7, putTxn("dup", "x")),                                // index not increasing: skipped
		cmd(8, Txn{Compares: []Compare{{Key: "b", Revision: 0}}}), // b deleted by 5
	})
	if len(res) != 7 {
		t.Fatalf("%d results", len(res))
	}
	if r := res[0]; r.Err != nil || r.Revision != 2 || r.Index != 2 {
		t.Errorf("cmd 2: %+v", r)
	}
	var cf *CompareFailedError
	if r := res[1]; !errors.As(r.Err, &cf) || cf.Key != "b" || cf.Want != 0 || cf.Actual != 1 || r.Revision != 0 {
		t.Errorf("cmd 3: %+v", r)
	}
	if r := res[2]; r.Err != nil || r.Revision != 5 {
		t.Errorf("cmd 5: %+v", r)
	}
	if r := res[3]; !errors.Is(r.Err, ErrBadCommand) {
		t.Errorf("cmd 6: %+v", r)
	}
	if r := res[4]; !errors.Is(r.Err, ErrInvalidTxn) {
		t.Errorf("cmd 7: %+v", r)
	}
	if r := res[5]; !r.Skipped || r.Err != nil {
		t.Errorf("second cmd 7: %+v", r)
	}
	if r := res[6]; r.Err != nil || r.Revision != 8 {
		t.Errorf("cmd 8: %+v", r)
	}
	if e := mustEntry(t, f, "a"); string(e.Value) != "a5" || e.Revision != 5 {
		t.Errorf("a = %+v", e)
	}
	for _, k := range []string{"b", "c", "dup", ""} {
		if _, err := f.Get(k); !errors.Is(err, ErrNotFound) {
			t.Errorf("get %q: %v", k, err)
		}
	}
	if got := f.AppliedIndex(); got != 8 {
		t.Fatalf("applied = %d; want 8", got)
	}
}

func TestFSMRestartSkipsApplied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	f, err := OpenFSM(path)
	if err != nil {
		t.Fatal(err)
	}
	log := []Command{
		cmd(1, putTxn("k", "v1")),
		cmd(2, Txn{Compares: []Compare{{Key: "k", Revision: 1}}, Ops: []Op{Put("k", []byte("v2"))}}),
		cmd(4, putTxn("other", "o")),
	}
	for _, r := range f.ApplyBatch(log) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get("k"); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}

	f, err = OpenFSM(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.AppliedIndex(); got != 4 {
		t.Fatalf("applied after reopen = %d; want 4", got)
	}
	// Replaying the whole log changes nothing (command 2 would now fail its
	// compare, command 1 would reset the revision).
	for _, r := range f.ApplyBatch(log) {
		if !r.Skipped || r.Err != nil {
			t.Fatalf("replayed %+v", r)
		}
	}
	if e := mustEntry(t, f, "k"); string(e.Value) != "v2" || e.Revision != 2 {
		t.Fatalf("k = %+v", e)
	}
	// A mixed batch applies only the new tail.
	res := f.ApplyBatch([]Command{cmd(4, putTxn("other", "again")), cmd(5, putTxn("new", "n"))})
	if !res[0].Skipped || res[1].Skipped || res[1].Revision != 5 {
		t.Fatalf("mixed batch = %+v", res)
	}
	if e := mustEntry(t, f, "other"); string(e.Value) != "o" {
		t.Fatalf("other = %q", e.Value)
	}
}

func TestFSMOpenLockTimeoutOption(t *testing.T) {
	if o := boltOptions(buildOptions(nil), false); o.NoSync || o.Timeout <= 0 {
		t.Fatalf("options not durable or without lock timeout: %+v", o)
	}
}

func TestFSMSnapshotRestore(t *testing.T) {
	src := openTestFSM(t)
	var txn Txn
	for i := range 500 {
		txn.Ops = append(txn.Ops, Put(fmt.Sprintf("s/%04d", i), bytes.Repeat([]byte{byte(i)}, i)))
	}
	src.Apply(10, EncodeTxn(txn))
	src.Apply(11, EncodeTxn(Txn{Ops: []Op{Delete("s/0007"), Put("c/x", []byte("x"))}}))
	var snap bytes.Buffer
	if err := src.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	// Writes after the snapshot are not in it.
	src.Apply(12, EncodeTxn(putTxn("c/late", "l")))

	dst := openTestFSM(t)
	dst.Apply(1, EncodeTxn(putTxn("c/stale", "gone after restore")))
	if err := dst.Restore(bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := dst.AppliedIndex(); got != 11 {
		t.Fatalf("applied after restore = %d; want 11", got)
	}
	want, err := src.List("", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	want = filterOut(want, "c/late")
	got, err := dst.List("", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) != 500 {
		t.Fatalf("restored %d entries; want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Key != want[i].Key || got[i].Revision != want[i].Revision || !bytes.Equal(got[i].Value, want[i].Value) {
			t.Fatalf("entry %d: %+v vs %+v", i, got[i], want[i])
		}
	}
	if _, err := dst.Get("c/stale"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old state survived restore: %v", err)
	}
	// The restored FSM keeps applying, skipping what the snapshot covers.
	res := dst.ApplyBatch([]Command{cmd(11, putTxn("c/x", "replay")), cmd(12, putTxn("c/late", "l"))})
	if !res[0].Skipped || res[1].Err != nil || res[1].Revision != 12 {
		t.Fatalf("apply after restore = %+v", res)
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(dst.path))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".restore-") {
			t.Fatalf("leftover %s", e.Name())
		}
	}
}

func TestFSMRestoreRejectsGarbage(t *testing.T) {
	f := openTestFSM(t)
	f.Apply(1, EncodeTxn(putTxn("k", "v")))
	if err := f.Restore(strings.NewReader("not a bolt file")); err == nil {
		t.Fatal("restore of garbage succeeded")
	}
	// The old state is still served.
	if e := mustEntry(t, f, "k"); string(e.Value) != "v" || f.AppliedIndex() != 1 {
		t.Fatalf("state after failed restore: %+v applied %d", e, f.AppliedIndex())
	}
	if r := f.Apply(2, EncodeTxn(putTxn("k", "v2"))); r.Err != nil {
		t.Fatal(r.Err)
	}
}

func filterOut(es []Entry, key string) []Entry {
	out := es[:0:0]
	for _, e := range es {
		if e.Key != key {
			out = append(out, e)
		}
	}
	return out
}

func TestPrefixesDisjoint(t *testing.T) {
	ps := Prefixes()
	for i, a := range ps {
		for j, b := range ps {
			if i != j && strings.HasPrefix(a, b) {
				t.Fatalf("prefix %q starts with prefix %q", a, b)
			}
		}
	}
}

func TestFSMLogDurability(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	marker := path + UncleanSuffix
	f, err := OpenFSM(path, WithLogDurability())
	if err != nil {
		t.Fatal(err)
	}
	if f.Recovered() {
		t.Fatal("a new database reported as recovered")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("marker while open: %v", err)
	}
	if r := f.Apply(1, EncodeTxn(putTxn("k", "v"))); r.Err != nil {
		t.Fatal(r.Err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker after a clean close: %v", err)
	}
	// Clean close: the file is trusted.
	f, err = OpenFSM(path, WithLogDurability())
	if err != nil {
		t.Fatal(err)
	}
	if f.Recovered() || f.AppliedIndex() != 1 || string(mustEntry(t, f, "k").Value) != "v" {
		t.Fatalf("after clean close: recovered %v applied %d", f.Recovered(), f.AppliedIndex())
	}
	if err := f.CrashClose(); err != nil {
		t.Fatal(err)
	}
	// Unclean stop, and a file torn as a power loss may leave it: discarded
	// unread, the FSM starts empty.
	if err := os.WriteFile(path, bytes.Repeat([]byte{0xa5}, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err = OpenFSM(path, WithLogDurability())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Recovered() || f.AppliedIndex() != 0 {
		t.Fatalf("after unclean stop: recovered %v applied %d", f.Recovered(), f.AppliedIndex())
	}
	if _, err := f.Get("k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after discard: %v", err)
	}
}
