package iam

import (
	"context"
	"fmt"
	"testing"
)

func TestCacheBounds(t *testing.T) {
	clk := newClock()
	cfg := testConfig(t, clk)
	cfg.CacheSize = 3
	s := newServiceOn(t, openLocal(t), cfg)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, newUserWithKey(t, s, fmt.Sprint("u", i)).AccessKeyID)
		ok(t, s.PutInlinePolicy(ctx, UserEntity(fmt.Sprint("u", i)), "same", allowAllS3))
	}
	for _, id := range ids {
		must[*Credential](t)(s.Credentials(ctx, id))
	}
	// Made-up key ids never push out the credentials in use.
	for i := 0; i < 3*maxNegative; i++ {
		if _, err := s.Credentials(ctx, fmt.Sprintf("AKIA%016d", i)); err == nil {
			t.Fatal("made-up key accepted")
		}
	}
	s.creds.mu.RLock()
	n, neg := len(s.creds.m), len(s.creds.neg)
	_, cached := s.creds.m[ids[0]]
	s.creds.mu.RUnlock()
	if n != 3 || !cached || neg > maxNegative {
		t.Fatalf("cache holds %d credentials (first cached: %v), %d refusals", n, cached, neg)
	}
	// One compiled policy for the three users' identical documents.
	c0 := must[*Credential](t)(s.Credentials(ctx, ids[0]))
	c1 := must[*Credential](t)(s.Credentials(ctx, ids[1]))
	if c0.identity[0].Policy != c1.identity[0].Policy {
		t.Fatal("the same document was compiled twice")
	}
}
