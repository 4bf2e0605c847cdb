package s3api

import (
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
)

// countingWriter counts the response body bytes for the access log.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// logAccess writes the access log line of one request. It names the
// verified access key only, and the path without the query, which for a
// presigned URL holds the credential and signature.
func (s *Server) logAccess(req *request, status int, bytes int64, took time.Duration) {
	f := logrus.Fields{
		"method":     req.Method,
		"path":       req.URL.Path,
		"op":         req.route.Op,
		"status":     status,
		"bytes":      bytes,
		"duration":   took.Round(time.Microsecond).String(),
		"request_id": req.reqID,
		"access_key": req.id.AccessKey,
		"remote":     req.RemoteAddr,
	}
	if req.authz.decided {
		f["authz"] = req.authz.decision.String()
	}
	s.log.WithFields(f).Info("access")
}
