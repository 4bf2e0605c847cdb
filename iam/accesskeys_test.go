package iam

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam/policy"
)

func TestAccessKeyLifecycle(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	k := newUserWithKey(t, s, "alice")
	if !regexp.MustCompile(`^AKIA[A-Z0-9]{16}$`).MatchString(k.AccessKeyID) || len(k.SecretAccessKey) != 40 || k.Status != KeyActive {
		t.Fatalf("key %+v", k)
	}
	if bytes.Contains([]byte(fmt.Sprintf("%v %+v %#v %s", k, k, k, k)), []byte(k.SecretAccessKey)) {
		t.Fatal("formatting an AccessKey prints the secret")
	}
	c, err := s.Credentials(ctx, k.AccessKeyID)
	ok(t, err)
	if c.SecretAccessKey != k.SecretAccessKey || c.Principal.Type != policy.PrincipalUser || c.Principal.Username != "alice" ||
		c.Principal.ARN != "arn:aws:iam::"+s.Account().ID+":user/alice" || c.Temporary {
		t.Fatalf("credential %+v", c)
	}
	if bytes.Contains([]byte(fmt.Sprintf("%v %+v %#v", c, c, c)), []byte(k.SecretAccessKey)) {
		t.Fatal("formatting a Credential prints the secret")
	}
	ok(t, c.VerifySessionToken(""))
	wantKind(t, c.VerifySessionToken("sometoken"), ErrInvalidToken)

	k2 := must[AccessKey](t)(s.CreateAccessKey(ctx, "alice"))
	_, err = s.CreateAccessKey(ctx, "alice")
	wantKind(t, err, ErrLimitExceeded)
	if err.Error() != "Cannot exceed quota for AccessKeysPerUser: 2" {
		t.Fatalf("message %q", err)
	}
	keys := must[[]AccessKeyMetadata](t)(s.ListAccessKeys(ctx, "alice"))
	if len(keys) != 2 || keys[0].AccessKeyID != k.AccessKeyID || keys[1].AccessKeyID != k2.AccessKeyID {
		t.Fatalf("keys %+v", keys)
	}

	// Inactive keys are refused, and accepted again once active.
	ok(t, s.UpdateAccessKey(ctx, "alice", k.AccessKeyID, KeyInactive))
	_, err = s.Credentials(ctx, k.AccessKeyID)
	wantKind(t, err, ErrAccessKeyInactive)
	wantKind(t, s.UpdateAccessKey(ctx, "alice", k.AccessKeyID, "Bogus"), ErrValidation)
	ok(t, s.UpdateAccessKey(ctx, "alice", k.AccessKeyID, KeyActive))
	must[*Credential](t)(s.Credentials(ctx, k.AccessKeyID))

	// Disabled users are refused with every key.
	ok(t, s.SetUserEnabled(ctx, "alice", false))
	for _, id := range []string{k.AccessKeyID, k2.AccessKeyID} {
		_, err = s.Credentials(ctx, id)
		wantKind(t, err, ErrUserDisabled)
	}
	if u := must[User](t)(s.GetUser(ctx, "alice")); u.Enabled {
		t.Fatal("user still enabled")
	}
	ok(t, s.SetUserEnabled(ctx, "alice", true))
	must[*Credential](t)(s.Credentials(ctx, k2.AccessKeyID))

	// A deleted key is refused at once, even though it was cached.
	ok(t, s.DeleteAccessKey(ctx, "alice", k.AccessKeyID))
	_, err = s.Credentials(ctx, k.AccessKeyID)
	wantKind(t, err, ErrInvalidAccessKeyID)
	wantKind(t, s.DeleteAccessKey(ctx, "alice", k.AccessKeyID), ErrNoSuchEntity)
	// Keys of another user are not this user's.
	newUserWithKey(t, s, "bob")
	wantKind(t, s.DeleteAccessKey(ctx, "bob", k2.AccessKeyID), ErrNoSuchEntity)
	wantKind(t, s.UpdateAccessKey(ctx, "bob", k2.AccessKeyID, KeyInactive), ErrNoSuchEntity)

	// A deleted user's keys stop at once (AWS makes you delete the keys
	// first; a user re-created under the same name does not inherit them).
	ok(t, s.DeleteAccessKey(ctx, "alice", k2.AccessKeyID))
	ok(t, s.DeleteUser(ctx, "alice"))
	_, err = s.Credentials(ctx, k2.AccessKeyID)
	wantKind(t, err, ErrInvalidAccessKeyID)

	for _, id := range []string{"", "AKIA", "AKIAAAAAAAAAAAAAAAAA", "AKIA\x00AAAAAAAAAAAAAA", "x", string(make([]byte, 5000))} {
		_, err = s.Credentials(ctx, id)
		wantKind(t, err, ErrInvalidAccessKeyID)
	}
}

func TestRootCredential(t *testing.T) {
	s, _, _ := newTestService(t)
	c, err := s.Credentials(context.Background(), "rootkey")
	ok(t, err)
	p := c.Principal
	if c.SecretAccessKey != "rootsecret-0123456789" || p.Type != policy.PrincipalAccount || p.ARN != "arn:aws:iam::"+s.Account().ID+":root" ||
		p.CanonicalID != s.Account().CanonicalID || len(p.CanonicalID) != 64 {
		t.Fatalf("root %+v", c)
	}
	if !regexp.MustCompile(`^[0-9]{12}$`).MatchString(s.Account().ID) {
		t.Fatalf("account id %q", s.Account().ID)
	}
}

// At most two keys per user even when many are created at once.
func TestConcurrentCreateAccessKey(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "u"}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.CreateAccessKey(ctx, "u"); err == nil {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	keys := must[[]AccessKeyMetadata](t)(s.ListAccessKeys(ctx, "u"))
	if created != 2 || len(keys) != 2 {
		t.Fatalf("created %d keys, user has %d", created, len(keys))
	}
	all, err := s.kv.List(ctx, prefixKey, "", 0)
	ok(t, err)
	if len(all) != 2 {
		t.Fatalf("%d key records", len(all))
	}
}

// No secret is ever stored in clear: scan every value of the KV.
func TestSecretsNeverStoredInClear(t *testing.T) {
	s, _, kv := newTestService(t)
	ctx := context.Background()
	var secrets []string
	for i := 0; i < 3; i++ {
		k := newUserWithKey(t, s, fmt.Sprint("u", i))
		secrets = append(secrets, k.SecretAccessKey)
	}
	c := must[*Credential](t)(s.Credentials(ctx, must[AccessKey](t)(s.CreateAccessKey(ctx, "u0")).AccessKeyID))
	secrets = append(secrets, c.SecretAccessKey)
	tc := must[TemporaryCredentials](t)(s.GetSessionToken(ctx, c, 0))
	secrets = append(secrets, tc.SecretAccessKey, tc.SessionToken)
	must[LoginProfile](t)(s.CreateLoginProfile(ctx, "u1", "Sup3r-Secret-Pw", false))
	secrets = append(secrets, "Sup3r-Secret-Pw")

	es, err := kv.List(ctx, "", "", 0)
	ok(t, err)
	if len(es) < 8 {
		t.Fatalf("only %d KV entries", len(es))
	}
	for _, e := range es {
		for _, sec := range secrets {
			if bytes.Contains(e.Value, []byte(sec)) || bytes.Contains([]byte(e.Key), []byte(sec)) {
				t.Fatalf("KV entry %s holds a secret in clear", e.Key)
			}
		}
	}
	// The sealed secret is bound to its key id: a record whose sealed
	// secret was swapped with another key's does not open.
	var k0, k1 accessKeyRecord
	found0, _ := read(ctx, kv, accessKeyKey(c.AccessKeyID), &k0)
	keys := must[[]AccessKeyMetadata](t)(s.ListAccessKeys(ctx, "u1"))
	found1, _ := read(ctx, kv, accessKeyKey(keys[0].AccessKeyID), &k1)
	if !found0 || !found1 {
		t.Fatal("key records missing")
	}
	if _, err := s.sealer.Open(ctx, secretPurpose(k0.ID), k1.Secret); err == nil {
		t.Fatal("a sealed secret opened under another key's purpose")
	}
}

func TestLastUsedIsCoalesced(t *testing.T) {
	clk := newClock()
	kv := &countingKV{KV: openLocal(t)}
	s := newServiceOn(t, kv, testConfig(t, clk))
	ctx := context.Background()
	k := newUserWithKey(t, s, "u")
	k2 := must[AccessKey](t)(s.CreateAccessKey(ctx, "u"))
	lu := must[AccessKeyLastUsed](t)(s.GetAccessKeyLastUsed(ctx, k.AccessKeyID))
	if !lu.When.IsZero() || lu.UserName != "u" {
		t.Fatalf("never used: %+v", lu)
	}
	before := kv.txns.Load()
	for i := 0; i < 1000; i++ {
		s.RecordAccessKeyUse(k.AccessKeyID, "s3", "us-east-1")
		s.RecordAccessKeyUse(k2.AccessKeyID, "iam", "")
		clk.Advance(time.Millisecond)
	}
	s.RecordAccessKeyUse("rootkey", "s3", "")     // not an IAM key: ignored
	s.RecordAccessKeyUse("AKIANOTAKEY", "s3", "") // malformed: ignored
	if n := kv.txns.Load() - before; n != 0 {
		t.Fatalf("%d KV writes on the request path", n)
	}
	// Reported before the write, from memory.
	lu = must[AccessKeyLastUsed](t)(s.GetAccessKeyLastUsed(ctx, k.AccessKeyID))
	if !lu.When.Equal(clk.Now().Add(-time.Millisecond)) || lu.Service != "s3" || lu.Region != "us-east-1" {
		t.Fatalf("pending last used %+v (now %v)", lu, clk.Now())
	}
	s.FlushLastUsed(ctx)
	if n := kv.txns.Load() - before; n != 1 {
		t.Fatalf("flush made %d KV writes for 2000 uses of 2 keys; want 1", n)
	}
	// A second Service (another node) sees the stored time.
	other := newServiceOn(t, kv, testConfig(t, clk))
	lu = must[AccessKeyLastUsed](t)(other.GetAccessKeyLastUsed(ctx, k2.AccessKeyID))
	if lu.Service != "iam" || !lu.When.Equal(clk.Now().Add(-time.Millisecond)) {
		t.Fatalf("stored last used %+v", lu)
	}
	// An older use flushed by another node does not overwrite a newer one.
	other.used.note(k2.AccessKeyID, lastUsedRecord{When: clk.Now().Add(-time.Hour), Service: "sts"})
	other.FlushLastUsed(ctx)
	if lu = must[AccessKeyLastUsed](t)(s.GetAccessKeyLastUsed(ctx, k2.AccessKeyID)); lu.Service != "iam" {
		t.Fatalf("older use overwrote newer: %+v", lu)
	}
	// Nothing noted, nothing written; deleted keys leave no record.
	before = kv.txns.Load()
	s.FlushLastUsed(ctx)
	if kv.txns.Load() != before {
		t.Fatal("an empty flush wrote")
	}
	s.RecordAccessKeyUse(k.AccessKeyID, "s3", "")
	ok(t, s.DeleteAccessKey(ctx, "u", k.AccessKeyID))
	s.FlushLastUsed(ctx)
	if _, err := kv.Get(ctx, lastUsedKey(k.AccessKeyID)); err != meta.ErrNotFound {
		t.Fatalf("last-used record of a deleted key: %v", err)
	}
}

// The background loop writes recorded uses on its own.
func TestLastUsedFlushedInBackground(t *testing.T) {
	clk := newClock()
	cfg := testConfig(t, clk)
	cfg.LastUsedFlushInterval = 10 * time.Millisecond
	kv := openLocal(t)
	s := newServiceOn(t, kv, cfg)
	k := newUserWithKey(t, s, "u")
	s.RecordAccessKeyUse(k.AccessKeyID, "s3", "eu-west-1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var rec lastUsedRecord
		found, err := read(context.Background(), kv, lastUsedKey(k.AccessKeyID), &rec)
		ok(t, err)
		if found && rec.Region == "eu-west-1" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("use not written within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
