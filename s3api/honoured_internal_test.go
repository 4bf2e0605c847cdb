package s3api

import (
	"github.com/filesphere/filesphere/internal/ascii"
	"net/http"
	"strings"
	"testing"
)

// TestHeaderTableShape checks the table itself: every operation with a
// handler has rules, names are lower case, a header honoured for some
// values only has a refusal answering the others, and no header is both
// honoured for every value and refused.
func TestHeaderTableShape(t *testing.T) {
	s := &Server{}
	for op := range s.handlers() {
		if _, ok := headerTable[op]; !ok && op != OpListBuckets && op != OpHeadBucket && op != OpDeleteBucket &&
			op != OpGetBucketLocation && op != OpGetBucketVersioning && op != OpGetBucketACL {
			t.Errorf("%s has a handler but no header rules", op)
		}
	}
	for op, rs := range headerTable {
		checkRulesShape(t, string(op), rs)
	}
	checkRulesShape(t, "POST form fields", postFields)
}

func checkRulesShape(t *testing.T, op string, rs headerRules) {
	t.Helper()
	for _, h := range rs.honoured {
		if h.name != strings.ToLower(h.name) {
			t.Errorf("%s: honoured %q is not lower case", op, h.name)
		}
		r, refused := rs.refusal(h.name)
		switch {
		case h.values != nil && !refused:
			t.Errorf("%s: %s is honoured for %v only, but nothing refuses its other values", op, h.name, h.values)
		case h.values == nil && refused:
			t.Errorf("%s: %s is honoured for every value and also refused", op, h.name)
		case refused && r.valid != nil:
			for _, v := range h.values {
				if !hasValue(r.valid, v, r.fold) {
					t.Errorf("%s: %s honours %q, which S3 does not define", op, h.name, v)
				}
			}
		}
	}
	for _, r := range rs.refused {
		if r.name != strings.ToLower(r.name) || r.feature == "" && r.valid == nil {
			t.Errorf("%s: refusal %+v needs a lower-case name and a feature", op, r)
		}
	}
}

// TestCheckHonoured checks the answers of the table on a few requests.
func TestCheckHonoured(t *testing.T) {
	tests := []struct {
		op     Operation
		header http.Header
		code   ErrorCode // "" honoured
	}{
		{OpPutObject, http.Header{"X-Amz-Acl": {"private"}, "X-Amz-Meta-A": {"b"}, "X-Amz-Storage-Class": {"STANDARD"}}, ""},
		{OpPutObject, http.Header{"X-Amz-Acl": {"public-read"}}, ""},
		{OpPutObject, http.Header{"X-Amz-Acl": {"aws-exec-read"}}, ErrNotImplemented},
		{OpPutObject, http.Header{"X-Amz-Acl": {"nonsense"}}, ErrInvalidArgument},
		{OpPutObject, http.Header{"X-Amz-Storage-Class": {"GLACIER"}}, ErrNotImplemented},
		{OpPutObject, http.Header{"X-Amz-Storage-Class": {"ICE"}}, ErrInvalidStorageClass},
		{OpPutObject, http.Header{"X-Amz-Sdk-Checksum-Algorithm": {"crc32"}}, ""},
		{OpPutObject, http.Header{"X-Amz-Sdk-Checksum-Algorithm": {"XXHASH3"}}, ErrNotImplemented},
		{OpPutObject, http.Header{"X-Amz-Sdk-Checksum-Algorithm": {"ADLER"}}, ErrInvalidRequest},
		{OpPutObject, http.Header{"If-None-Match": {`"abc"`}}, ErrNotImplemented},
		{OpPutObject, http.Header{"X-Amz-Metadata-Directive": {"whatever"}}, ""}, // not S3's for PutObject: ignored
		{OpUploadPart, http.Header{"X-Amz-Storage-Class": {"GLACIER"}}, ""},      // ditto
		{OpCreateBucket, http.Header{"X-Amz-Bucket-Object-Lock-Enabled": {"True"}}, ""},
		{OpCreateBucket, http.Header{"X-Amz-Bucket-Object-Lock-Enabled": {"false"}}, ""},
		{OpCreateBucket, http.Header{"X-Amz-Bucket-Object-Lock-Enabled": {"yes"}}, ErrInvalidArgument},
		{OpPutObject, http.Header{"X-Amz-Object-Lock-Mode": {"COMPLIANCE"}, "X-Amz-Object-Lock-Retain-Until-Date": {"2030-01-01T00:00:00Z"},
			"X-Amz-Object-Lock-Legal-Hold": {"ON"}, "X-Amz-Tagging": {"a=b"}}, ""},
		{OpPutObject, http.Header{"X-Amz-Object-Lock-Mode": {"compliance"}}, ErrInvalidArgument},
		{OpPutObject, http.Header{"X-Amz-Object-Lock-Event-Hold": {"ON"}}, ErrNotImplemented},
		{OpDeleteObject, http.Header{"X-Amz-Bypass-Governance-Retention": {"True"}}, ""},
		{OpDeleteObject, http.Header{"X-Amz-Bypass-Governance-Retention": {"maybe"}}, ErrInvalidArgument},
		{OpPutObjectLockConfig, http.Header{"X-Amz-Bucket-Object-Lock-Token": {"t"}}, ErrNotImplemented},
		{OpListBuckets, http.Header{"X-Amz-Expected-Bucket-Owner": {"123456789012"}}, ErrNotImplemented},
		{OpDeleteObject, http.Header{"If-Match": {`"abc"`}}, ErrNotImplemented},
		{OpPutObject, http.Header{"X-Amz-Server-Side-Encryption": {"aws:kms"}, "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": {"k"},
			"X-Amz-Server-Side-Encryption-Bucket-Key-Enabled": {"False"}}, ""},
		{OpPutObject, http.Header{"X-Amz-Server-Side-Encryption": {"aws:kms:dsse"}}, ErrNotImplemented},
		{OpPutObject, http.Header{"X-Amz-Server-Side-Encryption": {"rot13"}}, ErrInvalidArgument},
		{OpPutObject, http.Header{"X-Amz-Server-Side-Encryption-Bucket-Key-Enabled": {"true"}}, ErrNotImplemented},
		{OpPutObject, http.Header{"X-Amz-Server-Side-Encryption-Bucket-Key-Enabled": {"maybe"}}, ErrInvalidArgument},
		{OpUploadPart, http.Header{"X-Amz-Server-Side-Encryption-Customer-Algorithm": {"AES256"}}, ""},
		{OpListParts, http.Header{"X-Amz-Server-Side-Encryption-Customer-Algorithm": {"AES256"}}, ErrNotImplemented},
		{OpPostObject, http.Header{"Content-Type": {"multipart/form-data; boundary=x"}, "X-Amz-Acl": {"public-read"}}, ""},
		{OpPostObject, http.Header{"X-Amz-Expected-Bucket-Owner": {"123456789012"}}, ErrNotImplemented},
		{OpPutBucketCors, http.Header{"Content-Md5": {"x"}, "X-Amz-Checksum-Sha512": {"AAAA"}}, ErrNotImplemented},
		{OpPutBucketLifecycle, http.Header{"X-Amz-Transition-Default-Minimum-Object-Size": {"all_storage_classes_128K"}}, ""},
		{OpPutBucketLifecycle, http.Header{"X-Amz-Transition-Default-Minimum-Object-Size": {"1k"}}, ErrInvalidArgument},
		{OpGetBucketLifecycle, http.Header{"X-Amz-Expected-Bucket-Owner": {"123456789012"}}, ErrNotImplemented},
	}
	for _, tc := range tests {
		err := checkHonoured(tc.op, tc.header)
		var got ErrorCode
		if err != nil {
			got = toAPIError(err).Code
		}
		if got != tc.code {
			t.Errorf("%s %v: got %q (%v), want %q", tc.op, tc.header, got, err, tc.code)
		}
	}
	// The form fields of a POST have their own table.
	for _, tc := range []struct {
		fields http.Header
		code   ErrorCode
	}{
		{http.Header{"Acl": {"private"}, "X-Amz-Meta-A": {"b"}, "Key": {"k"}, "Submit": {"Upload"}}, ""},
		{http.Header{"Acl": {"public-read"}}, ErrNotImplemented},
		{http.Header{"Acl": {"everyone"}}, ErrInvalidArgument},
		{http.Header{"Tagging": {"<Tagging/>"}}, ErrNotImplemented},
		{http.Header{"X-Amz-Checksum-Algorithm": {"crc32"}}, ""},
		{http.Header{"X-Amz-Checksum-Algorithm": {"XXHASH3"}}, ErrNotImplemented},
		{http.Header{"X-Amz-Storage-Class": {"GLACIER"}}, ErrNotImplemented},
		{http.Header{"X-Amz-Server-Side-Encryption-Customer-Key": {"secret"}}, ErrNotImplemented},
	} {
		var got ErrorCode
		if err := postFields.check("form field", tc.fields); err != nil {
			got = toAPIError(err).Code
		}
		if got != tc.code {
			t.Errorf("form %v: got %q, want %q", tc.fields, got, tc.code)
		}
	}
	// A refused secret is never echoed (messages are logged).
	err := checkHonoured(OpListParts, http.Header{"X-Amz-Server-Side-Encryption-Customer-Key": {"c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5MTIzNDU="}})
	if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("SSE-C key refusal: %v", err)
	}
}

// BenchmarkCheckHonoured measures the table check on the headers the aws
// cli sends with a PutObject.
func BenchmarkCheckHonoured(b *testing.B) {
	h := http.Header{
		"Content-Type": {"text/plain"}, "Content-Md5": {"1B2M2Y8AsgTpgAmY7PhCfg=="}, "Content-Length": {"0"},
		"X-Amz-Date": {"20260101T000000Z"}, "X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}, "User-Agent": {"aws-cli/2"},
		"Authorization": {iamAuth}, "X-Amz-Meta-Mtime": {"1700000000"}, "Expect": {"100-continue"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := checkHonoured(OpPutObject, h); err != nil {
			b.Fatal(err)
		}
	}
}

// allPass (check's fast path) must agree with the ordered walk: it may
// pass a header set only if the walk finds no refusal, and it must pass
// every ASCII set the walk passes.
func TestCheckHonouredFastPathAgrees(t *testing.T) {
	var names []string
	var values = []string{"", "x", "AES256", "private", "GLACIER", "crc32", "STANDARD", "COMPLIANCE", "ON"}
	rules := []headerRules{common}
	for _, rs := range headerTable {
		rules = append(rules, rs)
	}
	for _, rs := range rules {
		for _, h := range rs.honoured {
			names = append(names, strings.TrimSuffix(h.name, "*")+"-suffix", h.name)
			values = append(values, h.values...)
		}
		for _, r := range rs.refused {
			names = append(names, r.name)
			values = append(values, r.valid...)
		}
	}
	names = append(names, "X-Amz-Meta-Ünicode", "x-amz-\u212aelvin", "User-Agent")
	forms := []func(string) string{http.CanonicalHeaderKey, strings.ToUpper, func(s string) string { return s }}
	for i, rs := range rules {
		for _, n := range names {
			for _, form := range forms {
				for _, v := range values {
					h := http.Header{form(n): {v}, "Content-Type": {"text/plain"}}
					pass, err := rs.allPass(h), rs.checkOrdered("header", h)
					if pass && err != nil {
						t.Fatalf("rules %d: fast path passes %q, ordered walk refuses: %v", i, h, err)
					}
					if !pass && err == nil && ascii.Is(form(n)) {
						t.Fatalf("rules %d: fast path refuses ASCII %q the ordered walk passes", i, h)
					}
				}
			}
		}
	}
}
