package s3api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/sse"
)

// maxObjectSize is S3's single-PUT limit.
const maxObjectSize = 5 << 30

// payload wraps a request body in a verifyingReader after checking its
// size. A body of unknown length (HTTP chunked transfer coding, no
// Content-Length) streams until its end and is cut off, EntityTooLarge,
// as soon as it runs past max.
func payload(req *request, max int64) (*verifyingReader, error) {
	size := req.bodySize
	if size > max {
		return nil, apiErr(ErrEntityTooLarge, "")
	}
	spec, err := parseChecksums(req.Header)
	if err != nil {
		return nil, err
	}
	// One pass computes the checks and what the engine records; a signed
	// payload's SHA-256 is the one SigV4 verifies, not hashed again.
	v := newDigestingReader(req.body, size, spec, req.trailer,
		storage.DigestSpec{MD5: true, SHA256: true, SignedSHA256: req.payloadSHA256})
	v.limit = max
	return v, nil
}

// versionHeader adds x-amz-version-id when the object has a version id to show.
func versionHeader(h http.Header, id string) {
	if id != "" {
		h.Set("X-Amz-Version-Id", id)
	}
}

// writeVersionHeader is versionHeader for the answer to a write: a write
// to a versioning-suspended bucket makes the null version, and S3 then
// sends no x-amz-version-id (reads of that version do show "null").
func writeVersionHeader(h http.Header, id string) {
	if id != storage.NullVersionID {
		versionHeader(h, id)
	}
}

func (s *Server) putObject(ctx context.Context, req *request) (*response, error) {
	if err := validateKey(req.route.Key); err != nil {
		return nil, err
	}
	meta, err := parseMetadata(req.Header)
	if err != nil {
		return nil, err
	}
	if meta.ACL, err = s.requestACL(ctx, req); err != nil {
		return nil, err
	}
	tags, lock, err := tagsAndLock(req)
	if err != nil {
		return nil, err
	}
	enc, err := writeEncryption(req)
	if err != nil {
		return nil, err
	}
	body, err := payload(req, maxObjectSize)
	if err != nil {
		return nil, err
	}
	opts := storage.PutOptions{
		Size: req.bodySize, Meta: meta, Checksum: body.checksum(), Digest: body.digest(),
		IfNoneMatchStar: strings.TrimSpace(req.Header.Get("If-None-Match")) == "*",
		IfMatch:         req.Header.Get("If-Match"),
		Tags:            tags, Lock: lock, Digested: body.spec.digest(), SSE: enc,
	}
	info, err := s.backend.PutObject(ctx, req.route.Bucket, req.route.Key, body, opts)
	if err != nil {
		return nil, err
	}
	h := http.Header{"Etag": {info.ETag}}
	writeVersionHeader(h, info.VersionID)
	setChecksumHeaders(h, info.Checksums)
	expirationHeader(h, info.Expiration)
	s.sseHeaders(h, info.SSE, customerOf(enc), true)
	return &response{header: h}, nil
}

// getOptions reads versionId, Range, partNumber and conditions.
func getOptions(req *request) (storage.GetOptions, error) {
	q := req.queryValues()
	opts := storage.GetOptions{VersionID: q.Get("versionId"), Cond: parseConditions(req.Header, "")}
	if _, ok := q["versionId"]; ok && opts.VersionID == "" {
		return opts, apiErr(ErrInvalidArgument, "Version id cannot be the empty string")
	}
	if v := q.Get("partNumber"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return opts, apiErr(ErrInvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
		}
		opts.PartNumber = n
	}
	if r, ok := parseRange(req.Header.Get("Range")); ok {
		if opts.PartNumber > 0 {
			return opts, apiErr(ErrInvalidRequest, "Cannot specify both Range header and partNumber query parameter")
		}
		opts.Range = r
	}
	var err error
	opts.CustomerKey, err = customerKey(req, objectPrefix)
	return opts, err
}

// objectHeaders are the headers GET and HEAD share.
func objectHeaders(req *request, info storage.ObjectInfo) http.Header {
	// Sized for the common answer, so that it does not grow (nor does the
	// ResponseWriter's, which gets these and the pipeline's own).
	h := make(http.Header, 12)
	writeMetadata(h, info.Meta, req.one)
	h["Etag"] = req.one(info.ETag)
	h["Last-Modified"] = req.one(info.ModTime.UTC().Format(http.TimeFormat))
	h["Accept-Ranges"] = req.one("bytes")
	versionHeader(h, info.VersionID)
	taggingCount(h, info.Tags)
	lockResponseHeaders(h, info.Lock)
	expirationHeader(h, info.Expiration)
	if strings.EqualFold(req.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		setChecksumHeaders(h, info.Checksums)
	}
	contentHashHeaders(req, h, info)
	q := req.queryValues()
	if q.Get("partNumber") != "" && info.PartsCount > 0 {
		h.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(info.PartsCount))
	}
	for param, header := range responseOverrides {
		if v := q.Get(param); v != "" {
			h.Set(header, v)
		}
	}
	return h
}

func (s *Server) getObject(ctx context.Context, req *request) (*response, error) {
	opts, err := getOptions(req)
	if err != nil {
		return nil, err
	}
	wantSHA, err := sha256Condition(req.Header)
	if err != nil {
		return nil, err
	}
	or, err := s.backend.GetObject(ctx, req.route.Bucket, req.route.Key, opts)
	if err != nil {
		return nil, preconditionResponse(err)
	}
	if err := checkSHA256(wantSHA, or.Info); err != nil {
		or.Close()
		return nil, err
	}
	h := objectHeaders(req, or.Info)
	s.sseHeaders(h, or.Info.SSE, opts.CustomerKey, false)
	resp := &response{header: h, body: or.ReadCloser, length: or.Info.Size}
	if or.Range != nil {
		resp.status = http.StatusPartialContent
		resp.length = or.Range.Length
		h.Set("Content-Range", contentRange(or.Range))
		h.Del("X-Amz-Checksum-Type")
		for _, a := range algorithms {
			h.Del(checksumHeader(a))
		}
	}
	return resp, nil
}

func (s *Server) headObject(ctx context.Context, req *request) (*response, error) {
	opts, err := getOptions(req)
	if err != nil {
		return nil, err
	}
	wantSHA, err := sha256Condition(req.Header)
	if err != nil {
		return nil, err
	}
	info, err := s.backend.HeadObject(ctx, req.route.Bucket, req.route.Key, opts)
	if err != nil {
		return nil, preconditionResponse(err)
	}
	if err := checkSHA256(wantSHA, info); err != nil {
		return nil, err
	}
	h := objectHeaders(req, info)
	s.sseHeaders(h, info.SSE, opts.CustomerKey, false)
	h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	status := http.StatusOK
	if opts.Range != nil {
		rr, err := storage.ResolveRange(opts.Range, info.Size)
		if err != nil {
			return nil, err
		}
		if rr != nil {
			status = http.StatusPartialContent
			h.Set("Content-Length", strconv.FormatInt(rr.Length, 10))
			h.Set("Content-Range", contentRange(rr))
		}
	}
	return &response{status: status, header: h}, nil
}

// preconditionResponse turns a 304 into an error carrying the ETag.
func preconditionResponse(err error) error {
	pe, ok := err.(*storage.PreconditionError)
	if !ok {
		return err
	}
	ae := toAPIError(pe.Err)
	if ae.Code == ErrNotModified {
		ae.Header = http.Header{"Etag": {pe.Info.ETag}, "Last-Modified": {pe.Info.ModTime.UTC().Format(http.TimeFormat)}}
	}
	ae.Err = err
	return ae
}

func (s *Server) deleteObject(ctx context.Context, req *request) (*response, error) {
	q := req.URL.Query()
	if _, ok := q["versionId"]; ok && q.Get("versionId") == "" {
		return nil, apiErr(ErrInvalidArgument, "Version id cannot be the empty string")
	}
	res, err := s.backend.DeleteObject(ctx, req.route.Bucket, req.route.Key,
		storage.DeleteOptions{VersionID: q.Get("versionId"), BypassGovernance: s.bypassGovernance(ctx, req, req.route.Key)})
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	versionHeader(h, res.VersionID)
	if res.DeleteMarker {
		h.Set("X-Amz-Delete-Marker", "true")
	}
	return &response{status: http.StatusNoContent, header: h}, nil
}

// maxDeleteObjects is S3's limit on keys per DeleteObjects request.
const maxDeleteObjects = 1000

func (s *Server) deleteObjects(ctx context.Context, req *request) (*response, error) {
	if req.bodySize > maxXMLBody {
		return nil, apiErr(ErrMalformedXML, "")
	}
	if err := verifyBody(req); err != nil {
		return nil, err
	}
	var in deleteRequest
	if err := readXML(req, &in); err != nil {
		return nil, err
	}
	if len(in.Objects) == 0 || len(in.Objects) > maxDeleteObjects {
		return nil, apiErr(ErrMalformedXML, "")
	}
	for _, o := range in.Objects {
		if o.ETag != nil || o.LastModifiedTime != nil || o.Size != nil {
			return nil, apiErr(ErrNotImplemented, "FileSphere does not implement conditional deletes (ETag, LastModifiedTime and Size in DeleteObjects).")
		}
	}
	// Every key is authorized before any is deleted.
	refused := make([]error, len(in.Objects))
	for i, o := range in.Objects {
		refused[i] = s.authorizeKey(ctx, req, o.Key, o.VersionID)
	}
	out := deleteResult{NS: s3NS}
	for i, o := range in.Objects {
		res, err := storage.DeleteResult{}, refused[i]
		if err == nil {
			res, err = s.deleteOne(ctx, req.route.Bucket, o.Key,
				storage.DeleteOptions{VersionID: o.VersionID, BypassGovernance: s.bypassGovernance(ctx, req, o.Key)})
		}
		if err != nil {
			ae := toAPIError(err)
			out.Errors = append(out.Errors, deleteErrorEntry{Key: o.Key, VersionID: o.VersionID, Code: string(ae.Code), Message: ae.message()})
			continue
		}
		if in.Quiet {
			continue
		}
		d := deletedEntry{Key: o.Key, VersionID: o.VersionID, DeleteMarker: res.DeleteMarker}
		if res.DeleteMarker {
			d.DeleteMarkerVersionID = res.VersionID
		}
		out.Deleted = append(out.Deleted, d)
	}
	return &response{xml: out}, nil
}

func (s *Server) deleteOne(ctx context.Context, bucket, key string, opts storage.DeleteOptions) (storage.DeleteResult, error) {
	if err := validateKey(key); err != nil {
		return storage.DeleteResult{}, err
	}
	return s.backend.DeleteObject(ctx, bucket, key, opts)
}

// copySource reads x-amz-copy-source and its conditions.
func copySource(req *request) (storage.CopySource, error) {
	b, k, v, err := parseCopySource(req.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return storage.CopySource{}, err
	}
	if err := validateKey(k); err != nil {
		return storage.CopySource{}, err
	}
	return storage.CopySource{Bucket: b, Key: k, VersionID: v, Cond: parseConditions(req.Header, "X-Amz-Copy-Source-")}, nil
}

func (s *Server) copyObject(ctx context.Context, req *request) (*response, error) {
	if err := validateKey(req.route.Key); err != nil {
		return nil, err
	}
	src, err := copySource(req)
	if err != nil {
		return nil, err
	}
	enc, srcKey, err := copyEncryption(req)
	if err != nil {
		return nil, err
	}
	src.CustomerKey = srcKey
	opts := storage.CopyOptions{
		IfNoneMatchStar: strings.TrimSpace(req.Header.Get("If-None-Match")) == "*",
		IfMatch:         req.Header.Get("If-Match"),
		SSE:             enc,
	}
	if opts.ACL, err = s.requestACL(ctx, req); err != nil {
		return nil, err
	}
	switch d := req.Header.Get("X-Amz-Metadata-Directive"); d {
	case "", "COPY":
	case "REPLACE":
		opts.ReplaceMeta = true
		if opts.Meta, err = parseMetadata(req.Header); err != nil {
			return nil, err
		}
	default:
		return nil, apiErr(ErrInvalidArgument, "Unknown metadata directive.")
	}
	if v := req.Header.Get("X-Amz-Checksum-Algorithm"); v != "" {
		a, ok := parseAlgorithm(v)
		if !ok {
			return nil, apiErr(ErrInvalidRequest, "Checksum algorithm provided is unsupported.")
		}
		opts.ChecksumAlgorithm = a
	}
	tags, lock, err := tagsAndLock(req)
	if err != nil {
		return nil, err
	}
	opts.Lock = lock
	switch req.Header.Get("X-Amz-Tagging-Directive") {
	case "", "COPY": // the source's tags; S3 ignores x-amz-tagging then
	case "REPLACE":
		opts.ReplaceTags, opts.Tags = true, tags
	default:
		return nil, apiErr(ErrInvalidArgument, "Unknown tagging directive.")
	}
	info, err := s.backend.CopyObject(ctx, src, req.route.Bucket, req.route.Key, opts)
	if err != nil {
		return nil, copyError(err)
	}
	h := http.Header{}
	writeVersionHeader(h, info.VersionID)
	expirationHeader(h, info.Expiration)
	if src.VersionID != "" {
		h.Set("X-Amz-Copy-Source-Version-Id", src.VersionID)
	}
	s.sseHeaders(h, info.SSE, customerOf(enc), true)
	return &response{header: h, xml: copyObjectResult{NS: s3NS, LastModified: s3Time(info.ModTime), ETag: info.ETag, checksumFields: checksumXML(info.Checksums)}}, nil
}

// copyError maps copy-specific failures: a failed copy-source condition is
// always 412 (even If-None-Match), and self-copy has its own message.
func copyError(err error) error {
	if pe, ok := err.(*storage.PreconditionError); ok {
		return &APIError{Code: ErrPreconditionFailed, Err: pe}
	}
	ae := toAPIError(err)
	if ae.Code == ErrInvalidRequest && ae.Message == "" {
		ae.Message = "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
	}
	return ae
}

// customerOf is the SSE-C key of a write's encryption, if it has one.
func customerOf(enc *storage.Encryption) *sse.Key {
	if enc == nil || enc.Type != storage.SSEC {
		return nil
	}
	return &enc.CustomerKey
}

// readCloser pairs a reader with the closer of what it wraps.
type readCloser struct {
	*verifyingReader
	c interface{ Close() error }
}

func (r readCloser) Close() error { return r.c.Close() }

// tagsAndLock reads x-amz-tagging and the object lock headers of a write.
func tagsAndLock(req *request) ([]storage.Tag, storage.ObjectLock, error) {
	tags, err := parseTaggingHeader(req.Header)
	if err != nil {
		return nil, storage.ObjectLock{}, err
	}
	lock, err := lockHeaders(req.Header)
	return tags, lock, err
}
