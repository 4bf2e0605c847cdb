package connguard

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// serve runs an http.Server behind a Guard on a loopback port.
func serve(t *testing.T, cfg Config, h http.Handler) (*Guard, string) {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ConnState: g.ConnState, ConnContext: g.ConnContext}
	go srv.Serve(g.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return g, ln.Addr().String()
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

// get makes one request on a new connection and returns how long it took.
func get(t *testing.T, addr string, within time.Duration) time.Duration {
	t.Helper()
	c := &http.Client{Timeout: within, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("request after %v: %v", time.Since(start), err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
	return time.Since(start)
}

// dial opens a connection that sends the given bytes and then nothing.
func dial(t *testing.T, addr, send string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, send); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedWithin reports whether the server ends c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// At the bound, a newcomer evicts a connection that has waited EvictAfter
// (stalled in its headers, silent, or idle after a request) and is served
// at once.
func TestEvictsWaiting(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T, addr string) net.Conn
	}{
		{"stalled mid-headers", func(t *testing.T, addr string) net.Conn {
			return dial(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n")
		}},
		{"silent", func(t *testing.T, addr string) net.Conn { return dial(t, addr, "") }},
		{"idle keep-alive", func(t *testing.T, addr string) net.Conn {
			c := dial(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 200 {
				t.Fatalf("first request: %v", err)
			}
			return c
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Max, cfg.EvictAfter = 1, 100*time.Millisecond
			g, addr := serve(t, cfg, http.HandlerFunc(ok))
			victim := tt.open(t, addr)
			waitFor(t, "1 open", func() bool { return g.Open() == 1 })
			time.Sleep(cfg.EvictAfter)
			if took := get(t, addr, 2*time.Second); took > time.Second {
				t.Fatalf("newcomer waited %v", took)
			}
			if !closedWithin(victim, time.Second) {
				t.Fatal("the waiting connection was not evicted")
			}
			waitFor(t, "connections released", func() bool { return g.Open() == 0 })
		})
	}
}

// The longest-waiting connection goes first.
func TestEvictsOldestFirst(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Max, cfg.EvictAfter = 2, 100*time.Millisecond
	g, addr := serve(t, cfg, http.HandlerFunc(ok))
	older := dial(t, addr, "GET / HTTP/1.1\r\n")
	waitFor(t, "1 open", func() bool { return g.Open() == 1 })
	time.Sleep(50 * time.Millisecond)
	younger := dial(t, addr, "GET / HTTP/1.1\r\n")
	waitFor(t, "2 open", func() bool { return g.Open() == 2 })
	time.Sleep(cfg.EvictAfter)
	get(t, addr, 2*time.Second)
	if !closedWithin(older, time.Second) {
		t.Fatal("the oldest connection was not evicted")
	}
	if closedWithin(younger, 50*time.Millisecond) {
		t.Fatal("a younger connection was evicted too")
	}
}

// Connections inside a request are never evicted: a newcomer waits for one
// to finish.
func TestActiveNotEvicted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Max, cfg.EvictAfter = 2, 50*time.Millisecond
	release := make(chan struct{})
	g, addr := serve(t, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		ok(w, r)
	}))
	var busy []net.Conn
	for range 2 {
		busy = append(busy, dial(t, addr, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
	}
	waitFor(t, "2 open", func() bool { return g.Open() == 2 })
	done := make(chan time.Duration, 1)
	go func() { done <- get(t, addr, 5*time.Second) }()
	select {
	case d := <-done:
		t.Fatalf("newcomer served after %v while both connections were in requests", d)
	case <-time.After(300 * time.Millisecond):
	}
	for _, c := range busy {
		if closedWithin(c, 10*time.Millisecond) {
			t.Fatal("a connection inside a request was evicted")
		}
	}
	close(release)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("newcomer not served after a request finished")
	}
}

// A burst of young connections is not evicted: the newcomer waits until the
// oldest has waited EvictAfter.
func TestYoungConnectionsKept(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Max, cfg.EvictAfter = 1, 400*time.Millisecond
	_, addr := serve(t, cfg, http.HandlerFunc(ok))
	young := dial(t, addr, "")
	start := time.Now()
	get(t, addr, 3*time.Second)
	if took := time.Since(start); took < cfg.EvictAfter*3/4 {
		t.Fatalf("a %v-old connection was evicted (newcomer served after %v)", cfg.EvictAfter, took)
	}
	if !closedWithin(young, time.Second) {
		t.Fatal("the waiting connection was not evicted after EvictAfter")
	}
}

func TestMaxForFileLimit(t *testing.T) {
	for _, tt := range []struct {
		nofile uint64
		want   int
	}{{64, 16}, {256, 96}, {1024, 480}, {1 << 20, maxAuto}} {
		if got := MaxForFileLimit(tt.nofile); got != tt.want {
			t.Errorf("MaxForFileLimit(%d) = %d, want %d", tt.nofile, got, tt.want)
		}
	}
	if n, err := FileLimit(); err != nil || n == 0 {
		t.Fatalf("FileLimit = %d, %v", n, err)
	}
}

func TestConfigValidate(t *testing.T) {
	for i, c := range []Config{{}, {Max: 1}, {Max: 1, EvictAfter: time.Second}} {
		if _, err := New(c); err == nil {
			t.Errorf("config %d: %s accepted", i, fmt.Sprint(c))
		}
	}
}

// A connection whose answer is on the wire and that only lingers (here:
// the handler discards an unread body, as s3api does) is evicted soon
// after Answered, long before EvictAfter, and its client has the answer.
func TestEvictsAnswered(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Max, cfg.EvictAfter = 1, 10*time.Second
	var g *Guard
	g, addr := serve(t, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			ok(w, r)
			return
		}
		w.Header().Set("Connection", "close")
		http.Error(w, "refused", http.StatusForbidden)
		_ = http.NewResponseController(w).Flush()
		g.Answered(r.Context())
		_, _ = io.Copy(io.Discard, r.Body) // lingers while the client trickles
	}))
	refused := dial(t, addr, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 102400\r\n\r\nb")
	resp, err := http.ReadResponse(bufio.NewReader(refused), nil)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refused request: %v", err)
	}
	waitFor(t, "1 open", func() bool { return g.Open() == 1 })
	if took := get(t, addr, 5*time.Second); took > time.Second {
		t.Fatalf("newcomer waited %v behind an answered connection", took)
	}
	if !closedWithin(refused, time.Second) {
		t.Fatal("the answered connection was not evicted")
	}
}
