package meta_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/filesphere/filesphere/cluster/meta"
)

func openFSM(t *testing.T) *meta.FSM {
	t.Helper()
	f, err := meta.OpenFSM(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func putCmd(key, val string) []byte {
	return meta.EncodeTxn(meta.Txn{Ops: []meta.Op{meta.Put(key, []byte(val))}})
}

func cmdLog(index uint64, data []byte) *raft.Log {
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data}
}

func TestRaftFSMApplyBatch(t *testing.T) {
	a := meta.NewRaftFSM(openFSM(t))
	logs := []*raft.Log{
		cmdLog(1, putCmd("t/a", "1")),
		{Index: 2, Term: 1, Type: raft.LogConfiguration, Data: []byte("not for the FSM")},
		cmdLog(3, meta.EncodeTxn(meta.Txn{Compares: []meta.Compare{{Key: "t/a", Revision: 7}}})),
		cmdLog(4, []byte{0xff}), // undecodable: rejected, index consumed
		cmdLog(5, putCmd("t/b", "2")),
	}
	resp := a.ApplyBatch(logs)
	if len(resp) != len(logs) {
		t.Fatalf("%d responses for %d logs", len(resp), len(logs))
	}
	if resp[1] != nil {
		t.Fatalf("configuration entry response = %v; want nil", resp[1])
	}
	r0, r2, r3, r4 := resp[0].(meta.Result), resp[2].(meta.Result), resp[3].(meta.Result), resp[4].(meta.Result)
	if r0.Err != nil || r0.Revision != 1 || r4.Err != nil || r4.Revision != 5 {
		t.Fatalf("applied results = %+v, %+v", r0, r4)
	}
	var cf *meta.CompareFailedError
	if !errors.As(r2.Err, &cf) || cf.Actual != 1 {
		t.Fatalf("compare result = %+v", r2)
	}
	if !errors.Is(r3.Err, meta.ErrBadCommand) {
		t.Fatalf("bad command result = %+v", r3)
	}
	if got := a.FSM().AppliedIndex(); got != 5 {
		t.Fatalf("applied index = %d", got)
	}
	if st := a.Stats(); st.Applied != 4 || st.Batches != 1 || st.Skipped != 0 {
		t.Fatalf("stats = %+v; want 4 applied in 1 batch", st)
	}

	// Replay (raft after a restart): everything is skipped, nothing written.
	resp = a.ApplyBatch(logs)
	for i, r := range resp {
		if i == 1 {
			continue
		}
		if res := r.(meta.Result); !res.Skipped || res.Err != nil {
			t.Fatalf("replayed %d = %+v; want skipped", i, res)
		}
	}
	if st := a.Stats(); st.Applied != 4 || st.Batches != 1 || st.Skipped != 4 {
		t.Fatalf("stats after replay = %+v", st)
	}
	// Apply (the single-entry path) behaves the same.
	if r := a.Apply(cmdLog(6, putCmd("t/c", "3"))).(meta.Result); r.Revision != 6 {
		t.Fatalf("Apply = %+v", r)
	}
	if r := a.Apply(&raft.Log{Index: 7, Type: raft.LogConfiguration}); r != nil {
		t.Fatalf("Apply(configuration) = %v", r)
	}
}

func TestRaftFSMStopsAfterStorageFailure(t *testing.T) {
	f := openFSM(t)
	var hooked error
	a := meta.NewRaftFSM(f, meta.WithApplyRetries(1, 1), meta.WithFailureHook(func(err error) { hooked = err }))
	if r := a.Apply(cmdLog(1, putCmd("t/a", "1"))).(meta.Result); r.Err != nil {
		t.Fatal(r.Err)
	}
	f.Close() // every later apply is a storage failure
	r := a.Apply(cmdLog(2, putCmd("t/b", "2"))).(meta.Result)
	if !errors.Is(r.Err, meta.ErrFSMFailed) || !errors.Is(hooked, meta.ErrFSMFailed) || a.Err() == nil {
		t.Fatalf("result %+v, hook %v, Err %v", r, hooked, a.Err())
	}
	if _, err := a.Snapshot(); !errors.Is(err, meta.ErrFSMFailed) {
		t.Fatalf("snapshot after failure: %v", err)
	}
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { s.closed = true; return nil }

func TestRaftFSMSnapshotIsPointInTime(t *testing.T) {
	a := meta.NewRaftFSM(openFSM(t))
	apply := func(from, to int) {
		var logs []*raft.Log
		for i := from; i <= to; i++ {
			logs = append(logs, cmdLog(uint64(i), putCmd(fmt.Sprintf("t/%03d", i%7), fmt.Sprint(i))))
		}
		a.ApplyBatch(logs)
	}
	apply(1, 10)
	want, _ := a.FSM().List("", "", 0)
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	apply(11, 20) // after Snapshot, before Persist: must not show
	var sink memSink
	if err := snap.Persist(&sink); err != nil || !sink.closed {
		t.Fatalf("persist: %v (closed %v)", err, sink.closed)
	}
	snap.Release()
	snap.Release() // idempotent

	b := meta.NewRaftFSM(openFSM(t))
	if err := b.Restore(io.NopCloser(&sink)); err != nil {
		t.Fatal(err)
	}
	if got := b.FSM().AppliedIndex(); got != 10 {
		t.Fatalf("restored applied index = %d; want 10", got)
	}
	got, _ := b.FSM().List("", "", 0)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("restored state differs from the snapshot point:\n got %v\nwant %v", got, want)
	}
	if st := b.Stats(); st.Restores != 1 {
		t.Fatalf("stats = %+v", st)
	}
	// Entries after the snapshot apply on top of the restored state.
	if r := b.Apply(cmdLog(11, putCmd("t/x", "y"))).(meta.Result); r.Err != nil || r.Skipped {
		t.Fatalf("apply after restore = %+v", r)
	}
}

func TestDefaultRaftConfigValid(t *testing.T) {
	c := meta.DefaultRaftConfig("n1")
	if err := raft.ValidateConfig(c); err != nil {
		t.Fatal(err)
	}
	if !c.BatchApplyCh || !c.NoSnapshotRestoreOnStart || c.LocalID != "n1" {
		t.Fatalf("config = %+v", c)
	}
}
