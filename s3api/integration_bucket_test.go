package s3api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

func TestIntegrationCreateBucket(t *testing.T) {
	f := newFixture(t)
	t.Run("invalid names", func(t *testing.T) {
		for _, name := range []string{
			"ab", strings.Repeat("a", 64), "Upper", "under_score", "-lead", "trail-", ".lead", "trail.",
			"dou..ble", "dot.-dash", "dash-.dot", "192.168.10.1", "xn--punycode", "sthree-x", "name-s3alias",
		} {
			t.Run(name, func(t *testing.T) {
				_, err := f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name)})
				wantErr(t, err, "InvalidBucketName", http.StatusBadRequest)
			})
		}
	})
	t.Run("valid edge names", func(t *testing.T) {
		for _, name := range []string{"abc", strings.Repeat("b", 63), "a.b-c.d", "9digits9"} {
			if _, err := f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
				t.Fatalf("CreateBucket %q: %v", name, err)
			}
			if _, err := f.sdk.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(name)}); err != nil {
				t.Fatalf("HeadBucket %q: %v", name, err)
			}
		}
	})
	// Re-creating a bucket one owns: see TestIntegrationCreateOwnedBucket.
	t.Run("location constraint", func(t *testing.T) {
		_, err := f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("loc-eu"),
			CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1}})
		wantErr(t, err, "InvalidLocationConstraint", http.StatusBadRequest)
		if _, err := f.sdk.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("loc-eu")}); errStatus(err) != http.StatusNotFound {
			t.Fatalf("refused bucket exists: %v", err)
		}
		_, err = f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("loc-us"),
			CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: "us-east-1"}})
		if err != nil {
			t.Fatalf("matching constraint: %v", err)
		}
		// minio-go sends the constraint for any region it is given.
		if err := f.mc.MakeBucket(ctx(t), "loc-minio", minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
			t.Fatalf("minio MakeBucket: %v", err)
		}
	})
	t.Run("malformed configuration", func(t *testing.T) {
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: "bad-config", body: []byte("<CreateBucketConfiguration><Loc")})
		wantXMLError(t, resp, body, "MalformedXML", http.StatusBadRequest)
	})
}

func TestIntegrationHeadBucket(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	out, err := f.sdk.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: &b})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.BucketRegion); got != "us-east-1" {
		t.Fatalf("x-amz-bucket-region = %q", got)
	}
	_, err = f.sdk.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("missing-bucket")})
	// HEAD errors have no body: the SDK names them after the status.
	wantErr(t, err, "NotFound", http.StatusNotFound)
	ok, err := f.mc.BucketExists(ctx(t), "missing-bucket")
	if err != nil || ok {
		t.Fatalf("minio BucketExists(missing) = %v, %v", ok, err)
	}
	if ok, err := f.mc.BucketExists(ctx(t), b); err != nil || !ok {
		t.Fatalf("minio BucketExists = %v, %v", ok, err)
	}
	resp, body := f.do(t, rawReq{method: http.MethodHead, bucket: "missing-bucket"})
	if resp.StatusCode != http.StatusNotFound || len(body) != 0 || resp.Header.Get("X-Amz-Request-Id") == "" {
		t.Fatalf("raw HEAD missing bucket: %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

func TestIntegrationDeleteBucket(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "obj", []byte("x"))
	_, err := f.sdk.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: &b})
	wantErr(t, err, "BucketNotEmpty", http.StatusConflict)

	if _, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("obj")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sdk.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: &b}); err != nil {
		t.Fatalf("DeleteBucket empty: %v", err)
	}
	_, err = f.sdk.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: &b})
	wantErr(t, err, "NotFound", http.StatusNotFound)
	_, err = f.sdk.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: &b})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
	_, err = f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("k"), Body: strings.NewReader("x")})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)

	t.Run("versioned bucket with only delete markers is not empty", func(t *testing.T) {
		b := f.bucket(t)
		enableVersioning(t, f, b)
		f.put(t, b, "k", []byte("v1"))
		if _, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k")}); err != nil {
			t.Fatal(err)
		}
		_, err := f.sdk.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: &b})
		wantErr(t, err, "BucketNotEmpty", http.StatusConflict)
	})
	t.Run("recreate after delete", func(t *testing.T) {
		b := f.bucket(t)
		f.put(t, b, "k", []byte("v1"))
		if _, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k")}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sdk.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: &b}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &b}); err != nil {
			t.Fatalf("recreate: %v", err)
		}
		out, err := f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b})
		if err != nil || len(out.Contents) != 0 {
			t.Fatalf("recreated bucket lists %d objects, err %v", len(out.Contents), err)
		}
	})
}

func TestIntegrationListBuckets(t *testing.T) {
	f := newFixture(t)
	names := []string{"zeta-bucket", "alpha-bucket", "mid.bucket"}
	for _, n := range names {
		if _, err := f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := f.sdk.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range out.Buckets {
		got = append(got, aws.ToString(b.Name))
		if b.CreationDate == nil || b.CreationDate.IsZero() {
			t.Fatalf("bucket %s without CreationDate", aws.ToString(b.Name))
		}
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("ListBuckets = %v, want %v", got, want)
	}
	if out.Owner == nil || aws.ToString(out.Owner.ID) == "" {
		t.Fatalf("ListBuckets without Owner")
	}
	mb, err := f.mc.ListBuckets(ctx(t))
	if err != nil || len(mb) != len(names) {
		t.Fatalf("minio ListBuckets = %v, %v", mb, err)
	}
}

func TestIntegrationGetBucketLocation(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	out, err := f.sdk.GetBucketLocation(ctx(t), &s3.GetBucketLocationInput{Bucket: &b})
	if err != nil {
		t.Fatal(err)
	}
	if out.LocationConstraint != "" {
		t.Fatalf("us-east-1 must be reported as an empty constraint, got %q", out.LocationConstraint)
	}
	loc, err := f.mc.GetBucketLocation(ctx(t), b)
	if err != nil || loc != "us-east-1" {
		t.Fatalf("minio GetBucketLocation = %q, %v", loc, err)
	}
	_, err = f.sdk.GetBucketLocation(ctx(t), &s3.GetBucketLocationInput{Bucket: aws.String("missing-bucket")})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
}

func TestIntegrationNotImplemented(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "k", []byte("x"))
	_, err := f.sdk.GetBucketWebsite(ctx(t), &s3.GetBucketWebsiteInput{Bucket: &b})
	wantErr(t, err, "NotImplemented", http.StatusNotImplemented)
	_, err = f.sdk.PutBucketReplication(ctx(t), &s3.PutBucketReplicationInput{Bucket: &b, ReplicationConfiguration: &types.ReplicationConfiguration{
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Rules: []types.ReplicationRule{{Status: types.ReplicationRuleStatusEnabled,
			Destination: &types.Destination{Bucket: aws.String("arn:aws:s3:::other")}}}}})
	wantErr(t, err, "NotImplemented", http.StatusNotImplemented)
	_, err = f.sdk.GetObjectAcl(ctx(t), &s3.GetObjectAclInput{Bucket: &b, Key: aws.String("k")})
	if err != nil {
		t.Fatalf("GetObjectAcl: %v", err)
	}
	_, err = f.sdk.GetBucketWebsite(ctx(t), &s3.GetBucketWebsiteInput{Bucket: &b})
	wantErr(t, err, "NotImplemented", http.StatusNotImplemented)
	_, err = f.sdk.GetBucketWebsite(ctx(t), &s3.GetBucketWebsiteInput{Bucket: &b})
	wantErr(t, err, "NotImplemented", http.StatusNotImplemented)
	_, err = f.sdk.GetBucketLogging(ctx(t), &s3.GetBucketLoggingInput{Bucket: &b})
	wantErr(t, err, "NotImplemented", http.StatusNotImplemented)
	// The raw answer names the subresource and is never a fake success.
	resp, body := f.do(t, rawReq{method: http.MethodGet, bucket: b, query: url.Values{"website": {""}}})
	doc := wantXMLError(t, resp, body, "NotImplemented", http.StatusNotImplemented)
	if !strings.Contains(doc.Message, "website") {
		t.Fatalf("message does not name the subresource: %q", doc.Message)
	}
	resp, body = f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "k", query: url.Values{"torrent": {""}}, body: []byte("y")})
	wantXMLError(t, resp, body, "NotImplemented", http.StatusNotImplemented)
	// A subresource PUT must not have replaced the object.
	if got := f.get(t, b, "k"); string(got) != "x" {
		t.Fatalf("object changed by an unimplemented request: %q", got)
	}
}

func enableVersioning(t *testing.T, f *fixture, b string) {
	t.Helper()
	setVersioning(t, f, b, types.BucketVersioningStatusEnabled)
}

func setVersioning(t *testing.T, f *fixture, b string, st types.BucketVersioningStatus) {
	t.Helper()
	_, err := f.sdk.PutBucketVersioning(ctx(t), &s3.PutBucketVersioningInput{Bucket: &b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: st}})
	if err != nil {
		t.Fatalf("PutBucketVersioning %s: %v", st, err)
	}
}
