package s3api

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/filesphere/filesphere/kms"
	"github.com/filesphere/filesphere/storage"
)

// Bucket default encryption: PutBucketEncryption, GetBucketEncryption,
// DeleteBucketEncryption on the ?encryption subresource.
const (
	OpPutBucketEncryption    Operation = "PutBucketEncryption"
	OpGetBucketEncryption    Operation = "GetBucketEncryption"
	OpDeleteBucketEncryption Operation = "DeleteBucketEncryption"
)

// encryptionConfig is ServerSideEncryptionConfiguration. S3 takes exactly
// one rule.
type encryptionConfig struct {
	XMLName xml.Name         `xml:"ServerSideEncryptionConfiguration"`
	NS      string           `xml:"xmlns,attr,omitempty"`
	Rules   []encryptionRule `xml:"Rule"`
}

type encryptionRule struct {
	Default          *encryptionDefault `xml:"ApplyServerSideEncryptionByDefault"`
	BucketKeyEnabled *bool              `xml:"BucketKeyEnabled"`
}

type encryptionDefault struct {
	SSEAlgorithm   string `xml:"SSEAlgorithm"`
	KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
}

var errEncryptionConfig = apiErr(ErrMalformedXML,
	"The XML you provided was not well-formed or did not validate against our published schema")

func (s *Server) putBucketEncryption(ctx context.Context, req *request) (*response, error) {
	var doc encryptionConfig
	if err := readDigestedXML(req, &doc); err != nil {
		return nil, err
	}
	if len(doc.Rules) != 1 || doc.Rules[0].Default == nil {
		return nil, errEncryptionConfig
	}
	r := doc.Rules[0]
	if r.BucketKeyEnabled != nil && *r.BucketKeyEnabled {
		return nil, apiErr(ErrNotImplemented, "A header or query you provided implies functionality that is not implemented: FileSphere does not support S3 Bucket Keys (BucketKeyEnabled).")
	}
	cfg := storage.BucketEncryption{Type: storage.SSEType(r.Default.SSEAlgorithm)}
	switch cfg.Type {
	case storage.SSES3:
		if r.Default.KMSMasterKeyID != "" {
			return nil, apiErr(ErrInvalidArgument, "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse")
		}
	case storage.SSEKMS:
		if id := strings.TrimSpace(r.Default.KMSMasterKeyID); id != "" {
			name, err := kms.ParseKeyID(id)
			if err != nil {
				return nil, &APIError{Code: ErrKMSNotFound, Message: "Invalid keyId " + id, Err: err}
			}
			cfg.KMSKeyID = name
		}
	case "aws:kms:dsse":
		return nil, apiErr(ErrNotImplemented, "A header or query you provided implies functionality that is not implemented: FileSphere does not support dual-layer server-side encryption (aws:kms:dsse).")
	default:
		return nil, errEncryptionConfig
	}
	if err := s.backend.PutBucketEncryption(ctx, req.route.Bucket, cfg); err != nil {
		return nil, err
	}
	return &response{status: http.StatusOK}, nil
}

func (s *Server) getBucketEncryption(ctx context.Context, req *request) (*response, error) {
	cfg, err := s.backend.GetBucketEncryption(ctx, req.route.Bucket)
	if err != nil {
		return nil, err
	}
	r := encryptionRule{Default: &encryptionDefault{SSEAlgorithm: string(cfg.Type)}, BucketKeyEnabled: new(bool)}
	if cfg.Type == storage.SSEKMS && cfg.KMSKeyID != "" {
		r.Default.KMSMasterKeyID = s.kmsKeyARN(cfg.KMSKeyID)
	}
	return &response{xml: encryptionConfig{NS: s3NS, Rules: []encryptionRule{r}}}, nil
}

func (s *Server) deleteBucketEncryption(ctx context.Context, req *request) (*response, error) {
	if err := s.backend.DeleteBucketEncryption(ctx, req.route.Bucket); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}
