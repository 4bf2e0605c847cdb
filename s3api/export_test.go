package s3api

import "net/http"

// HeaderDisposition tells the s3api_test walk what the header table says
// of one header value on one operation: "honoured", "refused", or "" when
// the table does not know the header for that operation.
func HeaderDisposition(op Operation, name, value string) string {
	rs := rulesFor(op)
	if rs.honours(name, value) {
		return "honoured"
	}
	if _, ok := rs.refusal(name); ok {
		return "refused"
	}
	return ""
}

// RoutedOperations lists the operations the server has handlers for, so
// the authorization matrix can check it covers them all.
func RoutedOperations() []Operation {
	s := &Server{}
	ops := s.handlers()
	s.adminHandlers(ops)
	s.accessHandlers(ops)
	out := make([]Operation, 0, len(ops))
	for op := range ops {
		out = append(out, op)
	}
	return out
}

// AuthenticateAndAuthorize runs the pipeline's authentication and
// authorization of r (for benchmarks).
func (s *Server) AuthenticateAndAuthorize(r *http.Request) error {
	req := &request{Request: r, route: classify(r, s.cfg.Domain), reqID: "bench"}
	if err := s.authenticate(r.Context(), req); err != nil {
		return err
	}
	return s.authorize(r.Context(), req)
}

// VerifyOnly checks r's signature with a fixed secret, as the server did
// before IAM (the baseline of the authorization benchmark).
func (s *Server) VerifyOnly(r *http.Request, secret string) error {
	_, err := s.verifier.VerifyWith(r, func(string) (string, error) { return secret, nil })
	return err
}
