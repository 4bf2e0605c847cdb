// Package rpc is the node-to-node data and control plane: HTTP/2 between
// the nodes of one cluster, over mutual TLS with certificates of the
// cluster CA (ClientConfig.TLS, ServerConfig.RequirePeerCert; cleartext
// only in this package's tests), and every request also signed with the
// shared secret (see auth.go). A joining node gets its certificate through
// the enrollment endpoint (enroll.go).
//
// The Server exposes a node's local drives, its metadata service and its
// cluster service; the Client reaches them on other nodes. Client.Drive
// returns a drive.ShardStore for a drive on another node, which passes the
// same conformance suite as the local ones: shards are streamed in both
// directions, never buffered whole, and drive errors keep their sentinels
// across the wire.
//
// Endpoints (all under /rpc/v1/):
//
//	PUT    drives/{drive}/shard?id=          create: streamed body, verdict after it
//	GET    drives/{drive}/shard?id=&off=&len= open: streamed body
//	DELETE drives/{drive}/shard?id=          delete
//	GET    drives/{drive}/stat?id=           stat
//	GET    drives/{drive}/walk?prefix=       walk: newline-delimited JSON
//	GET    drives/{drive}/info               info
//	POST   meta/txn                          forward an encoded meta.Txn to the leader
//	GET    meta/readindex                    the leader's read index
//	POST   cluster/join                      join request
//	POST   cluster/certificate               a joining node's certificate (enroll.go)
//	GET    cluster/status                    cluster status (opaque JSON)
//	GET    cluster/repair                    the leader's repair state (opaque JSON)
//
// Errors travel as {"error": {"code": …, "message": …}} with a status code;
// once a streamed response has started, as the X-Filesphere-Error trailer.
package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/filesphere/filesphere/storage/drive"
)

// PathPrefix is where every endpoint lives.
const PathPrefix = "/rpc/v1/"

// MetaService is what the metadata leader offers other nodes.
type MetaService interface {
	// ApplyForwarded applies a forwarded, encoded meta.Txn and returns the
	// revision it committed at. A follower returns an error matching
	// ErrNotLeader (ideally a *NotLeaderError with a hint); an apply whose
	// result is unknown (e.g. a Raft timeout) returns one matching
	// ErrOutcomeUnknown; a failed compare, a *meta.CompareFailedError.
	ApplyForwarded(ctx context.Context, cmd []byte) (uint64, error)
	// ReadIndex returns the commit index a linearizable read must wait for.
	ReadIndex(ctx context.Context) (uint64, error)
}

// ClusterService is node membership as other nodes see it.
type ClusterService interface {
	Join(ctx context.Context, req JoinRequest) (JoinResponse, error)
	Status(ctx context.Context) (json.RawMessage, error)
}

// RepairService reports the cluster's repair state; only the leader runs
// repairs, so a follower answers with a *NotLeaderError.
type RepairService interface {
	RepairStatus(ctx context.Context) (json.RawMessage, error)
}

// JoinRequest asks the leader to add a node and its drives.
type JoinRequest struct {
	NodeID      string      `json:"node_id"`
	RaftAddr    string      `json:"raft_addr"`
	ClusterAddr string      `json:"cluster_addr"`
	APIAddr     string      `json:"api_addr"`
	Drives      []DriveSpec `json:"drives"`
}

// DriveSpec is one drive of a joining node.
type DriveSpec struct {
	ID     string `json:"id"`
	Weight int    `json:"weight"`
}

// JoinResponse is the leader's answer to a join.
type JoinResponse struct {
	LeaderID string   `json:"leader_id"`
	Members  []string `json:"members"`
}

// ServerConfig configures a Server.
type ServerConfig struct {
	// Secret is shared by every node of the cluster.
	Secret []byte
	// NodeID is this node's id (for logs).
	NodeID string
	// Drives resolves a local drive id; nil serves no drives (501).
	Drives func(id string) (drive.ShardStore, bool)
	// Meta serves forwarded transactions and read indexes; nil answers 501.
	Meta MetaService
	// Cluster serves join and status; nil answers 501.
	Cluster ClusterService
	// Repair serves the repair state; nil answers 501.
	Repair RepairService
	// Certs signs joining nodes' certificates; nil answers 501.
	Certs CertService
	// RequirePeerCert refuses every request but a certificate request
	// unless it came over TLS with a client certificate of the cluster CA
	// naming the node the request claims to be from (mutual TLS in front
	// of the shared-secret signature).
	RequirePeerCert bool
	// Log receives auth refusals and internal errors; nil discards.
	Log *logrus.Entry
	// Now is the clock used to check request timestamps.
	Now func() time.Time
	// MaxClockSkew is how far a request's timestamp may be from Now.
	MaxClockSkew time.Duration
	// MaxBodyBytes bounds non-streamed request bodies (txns, joins).
	MaxBodyBytes int64
}

// DefaultServerConfig returns defaults; Secret, NodeID and the services must
// still be set.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		Now:          time.Now,
		MaxClockSkew: 2 * time.Minute,
		MaxBodyBytes: 64 << 20,
	}
}

// Validate reports configuration errors.
func (c ServerConfig) Validate() error {
	switch {
	case len(c.Secret) < MinSecretLength:
		return fmt.Errorf("rpc: server: secret must be at least %d bytes", MinSecretLength)
	case c.NodeID == "":
		return errors.New("rpc: server: empty node id")
	case c.Now == nil:
		return errors.New("rpc: server: nil clock")
	case c.MaxClockSkew <= 0:
		return errors.New("rpc: server: MaxClockSkew must be positive")
	case c.MaxBodyBytes <= 0:
		return errors.New("rpc: server: MaxBodyBytes must be positive")
	}
	return nil
}

// Server serves the RPC endpoints. It is an http.Handler; mount it on the
// node's cluster address with NewHTTPServer (HTTP/2 over cleartext).
type Server struct {
	cfg  ServerConfig
	auth signer
	log  *logrus.Entry
	mux  *http.ServeMux
}

var _ http.Handler = (*Server)(nil)

// NewServer validates cfg and builds a Server.
func NewServer(cfg ServerConfig) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = logrus.NewEntry(l)
	}
	s := &Server{
		cfg:  cfg,
		auth: signer{secret: append([]byte(nil), cfg.Secret...)},
		log:  log.WithField("component", "rpc-server"),
		mux:  http.NewServeMux(),
	}
	s.mux.HandleFunc("PUT "+PathPrefix+"drives/{drive}/shard", s.withDrive(s.handleCreate))
	s.mux.HandleFunc("GET "+PathPrefix+"drives/{drive}/shard", s.withDrive(s.handleOpen))
	s.mux.HandleFunc("DELETE "+PathPrefix+"drives/{drive}/shard", s.withDrive(s.handleDelete))
	s.mux.HandleFunc("GET "+PathPrefix+"drives/{drive}/stat", s.withDrive(s.handleStat))
	s.mux.HandleFunc("GET "+PathPrefix+"drives/{drive}/walk", s.withDrive(s.handleWalk))
	s.mux.HandleFunc("GET "+PathPrefix+"drives/{drive}/info", s.withDrive(s.handleInfo))
	s.mux.HandleFunc("POST "+PathPrefix+"meta/txn", s.handleTxn)
	s.mux.HandleFunc("GET "+PathPrefix+"meta/readindex", s.handleReadIndex)
	s.mux.HandleFunc("GET "+PathPrefix+"meta/term", s.handleTerm)
	s.mux.HandleFunc("POST "+PathPrefix+"cluster/join", s.handleJoin)
	s.mux.HandleFunc("GET "+PathPrefix+"cluster/status", s.handleStatus)
	s.mux.HandleFunc("GET "+PathPrefix+"cluster/repair", s.handleRepair)
	s.mux.HandleFunc("POST "+PathPrefix+certificatePath, s.handleCertificate)
	return s, nil
}

// NewHTTPServer returns an http.Server for h speaking only HTTP/2 as the
// Client does: over the TLS connections its listener hands it (negotiated
// by ALPN), or over cleartext with prior knowledge (this package's tests).
// Timeouts suit long shard streams: headers are bounded, bodies are not
// (dead peers are found by HTTP/2 pings instead).
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	var p http.Protocols
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		Protocols:         &p,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams:          1000,
			MaxReadFrameSize:              1 << 20,
			MaxReceiveBufferPerStream:     4<<20 - 1,
			MaxReceiveBufferPerConnection: 4<<20 - 1,
			SendPingTimeout:               30 * time.Second,
			PingTimeout:                   15 * time.Second,
		},
	}
}

type ctxKey struct{}

type reqInfo struct {
	node string // authenticated sender
	sig  string // request signature, bound into body footers
}

// ServeHTTP authenticates the request, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	node, sig, err := s.auth.verify(r, s.cfg.Now(), s.cfg.MaxClockSkew)
	if err != nil {
		s.log.WithFields(logrus.Fields{"remote": r.RemoteAddr, "claimed_node": r.Header.Get(HeaderNode),
			"method": r.Method, "path": r.URL.Path}).Warnf("rpc: refused: %v", err)
		s.writeError(w, fmt.Errorf("%w: %v", ErrUnauthorized, err))
		return
	}
	if s.cfg.RequirePeerCert && r.URL.Path != PathPrefix+certificatePath {
		if err := checkPeer(r, node); err != nil {
			s.log.WithFields(logrus.Fields{"remote": r.RemoteAddr, "claimed_node": node,
				"method": r.Method, "path": r.URL.Path}).Warnf("rpc: refused: %v", err)
			s.writeError(w, fmt.Errorf("%w: %v", ErrUnauthorized, err))
			return
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, reqInfo{node: node, sig: sig}))
	s.mux.ServeHTTP(w, r)
}

// writeError renders err as the JSON error body with its status.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	status, we := encodeError(err)
	if we.Code == codeInternal {
		s.log.WithError(err).Error("rpc: internal error")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error wireError `json:"error"`
	}{we})
}

func (s *Server) writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// reply answers a request/response call: v as JSON, or the error.
func (s *Server) reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		s.writeError(w, err)
		return
	}
	s.writeJSON(w, v)
}

type driveHandler func(w http.ResponseWriter, r *http.Request, d drive.ShardStore)

func (s *Server) withDrive(h driveHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Drives == nil {
			s.writeError(w, fmt.Errorf("%w: node %s serves no drives", ErrNotImplemented, s.cfg.NodeID))
			return
		}
		id := r.PathValue("drive")
		d, ok := s.cfg.Drives(id)
		if !ok || d == nil {
			s.writeError(w, fmt.Errorf("%w: %q on node %s", ErrUnknownDrive, id, s.cfg.NodeID))
			return
		}
		h(w, r, d)
	}
}

// bufPool holds copy buffers for shard streams.
var bufPool = sync.Pool{New: func() any { b := make([]byte, footerSize+256<<10); return &b }}

// handleCreate streams the request body into a ShardWriter. The response
// header goes out as soon as the writer exists (so the client's Create
// returns, or fails, at once); the verdict follows as the JSON body once the
// request body has ended. The shard is committed only if the body ended
// cleanly with a footer stating its exact length and CRC, signed for this
// request; any other ending aborts the writer and nothing is visible.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, d drive.ShardStore) {
	sw, err := d.Create(r.Context(), r.URL.Query().Get("id"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	committed := false
	defer func() {
		if !committed {
			sw.Abort()
		}
	}()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if err := http.NewResponseController(w).Flush(); err != nil {
		return
	}
	info, _ := r.Context().Value(ctxKey{}).(reqInfo)
	n, err := s.copyBody(sw, r.Body, info.sig)
	if err == nil {
		err = sw.Commit()
		committed = err == nil
	}
	var v verdict
	if err != nil {
		_, we := encodeError(err)
		v.Error = &we
	} else {
		v.Size = n
	}
	json.NewEncoder(w).Encode(v)
}

// verdict is the body of a create response.
type verdict struct {
	Size  int64      `json:"size"`
	Error *wireError `json:"error,omitempty"`
}

// errBodyBroken marks a request body that did not end cleanly.
var errBodyBroken = fmt.Errorf("%w: shard stream broken", drive.ErrAborted)

// copyBody copies a streamed body into dst, holding back the last
// footerSize bytes seen, which at the end are the footer to verify.
func (s *Server) copyBody(dst io.Writer, body io.Reader, reqSig string) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp // [0, footerSize) holds back bytes; reads go after it
	held := 0  // held-back bytes, at buf[footerSize-held : footerSize]
	var n int64
	var sum uint32
	for {
		m, rerr := body.Read(buf[footerSize:])
		chunk := buf[footerSize-held : footerSize+m]
		if len(chunk) > footerSize {
			out := chunk[:len(chunk)-footerSize]
			sum = crc32.Update(sum, castagnoli, out)
			if _, err := dst.Write(out); err != nil {
				return n, err
			}
			n += int64(len(out))
			copy(buf[:footerSize], chunk[len(out):])
			held = footerSize
		} else {
			copy(buf[footerSize-len(chunk):footerSize], chunk)
			held = len(chunk)
		}
		if rerr == io.EOF {
			if err := s.auth.checkFooter(reqSig, buf[footerSize-held:footerSize], n, sum); err != nil {
				return n, fmt.Errorf("%w: %v", errBodyBroken, err)
			}
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("%w: %v", errBodyBroken, rerr)
		}
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// handleOpen streams a shard range. An error after the first byte travels
// in the TrailerError trailer.
func (s *Server) handleOpen(w http.ResponseWriter, r *http.Request, d drive.ShardStore) {
	q := r.URL.Query()
	off, err1 := strconv.ParseInt(q.Get("off"), 10, 64)
	length, err2 := strconv.ParseInt(q.Get("len"), 10, 64)
	if err1 != nil || err2 != nil {
		s.writeError(w, fmt.Errorf("%w: bad range", ErrBadRequest))
		return
	}
	rc, err := d.Open(r.Context(), q.Get("id"), off, length)
	if err != nil {
		s.writeError(w, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Trailer", TrailerError)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if _, err := io.CopyBuffer(onlyWriter{w}, rc, (*bp)[:256<<10]); err != nil {
		if r.Context().Err() != nil {
			return // the client is gone; nobody to tell
		}
		s.setTrailerError(w, err)
	}
}

// onlyWriter hides ReadFrom so CopyBuffer uses our pooled buffer.
type onlyWriter struct{ io.Writer }

func (s *Server) setTrailerError(w http.ResponseWriter, err error) {
	_, we := encodeError(err)
	b, _ := json.Marshal(we)
	w.Header().Set(TrailerError, string(b))
}

func (s *Server) handleStat(w http.ResponseWriter, r *http.Request, d drive.ShardStore) {
	si, err := d.Stat(r.Context(), r.URL.Query().Get("id"))
	s.reply(w, toWireShard(si), err)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, d drive.ShardStore) {
	err := d.Delete(r.Context(), r.URL.Query().Get("id"))
	s.reply(w, struct{}{}, err)
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request, d drive.ShardStore) {
	info, err := d.Info(r.Context())
	s.reply(w, info, err)
}

// wireShard is one shard on the wire (stat, walk lines).
type wireShard struct {
	ID      string `json:"id"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mod"` // unix nanoseconds
}

func toWireShard(si drive.ShardInfo) wireShard {
	return wireShard{ID: si.ID, Size: si.Size, ModTime: si.ModTime.UnixNano()}
}

func (ws wireShard) info() drive.ShardInfo {
	return drive.ShardInfo{ID: ws.ID, Size: ws.Size, ModTime: time.Unix(0, ws.ModTime)}
}

// handleWalk streams one JSON line per shard. The header goes out at once
// (a walk may take long to find its first shard); any error, before or
// after the first line, travels in the TrailerError trailer.
func (s *Server) handleWalk(w http.ResponseWriter, r *http.Request, d drive.ShardStore) {
	rc := http.NewResponseController(w)
	w.Header().Set("Trailer", TrailerError)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	enc := json.NewEncoder(w)
	lastFlush := time.Now()
	err := d.Walk(r.Context(), r.URL.Query().Get("prefix"), func(si drive.ShardInfo) error {
		if err := enc.Encode(toWireShard(si)); err != nil {
			return errClientGone{err}
		}
		// Flush often enough that the client's fn runs while we walk, but
		// not per line.
		if time.Since(lastFlush) > 20*time.Millisecond {
			lastFlush = time.Now()
			if err := rc.Flush(); err != nil {
				return errClientGone{err}
			}
		}
		return nil
	})
	var gone errClientGone
	if err != nil && !errors.As(err, &gone) && r.Context().Err() == nil {
		s.setTrailerError(w, err)
	}
}

type errClientGone struct{ error }

func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: reading body: %v", ErrBadRequest, err)
	}
	return b, nil
}

// revisionReply is the answer to a forwarded txn or a read index.
type revisionReply struct {
	Revision uint64 `json:"revision"`
}

func (s *Server) handleTxn(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Meta == nil {
		s.writeError(w, fmt.Errorf("%w: node %s has no metadata service", ErrNotImplemented, s.cfg.NodeID))
		return
	}
	cmd, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	rev, err := s.cfg.Meta.ApplyForwarded(r.Context(), cmd)
	s.reply(w, revisionReply{Revision: rev}, err)
}

func (s *Server) handleReadIndex(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Meta == nil {
		s.writeError(w, fmt.Errorf("%w: node %s has no metadata service", ErrNotImplemented, s.cfg.NodeID))
		return
	}
	idx, err := s.cfg.Meta.ReadIndex(r.Context())
	s.reply(w, revisionReply{Revision: idx}, err)
}

// termer is a MetaService that reports its Raft term (meta.RaftKV).
type termer interface{ Term() uint64 }

func (s *Server) handleTerm(w http.ResponseWriter, r *http.Request) {
	t, ok := s.cfg.Meta.(termer)
	if !ok {
		s.writeError(w, fmt.Errorf("%w: node %s reports no raft term", ErrNotImplemented, s.cfg.NodeID))
		return
	}
	s.reply(w, revisionReply{Revision: t.Term()}, nil)
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Cluster == nil {
		s.writeError(w, fmt.Errorf("%w: node %s has no cluster service", ErrNotImplemented, s.cfg.NodeID))
		return
	}
	b, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	var req JoinRequest
	if err := json.Unmarshal(b, &req); err != nil {
		s.writeError(w, fmt.Errorf("%w: join request: %v", ErrBadRequest, err))
		return
	}
	// With certificates, a node joins only itself.
	if info, _ := r.Context().Value(ctxKey{}).(reqInfo); s.cfg.RequirePeerCert && req.NodeID != info.node {
		s.writeError(w, fmt.Errorf("%w: node %s asks to join as %q", ErrUnauthorized, info.node, req.NodeID))
		return
	}
	resp, err := s.cfg.Cluster.Join(r.Context(), req)
	s.reply(w, resp, err)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Cluster == nil {
		s.writeError(w, fmt.Errorf("%w: node %s has no cluster service", ErrNotImplemented, s.cfg.NodeID))
		return
	}
	st, err := s.cfg.Cluster.Status(r.Context())
	if err == nil && !json.Valid(st) {
		err = fmt.Errorf("rpc: status is not valid JSON")
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(st)
}

func (s *Server) handleRepair(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Repair == nil {
		s.writeError(w, fmt.Errorf("%w: node %s has no repair service", ErrNotImplemented, s.cfg.NodeID))
		return
	}
	st, err := s.cfg.Repair.RepairStatus(r.Context())
	if err == nil && !json.Valid(st) {
		err = fmt.Errorf("rpc: repair status is not valid JSON")
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(st)
}
