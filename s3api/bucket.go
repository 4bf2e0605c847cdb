package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"

	"github.com/filesphere/filesphere/storage"
)

// maxXMLBody bounds request XML documents (10,000 parts of a
// CompleteMultipartUpload fit comfortably).
const maxXMLBody = 4 << 20

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

func ownerOf(id Identity) owner {
	return owner{ID: "filesphere", DisplayName: "filesphere"}
}

func (s *Server) listBuckets(ctx context.Context, req *request) (*response, error) {
	bs, err := s.backend.ListBuckets(ctx)
	if err != nil {
		return nil, err
	}
	out := listAllMyBucketsResult{NS: s3NS, Owner: ownerOf(req.id)}
	for _, b := range bs {
		out.Buckets = append(out.Buckets, bucketEntry{Name: b.Name, CreationDate: s3Time(b.Created), BucketRegion: b.Region})
	}
	return &response{xml: out}, nil
}

func (s *Server) createBucket(ctx context.Context, req *request) (*response, error) {
	region := s.cfg.Region
	if req.bodySize != 0 {
		var cfg createBucketConfiguration
		if err := readXML(req, &cfg); err != nil {
			return nil, err
		}
		if cfg.LocationConstraint != "" && cfg.LocationConstraint != s.cfg.Region {
			return nil, apiErr(ErrInvalidLocationConstraint, "The specified location-constraint is not valid for this server, which serves "+s.cfg.Region+".")
		}
	}
	err := s.backend.CreateBucket(ctx, req.route.Bucket, storage.CreateBucketOptions{Region: region, Owner: req.id.AccessKey})
	if err != nil {
		return nil, err
	}
	return &response{header: http.Header{"Location": {"/" + req.route.Bucket}}}, nil
}

func (s *Server) headBucket(ctx context.Context, req *request) (*response, error) {
	b, err := s.backend.HeadBucket(ctx, req.route.Bucket)
	if err != nil {
		return nil, err
	}
	return &response{header: http.Header{"X-Amz-Bucket-Region": {b.Region}}}, nil
}

func (s *Server) deleteBucket(ctx context.Context, req *request) (*response, error) {
	if err := s.backend.DeleteBucket(ctx, req.route.Bucket); err != nil {
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

// cannedACL is the only ACL FileSphere has: the owner has full control.
func cannedACL(id Identity) accessControlPolicy {
	o := ownerOf(id)
	acl := accessControlPolicy{NS: s3NS, Owner: o}
	acl.Grants = append(acl.Grants, struct {
		Grantee    grantee `xml:"Grantee"`
		Permission string  `xml:"Permission"`
	}{grantee{XMLNS: "http://www.w3.org/2001/XMLSchema-instance", Type: "CanonicalUser", ID: o.ID, DisplayName: o.DisplayName}, "FULL_CONTROL"})
	return acl
}

func (s *Server) getBucketACL(ctx context.Context, req *request) (*response, error) {
	if _, err := s.backend.HeadBucket(ctx, req.route.Bucket); err != nil {
		return nil, err
	}
	return &response{xml: cannedACL(req.id)}, nil
}

func (s *Server) getObjectACL(ctx context.Context, req *request) (*response, error) {
	_, err := s.backend.HeadObject(ctx, req.route.Bucket, req.route.Key, storage.GetOptions{VersionID: req.URL.Query().Get("versionId")})
	if err != nil {
		return nil, err
	}
	return &response{xml: cannedACL(req.id)}, nil
}

// isNotFound reports whether err is a missing object or version.
func isNotFound(err error) bool {
	var onf *storage.ObjectNotFoundError
	var vnf *storage.VersionNotFoundError
	return errors.As(err, &onf) || errors.As(err, &vnf)
}
