package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Exit codes of the client verbs.
const (
	ExitOK          = 0   // everything done
	ExitError       = 1   // a request or a local operation failed
	ExitUsage       = 2   // the command line is wrong
	ExitInterrupted = 130 // Ctrl-C (SIGINT) or SIGTERM
)

// UsageError is a command line that cannot be carried out as given.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usageErrorf(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// OpError is one failed step of a verb: "rm photos/a.jpg: <cause>".
type OpError struct {
	Op, Target string
	Err        error
}

func (e *OpError) Error() string {
	if e.Target == "" {
		return e.Op + ": " + Describe(e.Err)
	}
	return e.Op + " " + e.Target + ": " + Describe(e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

func opErr(op, target string, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Target: target, Err: err}
}

// FailedError says how many items of a multi-item verb failed (each was
// reported as it happened).
type FailedError struct {
	Op            string
	Failed, Total int
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%s: %d of %d failed", e.Op, e.Failed, e.Total)
}

// S3Error is an error answer of the server.
type S3Error struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *S3Error) Error() string {
	s := e.Code
	if s == "" {
		s = fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// headCodes names the errors of bodiless (HEAD) answers as S3 would in a
// body, so HEAD and GET failures read alike.
var headCodes = map[int][2]string{
	http.StatusNotFound:           {"NotFound", "no such object or bucket"},
	http.StatusForbidden:          {"AccessDenied", "Access Denied."},
	http.StatusMovedPermanently:   {"PermanentRedirect", "the bucket is in another region or needs another endpoint"},
	http.StatusPreconditionFailed: {"PreconditionFailed", "a condition did not hold"},
	http.StatusMethodNotAllowed:   {"MethodNotAllowed", "not allowed on this resource (a delete marker?)"},
}

// asS3Error extracts the server's answer from an SDK error.
func asS3Error(err error) (*S3Error, bool) {
	var se *S3Error
	if errors.As(err, &se) {
		return se, true
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() == 0 {
		return nil, false
	}
	e := &S3Error{Status: re.HTTPStatusCode(), RequestID: re.ServiceRequestID()}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code, e.Message = ae.ErrorCode(), ae.ErrorMessage()
	}
	// The SDK names a bodiless answer by its status text.
	if e.Code == "" || e.Code == http.StatusText(e.Status) || e.Code == strings.ReplaceAll(http.StatusText(e.Status), " ", "") {
		e.Code, e.Message = "", ""
		if hc, ok := headCodes[e.Status]; ok {
			e.Code, e.Message = hc[0], hc[1]
		}
	}
	return e, true
}

// Describe renders an error as one line a person understands: the server's
// code, message and request id; "cannot reach HOST: ..." for network
// failures; the error's own text otherwise. The SDK's operation and retry
// wrapping is left out.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	var oe *OpError
	if errors.As(err, &oe) {
		return oe.Error()
	}
	var re *ResumableError
	if errors.As(err, &re) {
		return re.Error()
	}
	if se, ok := asS3Error(err); ok {
		return se.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		host := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Scheme + "://" + u.Host
		}
		cause := ue.Err
		var ne *net.OpError
		if errors.As(cause, &ne) {
			cause = ne.Err
		}
		return "cannot reach " + host + ": " + oneLine(cause.Error())
	}
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	return oneLine(err.Error())
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// IsNotFound reports whether err is the server's "no such key/bucket/
// version" answer.
func IsNotFound(err error) bool {
	se, ok := asS3Error(err)
	if !ok {
		return false
	}
	switch se.Code {
	case "NoSuchKey", "NoSuchBucket", "NoSuchVersion", "NotFound", "NoSuchUpload":
		return true
	}
	return se.Status == http.StatusNotFound
}

func s3Code(err error) string {
	if se, ok := asS3Error(err); ok {
		return se.Code
	}
	return ""
}

// ExitCode is the process status for err.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	return ExitError
}

// ErrorRecord is the --json form of an error, printed on stderr.
type ErrorRecord struct {
	Error struct {
		Op        string `json:"op,omitempty"`
		Target    string `json:"target,omitempty"`
		Code      string `json:"code,omitempty"`
		Status    int    `json:"status,omitempty"`
		Message   string `json:"message"`
		RequestID string `json:"request_id,omitempty"`
	} `json:"error"`
	Exit int `json:"exit"`
}

// NewErrorRecord is the ErrorRecord of err.
func NewErrorRecord(err error) ErrorRecord {
	var r ErrorRecord
	r.Exit = ExitCode(err)
	var oe *OpError
	if errors.As(err, &oe) {
		r.Error.Op, r.Error.Target = oe.Op, oe.Target
	}
	if se, ok := asS3Error(err); ok {
		r.Error.Code, r.Error.Status, r.Error.RequestID = se.Code, se.Status, se.RequestID
	}
	r.Error.Message = Describe(err)
	return r
}
