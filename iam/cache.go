package iam

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam/policy"
)

// credCache holds resolved credentials (or the error resolving them gave)
// per access key id, valid for one IAM generation: the revision of keyGen,
// which every IAM write bumps in the same transaction. A lookup reads the
// generation from the local replica (one local read, no network); when it
// moved, the cache is emptied. So a change is seen on a node as soon as
// that node has applied it (milliseconds behind the leader), and on the
// node that made it at once: until the local replica has caught up with
// the node's own last write (minGen), lookups bypass the cache and read
// leader-confirmed.
type credCache struct {
	mu  sync.RWMutex
	gen uint64
	m   map[string]cacheEntry // resolved credentials
	// neg holds refusals apart, so a flood of made-up key ids cannot
	// evict the credentials in use.
	neg    map[string]cacheEntry
	max    int
	minGen atomic.Uint64
}

const maxNegative = 1024

type cacheEntry struct {
	cred *Credential
	err  error
}

func (c *credCache) init(max int) {
	c.max = max
	c.m = make(map[string]cacheEntry)
	c.neg = make(map[string]cacheEntry)
}

// generation reads the current IAM generation from kv.
func generation(ctx context.Context, kv meta.KV) (uint64, error) {
	e, err := kv.Get(ctx, keyGen)
	if errors.Is(err, meta.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("iam: read generation: %w", err)
	}
	return e.Revision, nil
}

// genReading is a reading of the IAM generation and when (time since the
// Service started, monotonic) it was taken.
type genReading struct {
	gen uint64
	at  time.Duration
}

// generation returns the IAM generation of the local replica, reusing a
// reading younger than GenerationCheckInterval unless this node has since
// written a newer one.
func (s *Service) generation(ctx context.Context) (uint64, error) {
	if iv := s.cfg.GenerationCheckInterval; iv > 0 {
		if r := s.genRead.Load(); r != nil && time.Since(s.started)-r.at < iv && r.gen >= s.creds.minGen.Load() {
			return r.gen, nil
		}
	}
	at := time.Since(s.started)
	gen, err := generation(ctx, s.stale)
	if err != nil {
		return 0, err
	}
	s.genRead.Store(&genReading{gen: gen, at: at})
	return gen, nil
}

// wrote records a commit of this node at revision rev.
func (c *credCache) wrote(rev uint64) {
	for {
		cur := c.minGen.Load()
		if rev <= cur || c.minGen.CompareAndSwap(cur, rev) {
			break
		}
	}
	c.mu.Lock()
	clear(c.m)
	clear(c.neg)
	c.mu.Unlock()
}

// lookup returns the entry for id if it is of generation gen.
func (c *credCache) lookup(gen uint64, id string) (cacheEntry, bool) {
	c.mu.RLock()
	e, ok := c.m[id]
	if !ok {
		e, ok = c.neg[id]
	}
	cur := c.gen
	c.mu.RUnlock()
	if cur == gen {
		return e, ok
	}
	if cur < gen {
		c.mu.Lock()
		if c.gen < gen {
			c.gen = gen
			clear(c.m)
			clear(c.neg)
		}
		c.mu.Unlock()
	}
	return cacheEntry{}, false
}

// store keeps e for id if gen is still the cache's generation.
func (c *credCache) store(gen uint64, id string, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	m, max := c.m, c.max
	if e.cred == nil {
		m, max = c.neg, maxNegative
	}
	if len(m) >= max {
		clear(m)
	}
	m[id] = e
}

// policyCache keeps compiled policies by kind and document text, so each
// distinct document is parsed once however many entities use it.
type policyCache struct {
	mu  sync.Mutex
	m   map[[sha256.Size]byte]*policy.Policy
	max int
}

func (c *policyCache) init(max int) {
	c.max = max
	c.m = make(map[[sha256.Size]byte]*policy.Policy)
}

// get returns the compiled doc (a *policy.Error if it is invalid; invalid
// documents are not cached).
func (c *policyCache) get(doc string, kind policy.Kind) (*policy.Policy, error) {
	h := sha256.New()
	h.Write([]byte{byte(kind)})
	h.Write([]byte(doc))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	c.mu.Lock()
	p, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := policy.Parse([]byte(doc), kind)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = p
	c.mu.Unlock()
	return p, nil
}
