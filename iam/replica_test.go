package iam

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam/policy"
)

// replicated is a two-node metadata store without Raft: every Txn applies
// to the leader's FSM and is appended to a log; the follower's FSM applies
// the log only when told (catchUp), so tests control replication lag.
type replicated struct {
	mu       sync.Mutex
	leader   *meta.FSM
	follower *meta.FSM
	log      []meta.Command
	applied  int // log entries the follower has applied
	next     uint64
}

func newReplicated(t *testing.T) *replicated {
	dir := t.TempDir()
	l, err := meta.OpenFSM(filepath.Join(dir, "leader.db"))
	ok(t, err)
	f, err := meta.OpenFSM(filepath.Join(dir, "follower.db"))
	ok(t, err)
	t.Cleanup(func() { l.Close(); f.Close() })
	return &replicated{leader: l, follower: f}
}

func (r *replicated) txn(ctx context.Context, t meta.Txn) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := t.Validate(); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	c := meta.Command{Index: r.next, Data: meta.EncodeTxn(t)}
	res := r.leader.Apply(c.Index, c.Data)
	r.log = append(r.log, c)
	if res.Err != nil {
		return 0, res.Err
	}
	return res.Revision, nil
}

func (r *replicated) catchUp() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ; r.applied < len(r.log); r.applied++ {
		c := r.log[r.applied]
		if res := r.follower.Apply(c.Index, c.Data); res.Err != nil && !isCompareFailed(res.Err) {
			panic(res.Err)
		}
	}
}

// replicate catches the follower up every interval until the test ends.
func (r *replicated) replicate(t *testing.T, interval time.Duration) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				r.catchUp()
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done); wg.Wait() })
}

// leaderKV is the leader node's KV.
type leaderKV struct{ r *replicated }

func (k leaderKV) Get(_ context.Context, key string) (meta.Entry, error) { return k.r.leader.Get(key) }
func (k leaderKV) List(_ context.Context, p, s string, n int) ([]meta.Entry, error) {
	return k.r.leader.List(p, s, n)
}
func (k leaderKV) Txn(ctx context.Context, t meta.Txn) (uint64, error) { return k.r.txn(ctx, t) }

// followerKV is the follower node's KV: linearizable reads catch up first
// (as RaftKV's read index does); Stale reads the follower as it is.
type followerKV struct {
	r     *replicated
	reads *atomic.Int64 // linearizable Gets made
}

func newFollowerKV(r *replicated) followerKV { return followerKV{r: r, reads: new(atomic.Int64)} }

func (k followerKV) consistentReads() int64 { return k.reads.Load() }

func (k followerKV) Get(_ context.Context, key string) (meta.Entry, error) {
	k.reads.Add(1)
	k.r.catchUp()
	return k.r.follower.Get(key)
}
func (k followerKV) List(_ context.Context, p, s string, n int) ([]meta.Entry, error) {
	k.r.catchUp()
	return k.r.follower.List(p, s, n)
}
func (k followerKV) Txn(ctx context.Context, t meta.Txn) (uint64, error) { return k.r.txn(ctx, t) }
func (k followerKV) Stale() meta.KV                                      { return followerStale{k.r} }

type followerStale struct{ r *replicated }

func (k followerStale) Get(_ context.Context, key string) (meta.Entry, error) {
	return k.r.follower.Get(key)
}
func (k followerStale) List(_ context.Context, p, s string, n int) ([]meta.Entry, error) {
	return k.r.follower.List(p, s, n)
}
func (k followerStale) Txn(ctx context.Context, t meta.Txn) (uint64, error) { return k.r.txn(ctx, t) }

// Two Services over one KV (two nodes of one store): a change made through
// one is seen by the other within a second, including cached credentials.
func TestTwoServicesShareOneKV(t *testing.T) {
	clk := newClock()
	kv := openLocal(t)
	a := newServiceOn(t, kv, testConfig(t, clk))
	b := newServiceOn(t, kv, testConfig(t, clk))
	ctx := context.Background()
	if a.Account() != b.Account() {
		t.Fatalf("accounts differ: %+v %+v", a.Account(), b.Account())
	}
	k := newUserWithKey(t, a, "alice")
	c := must[*Credential](t)(b.Credentials(ctx, k.AccessKeyID)) // now cached on b
	if c.SecretAccessKey != k.SecretAccessKey {
		t.Fatal("b resolved another secret")
	}
	within := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not seen by the other Service within a second", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	ok(t, a.SetUserEnabled(ctx, "alice", false))
	within("disable", func() bool { _, err := b.Credentials(ctx, k.AccessKeyID); return errors.Is(err, ErrUserDisabled) })
	ok(t, a.SetUserEnabled(ctx, "alice", true))
	within("enable", func() bool { _, err := b.Credentials(ctx, k.AccessKeyID); return err == nil })
	ok(t, a.PutInlinePolicy(ctx, UserEntity("alice"), "p", allowAllS3))
	within("policy", func() bool {
		d, err := b.Authorize(ctx, AuthRequest{Caller: c, Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k"})
		return err == nil && d.Allowed()
	})
	ok(t, a.UpdateAccessKey(ctx, "alice", k.AccessKeyID, KeyInactive))
	within("deactivate", func() bool { _, err := b.Credentials(ctx, k.AccessKeyID); return errors.Is(err, ErrAccessKeyInactive) })
	ok(t, a.DeleteAccessKey(ctx, "alice", k.AccessKeyID))
	within("delete", func() bool { _, err := b.Credentials(ctx, k.AccessKeyID); return errors.Is(err, ErrInvalidAccessKeyID) })
}

// A follower whose replica lags: it still authenticates a key created a
// moment ago on the leader (one leader-confirmed read), sees changes as
// soon as it has applied them, and sees its own writes at once.
func TestLaggingReplica(t *testing.T) {
	clk := newClock()
	r := newReplicated(t)
	leader := newServiceOn(t, leaderKV{r}, testConfig(t, clk))
	fkv := newFollowerKV(r)
	cfg := testConfig(t, clk)
	cfg.GenerationCheckInterval = 0 // see each catchUp at once
	follower := newServiceOn(t, fkv, cfg)
	ctx := context.Background()

	k := newUserWithKey(t, leader, "alice")
	// Not yet replicated: the local read misses, the confirmed read finds it.
	c, err := follower.Credentials(ctx, k.AccessKeyID)
	ok(t, err)
	if c.SecretAccessKey != k.SecretAccessKey {
		t.Fatal("wrong secret")
	}
	r.catchUp()
	must[*Credential](t)(follower.Credentials(ctx, k.AccessKeyID)) // cached now
	reads := fkv.consistentReads()
	for i := 0; i < 100; i++ {
		must[*Credential](t)(follower.Credentials(ctx, k.AccessKeyID))
	}
	if n := fkv.consistentReads() - reads; n != 0 {
		t.Fatalf("%d leader-confirmed reads for cached lookups", n)
	}

	// A change on the leader counts on the follower once applied there.
	ok(t, leader.SetUserEnabled(ctx, "alice", false))
	must[*Credential](t)(follower.Credentials(ctx, k.AccessKeyID)) // not applied yet: the bound is replication lag
	r.catchUp()
	_, err = follower.Credentials(ctx, k.AccessKeyID)
	wantKind(t, err, ErrUserDisabled)

	// The follower's own writes count on it at once, before its replica
	// has applied them.
	ok(t, follower.SetUserEnabled(ctx, "alice", true))
	must[*Credential](t)(follower.Credentials(ctx, k.AccessKeyID))
	ok(t, follower.UpdateAccessKey(ctx, "alice", k.AccessKeyID, KeyInactive))
	_, err = follower.Credentials(ctx, k.AccessKeyID)
	wantKind(t, err, ErrAccessKeyInactive)
	_, err = follower.Authorize(ctx, AuthRequest{Caller: c, Action: "s3:GetObject", Resource: policy.S3ObjectARN("b", "k")})
	wantKind(t, err, ErrAccessKeyInactive)

	// With replication running, a leader change reaches the follower's
	// cached credential within a second.
	r.replicate(t, 20*time.Millisecond)
	ok(t, leader.UpdateAccessKey(ctx, "alice", k.AccessKeyID, KeyActive))
	deadline := time.Now().Add(time.Second)
	for {
		if _, err := follower.Credentials(ctx, k.AccessKeyID); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("reactivation not seen on the follower within a second")
		}
		time.Sleep(time.Millisecond)
	}

	// Unknown keys are looked up once, then refused from the cache.
	reads = fkv.consistentReads()
	for i := 0; i < 10; i++ {
		_, err = follower.Credentials(ctx, "AKIAUNKNOWNUNKNOWN00")
		wantKind(t, err, ErrInvalidAccessKeyID)
	}
	if n := fkv.consistentReads() - reads; n > 1 {
		t.Fatalf("%d leader-confirmed reads for one unknown key", n)
	}
}

// Without leader-confirmed reads (MaxConsistentReads 0) a key the
// follower has not applied yet is refused, and accepted once applied.
func TestLaggingReplicaWithoutConsistentReads(t *testing.T) {
	clk := newClock()
	r := newReplicated(t)
	leader := newServiceOn(t, leaderKV{r}, testConfig(t, clk))
	cfg := testConfig(t, clk)
	cfg.MaxConsistentReads = 0
	cfg.GenerationCheckInterval = 0
	follower := newServiceOn(t, newFollowerKV(r), cfg)
	k := newUserWithKey(t, leader, "alice")
	_, err := follower.Credentials(context.Background(), k.AccessKeyID)
	wantKind(t, err, ErrInvalidAccessKeyID)
	r.catchUp()
	must[*Credential](t)(follower.Credentials(context.Background(), k.AccessKeyID))
}

// Concurrent bootstraps agree on one account.
func TestBootstrapOnce(t *testing.T) {
	clk := newClock()
	kv := openLocal(t)
	var wg sync.WaitGroup
	accts := make([]Account, 4)
	for i := range accts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			accts[i] = newServiceOn(t, kv, testConfig(t, clk)).Account()
		}()
	}
	wg.Wait()
	for _, a := range accts[1:] {
		if a != accts[0] {
			t.Fatalf("accounts differ: %+v", accts)
		}
	}
	cfg := testConfig(t, clk)
	cfg.AccountID = "000000000001"
	if accts[0].ID != cfg.AccountID {
		if _, err := New(context.Background(), cfg, kv, testSealer(t)); err == nil {
			t.Fatal("a configured account id different from the stored one was accepted")
		}
	}
	cfg.AccountID = "111122223333"
	s := newServiceOn(t, openLocal(t), cfg)
	if s.Account().ID != "111122223333" {
		t.Fatalf("configured account id not used: %s", s.Account().ID)
	}
}
