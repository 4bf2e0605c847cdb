package s3api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/filesphere/filesphere/kms"
	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/sse"
)

// The server-side encryption headers (canonical forms).
const (
	hdrSSE          = "X-Amz-Server-Side-Encryption"
	hdrSSEKMSKeyID  = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
	hdrSSEContext   = "X-Amz-Server-Side-Encryption-Context"
	hdrSSEBucketKey = "X-Amz-Server-Side-Encryption-Bucket-Key-Enabled"
	hdrSSECAlg      = objectPrefix + ssecAlg
	hdrSSECKeyMD5   = objectPrefix + ssecKeyMD5
	// An SSE-C header is a prefix (the object's or the copy source's) and
	// one of the names below.
	objectPrefix     = "X-Amz-"
	copySourcePrefix = "X-Amz-Copy-Source-"
	ssecAlg          = "Server-Side-Encryption-Customer-Algorithm"
	ssecKey          = "Server-Side-Encryption-Customer-Key"
	ssecKeyMD5       = "Server-Side-Encryption-Customer-Key-Md5"
)

// maxSSEContext bounds the decoded x-amz-server-side-encryption-context.
const maxSSEContext = 4 << 10

var (
	errSSECOverHTTP = apiErr(ErrInvalidRequest,
		"Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.")
	errSSEKMSHeaderNeeded = apiErr(ErrInvalidArgument,
		"Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
	errSSECIncompatible = apiErr(ErrInvalidArgument,
		"Server Side Encryption with Customer provided key is incompatible with the encryption method specified")
	errSSEContext = apiErr(ErrInvalidArgument,
		"The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string holding JSON which represents a string-string map")
)

// customerKeyTransport reports whether the request may carry an SSE-C
// key: only over TLS (or from a trusted TLS-terminating proxy), as S3
// requires.
func customerKeyTransport(req *request) bool { return req.id.TLS }

// customerKeyErrors are S3's answers to bad SSE-C headers.
var customerKeyErrors = []struct {
	err error
	msg string
}{
	{sse.ErrCustomerAlgorithm, "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm."},
	{sse.ErrCustomerKeyMissing, "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key."},
	{sse.ErrCustomerKeyInvalid, "The secret key was invalid for the specified algorithm."},
	{sse.ErrCustomerKeyMD5Missing, "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key."},
	{sse.ErrCustomerKeyMD5Mismatch, "The calculated MD5 hash of the key did not match the hash that was provided."},
}

// customerKey reads the SSE-C headers (prefix objectPrefix for the
// object's, copySourcePrefix for a copy source's); nil when none is sent.
// The key lives only in this request.
func customerKey(req *request, prefix string) (*sse.Key, error) {
	var alg, key, sum string
	switch prefix {
	// Constant names for the two callers: a concatenation per request
	// allocates three strings.
	case objectPrefix:
		alg, key, sum = req.Header.Get(objectPrefix+ssecAlg), req.Header.Get(objectPrefix+ssecKey), req.Header.Get(objectPrefix+ssecKeyMD5)
	case copySourcePrefix:
		alg, key, sum = req.Header.Get(copySourcePrefix+ssecAlg), req.Header.Get(copySourcePrefix+ssecKey), req.Header.Get(copySourcePrefix+ssecKeyMD5)
	default:
		alg, key, sum = req.Header.Get(prefix+ssecAlg), req.Header.Get(prefix+ssecKey), req.Header.Get(prefix+ssecKeyMD5)
	}
	if alg == "" && key == "" && sum == "" {
		return nil, nil
	}
	if !customerKeyTransport(req) {
		return nil, errSSECOverHTTP
	}
	k, err := sse.ParseCustomerKey(alg, key, sum)
	for _, e := range customerKeyErrors {
		if errors.Is(err, e.err) {
			return nil, &APIError{Code: ErrInvalidArgument, Message: e.msg, Err: err}
		}
	}
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// writeEncryption reads the encryption a write asks for: SSE-S3, SSE-KMS
// (key id, encryption context) or SSE-C; nil leaves it to the bucket's
// default.
func writeEncryption(req *request) (*storage.Encryption, error) {
	h := req.Header
	alg, keyID, ctxHeader := h.Get(hdrSSE), h.Get(hdrSSEKMSKeyID), h.Get(hdrSSEContext)
	ck, err := customerKey(req, objectPrefix)
	if err != nil {
		return nil, err
	}
	switch {
	case ck != nil && (alg != "" || keyID != "" || ctxHeader != ""):
		return nil, errSSECIncompatible
	case ck != nil:
		return &storage.Encryption{Type: storage.SSEC, CustomerKey: *ck}, nil
	case alg != string(storage.SSEKMS) && (keyID != "" || ctxHeader != ""):
		return nil, errSSEKMSHeaderNeeded
	case alg == string(storage.SSES3):
		return &storage.Encryption{Type: storage.SSES3}, nil
	case alg == string(storage.SSEKMS):
		enc := &storage.Encryption{Type: storage.SSEKMS}
		if keyID != "" {
			name, err := kms.ParseKeyID(keyID)
			if err != nil {
				return nil, &APIError{Code: ErrKMSNotFound, Message: "Invalid keyId " + keyID, Err: err}
			}
			enc.KMSKeyID = name
		}
		if enc.Context, err = parseSSEContext(ctxHeader); err != nil {
			return nil, err
		}
		return enc, nil
	case alg != "":
		// The header table lets only the values above through.
		return nil, apiErr(ErrInvalidArgument, "The value of the x-amz-server-side-encryption header is not valid.")
	}
	return nil, nil
}

// parseSSEContext decodes x-amz-server-side-encryption-context: base64 of
// a JSON object of strings. Keys starting with "aws:" are S3's own (it
// adds aws:s3:arn), so a client may not set them.
func parseSSEContext(v string) (map[string]string, error) {
	if v == "" {
		return nil, nil
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(raw) > maxSSEContext || !utf8.Valid(raw) {
		return nil, errSSEContext
	}
	var ec map[string]string
	if err := json.Unmarshal(raw, &ec); err != nil || ec == nil {
		return nil, errSSEContext
	}
	for k := range ec {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, apiErr(ErrInvalidArgument, fmt.Sprintf("The encryption context key %q is reserved.", k))
		}
	}
	return ec, nil
}

// kmsKeyARN is the key id S3 reports for a KMS key ("" = the default
// key). There is one KMS and no accounts yet, so the account is empty;
// ParseKeyID takes the ARN back.
func (s *Server) kmsKeyARN(name string) string {
	return "arn:aws:kms:" + s.cfg.Region + "::key/" + kmsKeyName(name)
}

func kmsKeyName(name string) string {
	if name == "" {
		return kms.DefaultKeyName
	}
	return name
}

// sseHeaders sets the encryption headers S3 answers with: the algorithm
// and KMS key id, or for SSE-C the algorithm and the MD5 of the key the
// request gave (the key itself is never stored, nor its hash). withContext
// adds an SSE-KMS encryption context, as S3 does on writes.
func (s *Server) sseHeaders(h http.Header, info *storage.SSEInfo, ck *sse.Key, withContext bool) {
	if info == nil {
		return
	}
	switch info.Type {
	case storage.SSEC:
		h.Set(hdrSSECAlg, sse.CustomerAlgorithm)
		if ck != nil {
			h.Set(hdrSSECKeyMD5, sse.CustomerKeyMD5(*ck))
		}
	case storage.SSES3:
		h.Set(hdrSSE, string(storage.SSES3))
	case storage.SSEKMS:
		h.Set(hdrSSE, string(storage.SSEKMS))
		h.Set(hdrSSEKMSKeyID, s.kmsKeyARN(info.KMSKeyID))
		if withContext && len(info.Context) > 0 {
			if b, err := json.Marshal(info.Context); err == nil {
				h.Set(hdrSSEContext, base64.StdEncoding.EncodeToString(b))
			}
		}
	}
}

// copyEncryption reads a copy's own encryption and its source's SSE-C key.
func copyEncryption(req *request) (*storage.Encryption, *sse.Key, error) {
	enc, err := writeEncryption(req)
	if err != nil {
		return nil, nil, err
	}
	src, err := customerKey(req, copySourcePrefix)
	return enc, src, err
}

// sseError maps the engine's and the key service's encryption errors to
// S3's answers (nil for other errors).
func sseError(err error) *APIError {
	key := "The KMS key"
	if ke := (*storage.KMSError)(nil); errors.As(err, &ke) {
		key = fmt.Sprintf("The KMS key '%s'", kmsKeyName(ke.KeyID))
	}
	rows := []struct {
		err  error
		code ErrorCode
		msg  string
	}{
		{storage.ErrSSECKeyRequired, ErrInvalidRequest, "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."},
		{storage.ErrSSECKeyMismatch, ErrAccessDenied, "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key."},
		{storage.ErrSSENotApplicable, ErrInvalidRequest, "The encryption parameters are not applicable to this object."},
		{storage.ErrSSEUploadKeyRequired, ErrInvalidRequest, "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."},
		{storage.ErrSSEUploadMismatch, ErrInvalidRequest, "The provided encryption parameters did not match the ones used originally."},
		{storage.ErrNoKeyService, ErrNotImplemented, "Server-side encryption with KMS keys (SSE-S3, SSE-KMS) needs the built-in KMS, which is not configured on this server."},
		{kms.ErrKeyDisabled, ErrKMSDisabled, key + " is disabled."},
		{kms.ErrKeyNotFound, ErrKMSNotFound, key + " does not exist."},
		{kms.ErrKeyExists, ErrKMSAlreadyExists, key + " already exists."},
		{kms.ErrInvalidContext, ErrInvalidArgument, "The encryption context is too large."},
		{kms.ErrInvalidKeyName, ErrInvalidArgument, "KMS key names are 1 to 64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit."},
		{kms.ErrConflict, ErrConditionalRequestConflict, ""},
	}
	for _, r := range rows {
		if errors.Is(err, r.err) {
			return &APIError{Code: r.code, Message: r.msg, Err: err}
		}
	}
	return nil
}
