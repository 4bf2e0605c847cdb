package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/pki"
	"github.com/filesphere/filesphere/storage/drive"
)

// startNodeWith is startNode with a changed config.
func startNodeWith(t *testing.T, id, dir, join string, mod func(*Config)) (*Node, error) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.NodeID, cfg.ClusterAddr, cfg.Join, cfg.DataDir, cfg.Secret = id, "127.0.0.1:0", join, dir, testSecret
	cfg.Drives = map[string]drive.ShardStore{id + "-d1": drive.NewMemory(id + "-d1")}
	cfg.RefreshInterval = 50 * time.Millisecond
	cfg.JoinTimeout = 15 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	return Start(context.Background(), cfg)
}

func TestClusterCAIsSharedAndSealed(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	ca := nodes[0].identity.CA()
	for _, nd := range nodes {
		if !nd.identity.CA().Equal(ca) {
			t.Errorf("%s trusts another CA", nd.cfg.NodeID)
		}
		leaf := nd.identity.Leaf()
		if leaf.Subject.CommonName != nd.cfg.NodeID {
			t.Errorf("%s has a certificate for %q", nd.cfg.NodeID, leaf.Subject.CommonName)
		}
		if d := time.Until(leaf.NotAfter); d < 89*24*time.Hour || d > 91*24*time.Hour {
			t.Errorf("%s: certificate ends in %v, want about 90 days", nd.cfg.NodeID, d)
		}
		fi, err := os.Stat(filepath.Join(nd.tlsDir(), pki.KeyFile))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: key file %v %v", nd.cfg.NodeID, fi, err)
		}
	}
	// The CA is in the replicated state, sealed, and no longer in the
	// creator's folder.
	eventually(t, 10*time.Second, "sealed CA file removed after commit", func() bool {
		_, err := os.Stat(filepath.Join(nodes[0].tlsDir(), pki.SealedCAFile))
		return errors.Is(err, os.ErrNotExist)
	})
	e, err := nodes[2].KV().Get(ctx, keyCA)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(e.Value), "PRIVATE KEY") {
		t.Fatal("the CA key is stored in clear")
	}
	if _, err := pki.OpenCA(e.Value, []byte("not-the-secret-at-all")); !errors.Is(err, pki.ErrWrongSecret) {
		t.Errorf("sealed CA opened without the secret: %v", err)
	}
	// A follower, which never had the CA in memory, can sign from the
	// replicated state.
	nodes[2].ca.Store(nil)
	if err := nodes[2].RotateCertificate(); err != nil {
		t.Fatalf("rotation on a follower: %v", err)
	}
}

// TestNodeOfAnotherCACannotJoin gives a joining node (with the right
// secret) a certificate and CA of another cluster: it fails at once with a
// clear error and the membership does not change.
func TestNodeOfAnotherCACannotJoin(t *testing.T) {
	nodes := startCluster(t, 2)
	other, err := startNodeWith(t, "b1", t.TempDir(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otherCA, err := other.loadCA()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	csr, key, err := pki.NewRequest("n3", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := otherCA.Sign(csr, "n3", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.SaveFiles(filepath.Join(dir, "tls"), pki.Files{CA: otherCA.CertPEM(), Cert: cert, Key: key}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = startNodeWith(t, "n3", dir, nodes[0].advertise, nil)
	if !errors.Is(err, pki.ErrForeignCertificate) || !strings.Contains(err.Error(), "do not share a cluster CA") {
		t.Fatalf("join with a foreign certificate: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("refusal took %v; it should not retry", took)
	}
	t.Logf("refused in %v: %v", time.Since(start).Round(time.Millisecond), err)
	for _, nd := range nodes {
		if m := nd.Members(); len(m.Nodes) != 2 {
			t.Errorf("%s lists %d members after the refused join", nd.cfg.NodeID, len(m.Nodes))
		}
	}
}

// dialCluster opens a TLS connection to a node's cluster port.
func dialCluster(addr string, cfg *tls.Config) (*tls.Conn, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*tls.Conn), nil
}

// TestClusterPortRefusesPeersWithoutCertificate: a Raft connection
// without a client certificate, or with one of another CA, is cut before
// any Raft byte; an RPC without one is refused.
func TestClusterPortRefusesPeersWithoutCertificate(t *testing.T) {
	nodes := startCluster(t, 1)
	n := nodes[0]
	other, err := startNodeWith(t, "b1", t.TempDir(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	noCert := n.identity.ClientConfig(alpnRaft)
	noCert.GetClientCertificate = nil
	foreign := n.identity.ClientConfig(alpnRaft)
	foreign.GetClientCertificate = other.identity.ClientConfig().GetClientCertificate
	tests := []struct {
		name string
		cfg  *tls.Config
	}{
		{"raft without certificate", noCert},
		{"raft with another CA's certificate", foreign},
		{"unknown protocol", n.identity.ClientConfig("something-else")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dialCluster(n.advertise, tc.cfg)
			if err != nil {
				return // refused in the handshake
			}
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(c)
			if len(b) != 0 {
				t.Errorf("the node sent %d bytes (a challenge?) to a peer it should refuse: %v", len(b), err)
			}
		})
	}
	// A real peer is challenged: it gets the nonce.
	c, err := dialCluster(n.advertise, n.identity.ClientConfig(alpnRaft))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nonce := make([]byte, challengeSize)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, nonce); err != nil {
		t.Fatalf("a peer with a certificate gets no challenge: %v", err)
	}
	// RPC without a client certificate: only a certificate request would be
	// heard; everything else is 401 (even before the signature is checked).
	tr := &http.Transport{TLSClientConfig: func() *tls.Config {
		c := n.identity.ClientConfig("h2")
		c.GetClientCertificate = nil
		return c
	}(), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + n.advertise + "/rpc/v1/cluster/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.ProtoMajor != 2 {
		t.Errorf("status without certificate: %s %s", resp.Proto, resp.Status)
	}
}

// TestCertificateRotationKeepsConnections rotates a node's certificate:
// an open connection keeps working, a new handshake sees the new
// certificate, the cluster keeps committing.
func TestCertificateRotationKeepsConnections(t *testing.T) {
	nodes := startCluster(t, 2)
	n1, n2 := nodes[0], nodes[1]
	ctx := context.Background()
	tr := &http.Transport{TLSClientConfig: n2.identity.ClientConfig("h2"), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	url := "https://" + n1.advertise + "/rpc/v1/cluster/status"
	get := func(tr *http.Transport) (serial string, reused bool) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Text(16), reused
	}
	before, _ := get(tr)
	if err := n1.RotateCertificate(); err != nil {
		t.Fatal(err)
	}
	after := n1.Certificate().Serial
	if after == before {
		t.Fatal("rotation kept the serial")
	}
	if s, reused := get(tr); !reused || s != before {
		t.Errorf("the open connection: reused=%v serial %s, want the old connection with %s", reused, s, before)
	}
	fresh := &http.Transport{TLSClientConfig: n2.identity.ClientConfig("h2"), ForceAttemptHTTP2: true}
	defer fresh.CloseIdleConnections()
	if s, _ := get(fresh); s != after {
		t.Errorf("a new handshake sees serial %s, want the new %s", s, after)
	}
	// Saved for the next start.
	f, err := pki.LoadFiles(n1.tlsDir())
	if err != nil {
		t.Fatal(err)
	}
	if leaf, err := pki.ParseCertPEM(f.Cert); err != nil || leaf.SerialNumber.Text(16) != after {
		t.Errorf("certificate file not updated: %v", err)
	}
	for i, nd := range nodes {
		if _, err := nd.KV().Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put("s/after-rotation-"+nd.cfg.NodeID, []byte{byte(i)})}}); err != nil {
			t.Errorf("write via %s after rotation: %v", nd.cfg.NodeID, err)
		}
	}
}

// TestCertificatesRenewBeforeTheyEnd runs nodes whose certificates are due
// for renewal within seconds: they renew on their own and keep working.
func TestCertificatesRenewBeforeTheyEnd(t *testing.T) {
	short := func(c *Config) {
		c.CertValidity, c.CertRenewBefore, c.CertCheckInterval = time.Hour, time.Hour-2*time.Second, 100*time.Millisecond
	}
	base := t.TempDir()
	n1, err := startNodeWith(t, "n1", filepath.Join(base, "1"), "", short)
	if err != nil {
		t.Fatal(err)
	}
	defer n1.Close()
	n2, err := startNodeWith(t, "n2", filepath.Join(base, "2"), n1.advertise, short)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	s1, s2 := n1.Certificate().Serial, n2.Certificate().Serial
	eventually(t, 20*time.Second, "both nodes renewed", func() bool {
		return n1.Certificate().Serial != s1 && n2.Certificate().Serial != s2
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n2.KV().Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put("s/renewed", []byte("1"))}}); err != nil {
		t.Fatalf("write through the follower after renewals: %v", err)
	}
}

// TestUpgradeFromBeforeTLS: a single-node data folder without a CA (from
// before node-to-node TLS) gets one on start; a node of a multi-node
// cluster without one is refused with a clear error; a node that lost its
// certificate files gets new ones from the CA in its state.
func TestUpgradeFromBeforeTLS(t *testing.T) {
	ctx := context.Background()
	forget := func(t *testing.T, n *Node) {
		t.Helper()
		if _, err := n.KV().Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Delete(keyCA)}}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("single node gets a CA", func(t *testing.T) {
		dir := t.TempDir()
		n, err := startNodeWith(t, "n1", dir, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		old := n.identity.CA()
		forget(t, n)
		n.Close()
		os.RemoveAll(filepath.Join(dir, "tls"))
		n, err = startNodeWith(t, "n1", dir, "", nil)
		if err != nil {
			t.Fatalf("restart without a CA: %v", err)
		}
		defer n.Close()
		if n.identity.CA().Equal(old) {
			t.Error("the upgraded node reuses a CA it could not have known")
		}
		if e, err := n.KV().Get(ctx, keyCA); err != nil {
			t.Errorf("new CA not committed: %v", err)
		} else if c, _ := pki.CertOfSealed(e.Value); !c.Equal(n.identity.CA()) {
			t.Error("committed CA differs from the node's")
		}
	})
	t.Run("lost files are reissued", func(t *testing.T) {
		dir := t.TempDir()
		n, err := startNodeWith(t, "n1", dir, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		ca := n.identity.CA()
		eventually(t, 10*time.Second, "CA committed", func() bool { _, err := n.fsm.Get(keyCA); return err == nil })
		n.Close()
		os.RemoveAll(filepath.Join(dir, "tls"))
		n, err = startNodeWith(t, "n1", dir, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		if !n.identity.CA().Equal(ca) {
			t.Error("reissued certificate is from another CA")
		}
	})
	t.Run("multi-node cluster is refused", func(t *testing.T) {
		nodes := startCluster(t, 2)
		forget(t, nodes[0])
		eventually(t, 10*time.Second, "CA gone on n2", func() bool { _, err := nodes[1].fsm.Get(keyCA); return err != nil })
		dir := nodes[1].cfg.DataDir
		nodes[1].Close()
		os.RemoveAll(filepath.Join(dir, "tls"))
		_, err := startNodeWith(t, "n2", dir, "", func(c *Config) {
			c.Drives = map[string]drive.ShardStore{"n2-d1": drive.NewMemory("n2-d1"), "n2-d2": drive.NewMemory("n2-d2")}
		})
		if !errors.Is(err, ErrNoClusterCA) || !strings.Contains(err.Error(), "cannot be upgraded in place") {
			t.Fatalf("restart of a multi-node member without a CA: %v", err)
		}
		t.Logf("refused: %v", err)
	})
}
