package s3api

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/s3api/sigv4"
)

// The IAM and STS Query APIs: form-encoded requests with an Action
// parameter, signed for the service "iam" or "sts", answered in those
// APIs' XML. They go through the same pipeline as S3 (authenticate,
// authorize each action by policy, handle, render); each action is one
// row of iamActions or stsActions.

// maxQueryForm bounds a Query API request's form (a managed policy of
// 6,144 characters, URL-encoded, fits many times).
const maxQueryForm = 256 << 10

// Versions of the Query APIs.
var queryVersions = map[API]string{APIIAM: "2010-05-08", APISTS: "2011-06-15"}

// queryRequest is one Query API request.
type queryRequest struct {
	*request
	action string
	form   url.Values
}

func (q *queryRequest) get(name string) string { return q.form.Get(name) }

// required returns a parameter that must be given, or IAM's
// ValidationError naming it.
func (q *queryRequest) required(name string) (string, error) {
	v := q.form.Get(name)
	if v == "" {
		return "", apiErr(ErrValidationError, fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null",
			lowerFirst(name)))
	}
	return v, nil
}

// intParam reads an optional integer parameter (0 when absent).
func (q *queryRequest) intParam(name string) (int, error) {
	v := q.form.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, apiErr(ErrValidationError, fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be a number", v, lowerFirst(name)))
	}
	return n, nil
}

// boolParam reads an optional boolean parameter.
func (q *queryRequest) boolParam(name string) (*bool, error) {
	v := q.form.Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, apiErr(ErrValidationError, fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be true or false", v, lowerFirst(name)))
	}
	return &b, nil
}

// list reads a Query list: Name.member.1, Name.member.2, ….
func (q *queryRequest) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := q.form[name+".member."+strconv.Itoa(i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}

// tags reads Tags.member.N.Key / .Value.
func (q *queryRequest) tags() []iam.Tag {
	var out []iam.Tag
	for i := 1; ; i++ {
		p := "Tags.member." + strconv.Itoa(i) + "."
		k, ok := q.form[p+"Key"]
		if !ok || len(k) == 0 {
			return out
		}
		out = append(out, iam.Tag{Key: k[0], Value: q.form.Get(p + "Value")})
	}
}

// listOptions reads PathPrefix, Marker and MaxItems.
func (q *queryRequest) listOptions() (iam.ListOptions, error) {
	n, err := q.intParam("MaxItems")
	return iam.ListOptions{PathPrefix: q.get("PathPrefix"), Marker: q.get("Marker"), MaxItems: n}, err
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// queryAction is one action of a Query API.
type queryAction struct {
	// resource is the ARN the action is authorized on ("" for actions
	// every caller may take, such as sts:GetCallerIdentity).
	resource func(s *Server, q *queryRequest) string
	run      func(ctx context.Context, s *Server, q *queryRequest) (any, error)
}

// serveQuery authenticates, parses and dispatches a Query API request;
// answers carry x-amzn-RequestId as the Query APIs' do.
func (s *Server) serveQuery(ctx context.Context, req *request) (*response, error) {
	resp, err := s.query(ctx, req)
	h := http.Header{"X-Amzn-Requestid": {req.reqID}}
	if err != nil {
		ae := toAPIError(queryError(err))
		if ae.Code == ErrNotImplemented {
			ae.Status = http.StatusBadRequest // never a 5xx: clients would retry
		}
		ae.Header = h
		return nil, ae
	}
	resp.header.Set("X-Amzn-Requestid", req.reqID)
	return resp, nil
}

func (s *Server) query(ctx context.Context, req *request) (*response, error) {
	api := req.route.API
	if err := s.authenticate(ctx, req); err != nil {
		return nil, err
	}
	form, err := readQueryForm(req)
	if err != nil {
		return nil, err
	}
	q := &queryRequest{request: req, action: form.Get("Action"), form: form}
	if q.action == "" {
		return nil, apiErr(ErrMissingAction, "Missing Action")
	}
	if v := form.Get("Version"); v != "" && v != queryVersions[api] {
		return nil, apiErr(ErrInvalidAction, fmt.Sprintf("Could not find operation %s for version %s", printableParam(q.action), printableParam(v)))
	}
	actions, prefix := iamActions, "iam:"
	if api == APISTS {
		actions, prefix = stsActions, "sts:"
	}
	a, ok := actions[q.action]
	if !ok {
		if notBuiltActions[api][q.action] {
			return nil, apiErr(ErrNotImplemented, fmt.Sprintf("FileSphere does not implement the %s action %s.", strings.ToUpper(string(api)), q.action))
		}
		return nil, apiErr(ErrInvalidAction, fmt.Sprintf("Could not find operation %s for version %s", printableParam(q.action), queryVersions[api]))
	}
	if req.id.Anonymous && !unsignedActions[api][q.action] {
		return nil, apiErr(ErrMissingAuthenticationToken, "")
	}
	if a.resource != nil {
		if err := s.allow(ctx, req, nil, prefix+q.action, a.resource(s, q)); err != nil {
			return nil, err
		}
	}
	out, err := a.run(ctx, s, q)
	if err != nil {
		return nil, err
	}
	return queryResponse(api, q.action, req.reqID, out)
}

// readQueryForm reads the parameters: the URL query (GET) and the
// form-encoded body (POST), without the presigning parameters.
func readQueryForm(req *request) (url.Values, error) {
	form := url.Values{}
	for k, vs := range req.URL.Query() {
		if !strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			form[k] = vs
		}
	}
	if req.Method != http.MethodPost {
		return form, nil
	}
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil, apiErr(ErrInvalidParameterValue, "Query API requests must be application/x-www-form-urlencoded.")
	}
	b, err := io.ReadAll(io.LimitReader(req.body, maxQueryForm+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxQueryForm {
		return nil, apiErr(ErrInvalidParameterValue, "The request is too large.")
	}
	body, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, apiErr(ErrInvalidParameterValue, "The request body is not a valid form.")
	}
	for k, vs := range body {
		form[k] = append(form[k], vs...)
	}
	return form, nil
}

// printableParam shortens hostile input echoed in a message.
func printableParam(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// queryError rewords authentication refusals as IAM and STS answer them.
func queryError(err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		return err
	}
	switch {
	case errors.Is(err, iam.ErrInvalidAccessKeyID), errors.Is(err, iam.ErrAccessKeyInactive),
		errors.Is(err, sigv4.ErrInvalidAccessKeyID), errors.Is(err, iam.ErrInvalidToken):
		return &APIError{Code: ErrInvalidClientTokenID, Err: err}
	case errors.Is(err, iam.ErrExpiredToken):
		return &APIError{Code: ErrExpiredToken, Status: http.StatusForbidden, Message: "The security token included in the request is expired", Err: err}
	}
	return err
}

// queryEnvelope is <ActionResponse><ActionResult>…</ActionResult>
// <ResponseMetadata/></ActionResponse>.
func queryResponse(api API, action, reqID string, result any) (*response, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: queryNamespaces[api]}}}
	if err := enc.EncodeToken(start); err != nil {
		return nil, err
	}
	if result != nil {
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return nil, fmt.Errorf("s3api: encoding %s result: %w", action, err)
		}
	}
	meta := struct {
		RequestID string `xml:"RequestId"`
	}{reqID}
	if err := enc.EncodeElement(meta, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return nil, err
	}
	if err := enc.EncodeToken(start.End()); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	return &response{header: http.Header{"Content-Type": {"text/xml"}},
		body: io.NopCloser(bytes.NewReader(buf.Bytes())), length: int64(buf.Len())}, nil
}

// isoTime formats times as the Query APIs do.
type isoTime time.Time

func (t isoTime) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format("2006-01-02T15:04:05Z")), nil
}
