package s3api

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/filesphere/filesphere/storage"
)

// FileSphere's content addressing over S3, two documented extensions
// (README "Content addressing"):
//
//   - GET /?x-filesphere-sha256=HEX lists the object versions whose whole
//     content has that SHA-256, from the content index. It needs
//     FindBySHA256Action on the account, and answers only the versions the
//     caller may read: each match is put to the same decision as a
//     GetObject of it (s3:GetObjectVersion with its version id, or
//     s3:GetObject for the current version), bucket policy, ACLs and
//     object tags included. Nothing of a version the caller may not read
//     is revealed, not even that it exists.
//   - HEAD and GET take the object's content hash as a precondition,
//     x-filesphere-if-sha256: HEX or x-amz-checksum-sha256: BASE64 (an
//     S3 header that AWS defines for uploads only, read here as the same
//     condition): 412 PreconditionFailed unless the version's content has
//     that hash. Every GET and HEAD answers x-filesphere-sha256: HEX when
//     the hash is known, so a client can tell that a server honoured the
//     condition: an S3 server that does not ignores it and does not send
//     the header.

// FindBySHA256Action is the IAM action that allows content lookups.
const FindBySHA256Action = "filesphere:FindObjectsBySHA256"

// The extension's query parameter and headers.
const (
	findHashParam      = "x-filesphere-sha256"
	headerIfSHA256     = "X-Filesphere-If-Sha256"
	headerSHA256       = "X-Filesphere-Sha256"
	headerAmzSHA256    = "X-Amz-Checksum-Sha256"
	findDefaultMaxKeys = 1000
	// findScanFactor bounds the index entries one page reads per match it
	// may return, so a lookup whose matches the caller mostly may not read
	// still answers promptly (truncated, with a token to go on).
	findScanFactor = 4
)

// findParams are the query parameters the lookup takes.
var findParams = []string{findHashParam, "bucket", "prefix", "max-keys", "continuation-token"}

type findResult struct {
	XMLName               xml.Name       `xml:"FindBySHA256Result"`
	NS                    string         `xml:"xmlns,attr"`
	SHA256                string         `xml:"SHA256"`
	Bucket                string         `xml:"Bucket,omitempty"`
	Prefix                string         `xml:"Prefix,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	KeyCount              int            `xml:"KeyCount"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	Objects               []findMatchXML `xml:"Object"`
}

type findMatchXML struct {
	Bucket         string `xml:"Bucket"`
	Key            string `xml:"Key"`
	VersionID      string `xml:"VersionId,omitempty"`
	IsLatest       bool   `xml:"IsLatest"`
	Size           int64  `xml:"Size"`
	LastModified   s3Time `xml:"LastModified"`
	ChecksumSHA256 string `xml:"ChecksumSHA256"`
}

func (s *Server) findBySHA256(ctx context.Context, req *request) (*response, error) {
	q := req.URL.Query()
	for name := range q {
		if !strings.HasPrefix(strings.ToLower(name), "x-amz-") && !slices.Contains(findParams, name) {
			return nil, apiErr(ErrInvalidArgument, fmt.Sprintf("The content lookup does not take the parameter %q.", name))
		}
	}
	sum, err := storage.NormalizeSHA256(q.Get(findHashParam))
	if err != nil {
		return nil, apiErr(ErrInvalidArgument, "x-filesphere-sha256 must be a SHA-256 in 64 hex digits.")
	}
	raw, _ := hex.DecodeString(sum)
	maxKeys, err := queryInt(q, "max-keys", findDefaultMaxKeys, findDefaultMaxKeys)
	if err != nil {
		return nil, err
	}
	bucket, prefix := q.Get("bucket"), q.Get("prefix")
	if prefix != "" && bucket == "" {
		return nil, apiErr(ErrInvalidArgument, "prefix needs bucket.")
	}
	out := &findResult{NS: s3NS, SHA256: sum, Bucket: bucket, Prefix: prefix, MaxKeys: maxKeys, ContinuationToken: q.Get("continuation-token")}
	cursor := ""
	if out.ContinuationToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(out.ContinuationToken)
		if err != nil || !strings.HasPrefix(string(b), bucket) || (bucket != "" && !strings.HasPrefix(string(b), bucket+"\x00"+prefix)) {
			return nil, apiErr(ErrInvalidArgument, "The continuation token provided is incorrect")
		}
		cursor = string(b)
	}
	budget := max(maxKeys, 1) * findScanFactor
	for len(out.Objects) < maxKeys && budget > 0 {
		page, err := s.backend.FindBySHA256(ctx, sum, storage.HashFindOptions{Bucket: bucket, Prefix: prefix, After: cursor, Limit: min(budget, maxKeys-len(out.Objects))})
		if err != nil {
			return nil, err
		}
		budget -= len(page.Matches)
		for _, m := range page.Matches {
			ok, err := s.mayRead(ctx, req, m)
			if err != nil {
				return nil, err
			}
			if ok {
				out.Objects = append(out.Objects, findMatchXML{Bucket: m.Bucket, Key: m.Key, VersionID: m.VersionID, IsLatest: m.IsLatest,
					Size: m.Size, LastModified: s3Time(m.ModTime), ChecksumSHA256: base64.StdEncoding.EncodeToString(raw)})
			}
		}
		cursor = page.Next
		if cursor == "" {
			break
		}
	}
	out.KeyCount = len(out.Objects)
	if cursor != "" {
		out.IsTruncated, out.NextContinuationToken = true, base64.RawURLEncoding.EncodeToString([]byte(cursor))
	}
	return &response{xml: out}, nil
}

// mayRead decides whether the caller of req may GetObject a match, by the
// authorization of a GetObject request for it: with its version id, or
// of the current version without one.
func (s *Server) mayRead(ctx context.Context, req *request, m storage.HashMatch) (bool, error) {
	try := func(versionID string) (bool, error) {
		u := *req.URL
		u.RawQuery = ""
		if versionID != "" {
			u.RawQuery = url.Values{"versionId": {versionID}}.Encode()
		}
		r := req.Request.Clone(ctx)
		r.URL = &u
		get := &request{Request: r, route: Route{Op: OpGetObject, Bucket: m.Bucket, Key: m.Key, API: APIS3}, id: req.id, reqID: req.reqID}
		err := s.authorize(ctx, get)
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == ErrAccessDenied {
			return false, nil
		}
		return err == nil, err
	}
	if m.VersionID != "" {
		if ok, err := try(m.VersionID); ok || err != nil {
			return ok, err
		}
	}
	if m.IsLatest {
		return try("")
	}
	return false, nil
}

// sha256Condition is the content-hash precondition of a HEAD or GET
// (nil when the request has none); a malformed value is InvalidArgument.
func sha256Condition(h http.Header) ([]byte, error) {
	if v := h.Get(headerIfSHA256); v != "" {
		b, err := hex.DecodeString(v)
		if err != nil || len(b) != 32 {
			return nil, apiErr(ErrInvalidArgument, "x-filesphere-if-sha256 must be a SHA-256 in 64 hex digits.")
		}
		if w := h.Get(headerAmzSHA256); w != "" && w != base64.StdEncoding.EncodeToString(b) {
			return nil, apiErr(ErrInvalidArgument, "x-filesphere-if-sha256 and x-amz-checksum-sha256 name different hashes.")
		}
		return b, nil
	}
	if v := h.Get(headerAmzSHA256); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 32 {
			return nil, apiErr(ErrInvalidArgument, "x-amz-checksum-sha256 must be a base64 SHA-256.")
		}
		return b, nil
	}
	return nil, nil
}

// checkSHA256 evaluates the precondition against the version: a version
// whose hash is not recorded (stored before hashes were) cannot be shown
// to match and fails it.
func checkSHA256(want []byte, info storage.ObjectInfo) error {
	if want == nil {
		return nil
	}
	if info.SHA256 != hex.EncodeToString(want) {
		return &APIError{Code: ErrPreconditionFailed, Message: "The object's content does not have the SHA-256 the request names."}
	}
	return nil
}

// contentHashHeaders adds x-filesphere-sha256 and, when the client asked
// for checksums and stored none of its own, x-amz-checksum-sha256 as a
// FULL_OBJECT checksum (also for multipart objects, whose SHA-256 S3
// would only have as COMPOSITE): a GET of the whole object can be
// checked against it. Not for one part (partNumber), whose bytes are not
// the whole content.
func contentHashHeaders(req *request, h http.Header, info storage.ObjectInfo) {
	if info.SHA256 == "" {
		return
	}
	h[headerSHA256] = req.one(info.SHA256)
	if len(info.Checksums) > 0 || req.queryValues().Get("partNumber") != "" ||
		!strings.EqualFold(req.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		return
	}
	raw, err := hex.DecodeString(info.SHA256)
	if err != nil {
		return
	}
	h.Set(headerAmzSHA256, base64.StdEncoding.EncodeToString(raw))
	h.Set("X-Amz-Checksum-Type", storage.ChecksumFullObject)
}
