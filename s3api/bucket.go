package s3api

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/filesphere/filesphere/storage"
)

// maxXMLBody bounds request XML documents (10,000 parts of a
// CompleteMultipartUpload fit comfortably).
const maxXMLBody = 4 << 20

// verifyBody makes req.body check the Content-MD5 and x-amz-checksum-*
// headers of an XML request as it is read.
func verifyBody(req *request) error {
	spec, err := parseChecksums(req.Header)
	if err != nil {
		return err
	}
	req.body = readCloser{newVerifyingReader(req.body, req.bodySize, spec, req.trailer), req.body}
	return nil
}

// readXML decodes a bounded XML request body into v.
func readXML(req *request, v any) error {
	lr := &io.LimitedReader{R: req.body, N: maxXMLBody + 1}
	data, err := io.ReadAll(lr)
	if err != nil {
		return err
	}
	if len(data) > maxXMLBody {
		return apiErr(ErrMalformedXML, "The XML you provided was larger than the maximum allowed.")
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return &APIError{Code: ErrMalformedXML, Err: err}
	}
	return nil
}

// owner is the Owner of every bucket and object: the account (by its
// canonical id, with its account id as the display name).
func (s *Server) owner() owner {
	return owner{ID: s.account.CanonicalID, DisplayName: s.account.ID}
}

func (s *Server) listBuckets(ctx context.Context, req *request) (*response, error) {
	bs, err := s.backend.ListBuckets(ctx)
	if err != nil {
		return nil, err
	}
	q := req.URL.Query()
	maxBuckets, err := queryInt(q, "max-buckets", maxListBuckets, maxListBuckets)
	if err != nil || q.Has("max-buckets") && maxBuckets < 1 {
		return nil, apiErr(ErrInvalidArgument, "max-buckets must be an integer from 1 to 10000.")
	}
	// The continuation token is the base64 name of the last bucket sent.
	after, err := base64.RawURLEncoding.DecodeString(q.Get("continuation-token"))
	if err != nil || q.Has("continuation-token") && len(after) == 0 {
		return nil, apiErr(ErrInvalidArgument, "The continuation token provided is incorrect")
	}
	prefix, region := q.Get("prefix"), q.Get("bucket-region")
	out := listAllMyBucketsResult{NS: s3NS, Owner: s.owner(), Prefix: prefix}
	slices.SortFunc(bs, func(a, b storage.BucketInfo) int { return strings.Compare(a.Name, b.Name) })
	for _, b := range bs {
		if b.Name <= string(after) || !strings.HasPrefix(b.Name, prefix) || region != "" && b.Region != region {
			continue
		}
		if len(out.Buckets) == maxBuckets {
			out.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(out.Buckets[len(out.Buckets)-1].Name))
			break
		}
		out.Buckets = append(out.Buckets, bucketEntry{Name: b.Name, CreationDate: s3Time(b.Created), BucketRegion: b.Region})
	}
	return &response{xml: out}, nil
}

// maxListBuckets is S3's ListBuckets page size limit.
const maxListBuckets = 10000

func (s *Server) createBucket(ctx context.Context, req *request) (*response, error) {
	region := s.cfg.Region
	if req.bodySize != 0 {
		var cfg createBucketConfiguration
		if err := readXML(req, &cfg); err != nil {
			return nil, err
		}
		if err := s.checkLocation(cfg); err != nil {
			return nil, err
		}
	}
	own, acl, err := s.newBucketAccess(ctx, req)
	if err != nil {
		return nil, err
	}
	located := &response{header: http.Header{"Location": {"/" + req.route.Bucket}}}
	err = s.backend.CreateBucket(ctx, req.route.Bucket, storage.CreateBucketOptions{Region: region, Owner: s.account.CanonicalID,
		ObjectLock: createBucketLock(req.Header)})
	if errors.Is(err, storage.ErrBucketExists) && region == "us-east-1" && s.ownsBucket(ctx, req) {
		// S3 in us-east-1 answers a bucket's owner re-creating it with 200,
		// for legacy compatibility (BucketAlreadyOwnedByYou elsewhere); the
		// bucket keeps its settings.
		return located, nil
	}
	if err != nil {
		return nil, err
	}
	if err := s.storeNewBucketAccess(ctx, req.route.Bucket, own, acl); err != nil {
		return nil, err
	}
	return located, nil
}

// ownsBucket reports whether the requester's account owns the existing
// bucket (every identity of a FileSphere server is of its one account).
func (s *Server) ownsBucket(ctx context.Context, req *request) bool {
	b, err := s.backend.HeadBucket(ctx, req.route.Bucket)
	return err == nil && b.Owner == s.account.CanonicalID
}

// checkLocation accepts the server's region, and also an empty constraint
// and "aws-global" (sent by clients with no region configured), which S3
// takes as us-east-1 and FileSphere as the one region it serves.
func (s *Server) checkLocation(cfg createBucketConfiguration) error {
	if cfg.Location != nil || cfg.Bucket != nil {
		return apiErr(ErrNotImplemented, "FileSphere does not implement directory buckets (Location and Bucket in CreateBucketConfiguration).")
	}
	if cfg.Tags != nil {
		return apiErr(ErrNotImplemented, "FileSphere does not implement bucket tags (Tags in CreateBucketConfiguration).")
	}
	switch cfg.LocationConstraint {
	case "", "aws-global", s.cfg.Region:
		return nil
	}
	return apiErr(ErrInvalidLocationConstraint, "The specified location-constraint is not valid for this server, which serves "+s.cfg.Region+
		"; configure your client with region "+s.cfg.Region+".")
}

func (s *Server) headBucket(ctx context.Context, req *request) (*response, error) {
	b, err := s.backend.HeadBucket(ctx, req.route.Bucket)
	if err != nil {
		return nil, err
	}
	return &response{header: http.Header{"X-Amz-Bucket-Region": {b.Region}}}, nil
}

func (s *Server) deleteBucket(ctx context.Context, req *request) (*response, error) {
	err := s.backend.DeleteBucket(ctx, req.route.Bucket)
	s.buckets.forget(req.route.Bucket)
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

func (s *Server) getBucketLocation(ctx context.Context, req *request) (*response, error) {
	b, err := s.backend.HeadBucket(ctx, req.route.Bucket)
	if err != nil {
		return nil, err
	}
	// us-east-1 is reported as an empty constraint, as AWS does.
	loc := b.Region
	if loc == "us-east-1" {
		loc = ""
	}
	return &response{xml: locationConstraint{NS: s3NS, Value: loc}}, nil
}

func (s *Server) getBucketVersioning(ctx context.Context, req *request) (*response, error) {
	st, err := s.backend.GetBucketVersioning(ctx, req.route.Bucket)
	if err != nil {
		return nil, err
	}
	return &response{xml: versioningConfiguration{NS: s3NS, Status: string(st)}}, nil
}

func (s *Server) putBucketVersioning(ctx context.Context, req *request) (*response, error) {
	if err := verifyBody(req); err != nil {
		return nil, err
	}
	var cfg versioningConfiguration
	if err := readXML(req, &cfg); err != nil {
		return nil, err
	}
	st := storage.VersioningState(cfg.Status)
	if st != storage.VersioningEnabled && st != storage.VersioningSuspended {
		return nil, apiErr(ErrIllegalVersioningConfiguration, "")
	}
	if cfg.MfaDelete == "Enabled" {
		return nil, apiErr(ErrNotImplemented, "MFA delete is not implemented by FileSphere.")
	}
	if err := s.backend.SetBucketVersioning(ctx, req.route.Bucket, st); err != nil {
		return nil, err
	}
	return &response{}, nil
}

// isNotFound reports whether err is a missing object or version.
func isNotFound(err error) bool {
	var onf *storage.ObjectNotFoundError
	var vnf *storage.VersionNotFoundError
	return errors.As(err, &onf) || errors.As(err, &vnf)
}
