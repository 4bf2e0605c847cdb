package s3api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/storage"
	"github.com/sirupsen/logrus"
)

// AdminPrefix is where the admin API lives. A leading dot is not allowed in
// bucket names, so it can never shadow a bucket.
const AdminPrefix = "/" + adminBucket + "/admin/v1"

// adminBucket is the first path segment of the admin API.
const adminBucket = ".filesphere"

// Admin operations. They are classified, authenticated, authorized,
// handled and rendered by the same pipeline as S3 requests; their results
// are JSON, their errors S3 XML from the one error table.
const (
	OpAdminHeal          Operation = "AdminHeal"
	OpAdminHealStatus    Operation = "AdminHealStatus"
	OpAdminClusterStatus Operation = "AdminClusterStatus"
	OpAdminRemoveNode    Operation = "AdminRemoveNode"
	OpAdminDrainNode     Operation = "AdminDrainNode"
	OpAdminDrainStatus   Operation = "AdminDrainStatus"
	OpAdminMetrics       Operation = "AdminMetrics"
	OpAdminLifecycle     Operation = "AdminLifecycleStatus"
	// OpAdminUnknown is a path under AdminPrefix that names no operation.
	OpAdminUnknown Operation = "AdminUnknown"
)

// adminRoute is one admin operation: its method and path under
// AdminPrefix, the query parameters it honours, and the IAM-style action a
// policy grants it by. GETs never change state.
type adminRoute struct {
	method string
	path   string
	op     Operation
	action string
	params []string
}

// adminRoutes is the one table of admin operations and their actions.
var adminRoutes = []adminRoute{
	{http.MethodPost, "/heal", OpAdminHeal, "admin:Heal", []string{"deep"}},
	{http.MethodGet, "/heal/status", OpAdminHealStatus, "admin:HealStatus", nil},
	{http.MethodGet, "/cluster/status", OpAdminClusterStatus, "admin:ServerInfo", nil},
	{http.MethodPost, "/cluster/remove", OpAdminRemoveNode, "admin:RemoveNode", []string{"node"}},
	{http.MethodPost, "/node/drain", OpAdminDrainNode, "admin:DrainNode", []string{"node"}},
	{http.MethodGet, "/node/drain", OpAdminDrainStatus, "admin:ServerInfo", []string{"node"}},
	{http.MethodGet, "/metrics", OpAdminMetrics, "admin:Prometheus", nil},
	{http.MethodGet, "/lifecycle/status", OpAdminLifecycle, "admin:LifecycleStatus", nil},
	{http.MethodPost, "/kms/key/create", OpAdminKMSCreateKey, "admin:KMSCreateKey", []string{"name"}},
	{http.MethodGet, "/kms/key/list", OpAdminKMSListKeys, "admin:KMSListKeys", nil},
	{http.MethodGet, "/kms/key/status", OpAdminKMSKeyStatus, "admin:KMSKeyStatus", []string{"name"}},
	{http.MethodPost, "/kms/key/rotate", OpAdminKMSRotateKey, "admin:KMSRotateKey", []string{"name"}},
	{http.MethodPost, "/kms/key/disable", OpAdminKMSDisableKey, "admin:KMSDisableKey", []string{"name"}},
	{http.MethodPost, "/kms/key/enable", OpAdminKMSEnableKey, "admin:KMSEnableKey", []string{"name"}},
	{http.MethodPost, "/verify", OpAdminVerify, "admin:Verify", []string{"bucket", "prefix", "rate"}},
	{http.MethodPost, "/dedup", OpAdminSetDedup, "admin:Dedup", []string{"bucket", "state"}},
	{http.MethodGet, "/dedup", OpAdminDedupStatus, "admin:DedupStatus", []string{"bucket"}},
}

// allAdminRoutes is adminRoutes with the rows of the OAuth admin
// operations (oauthadmin.go).
var allAdminRoutes = append(append([]adminRoute(nil), adminRoutes...), oauthAdminRoutes...)

// AdminAction returns the IAM-style action ("admin:Heal" …) that
// authorizes an admin operation; ok is false for other operations.
func AdminAction(op Operation) (action string, ok bool) {
	for _, rt := range allAdminRoutes {
		if rt.op == op {
			return rt.action, true
		}
	}
	return "", false
}

// classifyAdmin decides the admin operation of a request whose first path
// segment is adminBucket; key is the rest of the path.
func classifyAdmin(method, key string) Route {
	sub, ok := strings.CutPrefix(key, "admin/v1/")
	if !ok {
		return Route{Op: OpAdminUnknown}
	}
	sub = "/" + sub
	if sub == authzCheckPath {
		if method != http.MethodGet {
			return Route{Op: OpMethodNotAllowed}
		}
		return Route{Op: OpAuthzCheck}
	}
	pathKnown := false
	for _, rt := range allAdminRoutes {
		if rt.path != sub {
			continue
		}
		if rt.method == method {
			return Route{Op: rt.op}
		}
		pathKnown = true
	}
	if pathKnown {
		return Route{Op: OpMethodNotAllowed}
	}
	return Route{Op: OpAdminUnknown}
}

// Admin is what the admin API needs from the layers below. Errors that
// wrap ErrAdminUnknownNode, ErrAdminLastNode or ErrAdminNoLeader get their
// own codes; storage errors map as for S3; anything else is InternalError.
type Admin interface {
	// Heal runs one repair pass now and reports it.
	Heal(ctx context.Context, opts storage.HealOptions) (storage.HealReport, error)
	// HealStatus reports the cluster's repair state, which the leader
	// holds, from whichever node is asked.
	HealStatus(ctx context.Context) (AdminHealStatus, error)
	// ClusterStatus reports nodes, drives, Raft state and ring version.
	ClusterStatus(ctx context.Context) (AdminClusterStatus, error)
	// RemoveNode takes a node out of the cluster membership.
	RemoveNode(ctx context.Context, id string) error
	// DrainNode starts moving everything off a node; the leader removes
	// it once no shard is left on it.
	DrainNode(ctx context.Context, id string) (AdminDrainStatus, error)
	// DrainStatus reports a drain and changes nothing.
	DrainStatus(ctx context.Context, id string) (AdminDrainStatus, error)
	// LifecycleStatus reports the lifecycle worker's state, which the
	// leader holds, from whichever node is asked.
	LifecycleStatus(ctx context.Context) (AdminLifecycleStatus, error)
}

// Errors an Admin wraps to choose the answer.
var (
	ErrAdminUnknownNode = errors.New("s3api: unknown node")
	ErrAdminLastNode    = errors.New("s3api: the last node cannot be removed")
	ErrAdminNoLeader    = errors.New("s3api: no reachable cluster leader")
)

// adminError maps the Admin errors to S3 errors (nil for other errors).
func adminError(err error) *APIError {
	switch {
	case errors.Is(err, ErrAdminUnknownNode):
		return &APIError{Code: ErrNoSuchNode, Err: err}
	case errors.Is(err, ErrAdminLastNode):
		return &APIError{Code: ErrInvalidClusterState, Message: "The last node of a cluster cannot be removed.", Err: err}
	case errors.Is(err, ErrAdminNoLeader):
		return &APIError{Code: ErrServiceUnavailable, Message: "The cluster has no reachable leader; try again.", Err: err}
	}
	return nil
}

// AdminHealStatus is the answer of heal status: the leader's repair state,
// and the nodes it cannot reach but has not yet declared lost (their
// shards' repairs wait, counted in Waiting rather than Failed).
type AdminHealStatus struct {
	Leader string `json:"leader"`
	storage.HealStatus
	Unreachable []AdminUnreachableNode `json:"unreachable"`
}

// AdminLifecycleStatus is the answer of lifecycle status: the leader's
// lifecycle worker (passes, steps by action, lag, rescans under way).
type AdminLifecycleStatus struct {
	Leader string `json:"leader"`
	storage.LifecycleStatus
}

// AdminUnreachableNode is a node unreachable for a while, lost after
// LostAfterSeconds of silence.
type AdminUnreachableNode struct {
	Node               string  `json:"node"`
	UnreachableSeconds float64 `json:"unreachable_seconds"`
	LostAfterSeconds   float64 `json:"lost_after_seconds"`
}

// AdminClusterStatus is the answer of cluster status (as seen by the node
// asked).
type AdminClusterStatus struct {
	NodeID      string            `json:"node_id"`
	RaftState   string            `json:"raft_state"`
	Term        string            `json:"term"`
	Leader      string            `json:"leader"`
	LeaderAddr  string            `json:"leader_addr"`
	CommitIndex string            `json:"commit_index"`
	Applied     uint64            `json:"applied_index"`
	RingVersion uint64            `json:"ring_version"`
	Healthy     bool              `json:"healthy"`
	Nodes       []AdminNodeStatus `json:"nodes"`
}

// AdminNodeStatus is one member.
type AdminNodeStatus struct {
	ID          string             `json:"id"`
	ClusterAddr string             `json:"cluster_addr"`
	APIAddr     string             `json:"api_addr"`
	Online      bool               `json:"online"`
	Draining    bool               `json:"draining,omitempty"`
	LastSeen    *time.Time         `json:"last_seen,omitempty"`
	Drives      []AdminDriveStatus `json:"drives"`
}

// AdminDriveStatus is one drive.
type AdminDriveStatus struct {
	ID         string `json:"id"`
	Weight     int    `json:"weight"`
	Online     bool   `json:"online"`
	TotalBytes uint64 `json:"total_bytes"`
	FreeBytes  uint64 `json:"free_bytes"`
	Error      string `json:"error,omitempty"`
}

// AdminDrainStatus is the answer of drain and drain status.
type AdminDrainStatus struct {
	Node             string `json:"node"`
	Draining         bool   `json:"draining"`
	ReferencedShards int    `json:"referenced_shards"`
	Removed          bool   `json:"removed"`
	SafeToTurnOff    bool   `json:"safe_to_turn_off"`
}

// AdminRemoveResult is the answer of cluster remove.
type AdminRemoveResult struct {
	Removed string `json:"removed"`
}

// adminHandlers adds the admin operations to the handler table.
func (s *Server) adminHandlers(ops map[Operation]handlerFunc) {
	ops[OpAdminHeal] = s.admin(s.adminHeal)
	ops[OpAdminHealStatus] = s.admin(func(ctx context.Context, _ *request) (any, error) {
		return s.cfg.Admin.HealStatus(ctx)
	})
	ops[OpAdminClusterStatus] = s.admin(func(ctx context.Context, _ *request) (any, error) {
		return s.cfg.Admin.ClusterStatus(ctx)
	})
	ops[OpAdminRemoveNode] = s.admin(s.adminRemoveNode)
	ops[OpAdminDrainNode] = s.admin(func(ctx context.Context, req *request) (any, error) {
		return withNode(req, func(id string) (any, error) { return s.cfg.Admin.DrainNode(ctx, id) })
	})
	ops[OpAdminDrainStatus] = s.admin(func(ctx context.Context, req *request) (any, error) {
		return withNode(req, func(id string) (any, error) { return s.cfg.Admin.DrainStatus(ctx, id) })
	})
	ops[OpAdminMetrics] = s.adminMetrics
	ops[OpAdminLifecycle] = s.admin(func(ctx context.Context, _ *request) (any, error) {
		return s.cfg.Admin.LifecycleStatus(ctx)
	})
	ops[OpAuthzCheck] = s.authzCheck
	s.kmsAdminHandlers(ops)
	s.contentAdminHandlers(ops)
	ops[OpAdminUnknown] = func(context.Context, *request) (*response, error) {
		return nil, apiErr(ErrNotImplemented, "Unknown admin operation.")
	}
}

// admin wraps an admin handler: signed requests only (whatever an
// authorizer allows), no body, only the parameters the operation honours;
// the typed result is rendered as JSON.
func (s *Server) admin(h func(context.Context, *request) (any, error)) handlerFunc {
	return func(ctx context.Context, req *request) (*response, error) {
		if err := checkAdminRequest(req); err != nil {
			return nil, err
		}
		if s.cfg.Admin == nil {
			return nil, apiErr(ErrNotImplemented, "The admin API is not enabled on this server.")
		}
		v, err := h(ctx, req)
		if err != nil {
			return nil, err
		}
		return jsonResponse(v)
	}
}

func checkAdminRequest(req *request) error {
	if req.id.Anonymous {
		return apiErr(ErrAccessDenied, "The admin API needs a signed request.")
	}
	if req.bodySize > 0 {
		return apiErr(ErrUnexpectedContent, "Admin requests take no body.")
	}
	var allowed []string
	for _, rt := range allAdminRoutes {
		if rt.op == req.route.Op {
			allowed = rt.params
		}
	}
	for name := range req.URL.Query() {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-") {
			continue // presigned-URL authentication
		}
		if !slices.Contains(allowed, name) {
			return apiErr(ErrInvalidArgument, fmt.Sprintf("%s does not take the parameter %q.", req.route.Op, name))
		}
	}
	return nil
}

func (s *Server) adminHeal(ctx context.Context, req *request) (any, error) {
	opts := storage.HealOptions{Rebalance: true}
	if v := req.URL.Query().Get("deep"); v != "" {
		deep, err := strconv.ParseBool(v)
		if err != nil {
			return nil, apiErr(ErrInvalidArgument, "The deep parameter must be true or false.")
		}
		opts.Deep = deep
	}
	rep, err := s.cfg.Admin.Heal(ctx, opts)
	if err != nil {
		return nil, err
	}
	s.log.WithFields(logrus.Fields{"request_id": req.reqID, "healed": rep.Healed, "failed": rep.Failed, "waiting": rep.Waiting}).Info("heal pass")
	return rep, nil
}

func (s *Server) adminRemoveNode(ctx context.Context, req *request) (any, error) {
	return withNode(req, func(id string) (any, error) {
		if err := s.cfg.Admin.RemoveNode(ctx, id); err != nil {
			return nil, err
		}
		return AdminRemoveResult{Removed: id}, nil
	})
}

// withNode runs fn with the required node parameter; an unknown node is
// NoSuchNode naming it.
func withNode(req *request, fn func(id string) (any, error)) (any, error) {
	id := req.URL.Query().Get("node")
	if id == "" {
		return nil, apiErr(ErrInvalidArgument, "The node parameter is required.")
	}
	v, err := fn(id)
	if errors.Is(err, ErrAdminUnknownNode) {
		return nil, &APIError{Code: ErrNoSuchNode, Message: fmt.Sprintf("Node %q is not a member of the cluster.", id), Err: err}
	}
	return v, err
}

// adminMetrics serves the Prometheus metrics to a signed request.
func (s *Server) adminMetrics(_ context.Context, req *request) (*response, error) {
	if err := checkAdminRequest(req); err != nil {
		return nil, err
	}
	if s.cfg.Metrics == nil {
		return nil, apiErr(ErrNotImplemented, "Metrics are not enabled on this server.")
	}
	bw := &bufferedWriter{header: http.Header{}}
	s.cfg.Metrics.ServeHTTP(bw, req.Request)
	if bw.status == 0 {
		bw.status = http.StatusOK
	}
	return &response{status: bw.status, header: bw.header, body: io.NopCloser(&bw.buf), length: int64(bw.buf.Len())}, nil
}

// bufferedWriter collects a handler's answer so that render sends it.
type bufferedWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.buf.Write(p)
}

func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

// jsonResponse renders a typed admin result.
func jsonResponse(v any) (*response, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("s3api: encoding admin result: %w", err)
	}
	b = append(b, '\n')
	return &response{
		header: http.Header{"Content-Type": {"application/json"}},
		body:   io.NopCloser(bytes.NewReader(b)),
		length: int64(len(b)),
	}, nil
}
