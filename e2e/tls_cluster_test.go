package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/e2e/harness"
)

// tap is a TCP proxy in front of a node's cluster port that records every
// byte crossing it, both ways.
type tap struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	bytes  bytes.Buffer
	firsts []*firstBytes // the first bytes each dialling peer sent
	over   bool          // more than maxTap recorded
}

const maxTap = 512 << 20

func startTap(t *testing.T, target string) *tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tap{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *tap) addr() string { return p.ln.Addr().String() }

func (p *tap) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.relay(c)
	}
}

func (p *tap) relay(c net.Conn) {
	defer c.Close()
	u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	defer u.Close()
	first := &firstBytes{p: p}
	p.mu.Lock()
	p.firsts = append(p.firsts, first)
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(u, io.TeeReader(c, io.MultiWriter(first, p)))
		u.(*net.TCPConn).CloseWrite()
		done <- struct{}{}
	}()
	go func() { io.Copy(c, io.TeeReader(u, p)); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}

// Write records bytes (the tap is the recorder of both directions).
func (p *tap) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bytes.Len()+len(b) > maxTap {
		p.over = true
		return len(b), nil
	}
	p.bytes.Write(b)
	return len(b), nil
}

func (p *tap) recorded() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.bytes.Bytes()...)
}

// firstBytes keeps the first 3 bytes written to it (under the tap's lock).
type firstBytes struct {
	p *tap
	b []byte
}

func (f *firstBytes) Write(b []byte) (int, error) {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	if n := 3 - len(f.b); n > 0 {
		f.b = append(f.b, b[:min(n, len(b))]...)
	}
	return len(b), nil
}

// TestClusterMutualTLS runs a 3-node cluster whose nodes 2 and 3 are
// reached through recording proxies: objects written through node 1 read
// back through nodes 2 and 3, yet neither the object bytes, nor the key or
// bucket names cross the node-to-node port in clear; every connection
// opens with a TLS handshake. Then a node holding a certificate from
// another cluster's CA (with the right secret) is refused at once and the
// membership does not change.
func TestClusterMutualTLS(t *testing.T) {
	t.Parallel()
	taps := map[int]*tap{}
	var mu sync.Mutex
	c := harness.StartCluster(t, harness.ClusterOptions{Nodes: 3, DrivesPerNode: 1, ECData: 2, ECParity: 1,
		Advertise: func(i int, clusterAddr string) string {
			if i == 1 || i > 3 {
				return ""
			}
			mu.Lock()
			defer mu.Unlock()
			taps[i] = startTap(t, clusterAddr)
			return taps[i].addr()
		}})
	ctx := context.Background()
	marker := "FS-PLAINTEXT-MARKER-" + harness.RandomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	bucket := "tlsbucket-" + strings.ToLower(harness.RandomString(12, "abcdefghijklmnopqrstuvwxyz"))
	bigKey, smallKey := "big-"+marker, "small-"+marker
	// Large enough to be erasure-coded into shards on every node; the
	// small one lives inline in its metadata record (Raft).
	big := bytes.Repeat([]byte(marker+"\n"), (2<<20)/(len(marker)+1))
	small := []byte("inline " + marker)
	sdk := clusterClients(c)
	if _, err := sdk[1].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for key, body := range map[string][]byte{bigKey: big, smallKey: small} {
		if _, err := sdk[1].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("put %s via node1: %v", key, err)
		}
	}
	for _, i := range []int{2, 3} {
		for key, body := range map[string][]byte{bigKey: big, smallKey: small} {
			if err := harness.Eventually(10*time.Second, 100*time.Millisecond, func() error {
				got, err := getBody(ctx, sdk[i], bucket, key)
				if err != nil {
					return err
				}
				if !bytes.Equal(got, body) {
					return fmt.Errorf("%d bytes differ", len(got))
				}
				return nil
			}); err != nil {
				t.Fatalf("get %s via node%d: %v", key, i, err)
			}
		}
	}

	total := 0
	for i, p := range taps {
		rec := p.recorded()
		total += len(rec)
		p.mu.Lock()
		var firsts [][]byte
		for _, f := range p.firsts {
			if len(f.b) > 0 {
				firsts = append(firsts, append([]byte(nil), f.b...))
			}
		}
		over := p.over
		p.mu.Unlock()
		if over {
			t.Errorf("tap of node%d recorded more than %d bytes; the check is incomplete", i, maxTap)
		}
		if len(firsts) == 0 {
			t.Errorf("no connection to node%d went through its tap", i)
		}
		for _, needle := range []string{marker, bucket, "PLAINTEXT-MARKER"} {
			if bytes.Contains(rec, []byte(needle)) {
				t.Errorf("node-to-node traffic to node%d carries %q in clear", i, needle)
			}
		}
		for _, f := range firsts {
			// A TLS record of type handshake (22), version 3.x.
			if len(f) < 3 || f[0] != 0x16 || f[1] != 0x03 {
				t.Errorf("a connection to node%d did not open with a TLS handshake: % x", i, f)
			}
		}
		t.Logf("tap of node%d: %d bytes over %d connections", i, len(rec), len(firsts))
	}
	// The shards of the large object crossed the taps (2 of its 3 shards
	// live on nodes 2 and 3, about 1 MiB each), so the check saw them.
	if total < len(big)/2 {
		t.Fatalf("the taps recorded %d bytes; the shards did not cross them", total)
	}

	t.Run("foreign-ca", func(t *testing.T) { testForeignCAJoin(t, c) })
}

// testForeignCAJoin starts a one-node cluster of its own with the same
// secret, takes its certificate folder to a new node, and has that node
// join the cluster: refused, clearly, at once; membership unchanged.
func testForeignCAJoin(t *testing.T, c *harness.Cluster) {
	other := c.NodeOptions(90, harness.FreeLoopbackPort(t), "")
	other.Name = "other-cluster"
	b := harness.StartNode(t, other)
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	o := c.NodeOptions(90, harness.FreeLoopbackPort(t), c.ClusterAddr(1))
	o.Name = "foreign"
	o.ReadyTimeout = 30 * time.Second
	o.DataDir = t.TempDir()
	copyDir(t, filepath.Join(b.DataDir(), "cluster", "tls"), filepath.Join(o.DataDir, "cluster", "tls"))
	n := harness.NewNode(t, o)
	start := time.Now()
	if err := n.Start(); err == nil {
		t.Fatal("a node with another cluster's certificate joined and became ready")
	}
	exit := n.WaitExit(30 * time.Second)
	if exit == nil {
		t.Error("the refused node exited with status 0")
	}
	if log := n.Log(); !strings.Contains(log, "do not share a cluster CA") {
		t.Errorf("the refused node's output does not say why:\n%s", log)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("refusal took %v", took)
	}
	for _, i := range c.Members() {
		st, err := c.Status(i)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(st.NodeIDs(), ","); got != c.ID(1)+","+c.ID(2)+","+c.ID(3) {
			t.Errorf("members through %s after the refused join: %s", c.ID(i), got)
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
