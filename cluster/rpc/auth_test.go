package rpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
	"github.com/filesphere/filesphere/storage/drive/drivetest"
)

// TestAuthRefused: a client with the wrong secret, or a stale clock, is
// refused with ErrUnauthorized on every endpoint kind, and nothing changes.
func TestAuthRefused(t *testing.T) {
	e := newEnv(t)
	mem := &observed{ShardStore: drive.NewMemory("d1")}
	e.drives.add(mem)
	drivetest.Put(t, e.client.Drive(e.ts.URL, "d1"), "keep", []byte("kept"))
	commitsBefore, createsBefore := mem.commits.Load(), mem.creates.Load()

	bad := map[string]*Client{
		"wrong secret": newTestClient(t, func(c *ClientConfig) { c.Secret = []byte("fedcba9876543210fedcba9876543210") }),
		"stale clock": newTestClient(t, func(c *ClientConfig) {
			c.Now = func() time.Time { return time.Now().Add(-3 * time.Minute) }
		}),
		"future clock": newTestClient(t, func(c *ClientConfig) {
			c.Now = func() time.Time { return time.Now().Add(3 * time.Minute) }
		}),
	}
	ctx := context.Background()
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			d := c.Drive(e.ts.URL, "d1")
			calls := map[string]func() error{
				"create": func() error {
					w, err := d.Create(ctx, "new")
					if err != nil {
						return err
					}
					w.Write([]byte("x"))
					return w.Commit()
				},
				"open": func() error {
					_, err := d.Open(ctx, "keep", 0, -1)
					return err
				},
				"stat":   func() error { _, err := d.Stat(ctx, "keep"); return err },
				"delete": func() error { return d.Delete(ctx, "keep") },
				"walk": func() error {
					return d.Walk(ctx, "", func(drive.ShardInfo) error { return nil })
				},
				"info":      func() error { _, err := d.Info(ctx); return err },
				"txn":       func() error { _, err := c.ForwardTxn(ctx, e.ts.URL, []byte("cmd")); return err },
				"readindex": func() error { _, err := c.ReadIndex(ctx, e.ts.URL); return err },
				"join": func() error {
					_, err := c.Join(ctx, e.ts.URL, JoinRequest{NodeID: "evil"})
					return err
				},
				"status": func() error { _, err := c.Status(ctx, e.ts.URL); return err },
			}
			for op, call := range calls {
				if err := call(); !errors.Is(err, ErrUnauthorized) {
					t.Errorf("%s: got %v, want ErrUnauthorized", op, err)
				}
			}
		})
	}
	assertUnchanged(t, e, mem, commitsBefore, createsBefore)
}

func assertUnchanged(t *testing.T, e *env, mem *observed, commitsBefore, createsBefore int64) {
	t.Helper()
	if got := drivetest.Get(t, mem, "keep", 0, -1); string(got) != "kept" {
		t.Errorf("shard changed: %q", got)
	}
	if _, err := mem.Stat(context.Background(), "new"); !errors.Is(err, drive.ErrShardNotFound) {
		t.Errorf("refused create left a shard: %v", err)
	}
	if n := mem.creates.Load(); n != createsBefore {
		t.Errorf("the drive saw %d creates, want only the setup's %d", n, createsBefore)
	}
	if n := mem.commits.Load(); n != commitsBefore {
		t.Errorf("commits %d, want %d", n, commitsBefore)
	}
	if n := e.meta.applied(); n != 0 {
		t.Errorf("meta applied %d forwarded txns", n)
	}
	if n := e.cluster.joined(); n != 0 {
		t.Errorf("cluster saw %d joins", n)
	}
}

// TestAuthTampered: a correctly signed request altered on the way (path,
// query, method, declared length, node id) is refused with 401 and changes
// nothing.
func TestAuthTampered(t *testing.T) {
	e := newEnv(t)
	mem := &observed{ShardStore: drive.NewMemory("d1")}
	e.drives.add(mem)
	drivetest.Put(t, e.client.Drive(e.ts.URL, "d1"), "keep", []byte("kept"))
	drivetest.Put(t, e.client.Drive(e.ts.URL, "d1"), "other", []byte("other"))
	commitsBefore, createsBefore := mem.commits.Load(), mem.creates.Load()
	c := e.client
	base := e.ts.URL + PathPrefix

	type tamper struct {
		name         string
		method, url  string
		body         []byte
		alter        func(r *http.Request)
		streamedBody bool
	}
	tests := []tamper{
		{name: "delete: other id", method: "DELETE", url: base + "drives/d1/shard?id=other",
			alter: func(r *http.Request) { r.URL.RawQuery = "id=keep" }},
		{name: "delete: other drive path", method: "DELETE", url: base + "drives/d2/shard?id=keep",
			alter: func(r *http.Request) { r.URL.Path = "/rpc/v1/drives/d1/shard" }},
		{name: "create: other id", method: "PUT", url: base + "drives/d1/shard?id=other", streamedBody: true,
			alter: func(r *http.Request) { r.URL.RawQuery = "id=new" }},
		{name: "create: method", method: "GET", url: base + "drives/d1/shard?id=new&off=0&len=-1", streamedBody: true,
			alter: func(r *http.Request) { r.Method = "PUT" }},
		{name: "txn: path", method: "POST", url: base + "meta/txn?x=1", body: []byte("cmd"),
			alter: func(r *http.Request) { r.URL.RawQuery = "" }},
		{name: "txn: longer body", method: "POST", url: base + "meta/txn", body: []byte("cmd"),
			alter: func(r *http.Request) {
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader("cmd2")), 4
			}},
		{name: "txn: node id", method: "POST", url: base + "meta/txn", body: []byte("cmd"),
			alter: func(r *http.Request) { r.Header.Set(HeaderNode, "n3") }},
		{name: "join: path", method: "POST", url: base + "cluster/status", body: []byte(`{"node_id":"evil"}`),
			alter: func(r *http.Request) { r.URL.Path = "/rpc/v1/cluster/join" }},
		{name: "join: signature", method: "POST", url: base + "cluster/join", body: []byte(`{"node_id":"evil"}`),
			alter: func(r *http.Request) { r.Header.Set(HeaderSignature, strings.Repeat("0", 64)) }},
		{name: "join: no headers", method: "POST", url: base + "cluster/join", body: []byte(`{"node_id":"evil"}`),
			alter: func(r *http.Request) { r.Header.Del(HeaderSignature) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != nil {
				body = tc.body
			}
			if tc.streamedBody {
				body = strings.NewReader("payload")
			}
			req, _, err := c.newRequest(context.Background(), tc.method, tc.url, body)
			if err != nil {
				t.Fatal(err)
			}
			tc.alter(req)
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
			if re := readError(e.ts.URL, resp); !errors.Is(re, ErrUnauthorized) {
				t.Fatalf("error %v, want ErrUnauthorized", re)
			}
		})
	}
	if got := drivetest.Get(t, mem, "other", 0, -1); string(got) != "other" {
		t.Errorf("other changed: %q", got)
	}
	assertUnchanged(t, e, mem, commitsBefore, createsBefore)
}

// TestCreateFooterChecked: a correctly authenticated create whose body does
// not end with the right signed footer is never committed.
func TestCreateFooterChecked(t *testing.T) {
	e := newEnv(t)
	mem := &observed{ShardStore: drive.NewMemory("d1")}
	e.drives.add(mem)
	c := e.client
	url := e.ts.URL + PathPrefix + "drives/d1/shard?id=new"
	payload := []byte("payload")
	tests := []struct {
		name string
		body func(sig string) []byte
	}{
		{"no footer", func(string) []byte { return payload }},
		{"empty body", func(string) []byte { return nil }},
		{"short length", func(sig string) []byte {
			return append(payload, c.auth.footer(sig, 3, crc32c(payload[:3]))...)
		}},
		{"long length", func(sig string) []byte {
			return append(payload, c.auth.footer(sig, 100, crc32c(payload))...)
		}},
		{"signed for another request", func(string) []byte {
			return append(payload, c.auth.footer("other", int64(len(payload)), crc32c(payload))...)
		}},
		{"wrong crc", func(sig string) []byte {
			return append(payload, c.auth.footer(sig, int64(len(payload)), 1)...)
		}},
		{"tampered footer", func(sig string) []byte {
			f := c.auth.footer(sig, int64(len(payload)), crc32c(payload))
			f[11] ^= 1
			return append(payload, f...)
		}},
		{"truncated footer", func(sig string) []byte {
			f := c.auth.footer(sig, int64(len(payload)), crc32c(payload))
			return append(payload, f[:len(f)-1]...)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			req, sig, err := c.newRequest(context.Background(), "PUT", url, pr)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				pw.Write(tc.body(sig))
				pw.Close()
			}()
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			w := &remoteWriter{d: &remoteDrive{c: c, base: e.ts.URL}, resp: resp, n: int64(len(payload))}
			ok, err := w.readVerdict()
			if !ok || !errors.Is(err, drive.ErrAborted) {
				t.Fatalf("verdict %v (ok %v), want a refusal wrapping ErrAborted", err, ok)
			}
		})
	}
	if n := mem.commits.Load(); n != 0 {
		t.Fatalf("%d commits", n)
	}
	if n := mem.aborts.Load(); n != int64(len(tests)) {
		t.Fatalf("%d aborts, want %d", n, len(tests))
	}
	if _, err := mem.Stat(context.Background(), "new"); !errors.Is(err, drive.ErrShardNotFound) {
		t.Fatalf("stat: %v", err)
	}
}

// TestCopyBodyFooterSplits: the footer is found whatever the read sizes.
func TestCopyBodyFooterSplits(t *testing.T) {
	s := &Server{auth: signer{secret: testSecret}}
	for _, size := range []int{0, 1, footerSize - 1, footerSize, footerSize + 1, 1000, 300 << 10} {
		data := make([]byte, size)
		(&patternReader{}).Read(data)
		body := append(bytes.Clone(data), s.auth.footer("sig", int64(size), crc32c(data))...)
		for _, step := range []int{1, 7, footerSize, 4096, 1 << 20} {
			var got bytes.Buffer
			n, err := s.copyBody(&got, &stepReader{b: body, step: step}, "sig")
			if err != nil || n != int64(size) || !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("size %d step %d: n %d, %v, equal %v", size, step, n, err, bytes.Equal(got.Bytes(), data))
			}
		}
	}
}

// stepReader returns at most step bytes per Read.
type stepReader struct {
	b    []byte
	step int
}

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.step)], r.b)
	r.b = r.b[n:]
	return n, nil
}
