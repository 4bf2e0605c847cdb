package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/storage/drive"
)

func TestForwardTxnAndTypedErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cmd := meta.EncodeTxn(meta.Txn{Ops: []meta.Op{meta.Put("k", []byte("v"))}})
	rev, err := e.client.ForwardTxn(ctx, e.ts.URL, cmd)
	if err != nil || rev != 1 {
		t.Fatalf("forward: rev %d, %v", rev, err)
	}
	if got := e.meta.cmds[0]; string(got) != string(cmd) {
		t.Fatalf("leader got %q", got)
	}

	tests := []struct {
		name  string
		err   error
		check func(t *testing.T, err error)
	}{
		{"compare failed", fmt.Errorf("txn: %w", &meta.CompareFailedError{Key: "a/b", Want: 7, Actual: 9}),
			func(t *testing.T, err error) {
				var cf *meta.CompareFailedError
				if !errors.As(err, &cf) || *cf != (meta.CompareFailedError{Key: "a/b", Want: 7, Actual: 9}) {
					t.Fatalf("got %v (%+v)", err, cf)
				}
			}},
		{"compare failed on absent key", &meta.CompareFailedError{Key: "new"},
			func(t *testing.T, err error) {
				var cf *meta.CompareFailedError
				if !errors.As(err, &cf) || *cf != (meta.CompareFailedError{Key: "new"}) {
					t.Fatalf("got %v", err)
				}
			}},
		{"not leader with hint", &NotLeaderError{LeaderID: "n3", LeaderAddr: "http://n3:9001"},
			func(t *testing.T, err error) {
				var nl *NotLeaderError
				if !errors.Is(err, ErrNotLeader) || !errors.As(err, &nl) || nl.LeaderID != "n3" || nl.LeaderAddr != "http://n3:9001" {
					t.Fatalf("got %v", err)
				}
			}},
		{"not leader plain", fmt.Errorf("raft: %w", ErrNotLeader),
			func(t *testing.T, err error) {
				if !errors.Is(err, ErrNotLeader) {
					t.Fatalf("got %v", err)
				}
			}},
		{"outcome unknown", fmt.Errorf("apply timed out: %w", ErrOutcomeUnknown),
			func(t *testing.T, err error) {
				if !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, drive.ErrOffline) {
					t.Fatalf("got %v", err)
				}
			}},
		{"meta not leader", fmt.Errorf("raft: %w", meta.ErrNotLeader),
			func(t *testing.T, err error) {
				if !errors.Is(err, meta.ErrNotLeader) {
					t.Fatalf("got %v", err)
				}
			}},
		{"no leader", fmt.Errorf("raft: %w", meta.ErrNoLeader),
			func(t *testing.T, err error) {
				if !errors.Is(err, meta.ErrNoLeader) {
					t.Fatalf("got %v", err)
				}
			}},
		{"apply timeout", fmt.Errorf("raft: %w", meta.ErrApplyTimeout),
			func(t *testing.T, err error) {
				if !errors.Is(err, meta.ErrApplyTimeout) {
					t.Fatalf("got %v", err)
				}
			}},
		{"meta closed", meta.ErrClosed,
			func(t *testing.T, err error) {
				if !errors.Is(err, meta.ErrClosed) {
					t.Fatalf("got %v", err)
				}
			}},
		{"invalid txn", fmt.Errorf("%w: empty key", meta.ErrInvalidTxn),
			func(t *testing.T, err error) {
				if !errors.Is(err, meta.ErrInvalidTxn) {
					t.Fatalf("got %v", err)
				}
			}},
		{"bad command", fmt.Errorf("%w: truncated", meta.ErrBadCommand),
			func(t *testing.T, err error) {
				if !errors.Is(err, meta.ErrBadCommand) {
					t.Fatalf("got %v", err)
				}
			}},
		{"internal", errors.New("bolt: disk I/O"),
			func(t *testing.T, err error) {
				if !errors.Is(err, ErrRemote) {
					t.Fatalf("got %v", err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.meta.err = tc.err
			_, err := e.client.ForwardTxn(ctx, e.ts.URL, cmd)
			tc.check(t, err)
			_, err = e.client.ReadIndex(ctx, e.ts.URL)
			tc.check(t, err)
		})
	}
	e.meta.err = nil
	e.meta.index = 42
	if idx, err := e.client.ReadIndex(ctx, e.ts.URL); err != nil || idx != 42 {
		t.Fatalf("read index %d, %v", idx, err)
	}
}

func TestJoinAndStatus(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	req := JoinRequest{NodeID: "n2", RaftAddr: "10.0.0.2:7000", ClusterAddr: "10.0.0.2:9001", APIAddr: "10.0.0.2:9000",
		Drives: []DriveSpec{{ID: "d1", Weight: 1}, {ID: "d2", Weight: 2}}}
	resp, err := e.client.Join(ctx, e.ts.URL, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.LeaderID != "n1" || !slices.Equal(resp.Members, []string{"n1", "n2"}) {
		t.Fatalf("resp %+v", resp)
	}
	if got := e.cluster.joins[0]; got.NodeID != req.NodeID || got.RaftAddr != req.RaftAddr ||
		got.APIAddr != req.APIAddr || got.ClusterAddr != req.ClusterAddr || !slices.Equal(got.Drives, req.Drives) {
		t.Fatalf("leader got %+v", got)
	}
	st, err := e.client.Status(ctx, e.ts.URL)
	if err != nil || string(st) != `{"leader":"n1","members":2}` {
		t.Fatalf("status %s, %v", st, err)
	}
	e.cluster.err = &NotLeaderError{LeaderID: "n3"}
	if _, err := e.client.Join(ctx, e.ts.URL, req); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("join on follower: %v", err)
	}
}

func TestNilServicesAnswer501(t *testing.T) {
	e := newEnv(t, func(c *ServerConfig) { c.Drives, c.Meta, c.Cluster = nil, nil, nil })
	ctx := context.Background()
	d := e.client.Drive(e.ts.URL, "d1")
	calls := map[string]func() error{
		"stat":   func() error { _, err := d.Stat(ctx, "x"); return err },
		"create": func() error { _, err := d.Create(ctx, "x"); return err },
		"open":   func() error { _, err := d.Open(ctx, "x", 0, -1); return err },
		"walk":   func() error { return d.Walk(ctx, "", func(drive.ShardInfo) error { return nil }) },
		"txn":    func() error { _, err := e.client.ForwardTxn(ctx, e.ts.URL, []byte("x")); return err },
		"index":  func() error { _, err := e.client.ReadIndex(ctx, e.ts.URL); return err },
		"join":   func() error { _, err := e.client.Join(ctx, e.ts.URL, JoinRequest{}); return err },
		"status": func() error { _, err := e.client.Status(ctx, e.ts.URL); return err },
	}
	for name, call := range calls {
		err := call()
		var re *RemoteError
		if !errors.Is(err, ErrNotImplemented) || !errors.As(err, &re) || re.Status != http.StatusNotImplemented {
			t.Errorf("%s: %v, want 501 ErrNotImplemented", name, err)
		}
	}
}

// deadAddr returns a loopback URL nothing listens on.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestUnreachableNodeIsOffline(t *testing.T) {
	c := newTestClient(t, func(c *ClientConfig) { c.Retries = 1 })
	url := deadAddr(t)
	ctx := context.Background()
	d := c.Drive(url, "d1")
	calls := map[string]func() error{
		"stat":   func() error { _, err := d.Stat(ctx, "x"); return err },
		"delete": func() error { return d.Delete(ctx, "x") },
		"create": func() error { _, err := d.Create(ctx, "x"); return err },
		"open":   func() error { _, err := d.Open(ctx, "x", 0, -1); return err },
		"walk":   func() error { return d.Walk(ctx, "", func(drive.ShardInfo) error { return nil }) },
		"txn":    func() error { _, err := c.ForwardTxn(ctx, url, []byte("x")); return err },
		"index":  func() error { _, err := c.ReadIndex(ctx, url); return err },
		"join":   func() error { _, err := c.Join(ctx, url, JoinRequest{}); return err },
		"status": func() error { _, err := c.Status(ctx, url); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, drive.ErrOffline) || errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("%s: %v, want ErrOffline", name, err)
		}
	}
	for name, call := range map[string]func() error{"txn": calls["txn"], "index": calls["index"]} {
		if err := call(); !errors.Is(err, meta.ErrLeaderUnreachable) {
			t.Errorf("%s: %v, want meta.ErrLeaderUnreachable", name, err)
		}
	}
	info, err := d.Info(ctx)
	if err != nil || info.Online || info.ID != "d1" {
		t.Fatalf("info = %+v, %v; want offline, no error", info, err)
	}
	// The caller's cancellation is reported as such, not as offline.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Stat(cctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled stat: %v", err)
	}
}

// hitCounter is a raw handler answering every request with status/body,
// counting hits; the first failFor hits fail (-1: all), the rest answer ok.
type hitCounter struct {
	hits    atomic.Int64
	failFor int64 // hits that fail; -1 = all
	status  int
	body    string
	ok      string
	hang    time.Duration
}

func (h *hitCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.hits.Add(1)
	if r.Method != http.MethodPut { // a create's body streams after the answer
		io.Copy(io.Discard, r.Body)
	}
	if h.hang > 0 {
		select {
		case <-time.After(h.hang):
		case <-r.Context().Done():
		}
		return
	}
	if h.failFor < 0 || n <= h.failFor {
		if h.status == 0 {
			panic(http.ErrAbortHandler) // reset the stream
		}
		w.WriteHeader(h.status)
		io.WriteString(w, h.body)
		return
	}
	io.WriteString(w, h.ok)
}

func TestRetriesBounded(t *testing.T) {
	const retries = 3
	c := newTestClient(t, func(c *ClientConfig) { c.Retries = retries; c.Timeout = 2 * time.Second })
	ctx := context.Background()
	internal := `{"error":{"code":"internal","message":"boom"}}`
	notFound := `{"error":{"code":"shard_not_found","message":"no"}}`
	type call func(url string) error
	stat := func(url string) error { _, err := c.Drive(url, "d").Stat(ctx, "x"); return err }
	del := func(url string) error { return c.Drive(url, "d").Delete(ctx, "x") }
	open := func(url string) error { _, err := c.Drive(url, "d").Open(ctx, "x", 0, -1); return err }
	create := func(url string) error { _, err := c.Drive(url, "d").Create(ctx, "x"); return err }
	txn := func(url string) error { _, err := c.ForwardTxn(ctx, url, []byte("x")); return err }
	join := func(url string) error { _, err := c.Join(ctx, url, JoinRequest{}); return err }
	index := func(url string) error { _, err := c.ReadIndex(ctx, url); return err }
	tests := []struct {
		name     string
		h        *hitCounter
		call     call
		wantHits int64
		want     error
	}{
		{"stat 500", &hitCounter{failFor: -1, status: 500, body: internal}, stat, 1 + retries, ErrRemote},
		{"delete 500", &hitCounter{failFor: -1, status: 500, body: internal}, del, 1 + retries, ErrRemote},
		{"open 500", &hitCounter{failFor: -1, status: 500, body: internal}, open, 1 + retries, ErrRemote},
		{"readindex 502 from a proxy", &hitCounter{failFor: -1, status: 502, body: "bad gateway"}, index, 1 + retries, ErrRemote},
		{"stat reset", &hitCounter{failFor: -1}, stat, 1 + retries, drive.ErrOffline},
		{"stat not found: an answer", &hitCounter{failFor: -1, status: 404, body: notFound}, stat, 1, drive.ErrShardNotFound},
		{"stat recovers", &hitCounter{failFor: 2, status: 500, body: internal, ok: `{"id":"x","size":3}`}, stat, 3, nil},
		{"create not retried", &hitCounter{failFor: -1, status: 500, body: internal}, create, 1, ErrRemote},
		{"txn 500 not retried", &hitCounter{failFor: -1, status: 500, body: internal}, txn, 1, ErrRemote},
		{"txn reset: outcome unknown", &hitCounter{failFor: -1}, txn, 1, ErrOutcomeUnknown},
		{"txn hang: outcome unknown", &hitCounter{hang: time.Minute}, txn, 1, ErrOutcomeUnknown},
		{"join not retried", &hitCounter{failFor: -1, status: 503, body: "unavailable"}, join, 1, ErrRemote},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.h.hang > 0 {
				c := newTestClient(t, func(c *ClientConfig) { c.Timeout = 100 * time.Millisecond })
				txn = func(url string) error { _, err := c.ForwardTxn(ctx, url, []byte("x")); return err }
				tc.call = txn
			}
			ts := startServer(t, tc.h)
			err := tc.call(ts.URL)
			if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if got := tc.h.hits.Load(); got != tc.wantHits {
				t.Errorf("%d server hits, want %d", got, tc.wantHits)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	sc := DefaultServerConfig()
	sc.Secret, sc.NodeID = testSecret, "n1"
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*ServerConfig){
		"short secret": func(c *ServerConfig) { c.Secret = []byte("short") },
		"no node":      func(c *ServerConfig) { c.NodeID = "" },
		"no clock":     func(c *ServerConfig) { c.Now = nil },
		"no skew":      func(c *ServerConfig) { c.MaxClockSkew = 0 },
		"no body":      func(c *ServerConfig) { c.MaxBodyBytes = 0 },
	} {
		c := sc
		mod(&c)
		if _, err := NewServer(c); err == nil {
			t.Errorf("server config %s accepted", name)
		}
	}
	cc := DefaultClientConfig()
	cc.Secret, cc.NodeID = testSecret, "n2"
	if err := cc.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*ClientConfig){
		"short secret":  func(c *ClientConfig) { c.Secret = nil },
		"no node":       func(c *ClientConfig) { c.NodeID = "" },
		"no timeout":    func(c *ClientConfig) { c.Timeout = 0 },
		"retries":       func(c *ClientConfig) { c.Retries = -1 },
		"backoff":       func(c *ClientConfig) { c.Backoff = -1 },
		"dial timeout":  func(c *ClientConfig) { c.DialTimeout = 0 },
		"no clock":      func(c *ClientConfig) { c.Now = nil },
		"retries limit": func(c *ClientConfig) { c.Retries = 1000 },
	} {
		c := cc
		mod(&c)
		if _, err := NewClient(c); err == nil {
			t.Errorf("client config %s accepted", name)
		}
	}
}

// TestErrorTableRoundTrip: every code in the table decodes to errors that
// encode back to the same code.
func TestErrorTableRoundTrip(t *testing.T) {
	for _, e := range errorCodes {
		status, we := encodeError(fmt.Errorf("wrapped: %w", e.errs[0]))
		if we.Code != e.code || status != e.status {
			t.Errorf("%v encodes as %s/%d, want %s/%d", e.errs[0], we.Code, status, e.code, e.status)
		}
		re := decodeError("n", status, we)
		for _, s := range e.errs {
			if !errors.Is(re, s) {
				t.Errorf("%s decodes to %v, which does not match %v", e.code, re, s)
			}
		}
		if _, back := encodeError(re); back.Code != e.code {
			t.Errorf("%s re-encodes as %s", e.code, back.Code)
		}
	}
	b, _ := json.Marshal(wireError{Code: "x"})
	if string(b) != `{"code":"x","message":""}` {
		t.Errorf("wire error %s", b)
	}
}
