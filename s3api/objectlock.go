package s3api

import (
	"context"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/iam/policy"
	"github.com/filesphere/filesphere/storage"
)

type objectLockConfiguration struct {
	XMLName           xml.Name  `xml:"ObjectLockConfiguration"`
	NS                string    `xml:"xmlns,attr,omitempty"`
	ObjectLockEnabled string    `xml:"ObjectLockEnabled,omitempty"`
	Rule              *lockRule `xml:"Rule,omitempty"`
}

type lockRule struct {
	DefaultRetention *defaultRetentionXML `xml:"DefaultRetention"`
}

type defaultRetentionXML struct {
	Mode  string `xml:"Mode,omitempty"`
	Days  *int   `xml:"Days,omitempty"`
	Years *int   `xml:"Years,omitempty"`
}

type retentionXML struct {
	XMLName         xml.Name `xml:"Retention"`
	NS              string   `xml:"xmlns,attr,omitempty"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
}

type legalHoldXML struct {
	XMLName xml.Name `xml:"LegalHold"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status"`
}

// lockTime formats a retain-until date as S3 does (ISO 8601, UTC).
func lockTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// parseLockTime reads an ISO 8601 retain-until date.
func parseLockTime(v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	return t.UTC(), err == nil
}

// lockHeaders reads the object lock headers of PutObject, CopyObject and
// CreateMultipartUpload. The header table has already refused values S3
// does not define.
func lockHeaders(h http.Header) (storage.ObjectLock, error) {
	var l storage.ObjectLock
	mode, until := h.Get("X-Amz-Object-Lock-Mode"), h.Get("X-Amz-Object-Lock-Retain-Until-Date")
	if (mode == "") != (until == "") {
		return l, apiErr(ErrInvalidArgument, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	}
	if mode != "" {
		t, ok := parseLockTime(until)
		if !ok {
			return l, apiErr(ErrInvalidArgument, "The retain until date must be provided in ISO 8601 format")
		}
		l.Mode, l.RetainUntil = storage.RetentionMode(mode), t
	}
	l.LegalHold = storage.LegalHold(h.Get("X-Amz-Object-Lock-Legal-Hold"))
	return l, nil
}

// lockResponseHeaders sets the lock headers of GET and HEAD.
func lockResponseHeaders(h http.Header, l storage.ObjectLock) {
	if l.Mode != "" {
		h.Set("X-Amz-Object-Lock-Mode", string(l.Mode))
		h.Set("X-Amz-Object-Lock-Retain-Until-Date", lockTime(l.RetainUntil))
	}
	if l.LegalHold != "" {
		h.Set("X-Amz-Object-Lock-Legal-Hold", string(l.LegalHold))
	}
}

// bypassGovernance reports whether a request may remove or shorten a
// GOVERNANCE retention of key: it sends x-amz-bypass-governance-retention:
// true and its principal is allowed s3:BypassGovernanceRetention on the
// object (decided like every other action, bucket policy included).
func (s *Server) bypassGovernance(ctx context.Context, req *request, key string) bool {
	if !strings.EqualFold(strings.TrimSpace(req.Header.Get("X-Amz-Bypass-Governance-Retention")), "true") {
		return false
	}
	b := req.authz.bucket
	if b == nil {
		var err error
		if b, err = s.bucketAccess(ctx, req.route.Bucket); err != nil {
			return false
		}
	}
	return s.allow(ctx, req, b, "s3:BypassGovernanceRetention", policy.S3ObjectARN(req.route.Bucket, key)) == nil
}

func (s *Server) putObjectLockConfig(ctx context.Context, req *request) (*response, error) {
	var doc objectLockConfiguration
	if err := readDigestedXML(req, &doc); err != nil {
		return nil, err
	}
	cfg, err := lockConfig(doc)
	if err != nil {
		return nil, err
	}
	if err := s.backend.PutObjectLockConfig(ctx, req.route.Bucket, cfg); err != nil {
		return nil, err
	}
	return &response{}, nil
}

// lockConfig validates an ObjectLockConfiguration document.
func lockConfig(doc objectLockConfiguration) (storage.ObjectLockConfig, error) {
	var cfg storage.ObjectLockConfig
	if doc.ObjectLockEnabled != "Enabled" {
		return cfg, apiErr(ErrMalformedXML, "")
	}
	if doc.Rule == nil {
		return cfg, nil
	}
	d := doc.Rule.DefaultRetention
	if d == nil || (d.Days == nil) == (d.Years == nil) {
		return cfg, apiErr(ErrMalformedXML, "")
	}
	def := storage.DefaultRetention{Mode: storage.RetentionMode(d.Mode)}
	if !def.Mode.Valid() {
		return cfg, apiErr(ErrMalformedXML, "")
	}
	if d.Days != nil {
		def.Days = *d.Days
		if def.Days <= 0 {
			return cfg, apiErr(ErrInvalidArgument, "Default retention period must be a positive integer value.")
		}
	} else {
		def.Years = *d.Years
		if def.Years <= 0 {
			return cfg, apiErr(ErrInvalidArgument, "Default retention period must be a positive integer value.")
		}
	}
	cfg.Default = &def
	return cfg, def.Validate()
}

func (s *Server) getObjectLockConfig(ctx context.Context, req *request) (*response, error) {
	cfg, err := s.backend.GetObjectLockConfig(ctx, req.route.Bucket)
	if err != nil {
		return nil, err
	}
	doc := objectLockConfiguration{NS: s3NS, ObjectLockEnabled: "Enabled"}
	if d := cfg.Default; d != nil {
		dr := &defaultRetentionXML{Mode: string(d.Mode)}
		if d.Days > 0 {
			dr.Days = &d.Days
		} else {
			dr.Years = &d.Years
		}
		doc.Rule = &lockRule{DefaultRetention: dr}
	}
	return &response{xml: doc}, nil
}

func (s *Server) putObjectRetention(ctx context.Context, req *request) (*response, error) {
	vid, err := objectVersion(req)
	if err != nil {
		return nil, err
	}
	var doc retentionXML
	if err := readDigestedXML(req, &doc); err != nil {
		return nil, err
	}
	var r storage.Retention
	if doc.Mode != "" || doc.RetainUntilDate != "" {
		t, ok := parseLockTime(doc.RetainUntilDate)
		r = storage.Retention{Mode: storage.RetentionMode(doc.Mode), RetainUntil: t}
		if !ok || !r.Mode.Valid() {
			return nil, apiErr(ErrMalformedXML, "")
		}
	}
	shown, err := s.backend.PutObjectRetention(ctx, req.route.Bucket, req.route.Key, storage.RetentionOptions{
		VersionID: vid, Retention: r, BypassGovernance: s.bypassGovernance(ctx, req, req.route.Key)})
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	versionHeader(h, shown)
	return &response{header: h}, nil
}

func (s *Server) getObjectRetention(ctx context.Context, req *request) (*response, error) {
	vid, err := objectVersion(req)
	if err != nil {
		return nil, err
	}
	r, err := s.backend.GetObjectRetention(ctx, req.route.Bucket, req.route.Key, vid)
	if err != nil {
		return nil, err
	}
	return &response{xml: retentionXML{NS: s3NS, Mode: string(r.Mode), RetainUntilDate: lockTime(r.RetainUntil)}}, nil
}

func (s *Server) putObjectLegalHold(ctx context.Context, req *request) (*response, error) {
	vid, err := objectVersion(req)
	if err != nil {
		return nil, err
	}
	var doc legalHoldXML
	if err := readDigestedXML(req, &doc); err != nil {
		return nil, err
	}
	hold := storage.LegalHold(doc.Status)
	if hold != storage.LegalHoldOn && hold != storage.LegalHoldOff {
		return nil, apiErr(ErrMalformedXML, "")
	}
	shown, err := s.backend.PutObjectLegalHold(ctx, req.route.Bucket, req.route.Key, vid, hold)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	versionHeader(h, shown)
	return &response{header: h}, nil
}

func (s *Server) getObjectLegalHold(ctx context.Context, req *request) (*response, error) {
	vid, err := objectVersion(req)
	if err != nil {
		return nil, err
	}
	hold, err := s.backend.GetObjectLegalHold(ctx, req.route.Bucket, req.route.Key, vid)
	if err != nil {
		return nil, err
	}
	return &response{xml: legalHoldXML{NS: s3NS, Status: string(hold)}}, nil
}

// createBucketLock reads x-amz-bucket-object-lock-enabled (true or false,
// any case, as the header table allows).
func createBucketLock(h http.Header) bool {
	v, err := strconv.ParseBool(strings.ToLower(h.Get("X-Amz-Bucket-Object-Lock-Enabled")))
	return err == nil && v
}
