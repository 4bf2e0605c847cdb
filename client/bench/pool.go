package bench

import (
	"math/rand/v2"
	"sync"
)

// keyPool holds the live keys of a mixed load. A GET or STAT leases a key
// so no DELETE removes it meanwhile; a DELETE takes a key nobody reads out
// of the pool before it is sent; a PUT adds its key once it succeeded. So
// every request the load sends is one that must succeed, and any error is
// the server's.
type keyPool struct {
	mu      sync.Mutex
	keys    []string
	pos     map[string]int // index in keys
	readers map[string]int // leases held
}

func newKeyPool(keys []string) *keyPool {
	p := &keyPool{pos: make(map[string]int, len(keys)), readers: map[string]int{}}
	for _, k := range keys {
		p.add(k)
	}
	return p
}

func (p *keyPool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.keys)
}

func (p *keyPool) add(k string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.pos[k]; ok {
		return
	}
	p.pos[k] = len(p.keys)
	p.keys = append(p.keys, k)
}

// lease picks a random key and holds it until release; false when empty.
func (p *keyPool) lease(r *rand.Rand) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.keys) == 0 {
		return "", false
	}
	k := p.keys[r.IntN(len(p.keys))]
	p.readers[k]++
	return k, true
}

func (p *keyPool) release(k string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readers[k]--; p.readers[k] <= 0 {
		delete(p.readers, k)
	}
}

// take removes a random key nobody holds and returns it; false when the
// pool is empty or a few tries found only leased keys.
func (p *keyPool) take(r *rand.Rand) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range 8 {
		if len(p.keys) == 0 {
			return "", false
		}
		i := r.IntN(len(p.keys))
		k := p.keys[i]
		if p.readers[k] > 0 {
			continue
		}
		last := len(p.keys) - 1
		p.keys[i] = p.keys[last]
		p.pos[p.keys[i]] = i
		p.keys = p.keys[:last]
		delete(p.pos, k)
		return k, true
	}
	return "", false
}

// kind is one S3 operation the loads send; its name is the report's label.
type kind int

const (
	kindPut kind = iota
	kindGet
	kindStat
	kindDelete
	kindList
	numKinds
)

var kindNames = [numKinds]string{"PUT", "GET", "STAT", "DELETE", "LIST"}

func (k kind) String() string { return kindNames[k] }

// pick draws the next mixed operation by the mix's weights.
func (m Mix) pick(r *rand.Rand) kind {
	n := r.IntN(m.total())
	for _, c := range []struct {
		k kind
		w int
	}{{kindGet, m.Get}, {kindStat, m.Stat}, {kindPut, m.Put}, {kindDelete, m.Delete}} {
		if n < c.w {
			return c.k
		}
		n -= c.w
	}
	panic("unreachable: weights sum to total")
}
