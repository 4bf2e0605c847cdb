package s3api

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"

	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/iam/policy"
	"github.com/filesphere/filesphere/storage"
)

// ACLs as S3 keeps them: a bucket's in its settings document
// (storage.ConfigACL), an object's with its version (Metadata.ACL), both
// as the JSON of accessList. They count only while the bucket's object
// ownership allows ACLs (ObjectWriter, BucketOwnerPreferred); under
// BucketOwnerEnforced, the default, the owner has full control and ACLs
// other than that are refused with AccessControlListNotSupported.
//
// In FileSphere's single account a grant can name: the AllUsers and
// AuthenticatedUsers groups (any caller; any signed caller), the account's
// canonical id (its root, which may do everything anyway: the account's
// IAM users and roles get their access from policies, as in S3), and an
// IAM user by e-mail address, the value of the user's "email" tag.

// Grantee types and group URIs.
const (
	granteeCanonical = "CanonicalUser"
	granteeGroup     = "Group"
	granteeEmail     = "AmazonCustomerByEmail"

	groupAllUsers  = "http://acs.amazonaws.com/groups/global/AllUsers"
	groupAuthUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	groupLogs      = "http://acs.amazonaws.com/groups/s3/LogDelivery"

	xsiNS = "http://www.w3.org/2001/XMLSchema-instance"
)

// ACL permissions.
const (
	permFull     = "FULL_CONTROL"
	permRead     = "READ"
	permWrite    = "WRITE"
	permReadACP  = "READ_ACP"
	permWriteACP = "WRITE_ACP"
)

// maxGrants is S3's limit of grants per ACL.
const maxGrants = 100

// accessList is a stored ACL.
type accessList struct {
	Owner  string  `json:"owner"` // canonical id
	Grants []grant `json:"grants"`
}

type grant struct {
	Type       string `json:"type"`
	ID         string `json:"id,omitempty"`
	URI        string `json:"uri,omitempty"`
	Email      string `json:"email,omitempty"`
	Permission string `json:"perm"`
}

func (g grant) public() bool {
	return g.Type == granteeGroup && (g.URI == groupAllUsers || g.URI == groupAuthUsers)
}

// public reports whether the ACL grants anything to everyone or to every
// signed caller.
func (a *accessList) public() bool {
	for _, g := range a.Grants {
		if g.public() {
			return true
		}
	}
	return false
}

// grantsOthers reports whether the ACL grants to anyone but the owner.
func (a *accessList) grantsOthers() bool {
	for _, g := range a.Grants {
		if g.Type != granteeCanonical || g.ID != a.Owner {
			return true
		}
	}
	return false
}

// ownerOnly is the ACL of an owner with full control (private).
func ownerOnly(owner string) *accessList {
	return &accessList{Owner: owner, Grants: []grant{{Type: granteeCanonical, ID: owner, Permission: permFull}}}
}

// cannedACL expands a canned ACL. In one account the bucket owner and
// the object owner are the same, so bucket-owner-read and
// bucket-owner-full-control are the owner's full control.
func cannedACL(name, owner string) (*accessList, error) {
	a := ownerOnly(owner)
	add := func(uri, perm string) {
		a.Grants = append(a.Grants, grant{Type: granteeGroup, URI: uri, Permission: perm})
	}
	switch name {
	case "private", "bucket-owner-read", "bucket-owner-full-control":
	case "public-read":
		add(groupAllUsers, permRead)
	case "public-read-write":
		add(groupAllUsers, permRead)
		add(groupAllUsers, permWrite)
	case "authenticated-read":
		add(groupAuthUsers, permRead)
	default:
		return nil, apiErr(ErrInvalidArgument, fmt.Sprintf("The canned ACL %q is not valid.", name))
	}
	return a, nil
}

// grantHeaders are the x-amz-grant-* headers and their permissions.
var grantHeaders = []struct{ header, perm string }{
	{"X-Amz-Grant-Full-Control", permFull},
	{"X-Amz-Grant-Read", permRead},
	{"X-Amz-Grant-Write", permWrite},
	{"X-Amz-Grant-Read-Acp", permReadACP},
	{"X-Amz-Grant-Write-Acp", permWriteACP},
}

// hasACLHeaders reports whether a request sets an ACL by header.
func hasACLHeaders(h http.Header) bool {
	if h.Get("X-Amz-Acl") != "" {
		return true
	}
	for _, g := range grantHeaders {
		if h.Get(g.header) != "" {
			return true
		}
	}
	return false
}

// parseGrantHeader parses `id="…", emailAddress="…", uri="…"`.
func parseGrantHeader(v, perm string) ([]grant, error) {
	var out []grant
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		val = strings.Trim(strings.TrimSpace(val), `"`)
		if !ok || val == "" {
			return nil, apiErr(ErrInvalidArgument, "Grant headers take id=\"…\", emailAddress=\"…\" or uri=\"…\" grantees.")
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "id":
			out = append(out, grant{Type: granteeCanonical, ID: val, Permission: perm})
		case "emailaddress":
			out = append(out, grant{Type: granteeEmail, Email: val, Permission: perm})
		case "uri":
			out = append(out, grant{Type: granteeGroup, URI: val, Permission: perm})
		default:
			return nil, apiErr(ErrInvalidArgument, fmt.Sprintf("Unknown grantee type %q in a grant header.", k))
		}
	}
	return out, nil
}

// headerACL is the ACL a request's headers set (nil when they set none):
// a canned ACL or grants, not both.
func headerACL(h http.Header, owner string) (*accessList, error) {
	var grants []grant
	for _, g := range grantHeaders {
		if v := h.Get(g.header); v != "" {
			gs, err := parseGrantHeader(v, g.perm)
			if err != nil {
				return nil, err
			}
			grants = append(grants, gs...)
		}
	}
	canned := h.Get("X-Amz-Acl")
	switch {
	case canned != "" && len(grants) > 0:
		return nil, apiErr(ErrInvalidRequest, "Specifying both Canned ACLs and Header Grants is not allowed")
	case canned != "":
		return cannedACL(canned, owner)
	case len(grants) > 0:
		return &accessList{Owner: owner, Grants: grants}, nil
	}
	return nil, nil
}

// xmlGrantee is a Grantee element as clients send it.
type xmlGrantee struct {
	Type         string `xml:"type,attr"`
	ID           string `xml:"ID"`
	DisplayName  string `xml:"DisplayName"`
	URI          string `xml:"URI"`
	EmailAddress string `xml:"EmailAddress"`
}

type accessControlPolicyIn struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   *struct {
		ID string `xml:"ID"`
	} `xml:"Owner"`
	Grants []struct {
		Grantee    xmlGrantee `xml:"Grantee"`
		Permission string     `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// bodyACL parses an AccessControlPolicy document.
func bodyACL(body []byte, owner string) (*accessList, error) {
	var in accessControlPolicyIn
	if err := xml.Unmarshal(body, &in); err != nil {
		return nil, &APIError{Code: ErrMalformedACL, Err: err}
	}
	if in.Owner == nil {
		return nil, apiErr(ErrMalformedACL, "The AccessControlPolicy has no Owner.")
	}
	if in.Owner.ID != owner {
		return nil, apiErr(ErrAccessDenied, "The Owner of an ACL must be the bucket's owner.")
	}
	a := &accessList{Owner: owner}
	for _, g := range in.Grants {
		gr := grant{Type: g.Grantee.Type, Permission: g.Permission}
		switch g.Grantee.Type {
		case granteeCanonical:
			gr.ID = g.Grantee.ID
		case granteeGroup:
			gr.URI = g.Grantee.URI
		case granteeEmail:
			gr.Email = g.Grantee.EmailAddress
		default:
			return nil, apiErr(ErrMalformedACL, fmt.Sprintf("Unknown grantee type %q.", g.Grantee.Type))
		}
		a.Grants = append(a.Grants, gr)
	}
	return a, nil
}

// checkACL validates an ACL for a bucket (bucket true) or an object, and
// resolves e-mail grantees to IAM users.
func (s *Server) checkACL(ctx context.Context, a *accessList, bucket bool) error {
	if len(a.Grants) > maxGrants {
		return apiErr(ErrMalformedACL, fmt.Sprintf("An ACL may have at most %d grants.", maxGrants))
	}
	for _, g := range a.Grants {
		switch g.Permission {
		case permFull, permRead, permReadACP, permWriteACP:
		case permWrite:
			if !bucket {
				return apiErr(ErrInvalidArgument, "WRITE is not a permission of objects.")
			}
		default:
			return apiErr(ErrMalformedACL, fmt.Sprintf("Unknown permission %q.", g.Permission))
		}
		switch g.Type {
		case granteeCanonical:
			if g.ID != s.account.CanonicalID {
				return apiErr(ErrInvalidArgument, "Invalid id: "+g.ID)
			}
		case granteeGroup:
			switch g.URI {
			case groupAllUsers, groupAuthUsers:
			case groupLogs:
				return apiErr(ErrNotImplemented, "FileSphere does not deliver server access logs (LogDelivery grants).")
			default:
				return apiErr(ErrInvalidArgument, "Invalid group uri: "+g.URI)
			}
		case granteeEmail:
			if !s.emailKnown(ctx, g.Email) {
				return apiErr(ErrUnresolvableGrantByEmail, "")
			}
		}
	}
	return nil
}

// emailKnown reports whether an IAM user has the e-mail address (its
// "email" tag).
func (s *Server) emailKnown(ctx context.Context, email string) bool {
	marker := ""
	for {
		users, next, err := s.ids.ListUsers(ctx, iam.ListOptions{Marker: marker, MaxItems: 1000})
		if err != nil {
			return false
		}
		for _, u := range users {
			for _, t := range u.Tags {
				if strings.EqualFold(t.Key, "email") && strings.EqualFold(t.Value, email) {
					return true
				}
			}
		}
		if next == "" {
			return false
		}
		marker = next
	}
}

// requestACL is the ACL a write (PutObject, CopyObject,
// CreateMultipartUpload) stores from its headers: nil when it sets none
// or, with ACLs disabled, one equal to the owner's full control; ACLs
// granting more than that are refused when the bucket disables ACLs, and
// public ones when its public access block says so.
func (s *Server) requestACL(ctx context.Context, req *request) ([]byte, error) {
	a, err := headerACL(req.Header, s.account.CanonicalID)
	if a == nil || err != nil {
		return nil, err
	}
	if err := s.admitACL(ctx, req.authz.bucket, a, false); err != nil {
		return nil, err
	}
	if !req.authz.bucket.aclsEnabled() {
		return nil, nil
	}
	return json.Marshal(a)
}

// admitACL applies the bucket's ownership and public access block to a
// new ACL.
func (s *Server) admitACL(ctx context.Context, b *bucketAccess, a *accessList, bucket bool) error {
	if err := s.checkACL(ctx, a, bucket); err != nil {
		return err
	}
	if b == nil {
		return nil
	}
	if !b.aclsEnabled() && a.grantsOthers() {
		return apiErr(ErrAccessControlListNotSupported, "")
	}
	if b.pab.BlockPublicAcls && a.public() {
		return apiErr(ErrAccessDenied, "The bucket's public access block (BlockPublicAcls) refuses a public ACL.")
	}
	return nil
}

// newBucketAccess checks CreateBucket's x-amz-object-ownership and ACL
// headers before the bucket is made: an ACL beyond the owner's full
// control needs ownership that allows ACLs.
func (s *Server) newBucketAccess(ctx context.Context, req *request) (own string, acl *accessList, err error) {
	own = req.Header.Get("X-Amz-Object-Ownership")
	if acl, err = headerACL(req.Header, s.account.CanonicalID); err != nil || acl == nil {
		return own, nil, err
	}
	if err := s.checkACL(ctx, acl, true); err != nil {
		return "", nil, err
	}
	if (own == "" || own == ownerEnforced) && acl.grantsOthers() {
		return "", nil, apiErr(ErrInvalidBucketACLWithObjectOwnership, "")
	}
	return own, acl, nil
}

// storeNewBucketAccess writes a new bucket's ownership and ACL documents
// (none for the defaults). Were this to fail, the bucket keeps the
// defaults: ACLs disabled, the owner's full control.
func (s *Server) storeNewBucketAccess(ctx context.Context, bucket, own string, acl *accessList) error {
	if own != "" && own != ownerEnforced {
		if err := s.putOwnership(ctx, bucket, own); err != nil {
			return err
		}
	}
	if acl != nil && acl.grantsOthers() {
		doc, _ := json.Marshal(acl)
		return s.putConfig(ctx, bucket, storage.ConfigACL, doc)
	}
	return nil
}

// aclToSet reads the ACL of a PutBucketAcl or PutObjectAcl: from the
// headers or the body, one of them.
func (s *Server) aclToSet(req *request) (*accessList, error) {
	a, err := headerACL(req.Header, s.account.CanonicalID)
	if err != nil {
		return nil, err
	}
	if req.bodySize == 0 {
		if a == nil {
			return nil, apiErr(ErrMissingSecurityHeader, "Your request was missing a required header: an ACL header or an AccessControlPolicy body.")
		}
		return a, nil
	}
	if a != nil {
		return nil, apiErr(ErrUnexpectedContent, "This request does not support content when it sets an ACL by header.")
	}
	body, err := readBody(req, maxSettingsXML, apiErr(ErrMalformedACL, "The ACL document is too large."))
	if err != nil {
		return nil, err
	}
	return bodyACL(body, s.account.CanonicalID)
}

func (s *Server) putBucketACL(ctx context.Context, req *request) (*response, error) {
	if req.authz.bucket == nil {
		return nil, &APIError{Code: ErrNoSuchBucket, BucketName: req.route.Bucket}
	}
	a, err := s.aclToSet(req)
	if err != nil {
		return nil, err
	}
	if err := s.admitACL(ctx, req.authz.bucket, a, true); err != nil {
		return nil, err
	}
	doc, _ := json.Marshal(a)
	if err := s.putConfig(ctx, req.route.Bucket, storage.ConfigACL, doc); err != nil {
		return nil, err
	}
	return &response{}, nil
}

func (s *Server) putObjectACL(ctx context.Context, req *request) (*response, error) {
	if req.authz.bucket == nil {
		return nil, &APIError{Code: ErrNoSuchBucket, BucketName: req.route.Bucket}
	}
	a, err := s.aclToSet(req)
	if err != nil {
		return nil, err
	}
	if err := s.admitACL(ctx, req.authz.bucket, a, false); err != nil {
		return nil, err
	}
	var doc []byte
	if req.authz.bucket.aclsEnabled() {
		doc, _ = json.Marshal(a)
	}
	version := req.URL.Query().Get("versionId")
	if err := s.backend.SetObjectACL(ctx, req.route.Bucket, req.route.Key, version, doc); err != nil {
		return nil, err
	}
	h := http.Header{}
	versionHeader(h, version)
	return &response{header: h}, nil
}

// storedACL decodes a stored ACL; nil or empty is the owner's full control.
func (s *Server) storedACL(doc []byte) (*accessList, error) {
	if len(doc) == 0 {
		return ownerOnly(s.account.CanonicalID), nil
	}
	a := new(accessList)
	if err := json.Unmarshal(doc, a); err != nil {
		return nil, fmt.Errorf("s3api: stored ACL: %w", err)
	}
	return a, nil
}

// aclDocument renders an ACL as GetBucketAcl and GetObjectAcl answer it.
func (s *Server) aclDocument(a *accessList) accessControlPolicy {
	out := accessControlPolicy{NS: s3NS, Owner: s.owner()}
	for _, g := range a.Grants {
		ge := grantee{XMLNS: xsiNS, Type: g.Type, ID: g.ID, URI: g.URI, EmailAddress: g.Email}
		if g.Type == granteeCanonical && g.ID == s.account.CanonicalID {
			ge.DisplayName = s.owner().DisplayName
		}
		out.Grants = append(out.Grants, aclGrant{Grantee: ge, Permission: g.Permission})
	}
	return out
}

func (s *Server) getBucketACL(ctx context.Context, req *request) (*response, error) {
	if req.authz.bucket == nil {
		return nil, &APIError{Code: ErrNoSuchBucket, BucketName: req.route.Bucket}
	}
	a := req.authz.bucket.acl
	if a == nil || !req.authz.bucket.aclsEnabled() {
		a = ownerOnly(s.account.CanonicalID)
	}
	return &response{xml: s.aclDocument(a)}, nil
}

func (s *Server) getObjectACL(ctx context.Context, req *request) (*response, error) {
	version := req.URL.Query().Get("versionId")
	info, err := s.backend.HeadObject(ctx, req.route.Bucket, req.route.Key, storage.GetOptions{VersionID: version})
	if err != nil {
		return nil, err
	}
	doc := info.Meta.ACL
	if !req.authz.bucket.aclsEnabled() {
		doc = nil
	}
	a, err := s.storedACL(doc)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	versionHeader(h, info.VersionID)
	return &response{header: h, xml: s.aclDocument(a)}, nil
}

// aclPermission is the ACL permission an action needs, and whether it is
// the object's ACL (else the bucket's) that grants it.
func aclPermission(action string) (perm string, object bool, ok bool) {
	switch action {
	case "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads":
		return permRead, false, true
	case "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion":
		return permWrite, false, true
	case "s3:GetBucketAcl":
		return permReadACP, false, true
	case "s3:PutBucketAcl":
		return permWriteACP, false, true
	case "s3:GetObject", "s3:GetObjectVersion":
		return permRead, true, true
	case "s3:GetObjectAcl", "s3:GetObjectVersionAcl":
		return permReadACP, true, true
	case "s3:PutObjectAcl", "s3:PutObjectVersionAcl":
		return permWriteACP, true, true
	}
	return "", false, false
}

// aclAllows is the ACL half of authorization: when the bucket's ACLs
// count and no policy denied explicitly, a grant to the caller of the
// permission the action needs allows it.
func (s *Server) aclAllows(ctx context.Context, req *request, b *bucketAccess, action, resource string) (policy.Decision, bool) {
	perm, object, ok := aclPermission(action)
	if !ok || !b.aclsEnabled() {
		return policy.Decision{}, false
	}
	a, name := b.acl, "bucket ACL"
	if object {
		key := strings.TrimPrefix(resource, policy.S3BucketARN(b.info.Name)+"/")
		version := ""
		if action == "s3:GetObjectVersion" || action == "s3:GetObjectVersionAcl" || action == "s3:PutObjectVersionAcl" {
			version = req.URL.Query().Get("versionId")
		}
		info, err := s.backend.HeadObject(ctx, b.info.Name, key, storage.GetOptions{VersionID: version})
		if err != nil || len(info.Meta.ACL) == 0 {
			return policy.Decision{}, false
		}
		if a, err = s.storedACL(info.Meta.ACL); err != nil {
			return policy.Decision{}, false
		}
		name = "object ACL"
	}
	if a == nil {
		return policy.Decision{}, false
	}
	for i, g := range a.Grants {
		if (g.Permission == perm || g.Permission == permFull) && s.granted(&req.id, g, b.pab.IgnorePublicAcls) {
			return policy.Decision{Effect: policy.Allow, Reason: policy.ReasonAllowed, Source: policy.SourceResource,
				Policy: name, Statement: i}, true
		}
	}
	return policy.Decision{}, false
}

// granted reports whether grant g names the caller.
func (s *Server) granted(id *Identity, g grant, ignorePublic bool) bool {
	if g.public() && ignorePublic {
		return false
	}
	switch g.Type {
	case granteeGroup:
		return g.URI == groupAllUsers || g.URI == groupAuthUsers && !id.Anonymous
	case granteeCanonical:
		return id.Principal.Type == policy.PrincipalAccount && g.ID == id.Principal.CanonicalID
	case granteeEmail:
		if id.Principal.Type != policy.PrincipalUser {
			return false
		}
		for k, v := range id.Principal.Tags {
			if strings.EqualFold(k, "email") && strings.EqualFold(v, g.Email) {
				return true
			}
		}
	}
	return false
}
