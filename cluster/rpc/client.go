package rpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/storage/drive"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// Secret is shared by every node of the cluster.
	Secret []byte
	// NodeID is this node's id, sent with every request.
	NodeID string
	// Timeout bounds each attempt of a non-streaming call (stat, delete,
	// info, txn, join …) and the start of a streaming one (until the peer
	// answers Create or Open, and the wait for a Commit's verdict). Bodies
	// of streams are not bounded: dead peers are detected by HTTP/2 pings.
	Timeout time.Duration
	// Retries is how many times an idempotent call is retried after a
	// connection error or an unspecific 5xx. Forwarded transactions and
	// joins are never retried.
	Retries int
	// Backoff is the wait before the first retry; it doubles each time
	// (with jitter), up to 16 times Backoff.
	Backoff time.Duration
	// DialTimeout bounds connecting to a peer.
	DialTimeout time.Duration
	// Now is the clock used to timestamp requests.
	Now func() time.Time
	// TLS, when set, is the mutual-TLS client configuration peers are
	// dialled with (HTTP/2 over TLS, https URLs). Without it the client
	// speaks HTTP/2 over cleartext, which only this package's tests use.
	TLS *tls.Config
}

// DefaultClientConfig returns defaults; Secret and NodeID must still be set.
func DefaultClientConfig() ClientConfig {
	return ClientConfig{
		Timeout:     30 * time.Second,
		Retries:     2,
		Backoff:     100 * time.Millisecond,
		DialTimeout: 5 * time.Second,
		Now:         time.Now,
	}
}

// Validate reports configuration errors.
func (c ClientConfig) Validate() error {
	switch {
	case len(c.Secret) < MinSecretLength:
		return fmt.Errorf("rpc: client: secret must be at least %d bytes", MinSecretLength)
	case c.NodeID == "":
		return errors.New("rpc: client: empty node id")
	case c.Timeout <= 0:
		return errors.New("rpc: client: Timeout must be positive")
	case c.Retries < 0 || c.Retries > 10:
		return errors.New("rpc: client: Retries must be in [0, 10]")
	case c.Backoff < 0:
		return errors.New("rpc: client: negative Backoff")
	case c.DialTimeout <= 0:
		return errors.New("rpc: client: DialTimeout must be positive")
	case c.Now == nil:
		return errors.New("rpc: client: nil clock")
	}
	return nil
}

// Client calls other nodes. It is safe for concurrent use; all calls share
// one HTTP/2 transport, so each peer costs one multiplexed connection.
type Client struct {
	cfg    ClientConfig
	auth   signer
	tr     *http.Transport
	hc     *http.Client
	scheme string
}

// NewClient validates cfg and builds a Client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var p http.Protocols
	var tlsCfg *tls.Config
	scheme := "http"
	if cfg.TLS != nil {
		p.SetHTTP2(true)
		tlsCfg = cfg.TLS.Clone()
		tlsCfg.NextProtos = []string{"h2"}
		scheme = "https"
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Protocols:           &p,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: cfg.DialTimeout,
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true,
		HTTP2: &http.HTTP2Config{
			MaxReadFrameSize:              1 << 20,
			MaxReceiveBufferPerStream:     4<<20 - 1,
			MaxReceiveBufferPerConnection: 4<<20 - 1,
			SendPingTimeout:               30 * time.Second,
			PingTimeout:                   15 * time.Second,
		},
	}
	return &Client{
		cfg:    cfg,
		scheme: scheme,
		auth:   signer{secret: append([]byte(nil), cfg.Secret...)},
		tr:     tr,
		hc: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}, nil
}

// URL is the base URL of the peer at addr (host:port): https with TLS.
func (c *Client) URL(addr string) string { return c.scheme + "://" + addr }

// Close closes idle connections. Calls in flight are not interrupted.
func (c *Client) Close() { c.tr.CloseIdleConnections() }

// newRequest builds a signed request. body may be nil; a []byte body has a
// known length, an io.Reader one is streamed (declared length -1).
func (c *Client) newRequest(ctx context.Context, method, url string, body any) (*http.Request, string, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if _, ok := body.(io.Reader); ok {
		req.ContentLength = -1
	}
	sig := c.auth.sign(req, c.cfg.NodeID, c.cfg.Now())
	return req, sig, nil
}

// callSpec describes one request/response call.
type callSpec struct {
	op         string // for errors
	method     string
	url        string
	body       []byte
	idempotent bool
	// toLeader marks requests for the metadata leader: a failure that
	// certainly did not apply anything also wraps meta.ErrLeaderUnreachable,
	// as meta.Forwarder requires.
	toLeader bool
}

// call performs a request/response call with per-attempt deadlines and,
// for idempotent calls, bounded retries. A 2xx body is decoded into out
// (unless out is nil) or, if out is *json.RawMessage, kept raw.
func (c *Client) call(ctx context.Context, cs callSpec, out any) error {
	var err error
	for attempt := 0; ; attempt++ {
		if cerr := ctx.Err(); cerr != nil {
			if err != nil {
				return fmt.Errorf("rpc %s: %w (after %v)", cs.op, cerr, err)
			}
			return fmt.Errorf("rpc %s: %w", cs.op, cerr)
		}
		var retry bool
		retry, err = c.attempt(ctx, cs, out)
		if err == nil || !retry || !cs.idempotent || attempt >= c.cfg.Retries {
			return err
		}
		if werr := c.backoff(ctx, attempt); werr != nil {
			return fmt.Errorf("rpc %s: %w (after %v)", cs.op, werr, err)
		}
	}
}

func (c *Client) backoff(ctx context.Context, attempt int) error {
	d := c.cfg.Backoff << min(attempt, 4)
	if d <= 0 {
		return ctx.Err()
	}
	d = d/2 + rand.N(d/2+1) // jitter in [d/2, d]
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt is one try of a call; retry says whether trying again may help.
func (c *Client) attempt(ctx context.Context, cs callSpec, out any) (retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body any
	if cs.body != nil {
		body = cs.body
	}
	req, _, err := c.newRequest(actx, cs.method, cs.url, body)
	if err != nil {
		return false, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return !refused(err), c.transportError(ctx, cs, err, false)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		re := readError(baseOf(cs.url), resp)
		return re.retryable(), fmt.Errorf("rpc %s: %w", cs.op, re)
	}
	var derr error
	switch o := out.(type) {
	case nil:
		_, derr = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	case *json.RawMessage:
		*o, derr = io.ReadAll(resp.Body)
		if derr == nil && !json.Valid(*o) {
			derr = errors.New("invalid JSON")
		}
	default:
		derr = json.NewDecoder(resp.Body).Decode(out)
	}
	if derr != nil {
		if isTransportError(derr) {
			return true, c.transportError(ctx, cs, derr, true)
		}
		return false, fmt.Errorf("rpc %s: %w: decoding answer from %s: %v", cs.op, ErrProtocol, baseOf(cs.url), derr)
	}
	return false, nil
}

// transportError classifies a failure to get an answer. The caller's own
// cancellation comes back as is. Otherwise the peer is unreachable
// (drive.ErrOffline); for a non-idempotent call that may have reached the
// peer, the outcome is unknown instead. sent says the request certainly
// reached the peer.
func (c *Client) transportError(ctx context.Context, cs callSpec, err error, sent bool) error {
	node := baseOf(cs.url)
	if cerr := ctx.Err(); cerr != nil {
		if !cs.idempotent && !neverSent(err) {
			return fmt.Errorf("rpc %s to %s: %w: %w", cs.op, node, ErrOutcomeUnknown, cerr)
		}
		return fmt.Errorf("rpc %s to %s: %w", cs.op, node, cerr)
	}
	if !cs.idempotent && (sent || !neverSent(err)) {
		return fmt.Errorf("rpc %s to %s: %w: %v", cs.op, node, ErrOutcomeUnknown, err)
	}
	if cs.toLeader {
		return fmt.Errorf("rpc %s: %w: %w: node %s unreachable: %w", cs.op, meta.ErrLeaderUnreachable, drive.ErrOffline, node, err)
	}
	return fmt.Errorf("rpc %s: %w: node %s unreachable: %w", cs.op, drive.ErrOffline, node, err)
}

// neverSent reports whether err proves the request never reached the
// peer's handler: the connection could not be established, or its TLS
// handshake failed (this node refused the peer's certificate, or the peer
// refused this node's with an alert).
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "remote error") {
		return true
	}
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// isTransportError tells a broken connection while reading a body from a
// malformed body.
func isTransportError(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return !errors.As(err, &se) && !errors.As(err, &te) && !errors.Is(err, io.ErrUnexpectedEOF)
}

// baseOf extracts scheme://host from a URL for error messages.
func baseOf(url string) string {
	if i := strings.Index(url, PathPrefix); i >= 0 {
		return url[:i]
	}
	return url
}

func endpoint(baseURL, path string) string {
	return strings.TrimRight(baseURL, "/") + PathPrefix + path
}

// ForwardTxn sends an encoded meta.Txn to the leader at baseURL and returns
// the revision it committed at. It is not retried: an error matching
// ErrOutcomeUnknown (meta.ErrOutcomeUnknown) means the txn may have been
// applied; meta.ErrNotLeader, ErrNoLeader or ErrApplyTimeout that it was not;
// meta.ErrLeaderUnreachable (with drive.ErrOffline) that the leader could
// not be reached at all. The leader's *meta.CompareFailedError comes back as
// such. These are the error semantics meta.Forwarder asks for.
func (c *Client) ForwardTxn(ctx context.Context, baseURL string, cmd []byte) (uint64, error) {
	var r revisionReply
	if cmd == nil {
		cmd = []byte{}
	}
	err := c.call(ctx, callSpec{op: "forward txn", method: http.MethodPost, url: endpoint(baseURL, "meta/txn"), body: cmd, toLeader: true}, &r)
	if err != nil {
		return 0, err
	}
	return r.Revision, nil
}

// ReadIndex asks the leader at baseURL for its read index (retried like
// other idempotent calls; unreachable is meta.ErrLeaderUnreachable).
func (c *Client) ReadIndex(ctx context.Context, baseURL string) (uint64, error) {
	var r revisionReply
	err := c.call(ctx, callSpec{op: "read index", method: http.MethodGet, url: endpoint(baseURL, "meta/readindex"), idempotent: true, toLeader: true}, &r)
	if err != nil {
		return 0, err
	}
	return r.Revision, nil
}

// Term asks the node at baseURL for its current Raft term (any voter
// answers; a leader uses the answers to confirm it still leads).
func (c *Client) Term(ctx context.Context, baseURL string) (uint64, error) {
	var r revisionReply
	err := c.call(ctx, callSpec{op: "term", method: http.MethodGet, url: endpoint(baseURL, "meta/term"), idempotent: true}, &r)
	if err != nil {
		return 0, err
	}
	return r.Revision, nil
}

// Join asks the leader at baseURL to add a node. It is not retried here.
func (c *Client) Join(ctx context.Context, baseURL string, req JoinRequest) (JoinResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return JoinResponse{}, err
	}
	var resp JoinResponse
	err = c.call(ctx, callSpec{op: "join", method: http.MethodPost, url: endpoint(baseURL, "cluster/join"), body: body}, &resp)
	return resp, err
}

// Status returns the cluster status as the node at baseURL reports it.
func (c *Client) Status(ctx context.Context, baseURL string) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.call(ctx, callSpec{op: "status", method: http.MethodGet, url: endpoint(baseURL, "cluster/status"), idempotent: true}, &raw)
	return raw, err
}

// RepairStatus returns the repair state the node at baseURL reports; a
// follower answers with an error matching ErrNotLeader (a *NotLeaderError
// with a hint where the leader is).
func (c *Client) RepairStatus(ctx context.Context, baseURL string) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.call(ctx, callSpec{op: "repair status", method: http.MethodGet, url: endpoint(baseURL, "cluster/repair"), idempotent: true}, &raw)
	return raw, err
}

// refused reports a connection the peer's host actively refused: nothing
// listens there, so retrying at once only delays routing around it.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
