package s3api_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/storage"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
)

// TestIntegrationLifecyclePutGetDelete: a configuration with every
// honoured element reads back as put through aws-sdk-go-v2; delete
// removes it (and deleting none is no error, as in S3).
func TestIntegrationLifecyclePutGetDelete(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	_, err := f.sdk.GetBucketLifecycleConfiguration(ctx(t), &s3.GetBucketLifecycleConfigurationInput{Bucket: &b})
	wantErr(t, err, "NoSuchLifecycleConfiguration", http.StatusNotFound)
	date := time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC)
	rules := []types.LifecycleRule{
		{ID: aws.String("logs"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(30)}},
		{ID: aws.String("tagged"), Status: types.ExpirationStatusDisabled,
			Filter:     &types.LifecycleRuleFilter{Tag: &types.Tag{Key: aws.String("class"), Value: aws.String("tmp")}},
			Expiration: &types.LifecycleExpiration{Date: &date}},
		{ID: aws.String("and"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{
			Prefix: aws.String("big/"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}},
			ObjectSizeGreaterThan: aws.Int64(1024), ObjectSizeLessThan: aws.Int64(1 << 30)}},
			NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(7), NewerNoncurrentVersions: aws.Int32(3)}},
		{ID: aws.String("markers"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Expiration: &types.LifecycleExpiration{ExpiredObjectDeleteMarker: aws.Bool(true)}},
		{ID: aws.String("uploads"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(2)}},
	}
	_, err = f.sdk.PutBucketLifecycleConfiguration(ctx(t), &s3.PutBucketLifecycleConfigurationInput{Bucket: &b,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.sdk.GetBucketLifecycleConfiguration(ctx(t), &s3.GetBucketLifecycleConfigurationInput{Bucket: &b})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Rules) != len(rules) {
		t.Fatalf("%d rules back, put %d", len(out.Rules), len(rules))
	}
	got := map[string]types.LifecycleRule{}
	for _, r := range out.Rules {
		got[aws.ToString(r.ID)] = r
	}
	if r := got["logs"]; r.Status != types.ExpirationStatusEnabled || aws.ToString(r.Filter.Prefix) != "logs/" || aws.ToInt32(r.Expiration.Days) != 30 {
		t.Errorf("logs: %+v", r)
	}
	if r := got["tagged"]; r.Status != types.ExpirationStatusDisabled || aws.ToString(r.Filter.Tag.Key) != "class" || !aws.ToTime(r.Expiration.Date).Equal(date) {
		t.Errorf("tagged: %+v", r)
	}
	if r := got["and"]; r.Filter.And == nil || aws.ToString(r.Filter.And.Prefix) != "big/" || len(r.Filter.And.Tags) != 2 ||
		aws.ToInt64(r.Filter.And.ObjectSizeGreaterThan) != 1024 || aws.ToInt64(r.Filter.And.ObjectSizeLessThan) != 1<<30 ||
		aws.ToInt32(r.NoncurrentVersionExpiration.NoncurrentDays) != 7 || aws.ToInt32(r.NoncurrentVersionExpiration.NewerNoncurrentVersions) != 3 {
		t.Errorf("and: %+v", r)
	}
	if r := got["markers"]; r.Expiration == nil || !aws.ToBool(r.Expiration.ExpiredObjectDeleteMarker) {
		t.Errorf("markers: %+v", r)
	}
	if r := got["uploads"]; r.AbortIncompleteMultipartUpload == nil || aws.ToInt32(r.AbortIncompleteMultipartUpload.DaysAfterInitiation) != 2 {
		t.Errorf("uploads: %+v", r)
	}
	for range 2 {
		if _, err := f.sdk.DeleteBucketLifecycle(ctx(t), &s3.DeleteBucketLifecycleInput{Bucket: &b}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.sdk.GetBucketLifecycleConfiguration(ctx(t), &s3.GetBucketLifecycleConfigurationInput{Bucket: &b})
	wantErr(t, err, "NoSuchLifecycleConfiguration", http.StatusNotFound)
	_, err = f.sdk.GetBucketLifecycleConfiguration(ctx(t), &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("no-such-bucket")})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
	_, err = f.sdk.PutBucketLifecycleConfiguration(ctx(t), &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("no-such-bucket"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules[:1]}})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
}

// TestIntegrationLifecycleMinio: minio-go sets, reads and removes a
// configuration; a rule without an id gets one.
func TestIntegrationLifecycleMinio(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	cfg := lifecycle.NewConfiguration()
	cfg.Rules = []lifecycle.Rule{
		{ID: "expire-tmp", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "tmp/"}, Expiration: lifecycle.Expiration{Days: 1}},
		{Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "old/"},
			NoncurrentVersionExpiration: lifecycle.NoncurrentVersionExpiration{NoncurrentDays: 3}},
	}
	if err := f.mc.SetBucketLifecycle(ctx(t), b, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := f.mc.GetBucketLifecycle(ctx(t), b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rules) != 2 || got.Rules[0].ID != "expire-tmp" || got.Rules[0].Expiration.Days != 1 || got.Rules[0].RuleFilter.Prefix != "tmp/" ||
		got.Rules[1].ID == "" || got.Rules[1].NoncurrentVersionExpiration.NoncurrentDays != 3 {
		t.Fatalf("minio-go read back %+v", got.Rules)
	}
	dup := lifecycle.NewConfiguration()
	dup.Rules = []lifecycle.Rule{cfg.Rules[0], cfg.Rules[0]}
	wantMinioErr(t, f.mc.SetBucketLifecycle(ctx(t), b, dup), "InvalidArgument", http.StatusBadRequest)
	if err := f.mc.SetBucketLifecycle(ctx(t), b, lifecycle.NewConfiguration()); err != nil { // empty: removes it
		t.Fatal(err)
	}
	_, err = f.mc.GetBucketLifecycle(ctx(t), b)
	wantMinioErr(t, err, "NoSuchLifecycleConfiguration", http.StatusNotFound)
}

// lcDoc wraps rules in a LifecycleConfiguration document.
func lcDoc(rules ...string) string {
	return `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + strings.Join(rules, "") + `</LifecycleConfiguration>`
}

// lcRule is a rule with an id, a status and the inner elements given.
func lcRule(id, inner string) string {
	return `<Rule><ID>` + id + `</ID><Status>Enabled</Status>` + inner + `</Rule>`
}

const days1 = `<Expiration><Days>1</Days></Expiration>`

// TestIntegrationLifecycleValidation: every documented refusal, with its
// code, status and message; a refused configuration changes nothing.
func TestIntegrationLifecycleValidation(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	good := lcDoc(lcRule("keep", `<Filter><Prefix>k/</Prefix></Filter>`+days1))
	put := func(doc string, header http.Header) (*http.Response, []byte) {
		h := http.Header{"Content-Md5": {contentMD5([]byte(doc))}}
		for k, v := range header {
			h[k] = v
		}
		return f.do(t, rawReq{method: http.MethodPut, bucket: b, query: url.Values{"lifecycle": {""}}, body: []byte(doc), header: h})
	}
	if resp, body := put(good, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("good configuration: %d %s", resp.StatusCode, body)
	}
	var many []string
	for i := range 1001 {
		many = append(many, lcRule(fmt.Sprint("r", i), days1))
	}
	tests := []struct {
		name, doc string
		header    http.Header
		code      string
		status    int
		msg       string // substring of the message
	}{
		{"id over 255", lcDoc(lcRule(strings.Repeat("i", 256), days1)), nil, "InvalidArgument", 400, "ID length should not exceed allowed limit of 255"},
		{"duplicate ids", lcDoc(lcRule("a", days1), lcRule("a", days1)), nil, "InvalidArgument", 400, "Rule ID must be unique"},
		{"days 0", lcDoc(lcRule("a", `<Expiration><Days>0</Days></Expiration>`)), nil, "InvalidArgument", 400, "'Days' for Expiration action must be a positive integer"},
		{"days negative", lcDoc(lcRule("a", `<Expiration><Days>-3</Days></Expiration>`)), nil, "InvalidArgument", 400, "must be a positive integer"},
		{"days not a number", lcDoc(lcRule("a", `<Expiration><Days>x</Days></Expiration>`)), nil, "MalformedXML", 400, ""},
		{"date not midnight", lcDoc(lcRule("a", `<Expiration><Date>2031-01-01T01:00:00Z</Date></Expiration>`)), nil, "InvalidArgument", 400, "'Date' must be at midnight GMT"},
		{"date not iso", lcDoc(lcRule("a", `<Expiration><Date>next tuesday</Date></Expiration>`)), nil, "InvalidArgument", 400, "ISO 8601"},
		{"days and date", lcDoc(lcRule("a", `<Expiration><Days>1</Days><Date>2031-01-01T00:00:00Z</Date></Expiration>`)), nil, "MalformedXML", 400, ""},
		{"marker with days", lcDoc(lcRule("a", `<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>`)), nil, "MalformedXML", 400, ""},
		{"marker with tag", lcDoc(lcRule("a", `<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>`)), nil, "MalformedXML", 400, "ExpiredObjectDeleteMarker"},
		{"no rules", lcDoc(), nil, "MalformedXML", 400, ""},
		{"status lower case", lcDoc(`<Rule><ID>a</ID><Status>enabled</Status>` + days1 + `</Rule>`), nil, "MalformedXML", 400, ""},
		{"no status", lcDoc(`<Rule><ID>a</ID>` + days1 + `</Rule>`), nil, "MalformedXML", 400, ""},
		{"no action", lcDoc(lcRule("a", `<Filter><Prefix>p</Prefix></Filter>`)), nil, "InvalidRequest", 400, "At least one action needs to be specified in a rule"},
		{"noncurrent days 0", lcDoc(lcRule("a", `<NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>`)), nil, "InvalidArgument", 400, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"},
		{"noncurrent without days", lcDoc(lcRule("a", `<NoncurrentVersionExpiration><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>`)), nil, "InvalidArgument", 400, "'NoncurrentDays'"},
		{"newer versions 0", lcDoc(lcRule("a", `<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>0</NewerNoncurrentVersions></NoncurrentVersionExpiration>`)), nil, "InvalidArgument", 400, "'NewerNoncurrentVersions'"},
		{"newer versions 101", lcDoc(lcRule("a", `<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>`)), nil, "InvalidArgument", 400, "at most 100"},
		{"abort days 0", lcDoc(lcRule("a", `<AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload>`)), nil, "InvalidArgument", 400, "'DaysAfterInitiation'"},
		{"abort with tags", lcDoc(lcRule("a", `<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>`)), nil, "InvalidRequest", 400, "AbortIncompleteMultipartUpload cannot be specified with Tags."},
		{"abort with size", lcDoc(lcRule("a", `<Filter><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>`)), nil, "InvalidRequest", 400, "AbortIncompleteMultipartUpload cannot be specified with Object Size."},
		{"two conditions without and", lcDoc(lcRule("a", `<Filter><Prefix>p</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>`+days1)), nil, "MalformedXML", 400, ""},
		{"prefix and filter", lcDoc(lcRule("a", `<Prefix>p</Prefix><Filter><Prefix>p</Prefix></Filter>`+days1)), nil, "MalformedXML", 400, ""},
		{"unknown element", lcDoc(lcRule("a", days1+`<Compression/>`)), nil, "MalformedXML", 400, ""},
		{"two expirations", lcDoc(lcRule("a", days1+days1)), nil, "MalformedXML", 400, ""},
		{"size less than 0", lcDoc(lcRule("a", `<Filter><ObjectSizeLessThan>0</ObjectSizeLessThan></Filter>`+days1)), nil, "InvalidRequest", 400, "'ObjectSizeLessThan' should be between 1 and"},
		{"size bounds crossed", lcDoc(lcRule("a", `<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter>`+days1)), nil, "InvalidRequest", 400, "must be less than"},
		{"aws: tag", lcDoc(lcRule("a", `<Filter><Tag><Key>aws:x</Key><Value>v</Value></Tag></Filter>`+days1)), nil, "InvalidTag", 400, "aws:"},
		{"1001 rules", lcDoc(many...), nil, "InvalidRequest", 400, "1000"},
		{"transition", lcDoc(lcRule("a", `<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>`)), nil, "InvalidStorageClass", 400, "GLACIER"},
		{"noncurrent transition", lcDoc(lcRule("a", `<NoncurrentVersionTransition><NoncurrentDays>30</NoncurrentDays><StorageClass>STANDARD_IA</StorageClass></NoncurrentVersionTransition>`)), nil, "InvalidStorageClass", 400, "STANDARD_IA"},
		{"transition to nonsense", lcDoc(lcRule("a", `<Transition><Days>30</Days><StorageClass>ICE</StorageClass></Transition>`)), nil, "InvalidStorageClass", 400, "not valid"},
		{"bad transition size header", good, http.Header{"X-Amz-Transition-Default-Minimum-Object-Size": {"tiny"}}, "InvalidArgument", 400, ""},
		{"expected owner", good, http.Header{"X-Amz-Expected-Bucket-Owner": {"123456789012"}}, "NotImplemented", 501, ""},
		{"not xml", "<LifecycleConfiguration><Rule>", nil, "MalformedXML", 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := put(tc.doc, tc.header)
			doc := wantXMLError(t, resp, body, tc.code, tc.status)
			if !strings.Contains(doc.Message, tc.msg) {
				t.Fatalf("message %q does not say %q", doc.Message, tc.msg)
			}
			out, err := f.sdk.GetBucketLifecycleConfiguration(ctx(t), &s3.GetBucketLifecycleConfigurationInput{Bucket: &b})
			if err != nil || len(out.Rules) != 1 || aws.ToString(out.Rules[0].ID) != "keep" {
				t.Fatalf("a refused configuration changed the stored one: %+v %v", out, err)
			}
		})
	}
	// Without a digest S3 refuses the body.
	resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, query: url.Values{"lifecycle": {""}}, body: []byte(good)})
	doc := wantXMLError(t, resp, body, "InvalidRequest", 400)
	if !strings.Contains(doc.Message, "Content-MD5") {
		t.Fatalf("missing digest: %q", doc.Message)
	}
	// Through the SDK: days of 0 and a transition.
	_, err := f.sdk.PutBucketLifecycleConfiguration(ctx(t), &s3.PutBucketLifecycleConfigurationInput{Bucket: &b,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{ID: aws.String("z"),
			Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(0)}}}}})
	wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
	_, err = f.sdk.PutBucketLifecycleConfiguration(ctx(t), &s3.PutBucketLifecycleConfigurationInput{Bucket: &b,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{ID: aws.String("z"),
			Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Transitions: []types.Transition{{Days: aws.Int32(30), StorageClass: types.TransitionStorageClassGlacier}}}}}})
	wantErr(t, err, "InvalidStorageClass", http.StatusBadRequest)
	// Lifecycle is a bucket subresource.
	resp, body = f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "obj", query: url.Values{"lifecycle": {""}}, body: []byte(good)})
	wantXMLError(t, resp, body, "NotImplemented", http.StatusNotImplemented)
	if f.exists(t, b, "obj") {
		t.Fatal("an object-level ?lifecycle stored an object")
	}
}

// TestIntegrationLifecycleRoundTripShapes: the legacy rule Prefix, an
// empty Filter and a rule without a Filter read back in their own shapes.
func TestIntegrationLifecycleRoundTripShapes(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	doc := lcDoc(lcRule("legacy", `<Prefix>old/</Prefix>`+days1), lcRule("empty", `<Filter></Filter>`+days1), lcRule("none", days1))
	resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, query: url.Values{"lifecycle": {""}}, body: []byte(doc),
		header: http.Header{"Content-Md5": {contentMD5([]byte(doc))}, "X-Amz-Transition-Default-Minimum-Object-Size": {"varies_by_storage_class"}}})
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Transition-Default-Minimum-Object-Size") != "varies_by_storage_class" {
		t.Fatalf("put: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = f.do(t, rawReq{method: http.MethodGet, bucket: b, query: url.Values{"lifecycle": {""}}})
	if resp.StatusCode != 200 {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	var got struct {
		Rules []struct {
			ID     string
			Prefix *string
			Filter *struct {
				Prefix *string
			}
		} `xml:"Rule"`
	}
	if err := xml.Unmarshal(body, &got); err != nil || len(got.Rules) != 3 {
		t.Fatalf("%v: %s", err, body)
	}
	if r := got.Rules[0]; r.Prefix == nil || *r.Prefix != "old/" || r.Filter != nil {
		t.Errorf("legacy rule read back as %s", body)
	}
	if r := got.Rules[1]; r.Prefix != nil || r.Filter == nil {
		t.Errorf("empty filter read back as %s", body)
	}
	if r := got.Rules[2]; r.Prefix != nil || r.Filter != nil {
		t.Errorf("filterless rule read back as %s", body)
	}
}

// TestIntegrationLifecycleExpirationHeader: PUT, HEAD and GET carry
// x-amz-expiration as S3 sends it for objects an Expiration rule matches
// (the rule id URL-encoded), and no other object does.
func TestIntegrationLifecycleExpirationHeader(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	_, err := f.sdk.PutBucketLifecycleConfiguration(ctx(t), &s3.PutBucketLifecycleConfigurationInput{Bucket: &b,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{
			{ID: aws.String("delete logs"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
				Expiration: &types.LifecycleExpiration{Days: aws.Int32(2)}},
			{ID: aws.String("later"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
				Expiration: &types.LifecycleExpiration{Days: aws.Int32(9)}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().UTC()
	put := f.put(t, b, "logs/a", []byte("x"))
	want := before.Add(48 * time.Hour).Truncate(24 * time.Hour).Add(24 * time.Hour) // next midnight after +2 days
	wantHeader := fmt.Sprintf(`expiry-date="%s", rule-id="delete%%20logs"`, want.Format(http.TimeFormat))
	if got := aws.ToString(put.Expiration); got != wantHeader && !midnightRace(before) {
		t.Fatalf("PUT x-amz-expiration %q, want %q", got, wantHeader)
	}
	head, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("logs/a")})
	if err != nil || aws.ToString(head.Expiration) != aws.ToString(put.Expiration) {
		t.Fatalf("HEAD x-amz-expiration %q, PUT said %q (%v)", aws.ToString(head.Expiration), aws.ToString(put.Expiration), err)
	}
	get, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("logs/a")})
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if aws.ToString(get.Expiration) != aws.ToString(put.Expiration) {
		t.Fatalf("GET x-amz-expiration %q", aws.ToString(get.Expiration))
	}
	other := f.put(t, b, "data/a", []byte("x"))
	if other.Expiration != nil {
		t.Fatalf("unmatched object has x-amz-expiration %q", aws.ToString(other.Expiration))
	}
	// minio-go reads the same header (and reports the rule id as sent,
	// URL-encoded).
	st, err := f.mc.StatObject(ctx(t), b, "logs/a", minio.StatObjectOptions{})
	if err != nil || !st.Expiration.Equal(want) && !midnightRace(before) || st.ExpirationRuleID != "delete%20logs" {
		t.Fatalf("minio-go: expiration %v rule %q (%v)", st.Expiration, st.ExpirationRuleID, err)
	}
}

// midnightRace: the PUT may have crossed midnight UTC after before was read.
func midnightRace(before time.Time) bool {
	return before.Truncate(24*time.Hour) != time.Now().UTC().Truncate(24*time.Hour)
}

// TestIntegrationLifecycleRealExpiry: with 1-second lifecycle days an
// object under a 1-day rule really expires through the engine's worker,
// and one outside the rule stays.
func TestIntegrationLifecycleRealExpiry(t *testing.T) {
	f := newFixture(t, s3test.WithEngineConfig(func(c *storage.EngineConfig) { c.LifecycleDay = time.Second }))
	b := f.bucket(t)
	_, err := f.sdk.PutBucketLifecycleConfiguration(ctx(t), &s3.PutBucketLifecycleConfigurationInput{Bucket: &b,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{
			{ID: aws.String("tmp"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
				Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	put := f.put(t, b, "tmp/a", []byte("short-lived"))
	f.put(t, b, "keep/a", []byte("stays"))
	if put.Expiration == nil {
		t.Fatal("no x-amz-expiration on PUT")
	}
	wctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	f.Engine.RunBackground(wctx)
	deadline := time.Now().Add(30 * time.Second)
	for f.exists(t, b, "tmp/a") {
		if time.Now().After(deadline) {
			t.Fatal("tmp/a did not expire within 30 s of 1-second days")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !f.exists(t, b, "keep/a") {
		t.Fatal("object outside the rule expired")
	}
}
