package s3api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/filesphere/filesphere/storage"
)

// maxPartSize is S3's part size limit.
const maxPartSize = 5 << 30

func (s *Server) createMultipartUpload(ctx context.Context, req *request) (*response, error) {
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
	opts := storage.PutOptions{Size: -1, Meta: meta, Tags: tags, Lock: lock, SSE: enc}
	if v := req.Header.Get("X-Amz-Checksum-Algorithm"); v != "" {
		a, ok := parseAlgorithm(v)
		if !ok {
			return nil, apiErr(ErrInvalidRequest, "Checksum algorithm provided is unsupported.")
		}
		opts.ChecksumAlgorithm = a
	}
	// The type says how the parts' checksums make the object's; S3 allows
	// FULL_OBJECT only for the CRCs and COMPOSITE for all but CRC64NVME.
	if opts.ChecksumType, err = storage.UploadChecksumType(opts.ChecksumAlgorithm, req.Header.Get("X-Amz-Checksum-Type")); err != nil {
		if opts.ChecksumAlgorithm == "" {
			return nil, apiErr(ErrInvalidRequest, "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		}
		return nil, apiErr(ErrInvalidRequest, fmt.Sprintf("The %s checksum type is not supported for the %s checksum algorithm.",
			req.Header.Get("X-Amz-Checksum-Type"), opts.ChecksumAlgorithm))
	}
	id, err := s.backend.CreateMultipartUpload(ctx, req.route.Bucket, req.route.Key, opts)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	if opts.ChecksumAlgorithm != "" {
		h.Set("X-Amz-Checksum-Algorithm", string(opts.ChecksumAlgorithm))
		h.Set("X-Amz-Checksum-Type", opts.ChecksumType)
	}
	// The upload's encryption may be the bucket's default: ask the upload.
	up, err := s.backend.ListParts(ctx, req.route.Bucket, req.route.Key, id, storage.ListPartsOptions{})
	if err != nil {
		return nil, err
	}
	s.sseHeaders(h, up.SSE, customerOf(enc), true)
	return &response{header: h, xml: initiateMultipartUploadResult{NS: s3NS, Bucket: req.route.Bucket, Key: req.route.Key, UploadID: id}}, nil
}

func partNumber(req *request) (int, error) {
	n, err := strconv.Atoi(req.URL.Query().Get("partNumber"))
	if err != nil || n < 1 || n > 10000 {
		return 0, apiErr(ErrInvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

func (s *Server) uploadPart(ctx context.Context, req *request) (*response, error) {
	n, err := partNumber(req)
	if err != nil {
		return nil, err
	}
	ck, err := customerKey(req, objectPrefix)
	if err != nil {
		return nil, err
	}
	body, err := payload(req, maxPartSize)
	if err != nil {
		return nil, err
	}
	pi, err := s.backend.UploadPart(ctx, req.route.Bucket, req.route.Key, req.URL.Query().Get("uploadId"), n, body,
		storage.PartOptions{Size: req.bodySize, Checksum: body.checksum(), Digest: body.digest(), CustomerKey: ck})
	if err != nil {
		return nil, err
	}
	h := http.Header{"Etag": {pi.ETag}}
	setChecksumHeaders(h, pi.Checksums)
	h.Del("X-Amz-Checksum-Type")
	s.sseHeaders(h, pi.SSE, ck, false)
	return &response{header: h}, nil
}

func (s *Server) uploadPartCopy(ctx context.Context, req *request) (*response, error) {
	n, err := partNumber(req)
	if err != nil {
		return nil, err
	}
	src, err := copySource(req)
	if err != nil {
		return nil, err
	}
	if src.Range, err = parseCopyRange(req.Header.Get("X-Amz-Copy-Source-Range")); err != nil {
		return nil, err
	}
	ck, err := customerKey(req, objectPrefix)
	if err != nil {
		return nil, err
	}
	if src.CustomerKey, err = customerKey(req, copySourcePrefix); err != nil {
		return nil, err
	}
	var opts storage.CopyOptions
	if ck != nil {
		opts.SSE = &storage.Encryption{Type: storage.SSEC, CustomerKey: *ck}
	}
	pi, err := s.backend.UploadPartCopy(ctx, src, req.route.Bucket, req.route.Key, req.URL.Query().Get("uploadId"), n, opts)
	if err != nil {
		return nil, copyError(err)
	}
	h := http.Header{}
	if src.VersionID != "" {
		h.Set("X-Amz-Copy-Source-Version-Id", src.VersionID)
	}
	s.sseHeaders(h, pi.SSE, ck, false)
	return &response{header: h, xml: copyPartResult{NS: s3NS, LastModified: s3Time(pi.ModTime), ETag: pi.ETag, checksumFields: checksumXML(pi.Checksums)}}, nil
}

func (s *Server) completeMultipartUpload(ctx context.Context, req *request) (*response, error) {
	var in completeMultipartUpload
	if err := readXML(req, &in); err != nil {
		return nil, err
	}
	if len(in.Parts) == 0 {
		return nil, apiErr(ErrMalformedXML, "You must specify at least one part.")
	}
	parts := make([]storage.CompletePart, 0, len(in.Parts))
	for _, p := range in.Parts {
		cp := storage.CompletePart{Number: p.PartNumber, ETag: p.ETag, Checksums: p.checksumFields.checksums()}
		parts = append(parts, cp)
	}
	opts := storage.CompleteOptions{
		IfNoneMatchStar: strings.TrimSpace(req.Header.Get("If-None-Match")) == "*",
		IfMatch:         req.Header.Get("If-Match"),
		ChecksumType:    req.Header.Get("X-Amz-Checksum-Type"),
	}
	var err error
	if opts.Checksum, err = objectChecksum(req.Header); err != nil {
		return nil, err
	}
	if opts.CustomerKey, err = customerKey(req, objectPrefix); err != nil {
		return nil, err
	}
	info, err := s.backend.CompleteMultipartUpload(ctx, req.route.Bucket, req.route.Key, req.URL.Query().Get("uploadId"), parts, opts)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	writeVersionHeader(h, info.VersionID)
	expirationHeader(h, info.Expiration)
	if info.SSE != nil && info.SSE.Type != storage.SSEC { // S3 sends no SSE-C headers here
		s.sseHeaders(h, info.SSE, nil, false)
	}
	loc := "/" + req.route.Bucket + "/" + req.route.Key
	return &response{header: h, xml: completeMultipartUploadResult{NS: s3NS, Location: loc, Bucket: req.route.Bucket,
		Key: req.route.Key, ETag: info.ETag, checksumFields: checksumXML(info.Checksums)}}, nil
}

func (s *Server) abortMultipartUpload(ctx context.Context, req *request) (*response, error) {
	if err := s.backend.AbortMultipartUpload(ctx, req.route.Bucket, req.route.Key, req.URL.Query().Get("uploadId")); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

func (s *Server) listParts(ctx context.Context, req *request) (*response, error) {
	q := req.URL.Query()
	maxParts, err := queryInt(q, "max-parts", 1000, 1000)
	if err != nil {
		return nil, err
	}
	marker, err := queryInt(q, "part-number-marker", 0, 10000)
	if err != nil {
		return nil, err
	}
	res, err := s.backend.ListParts(ctx, req.route.Bucket, req.route.Key, q.Get("uploadId"), storage.ListPartsOptions{PartNumberMarker: marker, MaxParts: maxParts})
	if err != nil {
		return nil, err
	}
	o := s.owner()
	out := listPartsResult{NS: s3NS, Bucket: req.route.Bucket, Key: req.route.Key, UploadID: q.Get("uploadId"), Initiator: o, Owner: o,
		StorageClass: "STANDARD", PartNumberMarker: marker, NextPartNumberMarker: res.NextPartNumberMarker, MaxParts: maxParts,
		IsTruncated: res.IsTruncated, ChecksumAlgorithm: string(res.ChecksumAlgorithm), ChecksumType: res.ChecksumType}
	for _, p := range res.Parts {
		out.Parts = append(out.Parts, partEntry{PartNumber: p.Number, LastModified: s3Time(p.ModTime), ETag: p.ETag, Size: p.Size, checksumFields: checksumXML(p.Checksums)})
	}
	return &response{xml: out}, nil
}

func (s *Server) listMultipartUploads(ctx context.Context, req *request) (*response, error) {
	p, err := parseListParams(req)
	if err != nil {
		return nil, err
	}
	q := req.URL.Query()
	maxUploads, err := queryInt(q, "max-uploads", 1000, 1000)
	if err != nil {
		return nil, err
	}
	res, err := s.backend.ListMultipartUploads(ctx, req.route.Bucket, storage.ListUploadsOptions{
		Prefix: p.prefix, Delimiter: p.delimiter, KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker"), MaxUploads: maxUploads,
	})
	if err != nil {
		return nil, err
	}
	o := s.owner()
	out := listMultipartUploadsResult{NS: s3NS, Bucket: req.route.Bucket, KeyMarker: p.enc(q.Get("key-marker")), UploadIDMarker: q.Get("upload-id-marker"),
		NextKeyMarker: p.enc(res.NextKeyMarker), NextUploadIDMarker: res.NextUploadIDMarker, Prefix: p.enc(p.prefix), Delimiter: p.enc(p.delimiter),
		MaxUploads: maxUploads, EncodingType: p.encoding, IsTruncated: res.IsTruncated}
	for _, u := range res.Uploads {
		out.Uploads = append(out.Uploads, uploadEntry{Key: p.enc(u.Key), UploadID: u.UploadID, Initiator: o, Owner: o, StorageClass: "STANDARD", Initiated: s3Time(u.Initiated)})
	}
	for _, cp := range res.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{Prefix: p.enc(cp)})
	}
	return &response{xml: out}, nil
}
