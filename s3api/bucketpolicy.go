package s3api

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/filesphere/filesphere/iam/policy"
	"github.com/filesphere/filesphere/storage"
)

// Bucket policies, public access blocks and ownership controls: each a
// settings document of the bucket (bucketaccess.go), enforced by
// authorization on every request.

// accessHandlers adds the access-control operations to the handler table.
func (s *Server) accessHandlers(ops map[Operation]handlerFunc) {
	ops[OpGetBucketPolicy] = s.getBucketPolicy
	ops[OpPutBucketPolicy] = s.putBucketPolicy
	ops[OpDeleteBucketPolicy] = s.deleteBucketConfig(storage.ConfigPolicy)
	ops[OpGetBucketPolicyStatus] = s.getBucketPolicyStatus
	ops[OpGetPublicAccessBlock] = s.getPublicAccessBlock
	ops[OpPutPublicAccessBlock] = s.putPublicAccessBlock
	ops[OpDeletePublicAccessBlock] = s.deleteBucketConfig(storage.ConfigPublicAccessBlock)
	ops[OpGetBucketOwnershipControls] = s.getOwnershipControls
	ops[OpPutBucketOwnershipControls] = s.putOwnershipControls
	ops[OpDeleteBucketOwnershipControls] = s.deleteBucketConfig(storage.ConfigOwnership)
	ops[OpPutBucketACL] = s.putBucketACL
	ops[OpPutObjectACL] = s.putObjectACL
}

// readBody reads a bounded request body (verified against Content-MD5 and
// checksums as it is read); tooLarge answers a longer one.
func readBody(req *request, limit int64, tooLarge error) ([]byte, error) {
	if err := verifyBody(req); err != nil {
		return nil, err
	}
	if req.bodySize > limit {
		return nil, tooLarge
	}
	b, err := io.ReadAll(io.LimitReader(req.body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, tooLarge
	}
	return b, nil
}

// putConfig stores a bucket settings document and forgets the cached parse.
func (s *Server) putConfig(ctx context.Context, bucket string, kind storage.ConfigKind, doc []byte) error {
	err := s.backend.PutBucketConfig(ctx, bucket, kind, doc)
	s.buckets.forget(bucket)
	return err
}

func (s *Server) deleteBucketConfig(kind storage.ConfigKind) handlerFunc {
	return func(ctx context.Context, req *request) (*response, error) {
		err := s.backend.DeleteBucketConfig(ctx, req.route.Bucket, kind)
		s.buckets.forget(req.route.Bucket)
		if err != nil {
			return nil, err
		}
		return &response{status: http.StatusNoContent}, nil
	}
}

// getConfig reads a settings document; notFound answers when there is none.
func (s *Server) getConfig(ctx context.Context, bucket string, kind storage.ConfigKind, notFound ErrorCode) ([]byte, error) {
	doc, err := s.backend.GetBucketConfig(ctx, bucket, kind)
	var nf *storage.ConfigNotFoundError
	if errors.As(err, &nf) {
		return nil, &APIError{Code: notFound, BucketName: bucket, Err: err}
	}
	return doc, err
}

func malformedPolicy(msg string) error { return apiErr(ErrMalformedPolicy, msg) }

func (s *Server) putBucketPolicy(ctx context.Context, req *request) (*response, error) {
	doc, err := readBody(req, policy.MaxBucketPolicyBytes,
		malformedPolicy("Policies must be no larger than 20 KB."))
	if err != nil {
		return nil, err
	}
	p, err := checkBucketPolicy(req.route.Bucket, doc)
	if err != nil {
		return nil, err
	}
	if b := req.authz.bucket; b != nil && b.pab.BlockPublicPolicy && policyIsPublic(p.Document()) {
		return nil, apiErr(ErrAccessDenied, "The bucket's public access block (BlockPublicPolicy) refuses a public policy.")
	}
	if err := s.putConfig(ctx, req.route.Bucket, storage.ConfigPolicy, doc); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

// checkBucketPolicy parses a bucket policy and applies S3's own rules:
// only S3 actions, only resources of this bucket.
func checkBucketPolicy(bucket string, doc []byte) (*policy.Policy, error) {
	p, err := policy.Parse(doc, policy.KindResource)
	if err != nil {
		return nil, &APIError{Code: ErrMalformedPolicy, Message: err.Error(), Err: err}
	}
	arn := policy.S3BucketARN(bucket)
	for i, st := range p.Document().Statement {
		for _, a := range append(st.Action, st.NotAction...) {
			if a != "*" && !strings.HasPrefix(strings.ToLower(a), "s3:") {
				return nil, malformedPolicy("Policy has invalid action: statement " + strconv.Itoa(i) + ": " + a)
			}
		}
		for _, r := range append(st.Resource, st.NotResource...) {
			if r != arn && !strings.HasPrefix(r, arn+"/") {
				return nil, malformedPolicy("Policy has invalid resource: statement " + strconv.Itoa(i) + ": " + r +
					" is not " + arn + " or an object in it")
			}
		}
	}
	return p, nil
}

func (s *Server) getBucketPolicy(ctx context.Context, req *request) (*response, error) {
	doc, err := s.getConfig(ctx, req.route.Bucket, storage.ConfigPolicy, ErrNoSuchBucketPolicy)
	if err != nil {
		return nil, err
	}
	return &response{header: http.Header{"Content-Type": {"application/json"}},
		body: io.NopCloser(strings.NewReader(string(doc))), length: int64(len(doc))}, nil
}

type policyStatus struct {
	XMLName  xml.Name `xml:"PolicyStatus"`
	NS       string   `xml:"xmlns,attr"`
	IsPublic bool     `xml:"IsPublic"`
}

func (s *Server) getBucketPolicyStatus(ctx context.Context, req *request) (*response, error) {
	doc, err := s.getConfig(ctx, req.route.Bucket, storage.ConfigPolicy, ErrNoSuchBucketPolicy)
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(doc, policy.KindResource)
	if err != nil {
		return nil, err
	}
	return &response{xml: policyStatus{NS: s3NS, IsPublic: policyIsPublic(p.Document())}}, nil
}

// policyIsPublic is S3's "public" for a bucket policy: an Allow that
// names everyone ("*" or a NotPrincipal) and is not pinned by a condition
// on a fixed value of a key that limits who can meet it (the source
// address within a /8 or narrower, the source VPC or ARN, the principal's
// account or organization, user id).
func policyIsPublic(doc policy.Document) bool {
	for _, st := range doc.Statement {
		if st.Effect != policy.Allow {
			continue
		}
		everyone := st.NotPrincipal != nil || st.Principal != nil && (st.Principal.Wildcard || slices.Contains(st.Principal.AWS, "*"))
		if everyone && !pinned(st.Condition) {
			return true
		}
	}
	return false
}

// limitingKeys are the condition keys whose fixed values make a statement
// non-public.
var limitingKeys = []string{"aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner",
	"aws:sourceaccount", "aws:principalaccount", "aws:principalorgid", "aws:userid", "aws:principalarn",
	"s3:x-amz-server-side-encryption-aws-kms-key-id"}

func pinned(conds []policy.Condition) bool {
	for _, c := range conds {
		key := strings.ToLower(c.Key)
		op := strings.TrimSuffix(c.Operator, "IfExists")
		if op != c.Operator || strings.HasPrefix(op, "ForAnyValue:") {
			continue // absent or any-of values do not pin the caller
		}
		op = strings.TrimPrefix(op, "ForAllValues:")
		switch {
		case key == "aws:sourceip" && op == "IpAddress":
			if narrowNetworks(c.Values) {
				return true
			}
		case slices.Contains(limitingKeys, key) && (op == "StringEquals" || op == "ArnEquals"):
			return true
		case slices.Contains(limitingKeys, key) && (op == "StringLike" || op == "ArnLike") && !anyWildcard(c.Values):
			return true
		}
	}
	return false
}

// narrowNetworks: every network is an IPv4 /8 or narrower, or IPv6 /32 or
// narrower.
func narrowNetworks(vals []string) bool {
	for _, v := range vals {
		_, n, err := net.ParseCIDR(v)
		if err != nil {
			if net.ParseIP(v) == nil {
				return false
			}
			continue
		}
		ones, bits := n.Mask.Size()
		if bits == 32 && ones < 8 || bits == 128 && ones < 32 {
			return false
		}
	}
	return len(vals) > 0
}

func anyWildcard(vals []string) bool {
	for _, v := range vals {
		if strings.ContainsAny(v, "*?") {
			return true
		}
	}
	return false
}

// publicAccessBlockXML is the PublicAccessBlockConfiguration document.
type publicAccessBlockXML struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	NS                    string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

// maxSettingsXML bounds the small settings documents.
const maxSettingsXML = 64 << 10

func (s *Server) putPublicAccessBlock(ctx context.Context, req *request) (*response, error) {
	body, err := readBody(req, maxSettingsXML, apiErr(ErrMalformedXML, "The XML you provided was larger than the maximum allowed."))
	if err != nil {
		return nil, err
	}
	var in publicAccessBlockXML
	if err := xml.Unmarshal(body, &in); err != nil {
		return nil, &APIError{Code: ErrMalformedXML, Err: err}
	}
	doc, _ := json.Marshal(publicAccessBlock{BlockPublicAcls: in.BlockPublicAcls, IgnorePublicAcls: in.IgnorePublicAcls,
		BlockPublicPolicy: in.BlockPublicPolicy, RestrictPublicBuckets: in.RestrictPublicBuckets})
	if err := s.putConfig(ctx, req.route.Bucket, storage.ConfigPublicAccessBlock, doc); err != nil {
		return nil, err
	}
	return &response{}, nil
}

func (s *Server) getPublicAccessBlock(ctx context.Context, req *request) (*response, error) {
	doc, err := s.getConfig(ctx, req.route.Bucket, storage.ConfigPublicAccessBlock, ErrNoSuchPublicAccessBlock)
	if err != nil {
		return nil, err
	}
	var p publicAccessBlock
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil, err
	}
	return &response{xml: publicAccessBlockXML{NS: s3NS, BlockPublicAcls: p.BlockPublicAcls, IgnorePublicAcls: p.IgnorePublicAcls,
		BlockPublicPolicy: p.BlockPublicPolicy, RestrictPublicBuckets: p.RestrictPublicBuckets}}, nil
}

// ownershipControlsXML is the OwnershipControls document.
type ownershipControlsXML struct {
	XMLName xml.Name `xml:"OwnershipControls"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Rules   []struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	} `xml:"Rule"`
}

func validOwnership(v string) bool {
	return v == ownerEnforced || v == ownerPreferred || v == objectWriter
}

func (s *Server) putOwnershipControls(ctx context.Context, req *request) (*response, error) {
	body, err := readBody(req, maxSettingsXML, apiErr(ErrMalformedXML, "The XML you provided was larger than the maximum allowed."))
	if err != nil {
		return nil, err
	}
	var in ownershipControlsXML
	if err := xml.Unmarshal(body, &in); err != nil {
		return nil, &APIError{Code: ErrMalformedXML, Err: err}
	}
	if len(in.Rules) != 1 || !validOwnership(in.Rules[0].ObjectOwnership) {
		return nil, apiErr(ErrMalformedXML, "OwnershipControls needs exactly one Rule with ObjectOwnership BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter.")
	}
	own := in.Rules[0].ObjectOwnership
	if own == ownerEnforced {
		if b := req.authz.bucket; b != nil && b.acl != nil && b.acl.grantsOthers() {
			return nil, apiErr(ErrInvalidBucketACLWithObjectOwnership, "")
		}
	}
	if err := s.putOwnership(ctx, req.route.Bucket, own); err != nil {
		return nil, err
	}
	return &response{}, nil
}

func (s *Server) putOwnership(ctx context.Context, bucket, own string) error {
	doc, _ := json.Marshal(ownershipDoc{ObjectOwnership: own})
	return s.putConfig(ctx, bucket, storage.ConfigOwnership, doc)
}

func (s *Server) getOwnershipControls(ctx context.Context, req *request) (*response, error) {
	doc, err := s.getConfig(ctx, req.route.Bucket, storage.ConfigOwnership, ErrOwnershipControlsNotFound)
	if err != nil {
		return nil, err
	}
	var o ownershipDoc
	if err := json.Unmarshal(doc, &o); err != nil {
		return nil, err
	}
	out := ownershipControlsXML{NS: s3NS}
	out.Rules = append(out.Rules, struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	}{o.ObjectOwnership})
	return &response{xml: out}, nil
}
