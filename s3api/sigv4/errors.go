package sigv4

import (
	"errors"
	"fmt"
)

// Sentinel errors. Verify and the Body readers wrap them with %w and a detail
// message, so callers match with errors.Is and never with strings. Each comment
// names the S3 error code (and HTTP status) that s3api should answer with.
var (
	// ErrSignatureDoesNotMatch: SignatureDoesNotMatch (403). Also returned for
	// a bad chunk signature in a streaming body. A mismatch of the request
	// signature comes as *SignatureMismatchError, which carries the canonical
	// request and string to sign that S3 echoes back to help debug clients.
	ErrSignatureDoesNotMatch = errors.New("signature does not match")

	// ErrInvalidAccessKeyID: InvalidAccessKeyId (403). A Lookup returns it for
	// unknown keys; Verify passes it through.
	ErrInvalidAccessKeyID = errors.New("access key id does not exist")

	// ErrRequestTimeTooSkewed: RequestTimeTooSkewed (403).
	ErrRequestTimeTooSkewed = errors.New("request time too skewed")

	// ErrAuthorizationHeaderMalformed: AuthorizationHeaderMalformed (400).
	ErrAuthorizationHeaderMalformed = errors.New("authorization header malformed")

	// ErrAuthorizationQueryParametersError: AuthorizationQueryParametersError (400).
	ErrAuthorizationQueryParametersError = errors.New("authorization query parameters error")

	// ErrExpiredPresignedRequest: AccessDenied (403), message "Request has expired".
	ErrExpiredPresignedRequest = errors.New("presigned request has expired")

	// ErrContentSHA256Mismatch: XAmzContentSHA256Mismatch (400). Returned by
	// Body at the end of a SignedSingle payload.
	ErrContentSHA256Mismatch = errors.New("x-amz-content-sha256 does not match the payload")

	// ErrInvalidContentSHA256: InvalidArgument (400). The x-amz-content-sha256
	// value is neither a hex SHA-256 nor a known payload mode.
	ErrInvalidContentSHA256 = errors.New("invalid x-amz-content-sha256")

	// ErrMissingContentSHA256: InvalidRequest (400), message "Missing required
	// header for this request: x-amz-content-sha256".
	ErrMissingContentSHA256 = errors.New("missing required header x-amz-content-sha256")

	// ErrMissingDate: AccessDenied (403), message "AWS authentication requires
	// a valid Date or x-amz-date header".
	ErrMissingDate = errors.New("missing or invalid date")

	// ErrIncompleteBody: IncompleteBody (400). The body ended before
	// Content-Length or x-amz-decoded-content-length bytes arrived.
	ErrIncompleteBody = errors.New("incomplete body")

	// ErrMalformedChunk: InvalidRequest (400). The aws-chunked framing cannot
	// be decoded (bad size line, oversize chunk, missing CRLF, more data than
	// declared). AWS has no dedicated code for broken framing.
	ErrMalformedChunk = errors.New("malformed aws-chunked body")

	// ErrMalformedTrailer: MalformedTrailerError (400).
	ErrMalformedTrailer = errors.New("malformed trailer")

	// ErrMissingContentLength: MissingContentLength (411). A streaming upload
	// without a valid x-amz-decoded-content-length.
	ErrMissingContentLength = errors.New("missing x-amz-decoded-content-length")

	// ErrUnsupportedAlgorithm: InvalidArgument (400), message "Unsupported
	// Authorization Type" (SigV2, SigV4A and anything else but AWS4-HMAC-SHA256);
	// for the X-Amz-Algorithm query parameter s3api may prefer
	// AuthorizationQueryParametersError.
	ErrUnsupportedAlgorithm = errors.New("unsupported authorization algorithm")

	// ErrInvalidPostForm: InvalidArgument (400). A signature field of a POST
	// upload form (x-amz-credential, x-amz-date, x-amz-signature, policy)
	// cannot be read.
	ErrInvalidPostForm = errors.New("invalid POST form signature field")
	// ErrBodyTooLarge: EntityTooLarge (400). A request for another service
	// than s3 without x-amz-content-sha256 whose body (which Verify must
	// read to hash) exceeds Config.MaxHashedBody.
	ErrBodyTooLarge = errors.New("body too large to hash")

	// ErrAccessDenied: AccessDenied (403). Unsigned x-amz-* headers, a
	// presigned URL used before its X-Amz-Date, a signed streaming payload on
	// an anonymous request.
	ErrAccessDenied = errors.New("access denied")
)

// SignatureMismatchError is the detailed form of ErrSignatureDoesNotMatch for
// the request signature. S3 returns the string to sign and the canonical
// request in its error body; clients print them, and comparing them with the
// client's own is the fastest way to find an encoding disagreement. Neither
// contains a secret.
type SignatureMismatchError struct {
	AccessKey        string
	StringToSign     string
	CanonicalRequest string
}

func (e *SignatureMismatchError) Error() string {
	return fmt.Sprintf("%v for access key %q", ErrSignatureDoesNotMatch, e.AccessKey)
}

// Unwrap makes errors.Is(err, ErrSignatureDoesNotMatch) true.
func (e *SignatureMismatchError) Unwrap() error { return ErrSignatureDoesNotMatch }

// Error is a verification failure: Err is one of the sentinels above (so
// errors.Is works) and Detail says precisely what was wrong. Message words
// both for the client, the way AWS does, so a client sees which parameter,
// date or region to fix instead of a generic text.
type Error struct {
	Err    error
	Detail string
	// Region, when set, is the region the server expects: AWS returns it
	// with AuthorizationHeaderMalformed and clients (s3cmd) retry there.
	Region string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Detail
}

// Unwrap makes errors.Is(err, sentinel) true.
func (e *Error) Unwrap() error { return e.Err }

// leads are the client-facing openings of each sentinel's message, worded
// as AWS words them.
var leads = map[error]string{
	ErrSignatureDoesNotMatch:             "The request signature we calculated does not match the signature you provided",
	ErrInvalidAccessKeyID:                "The AWS access key ID you provided does not exist in our records",
	ErrRequestTimeTooSkewed:              "The difference between the request time and the server's time is too large",
	ErrAuthorizationHeaderMalformed:      "The authorization header is malformed",
	ErrAuthorizationQueryParametersError: "Error parsing the query-string authentication parameters",
	ErrExpiredPresignedRequest:           "Request has expired",
	ErrContentSHA256Mismatch:             "The provided 'x-amz-content-sha256' header does not match what was computed",
	ErrInvalidContentSHA256:              "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a hex SHA-256",
	ErrMissingContentSHA256:              "Missing required header for this request: x-amz-content-sha256",
	ErrMissingDate:                       "AWS authentication requires a valid Date or x-amz-date header",
	ErrIncompleteBody:                    "You did not provide the number of bytes specified by the Content-Length HTTP header",
	ErrMalformedChunk:                    "The aws-chunked request body is malformed",
	ErrMalformedTrailer:                  "The request contained trailing data that was not well-formed",
	ErrMissingContentLength:              "A streaming upload must send x-amz-decoded-content-length",
	ErrUnsupportedAlgorithm:              "The authorization mechanism you have provided is not supported",
	ErrAccessDenied:                      "Access Denied",
	ErrInvalidPostForm:                   "A signature field of the POST form is not valid",
}

// Message is the text for the client: the sentinel's lead, then the detail.
func (e *Error) Message() string {
	lead := leads[e.Err]
	// "Request has expired" is matched verbatim by clients; the expiry
	// time stays in the log (Error).
	if e.Detail == "" || e.Err == ErrExpiredPresignedRequest {
		return lead
	}
	return lead + "; " + e.Detail
}

// errorf wraps a sentinel with a detail message.
func errorf(sentinel error, format string, args ...any) error {
	return &Error{Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}

// fail is a sentinel without detail, still with its client message.
func fail(sentinel error) error { return &Error{Err: sentinel} }
