package s3api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/filesphere/filesphere/storage"
	"github.com/sirupsen/logrus"
)

// AdminPrefix is where the admin API lives. A leading dot is not allowed in
// bucket names, so it can never shadow a bucket.
const AdminPrefix = "/.filesphere/admin/v1"

// Admin is what the admin API needs from the layers below.
type Admin interface {
	Heal(ctx context.Context, opts storage.HealOptions) (storage.HealReport, error)
	// ClusterStatus returns a JSON-able view of the cluster.
	ClusterStatus(ctx context.Context) (any, error)
	// RemoveNode takes a node out of the cluster membership.
	RemoveNode(ctx context.Context, id string) error
	// HealStatus reports repair progress.
	HealStatus(ctx context.Context) (any, error)
	// DrainNode starts moving everything off a node.
	DrainNode(ctx context.Context, id string) error
	// DrainStatus says how far a drain is and whether the node is safe to
	// turn off (then it has been removed).
	DrainStatus(ctx context.Context, id string) (any, error)
}

// serveAdmin authenticates with SigV4 like any S3 request and answers JSON.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	req := &request{Request: r, reqID: newRequestID(), route: Route{Op: "Admin"}}
	w.Header().Set("X-Amz-Request-Id", req.reqID)
	res, err := s.authn.Verify(r)
	if err == nil && res.Anonymous {
		err = apiErr(ErrAccessDenied, "The admin API needs a signed request.")
	}
	if err == nil && s.cfg.Admin == nil {
		err = apiErr(ErrNotImplemented, "The admin API is not enabled on this server.")
	}
	if err != nil {
		s.renderError(w, req, err)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == AdminPrefix+"/heal":
		deep, _ := strconv.ParseBool(r.URL.Query().Get("deep"))
		rep, err := s.cfg.Admin.Heal(r.Context(), storage.HealOptions{Deep: deep, Rebalance: true})
		if err != nil {
			s.renderError(w, req, err)
			return
		}
		s.log.WithFields(logrus.Fields{"request_id": req.reqID, "healed": rep.Healed, "failed": rep.Failed}).Info("heal pass")
		writeJSON(w, rep)
	case r.Method == http.MethodGet && r.URL.Path == AdminPrefix+"/heal/status":
		s.adminJSON(w, req, func() (any, error) { return s.cfg.Admin.HealStatus(r.Context()) })
	case r.Method == http.MethodPost && r.URL.Path == AdminPrefix+"/node/drain":
		s.adminJSON(w, req, func() (any, error) {
			id := r.URL.Query().Get("node")
			return map[string]string{"draining": id}, s.cfg.Admin.DrainNode(r.Context(), id)
		})
	case r.Method == http.MethodGet && r.URL.Path == AdminPrefix+"/node/drain":
		s.adminJSON(w, req, func() (any, error) { return s.cfg.Admin.DrainStatus(r.Context(), r.URL.Query().Get("node")) })
	case r.Method == http.MethodGet && r.URL.Path == AdminPrefix+"/cluster/status":
		st, err := s.cfg.Admin.ClusterStatus(r.Context())
		if err != nil {
			s.renderError(w, req, err)
			return
		}
		writeJSON(w, st)
	case r.Method == http.MethodPost && r.URL.Path == AdminPrefix+"/cluster/remove":
		id := r.URL.Query().Get("node")
		if id == "" {
			s.renderError(w, req, apiErr(ErrInvalidArgument, "The node parameter is required."))
			return
		}
		if err := s.cfg.Admin.RemoveNode(r.Context(), id); err != nil {
			s.renderError(w, req, &APIError{Code: ErrInvalidRequest, Message: err.Error(), Err: err})
			return
		}
		writeJSON(w, map[string]string{"removed": id})
	default:
		s.renderError(w, req, apiErr(ErrNotImplemented, "Unknown admin operation."))
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// adminJSON runs an admin call and writes its result or error.
func (s *Server) adminJSON(w http.ResponseWriter, req *request, fn func() (any, error)) {
	v, err := fn()
	if err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			err = &APIError{Code: ErrInvalidRequest, Message: err.Error(), Err: err}
		}
		s.renderError(w, req, err)
		return
	}
	writeJSON(w, v)
}
