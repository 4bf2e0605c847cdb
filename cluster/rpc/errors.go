package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/storage/drive"
)

// Errors of the RPC layer itself. Drive and metadata errors keep their own
// sentinels across the wire (drive.ErrShardNotFound, *meta.CompareFailedError
// …): errors.Is and errors.As hold on the client as they did on the server.
var (
	// ErrUnauthorized: the peer refused the request's authentication (wrong
	// secret, clock skew, tampered request). Never retried.
	ErrUnauthorized = errors.New("rpc: unauthorized")
	// ErrNotImplemented: the peer does not serve this kind of request (its
	// service is nil).
	ErrNotImplemented = errors.New("rpc: not implemented by peer")
	// ErrBadRequest: the peer found the request malformed.
	ErrBadRequest = errors.New("rpc: bad request")
	// ErrProtocol: the peer's answer could not be understood, or a stream
	// ended in a way the protocol does not allow.
	ErrProtocol = errors.New("rpc: protocol error")
	// ErrUnknownDrive: the peer has no drive with that id. Errors carrying it
	// also wrap drive.ErrOffline, since to the caller the drive is not there.
	ErrUnknownDrive = errors.New("rpc: unknown drive")
	// ErrRemote is wrapped by errors the peer reported without a more
	// specific kind (internal errors).
	ErrRemote = errors.New("rpc: remote error")
)

// The metadata errors a forwarded request can end with are meta's own, so
// that meta.RaftKV (the caller of a Forwarder built on Client) and the
// services behind Server agree on one identity for each.
var (
	// ErrNotLeader: the peer is not the metadata leader; the request was
	// not applied and may be sent to another node (see NotLeaderError for a
	// hint).
	ErrNotLeader = meta.ErrNotLeader
	// ErrOutcomeUnknown: a forwarded transaction may or may not have been
	// applied: the connection broke or a deadline passed after it was sent,
	// or the leader itself could not tell. Re-read before deciding to retry.
	ErrOutcomeUnknown = meta.ErrOutcomeUnknown
)

// NotLeaderError is returned by a MetaService or ClusterService that is not
// the leader, with a hint where the leader is (either may be empty). It
// matches ErrNotLeader with errors.Is, and survives the trip to the client.
type NotLeaderError struct {
	LeaderID   string
	LeaderAddr string
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" && e.LeaderAddr == "" {
		return ErrNotLeader.Error()
	}
	return fmt.Sprintf("%v (leader %q at %q)", ErrNotLeader, e.LeaderID, e.LeaderAddr)
}

// Is makes errors.Is(err, ErrNotLeader) hold.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

// RemoteError is an error reported by the peer. It unwraps to the sentinel
// (or typed error) its code names, so callers match it with errors.Is/As as
// if the call had been local.
type RemoteError struct {
	Node    string // base URL of the peer
	Status  int    // HTTP status
	Code    string // wire code, e.g. "shard_not_found"
	Message string // the peer's error text
	errs    []error
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("rpc: %s: %s", e.Node, e.Message)
}

// Unwrap returns the errors the code maps to.
func (e *RemoteError) Unwrap() []error { return e.errs }

// wireError is the JSON error body every endpoint answers with, and the
// error half of streamed verdicts and trailers.
type wireError struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Key        string `json:"key,omitempty"`
	Want       uint64 `json:"want,omitempty"`
	Actual     uint64 `json:"actual,omitempty"`
	LeaderID   string `json:"leader_id,omitempty"`
	LeaderAddr string `json:"leader_addr,omitempty"`
}

const (
	codeCompareFailed = "compare_failed"
	codeNotLeader     = "not_leader"
	codeInternal      = "internal"
)

// errorCodes is the one table translating errors to wire codes and back.
// Order matters on the server: the first entry the error matches wins, so
// more specific errors come first (drive.ErrTimeout also wraps
// context.DeadlineExceeded; an unknown drive is also offline).
var errorCodes = []struct {
	code   string
	status int
	errs   []error // errs[0] is matched on the server; all are unwrapped on the client
}{
	{"unauthorized", http.StatusUnauthorized, []error{ErrUnauthorized}},
	{"not_implemented", http.StatusNotImplemented, []error{ErrNotImplemented}},
	{"bad_request", http.StatusBadRequest, []error{ErrBadRequest}},
	{"unknown_drive", http.StatusNotFound, []error{ErrUnknownDrive, drive.ErrOffline}},
	{"outcome_unknown", http.StatusGatewayTimeout, []error{ErrOutcomeUnknown}},
	{"no_leader", http.StatusServiceUnavailable, []error{meta.ErrNoLeader}},
	{"apply_timeout", http.StatusServiceUnavailable, []error{meta.ErrApplyTimeout}},
	{"leader_unreachable", http.StatusBadGateway, []error{meta.ErrLeaderUnreachable}},
	{"drive_timeout", http.StatusGatewayTimeout, []error{drive.ErrTimeout, context.DeadlineExceeded}},
	{"shard_not_found", http.StatusNotFound, []error{drive.ErrShardNotFound}},
	{"invalid_id", http.StatusBadRequest, []error{drive.ErrInvalidID}},
	{"invalid_range", http.StatusRequestedRangeNotSatisfiable, []error{drive.ErrInvalidRange}},
	{"offline", http.StatusServiceUnavailable, []error{drive.ErrOffline}},
	{"disk_full", http.StatusInsufficientStorage, []error{drive.ErrDiskFull}},
	{"aborted", http.StatusConflict, []error{drive.ErrAborted}},
	{"injected", http.StatusInternalServerError, []error{drive.ErrInjected}},
	{"invalid_txn", http.StatusBadRequest, []error{meta.ErrInvalidTxn}},
	{"bad_command", http.StatusBadRequest, []error{meta.ErrBadCommand}},
	{"meta_not_found", http.StatusNotFound, []error{meta.ErrNotFound}},
	{"meta_closed", http.StatusServiceUnavailable, []error{meta.ErrClosed}},
	{"canceled", 499, []error{context.Canceled}},
	{"deadline", http.StatusGatewayTimeout, []error{context.DeadlineExceeded}},
}

// encodeError turns a server-side error into its status and wire form.
func encodeError(err error) (int, wireError) {
	we := wireError{Message: err.Error()}
	var cf *meta.CompareFailedError
	if errors.As(err, &cf) {
		we.Code, we.Key, we.Want, we.Actual = codeCompareFailed, cf.Key, cf.Want, cf.Actual
		return http.StatusConflict, we
	}
	if errors.Is(err, ErrNotLeader) {
		we.Code = codeNotLeader
		var nl *NotLeaderError
		if errors.As(err, &nl) {
			we.LeaderID, we.LeaderAddr = nl.LeaderID, nl.LeaderAddr
		}
		return http.StatusMisdirectedRequest, we
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.errs[0]) {
			we.Code = e.code
			return e.status, we
		}
	}
	we.Code = codeInternal
	return http.StatusInternalServerError, we
}

// decodeError turns a wire error back into an error matching the same
// sentinels (or typed errors) as on the server.
func decodeError(node string, status int, we wireError) *RemoteError {
	re := &RemoteError{Node: node, Status: status, Code: we.Code, Message: we.Message}
	if re.Message == "" {
		re.Message = fmt.Sprintf("%s (HTTP %d)", we.Code, status)
	}
	switch we.Code {
	case codeCompareFailed:
		re.errs = []error{&meta.CompareFailedError{Key: we.Key, Want: we.Want, Actual: we.Actual}}
		return re
	case codeNotLeader:
		re.errs = []error{&NotLeaderError{LeaderID: we.LeaderID, LeaderAddr: we.LeaderAddr}}
		return re
	}
	for _, e := range errorCodes {
		if e.code == we.Code {
			re.errs = e.errs
			return re
		}
	}
	if status == http.StatusUnauthorized {
		re.errs = []error{ErrUnauthorized}
	} else {
		re.errs = []error{ErrRemote}
	}
	return re
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// readError builds the error for a non-2xx response, consuming (part of) its
// body. A body that is not our JSON (a proxy's page, a mux 404) still gives
// an error with the status.
func readError(node string, resp *http.Response) *RemoteError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var env struct {
		Error *wireError `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil && env.Error.Code != "" {
		return decodeError(node, resp.StatusCode, *env.Error)
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if len(body) > 0 {
		msg += ": " + string(body[:min(len(body), 200)])
	}
	code := ""
	if resp.StatusCode == http.StatusUnauthorized {
		code = "unauthorized"
	}
	return decodeError(node, resp.StatusCode, wireError{Code: code, Message: msg})
}

// retryable reports whether a peer's answer may be retried for an
// idempotent op: only server-side failures that name no specific condition
// (internal errors, proxies' 502/503/504). A specific answer (not found,
// disk full, offline drive) is the answer.
func (e *RemoteError) retryable() bool {
	return e.Status >= 500 && (e.Code == codeInternal || e.Code == "")
}
