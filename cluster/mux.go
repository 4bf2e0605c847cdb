package cluster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// One cluster address carries both Raft and the HTTP/2 node-to-node API.
// A Raft connection starts with raftMagic, then proves knowledge of the
// cluster secret by answering the acceptor's random challenge; anything
// else is HTTP and is authenticated per request by cluster/rpc.
const (
	raftMagic     = 0xF5
	challengeSize = 32
	handshakeWait = 10 * time.Second
)

var errBadHandshake = errors.New("cluster: raft peer failed the secret handshake")

// muxListener splits one listener into the Raft stream layer and an HTTP
// listener.
type muxListener struct {
	ln     net.Listener
	secret []byte
	raftCh chan net.Conn
	httpCh chan net.Conn
	done   chan struct{}
	once   sync.Once
	onBad  func(error)
}

func newMux(ln net.Listener, secret []byte, onBad func(error)) *muxListener {
	m := &muxListener{ln: ln, secret: secret, raftCh: make(chan net.Conn), httpCh: make(chan net.Conn),
		done: make(chan struct{}), onBad: onBad}
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

// route reads the first byte to tell Raft from HTTP.
func (m *muxListener) route(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(handshakeWait))
	var first [1]byte
	if _, err := io.ReadFull(c, first[:]); err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if first[0] == raftMagic {
		if err := m.acceptRaft(c); err != nil {
			m.onBad(fmt.Errorf("%w from %s: %v", errBadHandshake, c.RemoteAddr(), err))
			c.Close()
			return
		}
		m.deliver(m.raftCh, c)
		return
	}
	m.deliver(m.httpCh, &prefixConn{Conn: c, prefix: first[:]})
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

// dialRaft opens an authenticated Raft connection.
func dialRaft(addr string, timeout time.Duration, secret []byte) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(handshakeWait))
	nonce := make([]byte, challengeSize)
	ok := make([]byte, 1)
	_, err = c.Write([]byte{raftMagic})
	if err == nil {
		_, err = io.ReadFull(c, nonce)
	}
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
	return dialRaft(string(addr), timeout, s.m.secret)
}

// prefixConn replays the byte the mux consumed.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
