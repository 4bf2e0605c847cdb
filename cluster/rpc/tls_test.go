package rpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/pki"
	"github.com/filesphere/filesphere/storage/drive"
)

// tlsCluster is a CA and the identities issued from it.
type tlsCluster struct {
	t  testing.TB
	ca *pki.CA
}

func newTLSCluster(t testing.TB) *tlsCluster {
	t.Helper()
	ca, err := pki.NewCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &tlsCluster{t: t, ca: ca}
}

func (c *tlsCluster) identity(node string) *pki.Identity {
	c.t.Helper()
	csr, key, err := pki.NewRequest(node, []string{"127.0.0.1"})
	if err != nil {
		c.t.Fatal(err)
	}
	cert, err := c.ca.Sign(csr, node, time.Hour, time.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	id, err := pki.NewIdentity(c.ca.CertPEM(), cert, key, node)
	if err != nil {
		c.t.Fatal(err)
	}
	return id
}

// SignNodeCertificate makes tlsCluster a CertService.
func (c *tlsCluster) SignNodeCertificate(_ context.Context, node string, csr []byte) ([]byte, []byte, error) {
	cert, err := c.ca.Sign(csr, node, time.Hour, time.Now())
	if err != nil {
		return nil, nil, errors.Join(ErrBadRequest, err)
	}
	return c.ca.CertPEM(), cert, nil
}

// startTLS serves h over HTTP/2 on TLS with the node's server settings.
func startTLS(t testing.TB, h http.Handler, id *pki.Identity) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", id.ServerConfig("h2"))
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer("", h)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func tlsEnv(t testing.TB, c *tlsCluster) (addr string, e *env) {
	t.Helper()
	e = &env{drives: &drives{}, meta: &fakeMeta{}, cluster: &fakeCluster{}}
	cfg := DefaultServerConfig()
	cfg.Secret, cfg.NodeID, cfg.Log = testSecret, "n1", testLog(t)
	cfg.Drives, cfg.Meta, cfg.Cluster, cfg.Certs = e.drives.get, e.meta, e.cluster, c
	cfg.RequirePeerCert = true
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.drives.add(drive.NewMemory("d1"))
	return startTLS(t, srv, c.identity("n1")), e
}

func TestMutualTLSCalls(t *testing.T) {
	c := newTLSCluster(t)
	addr, e := tlsEnv(t, c)
	ctx := context.Background()
	peer := newTestClient(t, func(cfg *ClientConfig) { cfg.TLS = c.identity("n2").ClientConfig() })
	if got := peer.URL(addr); got != "https://"+addr {
		t.Fatalf("URL %q", got)
	}
	if _, err := peer.Drive(peer.URL(addr), "d1").Info(ctx); err != nil {
		t.Fatalf("info over mutual TLS: %v", err)
	}
	if _, err := peer.ForwardTxn(ctx, peer.URL(addr), []byte("cmd")); err != nil || e.meta.applied() != 1 {
		t.Fatalf("txn over mutual TLS: %v", err)
	}
	w, err := peer.Drive(peer.URL(addr), "d1").Create(ctx, "shard-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("x"), 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("streamed shard over mutual TLS: %v", err)
	}

	noCert := c.identity("n2").ClientConfig()
	noCert.GetClientCertificate = nil
	other := newTLSCluster(t).identity("n2")
	foreign := c.identity("n2").ClientConfig()
	foreign.GetClientCertificate = other.ClientConfig().GetClientCertificate
	tests := []struct {
		name string
		node string
		tls  *tls.Config
		want error
	}{
		{"no client certificate", "n2", noCert, ErrUnauthorized},
		{"certificate of another node", "n3", c.identity("n2").ClientConfig(), ErrUnauthorized},
		// The server refuses the handshake: the call never gets an answer.
		{"certificate of another CA", "n2", foreign, drive.ErrOffline},
		{"client trusting another CA", "n2", other.ClientConfig(), drive.ErrOffline},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.meta.applied()
			cl := newTestClient(t, func(cfg *ClientConfig) { cfg.TLS, cfg.NodeID, cfg.Retries = tc.tls, tc.node, 0 })
			_, err := cl.Drive(cl.URL(addr), "d1").Stat(ctx, "shard-1")
			if !errors.Is(err, tc.want) {
				t.Errorf("stat: %v, want %v", err, tc.want)
			}
			if _, err := cl.ForwardTxn(ctx, cl.URL(addr), []byte("cmd")); err == nil {
				t.Error("txn accepted")
			}
			if e.meta.applied() != before {
				t.Error("a refused peer's txn was applied")
			}
		})
	}
	// A member joins only itself.
	_, err = peer.Join(ctx, peer.URL(addr), JoinRequest{NodeID: "n9", ClusterAddr: "x:1", Drives: []DriveSpec{{ID: "d9"}}})
	if !errors.Is(err, ErrUnauthorized) || e.cluster.joined() != 0 {
		t.Errorf("join on behalf of another node: %v", err)
	}
	if _, err := peer.Join(ctx, peer.URL(addr), JoinRequest{NodeID: "n2", ClusterAddr: "x:1", Drives: []DriveSpec{{ID: "d2"}}}); err != nil || e.cluster.joined() != 1 {
		t.Errorf("join of itself: %v", err)
	}
}

func enrollCfg(t *testing.T, node string, secret []byte) EnrollConfig {
	t.Helper()
	csr, _, err := pki.NewRequest(node, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return EnrollConfig{Secret: secret, NodeID: node, CSR: csr, Timeout: 10 * time.Second, Now: time.Now}
}

func TestEnroll(t *testing.T) {
	c := newTLSCluster(t)
	addr, _ := tlsEnv(t, c)
	ctx := context.Background()

	cfg := enrollCfg(t, "n4", testSecret)
	got, err := Enroll(ctx, addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.CA) != string(c.ca.CertPEM()) {
		t.Error("enrollment returned another CA")
	}
	if err := pki.MatchesRequest(got.Cert, cfg.CSR, "n4"); err != nil {
		t.Error(err)
	}

	_, err = Enroll(ctx, addr, enrollCfg(t, "n5", []byte("a-wrong-secret-0123456789")))
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong secret: %v, want ErrUnauthorized", err)
	}
}

// TestEnrollRefusesASwappedRequest: a man in the middle relays a joiner's
// signed request with its own certificate request of the same length.
func TestEnrollRefusesASwappedRequest(t *testing.T) {
	c := newTLSCluster(t)
	addr, _ := tlsEnv(t, c)
	honest := enrollCfg(t, "n4", testSecret)
	// ECDSA signatures vary in length; find an attacker's request of the
	// honest one's length, so the declared length does not expose it.
	mitm := enrollCfg(t, "n4", testSecret)
	for i := 0; len(mitm.CSR) != len(honest.CSR); i++ {
		if i > 100 {
			t.Fatal("no request of equal length")
		}
		mitm = enrollCfg(t, "n4", testSecret)
	}
	auth := signer{secret: testSecret}
	send := func(csrInBody []byte) int {
		placeholder, _ := json.Marshal(enrollRequest{CSR: honest.CSR, MAC: auth.enrollRequestMAC("", honest.CSR)})
		req, _ := http.NewRequest(http.MethodPost, "https://"+addr+PathPrefix+certificatePath, nil)
		req.ContentLength = int64(len(placeholder))
		sig := auth.sign(req, "n4", time.Now())
		body, _ := json.Marshal(enrollRequest{CSR: csrInBody, MAC: auth.enrollRequestMAC(sig, honest.CSR)})
		if len(body) != len(placeholder) {
			t.Fatalf("bodies differ in length (%d, %d)", len(body), len(placeholder))
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := send(honest.CSR); st != http.StatusOK {
		t.Fatalf("honest request: %d", st)
	}
	if st := send(mitm.CSR); st != http.StatusUnauthorized {
		t.Fatalf("swapped request: %d, want 401", st)
	}
}

// TestEnrollRefusesAnUnboundAnswer: a server that does not know the secret,
// or that answers with a CA its own certificate does not come from, is not
// believed.
func TestEnrollRefusesAnUnboundAnswer(t *testing.T) {
	c := newTLSCluster(t)
	srvID := c.identity("n1")
	other := newTLSCluster(t)
	tests := []struct {
		name   string
		answer func(r *http.Request, csr []byte) enrollResponse
	}{
		{"MAC without the secret", func(r *http.Request, csr []byte) enrollResponse {
			_, cert, _ := c.SignNodeCertificate(r.Context(), "n4", csr)
			return enrollResponse{CA: c.ca.CertPEM(), Cert: cert, MAC: strings.Repeat("0", 64)}
		}},
		{"CA the server's certificate is not from", func(r *http.Request, csr []byte) enrollResponse {
			ca, cert, _ := other.SignNodeCertificate(r.Context(), "n4", csr)
			sig := r.Header.Get(HeaderSignature)
			return enrollResponse{CA: ca, Cert: cert, MAC: signer{secret: testSecret}.enrollResponseMAC(sig, ca, cert)}
		}},
		{"certificate for another key", func(r *http.Request, _ []byte) enrollResponse {
			csr2, _, _ := pki.NewRequest("n4", nil)
			ca, cert, _ := c.SignNodeCertificate(r.Context(), "n4", csr2)
			sig := r.Header.Get(HeaderSignature)
			return enrollResponse{CA: ca, Cert: cert, MAC: signer{secret: testSecret}.enrollResponseMAC(sig, ca, cert)}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var req enrollRequest
				json.NewDecoder(r.Body).Decode(&req)
				json.NewEncoder(w).Encode(tc.answer(r, req.CSR))
			})
			addr := startTLS(t, h, srvID)
			_, err := Enroll(context.Background(), addr, enrollCfg(t, "n4", testSecret))
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("%v, want ErrProtocol", err)
			}
			t.Logf("refused: %v", err)
		})
	}
}
