package s3api_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// lockBucket creates a fresh bucket with object lock enabled.
func (f *fixture) lockBucket(t *testing.T) string {
	t.Helper()
	name := f.bucket(t) + "-lock"
	_, err := f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &name, ObjectLockEnabledForBucket: aws.Bool(true)})
	if err != nil {
		t.Fatalf("CreateBucket %s with object lock: %v", name, err)
	}
	return name
}

// putLocked stores body under key with the given lock settings and returns
// the new version id.
func (f *fixture) putLocked(t *testing.T, bucket, key string, mode types.ObjectLockMode, until time.Time, hold types.ObjectLockLegalHoldStatus) string {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader("worm " + key),
		ObjectLockMode: mode, ObjectLockLegalHoldStatus: hold}
	if mode != "" {
		in.ObjectLockRetainUntilDate = &until
	}
	out, err := f.sdk.PutObject(ctx(t), in)
	if err != nil {
		t.Fatalf("PutObject %s with lock: %v", key, err)
	}
	return aws.ToString(out.VersionId)
}

// digested is a raw request body with its Content-MD5.
func digested(method, bucket, key string, query url.Values, body string) rawReq {
	return rawReq{method: method, bucket: bucket, key: key, query: query, body: []byte(body),
		header: http.Header{"Content-Md5": {contentMD5([]byte(body))}}}
}

func TestIntegrationObjectLockConfiguration(t *testing.T) {
	f := newFixture(t)
	lb := f.lockBucket(t)
	v, err := f.sdk.GetBucketVersioning(ctx(t), &s3.GetBucketVersioningInput{Bucket: &lb})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("lock bucket versioning %v, %v", v.Status, err)
	}
	got, err := f.sdk.GetObjectLockConfiguration(ctx(t), &s3.GetObjectLockConfigurationInput{Bucket: &lb})
	if err != nil || got.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled || got.ObjectLockConfiguration.Rule != nil {
		t.Fatalf("new lock bucket configuration %+v, %v", got.ObjectLockConfiguration, err)
	}
	_, err = f.sdk.PutObjectLockConfiguration(ctx(t), &s3.PutObjectLockConfigurationInput{Bucket: &lb,
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(2)}}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err = f.sdk.GetObjectLockConfiguration(ctx(t), &s3.GetObjectLockConfigurationInput{Bucket: &lb})
	if err != nil || got.ObjectLockConfiguration.Rule == nil || aws.ToInt32(got.ObjectLockConfiguration.Rule.DefaultRetention.Days) != 2 ||
		got.ObjectLockConfiguration.Rule.DefaultRetention.Mode != types.ObjectLockRetentionModeGovernance {
		t.Fatalf("configuration after put: %+v, %v", got.ObjectLockConfiguration, err)
	}
	// The default applies to new versions, from their creation.
	f.put(t, lb, "defaulted", []byte("x"))
	head, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &lb, Key: aws.String("defaulted")})
	if err != nil || head.ObjectLockMode != types.ObjectLockModeGovernance ||
		aws.ToTime(head.ObjectLockRetainUntilDate).Sub(aws.ToTime(head.LastModified)) < 47*time.Hour {
		t.Fatalf("default retention not applied: %v %v (%v)", head.ObjectLockMode, head.ObjectLockRetainUntilDate, err)
	}

	plain := f.bucket(t)
	q := url.Values{"object-lock": {""}}
	cfg := func(inner string) string {
		return `<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + inner + `</ObjectLockConfiguration>`
	}
	rule := func(r string) string {
		return cfg(`<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>` + r + `</DefaultRetention></Rule>`)
	}
	cases := []struct {
		name   string
		req    rawReq
		code   string
		status int
	}{
		{"days and years", digested("PUT", lb, "", q, rule(`<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>`)), "MalformedXML", 400},
		{"no period", digested("PUT", lb, "", q, rule(`<Mode>GOVERNANCE</Mode>`)), "MalformedXML", 400},
		{"zero days", digested("PUT", lb, "", q, rule(`<Mode>GOVERNANCE</Mode><Days>0</Days>`)), "InvalidArgument", 400},
		{"negative years", digested("PUT", lb, "", q, rule(`<Mode>COMPLIANCE</Mode><Years>-1</Years>`)), "InvalidArgument", 400},
		{"too many years", digested("PUT", lb, "", q, rule(`<Mode>COMPLIANCE</Mode><Years>101</Years>`)), "InvalidArgument", 400},
		{"bad mode", digested("PUT", lb, "", q, rule(`<Mode>FOREVER</Mode><Days>1</Days>`)), "MalformedXML", 400},
		{"missing mode", digested("PUT", lb, "", q, rule(`<Days>1</Days>`)), "MalformedXML", 400},
		{"not enabled", digested("PUT", lb, "", q, cfg(`<ObjectLockEnabled>Disabled</ObjectLockEnabled>`)), "MalformedXML", 400},
		{"not xml", digested("PUT", lb, "", q, "<ObjectLock"), "MalformedXML", 400},
		{"no digest", rawReq{method: "PUT", bucket: lb, query: q, body: []byte(cfg(`<ObjectLockEnabled>Enabled</ObjectLockEnabled>`))}, "InvalidRequest", 400},
		{"bad digest", rawReq{method: "PUT", bucket: lb, query: q, body: []byte(cfg(`<ObjectLockEnabled>Enabled</ObjectLockEnabled>`)),
			header: http.Header{"Content-Md5": {contentMD5([]byte("other"))}}}, "BadDigest", 400},
		{"unversioned bucket", digested("PUT", plain, "", q, cfg(`<ObjectLockEnabled>Enabled</ObjectLockEnabled>`)), "InvalidBucketState", 409},
		{"get without lock", rawReq{method: "GET", bucket: plain, query: q}, "ObjectLockConfigurationNotFoundError", 404},
		{"missing bucket", digested("PUT", "no-such-bucket-here", "", q, cfg(`<ObjectLockEnabled>Enabled</ObjectLockEnabled>`)), "NoSuchBucket", 404},
		{"lock token", func() rawReq {
			r := digested("PUT", lb, "", q, cfg(`<ObjectLockEnabled>Enabled</ObjectLockEnabled>`))
			r.header.Set("X-Amz-Bucket-Object-Lock-Token", "token")
			return r
		}(), "NotImplemented", 501},
		{"suspend versioning", digested("PUT", lb, "", url.Values{"versioning": {""}},
			`<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`), "InvalidBucketState", 409},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, tc.req)
			wantXMLError(t, resp, body, tc.code, tc.status)
		})
	}
	// Nothing refused changed the configuration.
	got, err = f.sdk.GetObjectLockConfiguration(ctx(t), &s3.GetObjectLockConfigurationInput{Bucket: &lb})
	if err != nil || aws.ToInt32(got.ObjectLockConfiguration.Rule.DefaultRetention.Days) != 2 {
		t.Fatalf("configuration changed by refused requests: %+v, %v", got.ObjectLockConfiguration, err)
	}
	// A versioned bucket takes object lock later, for good (minio-go).
	enableVersioning(t, f, plain)
	days := uint(5)
	mode, unitDays := minio.Compliance, minio.Days
	if err := f.mc.SetObjectLockConfig(ctx(t), plain, &mode, &days, &unitDays); err != nil {
		t.Fatalf("minio SetObjectLockConfig: %v", err)
	}
	enabled, m, validity, unit, err := f.mc.GetObjectLockConfig(ctx(t), plain)
	if err != nil || enabled != "Enabled" || *m != minio.Compliance || *validity != 5 || *unit != minio.Days {
		t.Fatalf("minio GetObjectLockConfig = %s %v %v %v, %v", enabled, m, validity, unit, err)
	}
	_, err = f.sdk.PutBucketVersioning(ctx(t), &s3.PutBucketVersioningInput{Bucket: &plain,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	wantErr(t, err, "InvalidBucketState", http.StatusConflict)
}

func TestIntegrationObjectRetention(t *testing.T) {
	f := newFixture(t)
	lb := f.lockBucket(t)
	hour := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	comp := f.putLocked(t, lb, "compliance", types.ObjectLockModeCompliance, hour, "")
	gov := f.putLocked(t, lb, "governance", types.ObjectLockModeGovernance, hour, "")
	plainV := f.putLocked(t, lb, "plain", "", time.Time{}, "")

	head, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &lb, Key: aws.String("compliance")})
	if err != nil || head.ObjectLockMode != types.ObjectLockModeCompliance || !aws.ToTime(head.ObjectLockRetainUntilDate).Equal(hour) {
		t.Fatalf("head of a locked version: %v %v, %v", head.ObjectLockMode, head.ObjectLockRetainUntilDate, err)
	}
	r, err := f.sdk.GetObjectRetention(ctx(t), &s3.GetObjectRetentionInput{Bucket: &lb, Key: aws.String("compliance"), VersionId: &comp})
	if err != nil || r.Retention.Mode != types.ObjectLockRetentionModeCompliance || !aws.ToTime(r.Retention.RetainUntilDate).Equal(hour) {
		t.Fatalf("GetObjectRetention: %+v, %v", r, err)
	}

	del := func(key, id string, bypass bool) error {
		_, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &lb, Key: &key, VersionId: &id, BypassGovernanceRetention: aws.Bool(bypass)})
		return err
	}
	retain := func(key, id string, mode types.ObjectLockRetentionMode, until time.Time, bypass bool) error {
		in := &s3.PutObjectRetentionInput{Bucket: &lb, Key: &key, BypassGovernanceRetention: aws.Bool(bypass),
			Retention: &types.ObjectLockRetention{Mode: mode}}
		if id != "" {
			in.VersionId = &id
		}
		if !until.IsZero() {
			in.Retention.RetainUntilDate = &until
		}
		_, err := f.sdk.PutObjectRetention(ctx(t), in)
		return err
	}
	denied := func(err error) { t.Helper(); wantErr(t, err, "AccessDenied", http.StatusForbidden) }
	steps := []struct {
		name string
		err  func() error
		code string
	}{
		{"delete compliance", func() error { return del("compliance", comp, false) }, "AccessDenied"},
		{"delete compliance with bypass", func() error { return del("compliance", comp, true) }, "AccessDenied"},
		{"shorten compliance", func() error {
			return retain("compliance", comp, types.ObjectLockRetentionModeCompliance, hour.Add(-time.Minute), true)
		}, "AccessDenied"},
		{"compliance to governance", func() error {
			return retain("compliance", comp, types.ObjectLockRetentionModeGovernance, hour.Add(time.Hour), true)
		}, "AccessDenied"},
		{"extend compliance", func() error {
			return retain("compliance", comp, types.ObjectLockRetentionModeCompliance, hour.Add(time.Hour), false)
		}, ""},
		{"delete governance", func() error { return del("governance", gov, false) }, "AccessDenied"},
		{"shorten governance", func() error {
			return retain("governance", gov, types.ObjectLockRetentionModeGovernance, hour.Add(-time.Minute), false)
		}, "AccessDenied"},
		{"shorten governance with bypass", func() error {
			return retain("governance", gov, types.ObjectLockRetentionModeGovernance, hour.Add(-time.Minute), true)
		}, ""},
		{"retain in the past", func() error {
			return retain("plain", plainV, types.ObjectLockRetentionModeGovernance, time.Now().Add(-time.Minute), false)
		}, "InvalidArgument"},
		{"retain a missing version", func() error {
			return retain("plain", "0190a6f4-0000-7000-8000-000000000000", types.ObjectLockRetentionModeGovernance, hour, false)
		}, "NoSuchVersion"},
		{"retain a missing key", func() error {
			return retain("missing", "", types.ObjectLockRetentionModeGovernance, hour, false)
		}, "NoSuchKey"},
		{"delete governance with bypass", func() error { return del("governance", gov, true) }, ""},
	}
	for _, s := range steps {
		err := s.err()
		if s.code == "" {
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			continue
		}
		if got := errCode(err); got != s.code {
			t.Fatalf("%s: got %q (%v), want %s", s.name, got, err, s.code)
		}
		if s.code == "AccessDenied" {
			denied(err)
		}
	}
	// A delete without a version id adds a delete marker over a locked one.
	out, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &lb, Key: aws.String("compliance")})
	if err != nil || !aws.ToBool(out.DeleteMarker) {
		t.Fatalf("delete without version id: %+v, %v", out, err)
	}
	if b := f.getVersion(t, lb, "compliance", comp); string(b) != "worm compliance" {
		t.Fatalf("locked version reads %q", b)
	}
	_, err = f.sdk.GetObjectRetention(ctx(t), &s3.GetObjectRetentionInput{Bucket: &lb, Key: aws.String("plain")})
	wantErr(t, err, "NoSuchObjectLockConfiguration", http.StatusNotFound)

	// minio-go: retention and a governance bypass on remove.
	mgov := f.putLocked(t, lb, "minio-gov", "", time.Time{}, "")
	gmode := minio.Governance
	if err := f.mc.PutObjectRetention(ctx(t), lb, "minio-gov", minio.PutObjectRetentionOptions{Mode: &gmode, RetainUntilDate: &hour, VersionID: mgov}); err != nil {
		t.Fatalf("minio PutObjectRetention: %v", err)
	}
	m, mUntil, err := f.mc.GetObjectRetention(ctx(t), lb, "minio-gov", mgov)
	if err != nil || *m != minio.Governance || !mUntil.Equal(hour) {
		t.Fatalf("minio GetObjectRetention = %v %v, %v", m, mUntil, err)
	}
	wantMinioErr(t, f.mc.RemoveObject(ctx(t), lb, "minio-gov", minio.RemoveObjectOptions{VersionID: mgov}), "AccessDenied", 403)
	if err := f.mc.RemoveObject(ctx(t), lb, "minio-gov", minio.RemoveObjectOptions{VersionID: mgov, GovernanceBypass: true}); err != nil {
		t.Fatalf("minio RemoveObject with governance bypass: %v", err)
	}

	// Lock headers need a lock-enabled bucket, both halves of a retention
	// and a digest of the body.
	plain := f.bucket(t)
	until := hour.Format(time.RFC3339)
	lockHdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, tc := range []struct {
		name   string
		bucket string
		header http.Header
		code   string
	}{
		{"no lock on the bucket", plain, lockHdr("X-Amz-Object-Lock-Mode", "GOVERNANCE", "X-Amz-Object-Lock-Retain-Until-Date", until, "Content-Md5", contentMD5([]byte("x"))), "InvalidRequest"},
		{"legal hold without lock", plain, lockHdr("X-Amz-Object-Lock-Legal-Hold", "ON", "Content-Md5", contentMD5([]byte("x"))), "InvalidRequest"},
		{"mode without date", lb, lockHdr("X-Amz-Object-Lock-Mode", "GOVERNANCE", "Content-Md5", contentMD5([]byte("x"))), "InvalidArgument"},
		{"date without mode", lb, lockHdr("X-Amz-Object-Lock-Retain-Until-Date", until, "Content-Md5", contentMD5([]byte("x"))), "InvalidArgument"},
		{"date not ISO 8601", lb, lockHdr("X-Amz-Object-Lock-Mode", "GOVERNANCE", "X-Amz-Object-Lock-Retain-Until-Date", "Tue, 01 Jan 2030 00:00:00 GMT", "Content-Md5", contentMD5([]byte("x"))), "InvalidArgument"},
		{"date in the past", lb, lockHdr("X-Amz-Object-Lock-Mode", "GOVERNANCE", "X-Amz-Object-Lock-Retain-Until-Date", "2020-01-01T00:00:00Z", "Content-Md5", contentMD5([]byte("x"))), "InvalidArgument"},
		{"no digest", lb, lockHdr("X-Amz-Object-Lock-Mode", "GOVERNANCE", "X-Amz-Object-Lock-Retain-Until-Date", until), "InvalidRequest"},
		{"bad mode", lb, lockHdr("X-Amz-Object-Lock-Mode", "governance", "X-Amz-Object-Lock-Retain-Until-Date", until, "Content-Md5", contentMD5([]byte("x"))), "InvalidArgument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, rawReq{method: "PUT", bucket: tc.bucket, key: "refused", body: []byte("x"), header: tc.header})
			wantXMLError(t, resp, body, tc.code, 400)
			if f.exists(t, tc.bucket, "refused") {
				t.Fatal("refused put stored the object")
			}
		})
	}
	_, err = f.sdk.PutObjectRetention(ctx(t), &s3.PutObjectRetentionInput{Bucket: &plain, Key: aws.String("k"),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: &hour}})
	wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
	_, err = f.sdk.GetObjectRetention(ctx(t), &s3.GetObjectRetentionInput{Bucket: &plain, Key: aws.String("k")})
	wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
	// A retention document must name a known mode and a date.
	q := url.Values{"retention": {""}, "versionId": {plainV}}
	for _, doc := range []string{"<Retention><Mode>GOVERNANCE</Mode></Retention>",
		"<Retention><Mode>FOREVER</Mode><RetainUntilDate>" + until + "</RetainUntilDate></Retention>",
		"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>soon</RetainUntilDate></Retention>"} {
		resp, body := f.do(t, digested("PUT", lb, "plain", q, doc))
		wantXMLError(t, resp, body, "MalformedXML", 400)
	}
	resp, body := f.do(t, rawReq{method: "PUT", bucket: lb, key: "plain", query: q,
		body: []byte("<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>" + until + "</RetainUntilDate></Retention>")})
	wantXMLError(t, resp, body, "InvalidRequest", 400)
}

func TestIntegrationLegalHold(t *testing.T) {
	f := newFixture(t)
	lb := f.lockBucket(t)
	id := f.putLocked(t, lb, "held", "", time.Time{}, types.ObjectLockLegalHoldStatusOn)
	_, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &lb, Key: aws.String("held"), VersionId: &id, BypassGovernanceRetention: aws.Bool(true)})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	lh, err := f.sdk.GetObjectLegalHold(ctx(t), &s3.GetObjectLegalHoldInput{Bucket: &lb, Key: aws.String("held"), VersionId: &id})
	if err != nil || lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("GetObjectLegalHold: %+v, %v", lh, err)
	}
	// minio-go lifts it.
	off := minio.LegalHoldDisabled
	if err := f.mc.PutObjectLegalHold(ctx(t), lb, "held", minio.PutObjectLegalHoldOptions{VersionID: id, Status: &off}); err != nil {
		t.Fatalf("minio PutObjectLegalHold: %v", err)
	}
	st, err := f.mc.GetObjectLegalHold(ctx(t), lb, "held", minio.GetObjectLegalHoldOptions{VersionID: id})
	if err != nil || *st != minio.LegalHoldDisabled {
		t.Fatalf("minio GetObjectLegalHold = %v, %v", st, err)
	}
	if _, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &lb, Key: aws.String("held"), VersionId: &id}); err != nil {
		t.Fatalf("delete after the hold was lifted: %v", err)
	}
	other := f.putLocked(t, lb, "never-held", "", time.Time{}, "")
	_, err = f.sdk.GetObjectLegalHold(ctx(t), &s3.GetObjectLegalHoldInput{Bucket: &lb, Key: aws.String("never-held"), VersionId: &other})
	wantErr(t, err, "NoSuchObjectLockConfiguration", http.StatusNotFound)
	resp, body := f.do(t, digested("PUT", lb, "never-held", url.Values{"legal-hold": {""}}, "<LegalHold><Status>MAYBE</Status></LegalHold>"))
	wantXMLError(t, resp, body, "MalformedXML", 400)
}

// TestIntegrationDeleteObjectsLocked: a multi-delete applies the lock
// rules to each key.
func TestIntegrationDeleteObjectsLocked(t *testing.T) {
	f := newFixture(t)
	lb := f.lockBucket(t)
	hour := time.Now().Add(time.Hour)
	comp := f.putLocked(t, lb, "c", types.ObjectLockModeCompliance, hour, "")
	gov := f.putLocked(t, lb, "g", types.ObjectLockModeGovernance, hour, "")
	free := f.putLocked(t, lb, "f", "", time.Time{}, "")
	objs := []types.ObjectIdentifier{{Key: aws.String("c"), VersionId: &comp}, {Key: aws.String("g"), VersionId: &gov},
		{Key: aws.String("f"), VersionId: &free}, {Key: aws.String("c")}}
	out, err := f.sdk.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &lb, Delete: &types.Delete{Objects: objs}})
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]string{}
	for _, e := range out.Errors {
		failed[aws.ToString(e.Key)] = aws.ToString(e.Code)
	}
	if len(out.Deleted) != 2 || failed["c"] != "AccessDenied" || failed["g"] != "AccessDenied" {
		t.Fatalf("deleted %d, errors %v", len(out.Deleted), failed)
	}
	out, err = f.sdk.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &lb, BypassGovernanceRetention: aws.Bool(true),
		Delete: &types.Delete{Objects: objs[:2]}})
	if err != nil || len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "g" || len(out.Errors) != 1 {
		t.Fatalf("with bypass: %+v %+v, %v", out.Deleted, out.Errors, err)
	}
	_, err = f.sdk.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: &lb})
	wantErr(t, err, "BucketNotEmpty", http.StatusConflict)
}

// TestIntegrationBypassNeedsPermission: the bypass header takes effect
// only for principals allowed s3:BypassGovernanceRetention (root is; a user
// allowed everything else is not).
func TestIntegrationBypassNeedsPermission(t *testing.T) {
	f := newFixture(t)
	lb := f.lockBucket(t)
	hour := time.Now().Add(time.Hour)
	gov := f.putLocked(t, lb, "g", types.ObjectLockModeGovernance, hour, "")
	user := f.sdkAs(t, f.newUser(t, "no-bypass", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:*","Resource":"*"},
		{"Effect":"Deny","Action":"s3:BypassGovernanceRetention","Resource":"*"}]}`))
	_, err := user.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &lb, Key: aws.String("g"), VersionId: &gov, BypassGovernanceRetention: aws.Bool(true)})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	_, err = user.PutObjectRetention(ctx(t), &s3.PutObjectRetentionInput{Bucket: &lb, Key: aws.String("g"), VersionId: &gov,
		BypassGovernanceRetention: aws.Bool(true), Retention: &types.ObjectLockRetention{}})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	// DeleteObjects asks for each key.
	out, err := user.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &lb, BypassGovernanceRetention: aws.Bool(true),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("g"), VersionId: &gov}}}})
	if err != nil || len(out.Deleted) != 0 || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "AccessDenied" {
		t.Fatalf("DeleteObjects with a refused bypass: %+v %+v, %v", out.Deleted, out.Errors, err)
	}
	// Root may bypass.
	if _, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &lb, Key: aws.String("g"), VersionId: &gov,
		BypassGovernanceRetention: aws.Bool(true)}); err != nil {
		t.Fatalf("root bypass: %v", err)
	}
}

func TestIntegrationObjectTagging(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	enableVersioning(t, f, b)
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	first, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("k"), Body: strings.NewReader("v1"), Tagging: aws.String("gen=1&who=sdk")})
	if err != nil {
		t.Fatal(err)
	}
	second := f.put(t, b, "k", []byte("v2"))
	get, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k"), VersionId: first.VersionId})
	if err != nil || aws.ToInt32(get.TagCount) != 2 {
		t.Fatalf("x-amz-tagging-count on GET: %v, %v", get.TagCount, err)
	}
	get.Body.Close()
	set := []types.Tag{tag("colour", "blue green"), tag("empty", ""), tag("ünïcode", "välue:/=+-@_.")}
	put, err := f.sdk.PutObjectTagging(ctx(t), &s3.PutObjectTaggingInput{Bucket: &b, Key: aws.String("k"), Tagging: &types.Tagging{TagSet: set}})
	if err != nil || aws.ToString(put.VersionId) != aws.ToString(second.VersionId) {
		t.Fatalf("PutObjectTagging on the latest: %v, %v", put.VersionId, err)
	}
	got, err := f.sdk.GetObjectTagging(ctx(t), &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("k")})
	if err != nil || len(got.TagSet) != 3 || aws.ToString(got.TagSet[2].Value) != "välue:/=+-@_." {
		t.Fatalf("GetObjectTagging: %+v, %v", got.TagSet, err)
	}
	old, err := f.sdk.GetObjectTagging(ctx(t), &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("k"), VersionId: first.VersionId})
	if err != nil || len(old.TagSet) != 2 || aws.ToString(old.VersionId) != aws.ToString(first.VersionId) {
		t.Fatalf("old version tags: %+v, %v", old.TagSet, err)
	}
	if _, err := f.sdk.DeleteObjectTagging(ctx(t), &s3.DeleteObjectTaggingInput{Bucket: &b, Key: aws.String("k"), VersionId: first.VersionId}); err != nil {
		t.Fatal(err)
	}
	old, err = f.sdk.GetObjectTagging(ctx(t), &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("k"), VersionId: first.VersionId})
	if err != nil || len(old.TagSet) != 0 {
		t.Fatalf("tags after delete: %+v, %v", old.TagSet, err)
	}
	if string(f.get(t, b, "k")) != "v2" || string(f.getVersion(t, b, "k", aws.ToString(first.VersionId))) != "v1" {
		t.Fatal("tagging changed the data")
	}

	long := strings.Repeat("k", 129)
	eleven := make([]types.Tag, 11)
	for i := range eleven {
		eleven[i] = tag(string(rune('a'+i)), "v")
	}
	for _, tc := range []struct {
		name string
		set  []types.Tag
		code string
	}{
		{"eleven tags", eleven, "BadRequest"},
		{"key too long", []types.Tag{tag(long, "v")}, "InvalidTag"},
		{"key of 128", []types.Tag{tag(long[:128], "v")}, ""},
		{"value too long", []types.Tag{tag("k", strings.Repeat("v", 257))}, "InvalidTag"},
		{"value of 256", []types.Tag{tag("k", strings.Repeat("é", 256))}, ""},
		{"duplicate key", []types.Tag{tag("k", "1"), tag("k", "2")}, "InvalidTag"},
		{"aws prefix", []types.Tag{tag("aws:created", "x")}, "InvalidTag"},
		{"empty key", []types.Tag{tag("", "x")}, "InvalidTag"},
		{"bad character", []types.Tag{tag("semi;colon", "x")}, "InvalidTag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.sdk.PutObjectTagging(ctx(t), &s3.PutObjectTaggingInput{Bucket: &b, Key: aws.String("k"), Tagging: &types.Tagging{TagSet: tc.set}})
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tc.code, http.StatusBadRequest)
		})
	}
	q := url.Values{"tagging": {""}}
	resp, body := f.do(t, rawReq{method: "PUT", bucket: b, key: "k", query: q, body: []byte("<Tagging><TagSet></TagSet></Tagging>")})
	wantXMLError(t, resp, body, "InvalidRequest", 400)
	resp, body = f.do(t, digested("PUT", b, "k", q, "<Tagging></Tagging>"))
	wantXMLError(t, resp, body, "MalformedXML", 400)
	resp, body = f.do(t, digested("PUT", b, "k", q, "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>"))
	wantXMLError(t, resp, body, "MalformedXML", 400)
	_, err = f.sdk.GetObjectTagging(ctx(t), &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("missing")})
	wantErr(t, err, "NoSuchKey", http.StatusNotFound)
	_, err = f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("bad"), Body: strings.NewReader("x"), Tagging: aws.String("a=1&a=2")})
	wantErr(t, err, "InvalidArgument", http.StatusBadRequest)

	// Copies keep the source's tags unless told to replace them.
	for _, tc := range []struct {
		directive types.TaggingDirective
		tagging   *string
		want      int
	}{{"", nil, 1}, {types.TaggingDirectiveCopy, aws.String("x=y"), 1}, {types.TaggingDirectiveReplace, aws.String("x=y&z=w"), 2},
		{types.TaggingDirectiveReplace, nil, 0}} {
		dst := "copy-" + string(tc.directive) + aws.ToString(tc.tagging)
		_, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: &dst, CopySource: aws.String(b + "/k"),
			TaggingDirective: tc.directive, Tagging: tc.tagging})
		if err != nil {
			t.Fatal(err)
		}
		h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &dst})
		if err != nil || int(aws.ToInt32(h.TagCount)) != tc.want {
			t.Fatalf("copy %s %v: %v tags, want %d (%v)", tc.directive, aws.ToString(tc.tagging), h.TagCount, tc.want, err)
		}
	}

	// minio-go sets tags on upload and reads them back.
	_, err = f.mc.PutObject(ctx(t), b, "minio", bytes.NewReader([]byte("m")), 1, minio.PutObjectOptions{UserTags: map[string]string{"from": "minio"}})
	if err != nil {
		t.Fatal(err)
	}
	mt, err := f.mc.GetObjectTagging(ctx(t), b, "minio", minio.GetObjectTaggingOptions{})
	if err != nil || mt.ToMap()["from"] != "minio" {
		t.Fatalf("minio GetObjectTagging = %v, %v", mt, err)
	}
	if err := f.mc.RemoveObjectTagging(ctx(t), b, "minio", minio.RemoveObjectTaggingOptions{}); err != nil {
		t.Fatal(err)
	}
	if mt, err = f.mc.GetObjectTagging(ctx(t), b, "minio", minio.GetObjectTaggingOptions{}); err != nil || len(mt.ToMap()) != 0 {
		t.Fatalf("after RemoveObjectTagging: %v, %v", mt, err)
	}
}

func TestIntegrationBucketTagging(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	_, err := f.sdk.GetBucketTagging(ctx(t), &s3.GetBucketTaggingInput{Bucket: &b})
	wantErr(t, err, "NoSuchTagSet", http.StatusNotFound)
	set := make([]types.Tag, 50)
	for i := range set {
		set[i] = types.Tag{Key: aws.String("k" + strings.Repeat("x", i)), Value: aws.String("v")}
	}
	if _, err := f.sdk.PutBucketTagging(ctx(t), &s3.PutBucketTaggingInput{Bucket: &b, Tagging: &types.Tagging{TagSet: set}}); err != nil {
		t.Fatal(err)
	}
	got, err := f.sdk.GetBucketTagging(ctx(t), &s3.GetBucketTaggingInput{Bucket: &b})
	if err != nil || len(got.TagSet) != 50 || aws.ToString(got.TagSet[49].Key) != aws.ToString(set[49].Key) {
		t.Fatalf("GetBucketTagging: %d tags, %v", len(got.TagSet), err)
	}
	_, err = f.sdk.PutBucketTagging(ctx(t), &s3.PutBucketTaggingInput{Bucket: &b, Tagging: &types.Tagging{TagSet: append(set, types.Tag{Key: aws.String("one-more"), Value: aws.String("v")})}})
	wantErr(t, err, "BadRequest", http.StatusBadRequest)
	_, err = f.sdk.PutBucketTagging(ctx(t), &s3.PutBucketTaggingInput{Bucket: &b, Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}}})
	wantErr(t, err, "InvalidTag", http.StatusBadRequest)
	if got, err = f.sdk.GetBucketTagging(ctx(t), &s3.GetBucketTaggingInput{Bucket: &b}); err != nil || len(got.TagSet) != 50 {
		t.Fatalf("refused puts changed the tags: %d, %v", len(got.TagSet), err)
	}
	// minio-go replaces and removes them.
	if err := f.mc.SetBucketTagging(ctx(t), b, mustTags(t, map[string]string{"team": "storage"})); err != nil {
		t.Fatal(err)
	}
	mt, err := f.mc.GetBucketTagging(ctx(t), b)
	if err != nil || len(mt.ToMap()) != 1 || mt.ToMap()["team"] != "storage" {
		t.Fatalf("minio GetBucketTagging = %v, %v", mt, err)
	}
	if err := f.mc.RemoveBucketTagging(ctx(t), b); err != nil {
		t.Fatal(err)
	}
	_, err = f.sdk.GetBucketTagging(ctx(t), &s3.GetBucketTaggingInput{Bucket: &b})
	wantErr(t, err, "NoSuchTagSet", http.StatusNotFound)
	_, err = f.sdk.GetBucketTagging(ctx(t), &s3.GetBucketTaggingInput{Bucket: aws.String("no-such-bucket-here")})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
}

func mustTags(t *testing.T, m map[string]string) *tags.Tags {
	t.Helper()
	tg, err := tags.NewTags(m, false)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}
