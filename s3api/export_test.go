package s3api

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
