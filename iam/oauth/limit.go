package oauth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// addrLimiter bounds how often one source address may start a device
// authorization: each start is a replicated write, and the endpoint takes
// unauthenticated (public-client) requests. It is per node, in memory, and
// bounded: past maxAddrs addresses it starts afresh.
type addrLimiter struct {
	mu    sync.Mutex
	every time.Duration
	burst int
	m     map[string]*rate.Limiter
}

const maxAddrs = 10000

func newAddrLimiter(perMinute, burst int) *addrLimiter {
	return &addrLimiter{every: time.Minute / time.Duration(max(perMinute, 1)), burst: max(burst, 1), m: map[string]*rate.Limiter{}}
}

func (l *addrLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[addr]
	if lim == nil {
		if len(l.m) >= maxAddrs {
			clear(l.m)
		}
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.m[addr] = lim
	}
	return lim.AllowN(now, 1)
}
