package s3api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/filesphere/filesphere/storage"
	"github.com/sirupsen/logrus"
)

// The admin operations of content addressing (routes in adminRoutes):
// verification of stored content and per-bucket deduplication. They are
// served by the node asked, through its storage.Backend.
const (
	OpAdminVerify      Operation = "AdminVerify"
	OpAdminSetDedup    Operation = "AdminSetDedup"
	OpAdminDedupStatus Operation = "AdminDedupStatus"
)

// AdminVerifyLine is one line of the verification's NDJSON answer:
// progress about every second while it runs, then the report, or an error
// (the status line went out before the verification failed).
type AdminVerifyLine struct {
	Progress *storage.VerifyProgress `json:"progress,omitempty"`
	Report   *storage.VerifyReport   `json:"report,omitempty"`
	Error    *AdminStreamError       `json:"error,omitempty"`
}

// AdminStreamError is an error met after a streamed answer began.
type AdminStreamError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// verifyTick is how often a running verification reports progress.
const verifyTick = time.Second

func (s *Server) contentAdminHandlers(ops map[Operation]handlerFunc) {
	ops[OpAdminVerify] = s.adminVerify
	ops[OpAdminSetDedup] = s.contentAdmin(func(ctx context.Context, req *request) (any, error) {
		bucket, err := bucketParam(req)
		if err != nil {
			return nil, err
		}
		var on bool
		switch req.URL.Query().Get("state") {
		case "enabled":
			on = true
		case "disabled":
		default:
			return nil, apiErr(ErrInvalidArgument, "The state parameter must be enabled or disabled.")
		}
		if err := s.backend.SetBucketDedup(ctx, bucket, on); err != nil {
			return nil, err
		}
		s.log.WithFields(logrus.Fields{"request_id": req.reqID, "bucket": bucket, "dedup": on}).Info("bucket deduplication set")
		return s.backend.BucketDedup(ctx, bucket)
	})
	ops[OpAdminDedupStatus] = s.contentAdmin(func(ctx context.Context, req *request) (any, error) {
		bucket, err := bucketParam(req)
		if err != nil {
			return nil, err
		}
		return s.backend.BucketDedup(ctx, bucket)
	})
}

// contentAdmin is admin for the operations the backend serves itself.
func (s *Server) contentAdmin(h func(context.Context, *request) (any, error)) handlerFunc {
	return func(ctx context.Context, req *request) (*response, error) {
		if err := checkAdminRequest(req); err != nil {
			return nil, err
		}
		v, err := h(ctx, req)
		if err != nil {
			return nil, err
		}
		return jsonResponse(v)
	}
}

func bucketParam(req *request) (string, error) {
	b := req.URL.Query().Get("bucket")
	if b == "" {
		return "", apiErr(ErrInvalidArgument, "The bucket parameter is required.")
	}
	return b, nil
}

// adminVerify streams a verification as NDJSON. Its bad parameters and a
// missing bucket are refused before the answer begins; a client that goes
// away ends the verification.
func (s *Server) adminVerify(ctx context.Context, req *request) (*response, error) {
	if err := checkAdminRequest(req); err != nil {
		return nil, err
	}
	q := req.URL.Query()
	opts := storage.VerifyOptions{Bucket: q.Get("bucket"), Prefix: q.Get("prefix")}
	if v := q.Get("rate"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, apiErr(ErrInvalidArgument, "The rate parameter is bytes per second, a whole number.")
		}
		opts.BytesPerSecond = n
	}
	if opts.Prefix != "" && opts.Bucket == "" {
		return nil, apiErr(ErrInvalidArgument, "The prefix parameter needs a bucket.")
	}
	if opts.Bucket != "" {
		if _, err := s.backend.HeadBucket(ctx, opts.Bucket); err != nil {
			return nil, err
		}
	}
	pr, pw := io.Pipe()
	go s.runVerify(ctx, req, opts, pw)
	return &response{header: http.Header{"Content-Type": {"application/x-ndjson"}}, body: pr, length: -1, lines: true}, nil
}

// streamWriter sends each write at once (flushed), giving the client
// timeout to take it: the pace is the server's, so sendGuard's minimum
// rate, which holds slow readers of ready data to account, does not apply.
type streamWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
	g       *sendGuard // records write errors for clientGone
}

func (s *streamWriter) Write(p []byte) (int, error) {
	d := time.Now().Add(s.timeout)
	_ = s.rc.SetWriteDeadline(d)
	s.g.applied = d // so the guard clears it when the answer is done
	n, err := s.w.Write(p)
	if err == nil {
		err = s.rc.Flush()
	}
	if err != nil {
		s.g.werr = err
	}
	return n, err
}

// runVerify runs the verification, writing progress every verifyTick and
// then the report (or the error) to w.
func (s *Server) runVerify(ctx context.Context, req *request, opts storage.VerifyOptions, w *io.PipeWriter) {
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	emit := func(l AdminVerifyLine) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(l) // a write fails once the client is gone: ctx ends too
	}
	var last storage.VerifyProgress
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		t := time.NewTicker(verifyTick)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				mu.Lock()
				p := last
				mu.Unlock()
				emit(AdminVerifyLine{Progress: &p})
			}
		}
	}()
	rep, err := s.backend.Verify(ctx, opts, func(p storage.VerifyProgress) {
		mu.Lock()
		last = p
		mu.Unlock()
	})
	close(stop)
	<-ticked
	if err != nil {
		ae := toAPIError(err)
		emit(AdminVerifyLine{Error: &AdminStreamError{Code: string(ae.Code), Message: ae.message()}})
		w.CloseWithError(err)
		return
	}
	s.log.WithFields(logrus.Fields{"request_id": req.reqID, "checked": rep.Checked, "mismatched": rep.Mismatched,
		"unreadable": rep.Unreadable}).Info("verification")
	emit(AdminVerifyLine{Report: &rep})
	w.Close()
}
