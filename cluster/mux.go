package cluster

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/filesphere/filesphere/cluster/pki"
	"github.com/hashicorp/raft"
)

// One cluster address carries both Raft and the HTTP/2 node-to-node API,
// under mutual TLS: every connection is TLS 1.3 with the node's
// certificate from the cluster CA, and ALPN tells the two apart. A Raft
// connection must present a client certificate of the cluster CA and then
// also proves knowledge of the cluster secret by answering the acceptor's
// random challenge; an HTTP/2 connection is authenticated per request by
// cluster/rpc (the certificate too, except for a joining node asking for
// its certificate).
const (
	alpnRaft      = "filesphere-raft/1"
	alpnRPC       = "h2"
	challengeSize = 32
	handshakeWait = 10 * time.Second
)

var errBadHandshake = errors.New("cluster: raft peer failed the secret handshake")

// muxListener splits one TLS listener into the Raft stream layer and an
// HTTP listener.
type muxListener struct {
	ln     net.Listener
	secret []byte
	tls    *tls.Config
	raftCh chan net.Conn
	httpCh chan net.Conn
	done   chan struct{}
	once   sync.Once
	onBad  func(error)
}

func newMux(ln net.Listener, secret []byte, id *pki.Identity, onBad func(error)) *muxListener {
	m := &muxListener{ln: ln, secret: secret, tls: id.ServerConfig(alpnRPC, alpnRaft),
		raftCh: make(chan net.Conn), httpCh: make(chan net.Conn), done: make(chan struct{}), onBad: onBad}
	go m.serve()
	return m
}

func (m *muxListener) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			m.Close()
			return
		}
		go m.route(c)
	}
}

// route completes the TLS handshake and routes by the negotiated protocol.
func (m *muxListener) route(c net.Conn) {
	tc := tls.Server(c, m.tls)
	ctx, cancel := context.WithTimeout(context.Background(), handshakeWait)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		m.onBad(fmt.Errorf("TLS handshake from %s: %w", c.RemoteAddr(), err))
		c.Close()
		return
	}
	st := tc.ConnectionState()
	switch st.NegotiatedProtocol {
	case alpnRaft:
		if _, ok := pki.PeerNode(&st); !ok {
			m.onBad(fmt.Errorf("%w from %s: no client certificate", errBadHandshake, c.RemoteAddr()))
			tc.Close()
			return
		}
		if err := m.acceptRaft(tc); err != nil {
			m.onBad(fmt.Errorf("%w from %s: %v", errBadHandshake, c.RemoteAddr(), err))
			tc.Close()
			return
		}
		m.deliver(m.raftCh, tc)
	case alpnRPC:
		m.deliver(m.httpCh, tc)
	default:
		m.onBad(fmt.Errorf("connection from %s without a known protocol (ALPN %q)", c.RemoteAddr(), st.NegotiatedProtocol))
		tc.Close()
	}
}

func (m *muxListener) deliver(ch chan net.Conn, c net.Conn) {
	select {
	case ch <- c:
	case <-m.done:
		c.Close()
	}
}

// acceptRaft sends a challenge and checks the HMAC answer.
func (m *muxListener) acceptRaft(c net.Conn) error {
	_ = c.SetDeadline(time.Now().Add(handshakeWait))
	defer c.SetDeadline(time.Time{})
	nonce := make([]byte, challengeSize)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	if _, err := c.Write(nonce); err != nil {
		return err
	}
	answer := make([]byte, sha256.Size)
	if _, err := io.ReadFull(c, answer); err != nil {
		return err
	}
	if !hmac.Equal(answer, macOf(m.secret, nonce)) {
		_, _ = c.Write([]byte{0})
		return errors.New("wrong secret")
	}
	_, err := c.Write([]byte{1})
	return err
}

func macOf(secret, nonce []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("filesphere-raft"))
	h.Write(nonce)
	return h.Sum(nil)
}

// dialRaft opens an authenticated Raft connection: mutual TLS, then the
// secret challenge.
func dialRaft(addr string, timeout time.Duration, secret []byte, cfg *tls.Config) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := (&tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(handshakeWait))
	nonce := make([]byte, challengeSize)
	ok := make([]byte, 1)
	_, err = io.ReadFull(c, nonce)
	if err == nil {
		_, err = c.Write(macOf(secret, nonce))
	}
	if err == nil {
		_, err = io.ReadFull(c, ok)
	}
	if err == nil && ok[0] != 1 {
		err = errBadHandshake
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func (m *muxListener) Close() error {
	m.once.Do(func() {
		close(m.done)
		m.ln.Close()
	})
	return nil
}

func (m *muxListener) Addr() net.Addr { return m.ln.Addr() }

// httpListener is the HTTP side of the mux.
type httpListener struct{ m *muxListener }

func (l httpListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.m.httpCh:
		return c, nil
	case <-l.m.done:
		return nil, net.ErrClosed
	}
}
func (l httpListener) Close() error   { return l.m.Close() }
func (l httpListener) Addr() net.Addr { return l.m.Addr() }

// streamLayer is the Raft side of the mux (raft.StreamLayer).
type streamLayer struct {
	m         *muxListener
	advertise net.Addr
	dialTLS   *tls.Config
}

func (s streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.m.raftCh:
		return c, nil
	case <-s.m.done:
		return nil, net.ErrClosed
	}
}
func (s streamLayer) Close() error   { return s.m.Close() }
func (s streamLayer) Addr() net.Addr { return s.advertise }
func (s streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialRaft(string(addr), timeout, s.m.secret, s.dialTLS)
}
