package kms

import (
	"container/list"
	"sync"
)

// cachedKey is one key's unsealed state at one record revision. It is
// immutable once cached, so callers share it without locks.
type cachedKey struct {
	name      string
	rev       uint64
	state     State
	materials [][]byte // version i+1 at index i
}

// material returns version v's material, or nil.
func (c *cachedKey) material(v uint32) []byte {
	if v == 0 || int(v) > len(c.materials) {
		return nil
	}
	return c.materials[v-1]
}

func (c *cachedKey) current() (uint32, []byte) {
	v := uint32(len(c.materials))
	return v, c.materials[v-1]
}

// keyCache is a bounded LRU of cachedKeys by name.
type keyCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List // front = most recently used; values are *cachedKey
	m   map[string]*list.Element
}

func newKeyCache(max int) *keyCache {
	return &keyCache{max: max, ll: list.New(), m: make(map[string]*list.Element)}
}

// get returns the cached key if it is at revision rev.
func (c *keyCache) get(name string, rev uint64) *cachedKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[name]
	if !ok {
		return nil
	}
	ck := el.Value.(*cachedKey)
	if ck.rev != rev {
		return nil
	}
	c.ll.MoveToFront(el)
	return ck
}

// put caches ck, replacing an older revision and evicting the least
// recently used key when full. A concurrent loader of an older revision
// does not overwrite a newer one.
func (c *keyCache) put(ck *cachedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[ck.name]; ok {
		if el.Value.(*cachedKey).rev > ck.rev {
			return
		}
		el.Value = ck
		c.ll.MoveToFront(el)
		return
	}
	c.m[ck.name] = c.ll.PushFront(ck)
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.m, old.Value.(*cachedKey).name)
	}
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
