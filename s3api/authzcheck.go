package s3api

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// OpAuthzCheck answers a signed caller's question "may I do ACTION on
// RESOURCE?" from the same decision a request of that action would get
// (the caller's policies, the bucket's policy and ACLs, the condition keys
// of the asking request), without doing anything. The web console asks it
// to show only the buttons a user may press; the server still decides
// every real request on its own. Any signed caller may ask about itself,
// as anyone may try the action; it needs no permission of its own.
const OpAuthzCheck Operation = "AuthzCheck"

// authzCheckPath is its path under AdminPrefix.
const authzCheckPath = "/authz/check"

// maxCheckedActions bounds the actions of one question.
const maxCheckedActions = 32

// checkedAction is the form of an action that can be asked about.
var checkedAction = regexp.MustCompile(`^[a-zA-Z0-9-]{1,32}:[a-zA-Z0-9]{1,128}$`)

// AuthzCheckResult is the answer of authz/check: for each action asked,
// whether the caller may take it on the resource.
type AuthzCheckResult struct {
	Resource string          `json:"resource"`
	Allowed  map[string]bool `json:"allowed"`
}

func (s *Server) authzCheck(ctx context.Context, req *request) (*response, error) {
	if req.id.Anonymous {
		return nil, apiErr(ErrAccessDenied, "The admin API needs a signed request.")
	}
	if req.bodySize > 0 {
		return nil, apiErr(ErrUnexpectedContent, "Admin requests take no body.")
	}
	q := req.URL.Query()
	for name := range q {
		if name != "action" && name != "resource" && !strings.HasPrefix(strings.ToLower(name), "x-amz-") {
			return nil, apiErr(ErrInvalidArgument, fmt.Sprintf("%s does not take the parameter %q.", OpAuthzCheck, name))
		}
	}
	resource, actions := q.Get("resource"), q["action"]
	if resource == "" || len(resource) > 2048 || (resource != "*" && !strings.HasPrefix(resource, "arn:")) {
		return nil, apiErr(ErrInvalidArgument, "The resource parameter must be an ARN or *.")
	}
	if len(actions) == 0 || len(actions) > maxCheckedActions {
		return nil, apiErr(ErrInvalidArgument, fmt.Sprintf("Give 1 to %d action parameters.", maxCheckedActions))
	}
	var b *bucketAccess
	if rest, ok := strings.CutPrefix(resource, "arn:aws:s3:::"); ok && rest != "*" {
		bucket, _, _ := strings.Cut(rest, "/")
		var err error
		if b, err = s.bucketAccess(ctx, bucket); err != nil {
			return nil, err
		}
	}
	out := AuthzCheckResult{Resource: resource, Allowed: make(map[string]bool, len(actions))}
	for _, a := range actions {
		if !checkedAction.MatchString(a) {
			return nil, apiErr(ErrInvalidArgument, fmt.Sprintf("%q is not an action (service:Name).", printableParam(a)))
		}
		d, err := s.decide(ctx, req, b, a, resource)
		if err != nil {
			return nil, err
		}
		out.Allowed[a] = d.Allowed()
	}
	return jsonResponse(out)
}
