package s3api

import (
	"strings"
	"testing"
)

// Every routed operation has a row in the permission table, and every row
// is of an operation that is routed: an operation cannot be added without
// its permission, nor a permission linger for one removed.
func TestEveryRoutedOperationHasAPermission(t *testing.T) {
	s := &Server{}
	ops := s.handlers()
	s.adminHandlers(ops)
	s.oauthAdminHandlers(ops)
	s.accessHandlers(ops)
	if missing := missingPermissions(ops); len(missing) > 0 {
		t.Fatalf("operations without a permission: %v", missing)
	}
	for op, p := range permissions {
		// PostObject is routed before the handler table: its form
		// authenticates it, then it authorizes like the others. The OAuth
		// endpoints (scopeOwn) are another protocol with its own handler.
		own := p.scope == scopeSigned || p.scope == scopeQuery || p.scope == scopeOwn
		if _, routed := ops[op]; !routed && !own && op != OpPostObject {
			t.Errorf("permission row for %s, which has no handler", op)
		}
		if !own && !strings.HasPrefix(p.action, "s3:") {
			t.Errorf("%s: action %q is not an S3 action", op, p.action)
		}
	}
	for _, rt := range allAdminRoutes {
		if p, ok := permissionOf(rt.op); !ok || p.action != rt.action || p.scope != scopeAccount {
			t.Errorf("admin operation %s: permission %+v", rt.op, p)
		}
	}
}

// The AWS service authorization reference's mapping for the operations
// whose action is not their name.
func TestPermissionExamples(t *testing.T) {
	tests := []struct {
		op       Operation
		version  bool
		action   string
		resource string
	}{
		{OpListObjectsV2, false, "s3:ListBucket", "arn:aws:s3:::b"},
		{OpListObjectsV1, false, "s3:ListBucket", "arn:aws:s3:::b"},
		{OpHeadBucket, false, "s3:ListBucket", "arn:aws:s3:::b"},
		{OpListObjectVersions, false, "s3:ListBucketVersions", "arn:aws:s3:::b"},
		{OpGetObject, true, "s3:GetObjectVersion", "arn:aws:s3:::b/k"},
		{OpHeadObject, false, "s3:GetObject", "arn:aws:s3:::b/k"},
		{OpDeleteObject, true, "s3:DeleteObjectVersion", "arn:aws:s3:::b/k"},
		{OpUploadPart, false, "s3:PutObject", "arn:aws:s3:::b/k"},
		{OpCompleteMultipartUpload, false, "s3:PutObject", "arn:aws:s3:::b/k"},
		{OpListParts, false, "s3:ListMultipartUploadParts", "arn:aws:s3:::b/k"},
		{OpListBuckets, false, "s3:ListAllMyBuckets", "arn:aws:s3:::*"},
		{OpDeletePublicAccessBlock, false, "s3:PutBucketPublicAccessBlock", "arn:aws:s3:::b"},
		{OpGetObjectACL, true, "s3:GetObjectVersionAcl", "arn:aws:s3:::b/k"},
		{OpAdminHeal, false, "admin:Heal", "arn:aws:s3:::*"},
	}
	for _, tc := range tests {
		p, ok := permissionOf(tc.op)
		if !ok {
			t.Fatalf("%s: no permission", tc.op)
		}
		if got := p.actionFor(tc.version); got != tc.action {
			t.Errorf("%s (version %v): action %s, want %s", tc.op, tc.version, got, tc.action)
		}
		if got := resourceFor(p.scope, "b", "k"); got != tc.resource {
			t.Errorf("%s: resource %s, want %s", tc.op, got, tc.resource)
		}
	}
	if p := permissions[OpCopyObject]; !p.copySource || p.action != "s3:PutObject" {
		t.Errorf("CopyObject: %+v", p)
	}
	if p := permissions[OpUploadPartCopy]; !p.copySource {
		t.Errorf("UploadPartCopy reads its source: %+v", p)
	}
}
