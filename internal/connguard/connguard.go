// Package connguard bounds the connections an HTTP server holds, so that a
// crowd of slow or idle clients can neither exhaust the process's file
// descriptors nor lock newcomers out.
//
// At the bound, netutil.LimitListener would stop accepting until some
// connection ends by itself (a header or idle timeout, seconds later),
// and every newcomer would queue behind the slow crowd in the kernel's
// accept queue. A Guard instead makes room for each newcomer by closing
// the longest-waiting connection that does no work: idle between
// requests or still sending its first request's headers for at least
// EvictAfter, or already answered and only lingering before its close
// (see Answered). That is what http.Server.Shutdown does to idle
// connections. Connections inside a request are never evicted; the
// server's own deadlines bound them.
package connguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Guard.
type Config struct {
	// Max is the most connections held open at once.
	Max int
	// EvictAfter is how long a connection must have been idle, or waiting
	// for its first request's headers, before it may be evicted to admit
	// a new one when all places are taken. Legitimate clients send their
	// headers as soon as they connect (they are usually in the socket
	// before the connection is accepted), so only stalled ones grow old.
	EvictAfter time.Duration
	// Registry receives the metrics; nil disables them.
	Registry prometheus.Registerer
	Now      func() time.Time
}

// DefaultConfig returns the defaults; Max still has to be set.
func DefaultConfig() Config { return Config{EvictAfter: 250 * time.Millisecond, Now: time.Now} }

// Validate checks a Config.
func (c Config) Validate() error {
	switch {
	case c.Max < 1:
		return errors.New("connguard: Max must be at least 1")
	case c.EvictAfter <= 0:
		return errors.New("connguard: EvictAfter must be positive")
	case c.Now == nil:
		return errors.New("connguard: Now required")
	}
	return nil
}

// Guard counts a server's connections and evicts waiting ones at the
// bound. Use Listener for http.Server.Serve, ConnState and ConnContext as
// the http.Server hooks of the same names, and call Answered from the
// handler when an answer closes its connection.
type Guard struct {
	cfg  Config
	mu   sync.Mutex
	open int
	// waiting are the connections that do no work (state New or Idle, or
	// answered and closing) and since when they count as waiting.
	waiting map[net.Conn]time.Time
	// freed is signalled when a connection closes or becomes evictable.
	freed   chan struct{}
	gauge   prometheus.Gauge
	evicted prometheus.Counter
}

// New builds a Guard.
func New(cfg Config) (*Guard, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Guard{cfg: cfg, waiting: map[net.Conn]time.Time{}, freed: make(chan struct{}, 1)}
	if cfg.Registry != nil {
		g.gauge = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "filesphere_http_connections_open", Help: "Client connections held open.",
		})
		g.evicted = prometheus.NewCounter(prometheus.CounterOpts{
			Name: "filesphere_http_connections_evicted_total",
			Help: "Idle, header-stalled or answered connections closed to admit new ones at the connection bound.",
		})
		cfg.Registry.MustRegister(g.gauge, g.evicted)
	}
	return g, nil
}

// Listener wraps ln: each accepted connection takes a place, making room by
// eviction when all are taken, and gives it back when closed.
func (g *Guard) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, g: g} }

type connKey struct{}

// answeredGrace is how long a connection that has been answered and is
// closing stays safe from eviction.
const answeredGrace = 50 * time.Millisecond

// ConnContext is http.Server.ConnContext: it lets Answered find a
// request's connection.
func (g *Guard) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// Answered is told, with a request's context, that the request's answer
// is on the wire and its connection is closing: all the server still does
// with it is linger (discard what the client still sends) so that the
// client surely reads the answer, which matters less than admitting a
// newcomer when all places are taken. The connection becomes evictable
// after answeredGrace.
func (g *Guard) Answered(ctx context.Context) {
	c, ok := ctx.Value(connKey{}).(net.Conn)
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting[c] = g.cfg.Now().Add(answeredGrace - g.cfg.EvictAfter)
	g.signal()
}

// ConnState tracks which connections are waiting (evictable).
func (g *Guard) ConnState(c net.Conn, s http.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch s {
	case http.StateNew, http.StateIdle:
		g.waiting[c] = g.cfg.Now()
		g.signal()
	default:
		delete(g.waiting, c)
	}
}

// Max is the connection bound.
func (g *Guard) Max() int { return g.cfg.Max }

// Open returns the number of connections held.
func (g *Guard) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

func (g *Guard) signal() {
	select {
	case g.freed <- struct{}{}:
	default:
	}
}

// admit takes a place for a newly accepted connection. At the bound it
// evicts the longest-waiting connection once it has waited EvictAfter, and
// otherwise waits for a place to free up.
func (g *Guard) admit() {
	for {
		g.mu.Lock()
		if g.open < g.cfg.Max {
			g.open++
			g.setGauge()
			g.mu.Unlock()
			return
		}
		victim, wait := g.oldestWaiting()
		if victim != nil {
			delete(g.waiting, victim)
		}
		g.mu.Unlock()
		if victim != nil {
			// Closing frees its place (conn.Close calls release).
			_ = victim.Close()
			if g.evicted != nil {
				g.evicted.Inc()
			}
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-g.freed:
		case <-t.C:
		}
		t.Stop()
	}
}

// oldestWaiting returns the longest-waiting connection if it is evictable,
// else how long until one may be. The caller holds mu.
func (g *Guard) oldestWaiting() (net.Conn, time.Duration) {
	var oldest net.Conn
	var since time.Time
	for c, t := range g.waiting {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	if oldest == nil {
		return nil, g.cfg.EvictAfter
	}
	if age := g.cfg.Now().Sub(since); age < g.cfg.EvictAfter {
		return nil, g.cfg.EvictAfter - age
	}
	return oldest, 0
}

func (g *Guard) release(c net.Conn) {
	g.mu.Lock()
	g.open--
	delete(g.waiting, c)
	g.setGauge()
	g.mu.Unlock()
	g.signal()
}

func (g *Guard) setGauge() {
	if g.gauge != nil {
		g.gauge.Set(float64(g.open))
	}
}

type listener struct {
	net.Listener
	g *Guard
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.g.admit()
	return &conn{Conn: c, g: l.g}, nil
}

// conn gives its place back once, however often it is closed.
type conn struct {
	net.Conn
	g    *Guard
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.g.release(c) })
	return err
}

// CloseWrite keeps the half-close net/http uses to let a client read its
// answer before the connection goes (closeWriteAndWait).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// reservedFiles are descriptors kept for everything but client
// connections at the smallest limits: metadata and Raft stores, logs,
// peer connections.
const reservedFiles = 64

// maxAuto caps the automatic bound on hosts with huge descriptor limits.
const maxAuto = 10000

// MaxForFileLimit is the default connection bound for a process allowed
// nofile descriptors: half of what is left after reservedFiles, so the
// other half stays for the shard files that requests open (k+m per upload,
// up to k per read), at most maxAuto.
func MaxForFileLimit(nofile uint64) int {
	if nofile <= 2*reservedFiles {
		return max(int(nofile)/4, 1)
	}
	return int(min((nofile-reservedFiles)/2, maxAuto))
}
