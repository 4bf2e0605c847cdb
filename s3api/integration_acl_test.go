package s3api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/iam"
)

// aclBucket creates a bucket whose ownership allows ACLs.
func (f *fixture) aclBucket(t *testing.T, ownership types.ObjectOwnership) string {
	t.Helper()
	b := f.bucket(t)
	if _, err := f.sdk.PutBucketOwnershipControls(ctx(t), &s3.PutBucketOwnershipControlsInput{Bucket: &b,
		OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: ownership}}}}); err != nil {
		t.Fatalf("PutBucketOwnershipControls: %v", err)
	}
	return b
}

// anonGet is a plain unsigned GET (as curl sends it).
func (f *fixture) anonGet(t *testing.T, path string) int {
	t.Helper()
	resp, err := http.Get(f.PlainURL + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestOwnershipControls(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	_, err := f.sdk.GetBucketOwnershipControls(ctx(t), &s3.GetBucketOwnershipControlsInput{Bucket: &b})
	wantErr(t, err, "OwnershipControlsNotFoundError", http.StatusNotFound)
	// ACLs are disabled by default.
	_, err = f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("k"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
	wantErr(t, err, "AccessControlListNotSupported", http.StatusBadRequest)
	_, err = f.sdk.PutBucketAcl(ctx(t), &s3.PutBucketAclInput{Bucket: &b, ACL: types.BucketCannedACLPublicRead})
	wantErr(t, err, "AccessControlListNotSupported", http.StatusBadRequest)
	if _, err := f.sdk.PutBucketAcl(ctx(t), &s3.PutBucketAclInput{Bucket: &b, ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatalf("the owner's full control is allowed with ACLs disabled: %v", err)
	}

	f.aclBucket(t, types.ObjectOwnershipObjectWriter)
	b = f.aclBucket(t, types.ObjectOwnershipBucketOwnerPreferred)
	got, err := f.sdk.GetBucketOwnershipControls(ctx(t), &s3.GetBucketOwnershipControlsInput{Bucket: &b})
	if err != nil || got.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipBucketOwnerPreferred {
		t.Fatalf("GetBucketOwnershipControls = %+v, %v", got, err)
	}
	if _, err := f.sdk.PutBucketAcl(ctx(t), &s3.PutBucketAclInput{Bucket: &b, ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	// Disabling ACLs while the bucket ACL grants others is refused.
	_, err = f.sdk.PutBucketOwnershipControls(ctx(t), &s3.PutBucketOwnershipControlsInput{Bucket: &b,
		OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}})
	wantErr(t, err, "InvalidBucketAclWithObjectOwnership", http.StatusBadRequest)
	if _, err := f.sdk.DeleteBucketOwnershipControls(ctx(t), &s3.DeleteBucketOwnershipControlsInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	// Back to the default: the public bucket ACL no longer counts.
	if st := f.anonGet(t, "/"+b+"?list-type=2"); st != http.StatusForbidden {
		t.Fatalf("anonymous list with ACLs disabled: %d", st)
	}

	// CreateBucket with ownership and an ACL in one request.
	resp, body := f.do(t, rawReq{method: "PUT", bucket: "acl-created", header: http.Header{
		"X-Amz-Object-Ownership": {"ObjectWriter"}, "X-Amz-Acl": {"public-read"}}})
	if resp.StatusCode != 200 {
		t.Fatalf("CreateBucket with ObjectWriter and public-read: %d %s", resp.StatusCode, body)
	}
	if st := f.anonGet(t, "/acl-created"); st != http.StatusOK {
		t.Fatalf("anonymous list of a public-read bucket: %d", st)
	}
	resp, body = f.do(t, rawReq{method: "PUT", bucket: "acl-refused", header: http.Header{"X-Amz-Acl": {"public-read"}}})
	wantXMLError(t, resp, body, "InvalidBucketAclWithObjectOwnership", http.StatusBadRequest)
	if _, err := f.sdk.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("acl-refused")}); err == nil {
		t.Fatal("a refused CreateBucket made the bucket")
	}
}

func TestObjectACLs(t *testing.T) {
	f := newFixture(t)
	b := f.aclBucket(t, types.ObjectOwnershipObjectWriter)
	canon := f.IAM.Account().CanonicalID
	if _, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("pub"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	f.put(t, b, "priv", []byte("x"))
	if st := f.anonGet(t, "/"+b+"/pub"); st != http.StatusOK {
		t.Fatalf("anonymous GET of a public-read object: %d", st)
	}
	if st := f.anonGet(t, "/"+b+"/priv"); st != http.StatusForbidden {
		t.Fatalf("anonymous GET of a private object: %d", st)
	}
	acl, err := f.sdk.GetObjectAcl(ctx(t), &s3.GetObjectAclInput{Bucket: &b, Key: aws.String("pub")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(acl.Owner.ID) != canon || len(acl.Grants) != 2 || aws.ToString(acl.Grants[1].Grantee.URI) != "http://acs.amazonaws.com/groups/global/AllUsers" ||
		acl.Grants[1].Permission != types.PermissionRead {
		t.Fatalf("GetObjectAcl: owner %v grants %+v", aws.ToString(acl.Owner.ID), acl.Grants)
	}
	// The ACL stays with the object: a copy is private.
	if _, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy"), CopySource: aws.String(b + "/pub")}); err != nil {
		t.Fatal(err)
	}
	if st := f.anonGet(t, "/"+b+"/copy"); st != http.StatusForbidden {
		t.Fatalf("a copy kept the public ACL: %d", st)
	}
	// PutObjectAcl with a document, then back to private by header.
	if _, err := f.sdk.PutObjectAcl(ctx(t), &s3.PutObjectAclInput{Bucket: &b, Key: aws.String("priv"), AccessControlPolicy: &types.AccessControlPolicy{
		Owner: &types.Owner{ID: &canon},
		Grants: []types.Grant{
			{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: &canon}, Permission: types.PermissionFullControl},
			{Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String("http://acs.amazonaws.com/groups/global/AllUsers")}, Permission: types.PermissionRead},
		}}}); err != nil {
		t.Fatalf("PutObjectAcl document: %v", err)
	}
	if st := f.anonGet(t, "/"+b+"/priv"); st != http.StatusOK {
		t.Fatalf("after PutObjectAcl: %d", st)
	}
	if _, err := f.sdk.PutObjectAcl(ctx(t), &s3.PutObjectAclInput{Bucket: &b, Key: aws.String("priv"), ACL: types.ObjectCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	if st := f.anonGet(t, "/"+b+"/priv"); st != http.StatusForbidden {
		t.Fatalf("after PutObjectAcl private: %d", st)
	}
	_, err = f.sdk.PutObjectAcl(ctx(t), &s3.PutObjectAclInput{Bucket: &b, Key: aws.String("priv"), AccessControlPolicy: &types.AccessControlPolicy{
		Owner: &types.Owner{ID: aws.String("someone-else")}, Grants: []types.Grant{}}})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)

	// authenticated-read: any signed caller, not anonymous.
	if _, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("auth"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLAuthenticatedRead}); err != nil {
		t.Fatal(err)
	}
	nobody := f.sdkAs(t, f.newUser(t, "nobody"))
	out, err := nobody.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("auth")})
	if err != nil {
		t.Fatalf("authenticated-read by a user without policies: %v", err)
	}
	out.Body.Close()
	if st := f.anonGet(t, "/"+b+"/auth"); st != http.StatusForbidden {
		t.Fatalf("anonymous GET of authenticated-read: %d", st)
	}
	_, err = nobody.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("priv")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
}

func TestACLGrantsByEmail(t *testing.T) {
	f := newFixture(t)
	b := f.aclBucket(t, types.ObjectOwnershipBucketOwnerPreferred)
	bob := f.newUser(t, "bob")
	if err := f.IAM.TagEntity(context.Background(), iam.UserEntity("bob"), []iam.Tag{{Key: "email", Value: "bob@example.com"}}); err != nil {
		t.Fatal(err)
	}
	f.newUser(t, "carol")
	resp, body := f.do(t, rawReq{method: "PUT", bucket: b, key: "for-bob", body: []byte("x"),
		header: http.Header{"X-Amz-Grant-Read": {`emailAddress="Bob@Example.com"`}}})
	if resp.StatusCode != 200 {
		t.Fatalf("PUT with an e-mail grant: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, rawReq{method: "GET", bucket: b, key: "for-bob"}.as(bob))
	if resp.StatusCode != 200 || string(body) != "x" {
		t.Fatalf("bob reads his grant: %d %s", resp.StatusCode, body)
	}
	carol := f.newUser(t, "carol2")
	resp, body = f.do(t, rawReq{method: "GET", bucket: b, key: "for-bob"}.as(carol))
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	resp, body = f.do(t, rawReq{method: "PUT", bucket: b, key: "nobody", body: []byte("x"),
		header: http.Header{"X-Amz-Grant-Read": {`emailAddress="nobody@example.com"`}}})
	wantXMLError(t, resp, body, "UnresolvableGrantByEmailAddress", http.StatusBadRequest)
	if f.exists(t, b, "nobody") {
		t.Fatal("a refused PUT stored the object")
	}
}

func TestBucketACLs(t *testing.T) {
	f := newFixture(t)
	b := f.aclBucket(t, types.ObjectOwnershipObjectWriter)
	f.put(t, b, "k", []byte("x"))
	if st := f.anonGet(t, "/"+b); st != http.StatusForbidden {
		t.Fatalf("anonymous list of a private bucket: %d", st)
	}
	if _, err := f.sdk.PutBucketAcl(ctx(t), &s3.PutBucketAclInput{Bucket: &b, ACL: types.BucketCannedACLPublicReadWrite}); err != nil {
		t.Fatal(err)
	}
	if st := f.anonGet(t, "/"+b); st != http.StatusOK {
		t.Fatalf("anonymous list of a public-read-write bucket: %d", st)
	}
	resp, body := f.do(t, rawReq{method: "PUT", bucket: b, key: "anon-upload", unsign: true, body: []byte("y")})
	if resp.StatusCode != 200 {
		t.Fatalf("anonymous PUT into public-read-write: %d %s", resp.StatusCode, body)
	}
	// The bucket's READ does not read objects: their own ACL decides.
	if st := f.anonGet(t, "/"+b+"/k"); st != http.StatusForbidden {
		t.Fatalf("anonymous GET of a private object in a public bucket: %d", st)
	}
	acl, err := f.sdk.GetBucketAcl(ctx(t), &s3.GetBucketAclInput{Bucket: &b})
	if err != nil || len(acl.Grants) != 3 || aws.ToString(acl.Owner.ID) != f.IAM.Account().CanonicalID {
		t.Fatalf("GetBucketAcl = %+v, %v", acl, err)
	}
	// Grants in an ACL document need known grantees.
	resp, body = f.do(t, rawReq{method: "PUT", bucket: b, query: url.Values{"acl": {""}}, body: []byte(
		`<AccessControlPolicy><Owner><ID>` + f.IAM.Account().CanonicalID + `</ID></Owner><AccessControlList><Grant>` +
			`<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` + strings.Repeat("ab", 32) +
			`</ID></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`)})
	wantXMLError(t, resp, body, "InvalidArgument", http.StatusBadRequest)
	resp, body = f.do(t, rawReq{method: "PUT", bucket: b, query: url.Values{"acl": {""}}, body: []byte(`<AccessControlPolicy><Owner>`)})
	wantXMLError(t, resp, body, "MalformedACLError", http.StatusBadRequest)
}

func TestPublicAccessBlockACLs(t *testing.T) {
	f := newFixture(t)
	b := f.aclBucket(t, types.ObjectOwnershipObjectWriter)
	if _, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("pub"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sdk.PutPublicAccessBlock(ctx(t), &s3.PutPublicAccessBlockInput{Bucket: &b,
		PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	if st := f.anonGet(t, "/"+b+"/pub"); st != http.StatusForbidden {
		t.Fatalf("IgnorePublicAcls: anonymous GET %d", st)
	}
	_, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("pub2"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	if f.exists(t, b, "pub2") {
		t.Fatal("BlockPublicAcls: the object was stored")
	}
	_, err = f.sdk.PutBucketAcl(ctx(t), &s3.PutBucketAclInput{Bucket: &b, ACL: types.BucketCannedACLPublicRead})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
}

// Owner fields show the account (its canonical id) in listings and ACLs.
func TestOwnerFields(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "k", []byte("x"))
	canon, acct := f.IAM.Account().CanonicalID, f.IAM.Account().ID
	lb, err := f.sdk.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	if err != nil || aws.ToString(lb.Owner.ID) != canon || aws.ToString(lb.Owner.DisplayName) != acct {
		t.Fatalf("ListBuckets owner %+v, %v", lb.Owner, err)
	}
	lo, err := f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, FetchOwner: aws.Bool(true)})
	if err != nil || len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].Owner.ID) != canon {
		t.Fatalf("ListObjectsV2 owner: %v", err)
	}
	acl, err := f.sdk.GetBucketAcl(ctx(t), &s3.GetBucketAclInput{Bucket: &b})
	if err != nil || aws.ToString(acl.Owner.ID) != canon || len(acl.Grants) != 1 || aws.ToString(acl.Grants[0].Grantee.ID) != canon {
		t.Fatalf("GetBucketAcl = %+v, %v", acl, err)
	}
}
