package s3api_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/internal/clocktest"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
)

// The authorization matrix: every S3 operation FileSphere routes, sent by
// every kind of caller, each cell on a bucket of its own. A cell asserts
// the status (and the error code when there is a body) and, for a refused
// write, that nothing was stored.

// caller is one row kind of the matrix.
type caller int

const (
	anonymous caller = iota
	unknownKey
	wrongSecret
	inactiveKey
	disabledUser
	expiredSession
	noPolicy
	explicitDeny
	otherBucket
	byBucketPolicy
	anonPublicRead
	numCallers
)

var callerNames = [numCallers]string{"anonymous", "unknown key", "wrong secret", "inactive key", "disabled user",
	"expired session", "user with no policy", "user with an explicit deny", "user allowed on another bucket",
	"user allowed by the bucket policy", "anonymous on a public-read bucket"}

// refusal is how each caller that may not act is refused (the allowed
// callers have no entry).
var refusals = map[caller]struct {
	status int
	code   string
}{
	anonymous:      {403, "AccessDenied"},
	unknownKey:     {403, "InvalidAccessKeyId"},
	wrongSecret:    {403, "SignatureDoesNotMatch"},
	inactiveKey:    {403, "InvalidAccessKeyId"},
	disabledUser:   {403, "AccessDenied"},
	expiredSession: {400, "ExpiredToken"},
	noPolicy:       {403, "AccessDenied"},
	explicitDeny:   {403, "AccessDenied"},
	otherBucket:    {403, "AccessDenied"},
	byBucketPolicy: {403, "AccessDenied"},
	anonPublicRead: {403, "AccessDenied"},
}

// cellEnv is one cell's bucket: versioned, ACLs enabled (ObjectWriter, so
// ACL writes are observable), an object "obj" and a multipart upload "mp"
// with one part.
type cellEnv struct {
	bucket, version, upload, partETag string
}

// matrixOp is one operation's column.
type matrixOp struct {
	op s3api.Operation
	// req builds the request.
	req func(e cellEnv) rawReq
	// ok is the status when the caller may act.
	ok int
	// publicRead: a public-read bucket policy (s3:GetObject) allows it.
	publicRead bool
	// noBucket: no bucket policy covers it (account-wide operations and
	// CreateBucket), so the user allowed by the bucket policy may not.
	noBucket bool
	// stored reports whether the write took effect (nil for reads).
	stored func(t *testing.T, f *fixture, e cellEnv) bool
	// eachKey: refusals come per key in a 200 (DeleteObjects).
	eachKey bool
}

var newBucketSeq atomic.Int64

func matrixOps() []matrixOp {
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	get := func(query url.Values) func(cellEnv) rawReq {
		return func(e cellEnv) rawReq { return rawReq{method: "GET", bucket: e.bucket, query: query} }
	}
	hasCfg := func(f *fixture, b string, kind storage.ConfigKind) bool {
		_, err := f.Engine.GetBucketConfig(context.Background(), b, kind)
		var nf *storage.ConfigNotFoundError
		return !errors.As(err, &nf)
	}
	cfgStored := func(kind storage.ConfigKind) func(*testing.T, *fixture, cellEnv) bool {
		return func(t *testing.T, f *fixture, e cellEnv) bool { return hasCfg(f, e.bucket, kind) }
	}
	objectGone := func(t *testing.T, f *fixture, e cellEnv) bool { return !f.exists(t, e.bucket, "obj") }
	newObject := func(t *testing.T, f *fixture, e cellEnv) bool { return f.exists(t, e.bucket, "new") }
	uploadGone := func(t *testing.T, f *fixture, e cellEnv) bool {
		_, err := f.Engine.ListParts(context.Background(), e.bucket, "mp", e.upload, storage.ListPartsOptions{MaxParts: 10})
		return err != nil
	}
	partsChanged := func(t *testing.T, f *fixture, e cellEnv) bool {
		res, err := f.Engine.ListParts(context.Background(), e.bucket, "mp", e.upload, storage.ListPartsOptions{MaxParts: 10})
		return err != nil || len(res.Parts) != 1 || res.Parts[0].Number != 1 || res.Parts[0].ETag != e.partETag
	}
	policyDoc := func(f *fixture, b string) string {
		doc, err := f.Engine.GetBucketConfig(context.Background(), b, storage.ConfigPolicy)
		if err != nil {
			return ""
		}
		return string(doc)
	}
	objectACL := func(t *testing.T, f *fixture, e cellEnv) bool {
		info, err := f.Engine.HeadObject(context.Background(), e.bucket, "obj", storage.GetOptions{})
		return err != nil || info.Meta.ACL != nil
	}
	deleteBody := []byte(`<Delete><Object><Key>obj</Key></Object></Delete>`)
	return []matrixOp{
		{op: s3api.OpListBuckets, req: func(cellEnv) rawReq { return rawReq{method: "GET"} }, ok: 200, noBucket: true},
		// sha256("object data"): every cell's object.
		{op: s3api.OpFindBySHA256, ok: 200, noBucket: true, req: func(cellEnv) rawReq {
			return rawReq{method: "GET", query: q("x-filesphere-sha256", "ba1e3e29b7a5d8f4b2d3e8f4f0b1d1b31ac0c7c8f5a9ab9f1b7f3b7e7f6b4b61")}
		}},
		{op: s3api.OpCreateBucket, ok: 200, noBucket: true,
			req: func(e cellEnv) rawReq { return rawReq{method: "PUT", bucket: e.bucket + "-new"} },
			stored: func(t *testing.T, f *fixture, e cellEnv) bool {
				_, err := f.Engine.HeadBucket(context.Background(), e.bucket+"-new")
				return err == nil
			}},
		{op: s3api.OpHeadBucket, req: func(e cellEnv) rawReq { return rawReq{method: "HEAD", bucket: e.bucket} }, ok: 200},
		{op: s3api.OpDeleteBucket, req: func(e cellEnv) rawReq { return rawReq{method: "DELETE", bucket: e.bucket} }, ok: 409,
			stored: func(t *testing.T, f *fixture, e cellEnv) bool {
				_, err := f.Engine.HeadBucket(context.Background(), e.bucket)
				return err != nil
			}},
		{op: s3api.OpGetBucketLocation, req: get(q("location", "")), ok: 200},
		{op: s3api.OpGetBucketVersioning, req: get(q("versioning", "")), ok: 200},
		{op: s3api.OpPutBucketVersioning, ok: 200,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "PUT", bucket: e.bucket, query: q("versioning", ""),
					body: []byte(`<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`)}
			},
			stored: func(t *testing.T, f *fixture, e cellEnv) bool {
				st, _ := f.Engine.GetBucketVersioning(context.Background(), e.bucket)
				return st != storage.VersioningEnabled
			}},
		{op: s3api.OpGetBucketACL, req: get(q("acl", "")), ok: 200},
		{op: s3api.OpPutBucketACL, ok: 200, stored: cfgStored(storage.ConfigACL),
			req: func(e cellEnv) rawReq {
				return rawReq{method: "PUT", bucket: e.bucket, query: q("acl", ""), header: http.Header{"X-Amz-Acl": {"private"}}}
			}},
		{op: s3api.OpListObjectsV1, req: get(nil), ok: 200},
		{op: s3api.OpListObjectsV2, req: get(q("list-type", "2")), ok: 200},
		{op: s3api.OpListObjectVersions, req: get(q("versions", "")), ok: 200},
		{op: s3api.OpListMultipartUploads, req: get(q("uploads", "")), ok: 200},
		{op: s3api.OpDeleteObjects, ok: 200, eachKey: true, stored: objectGone,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "POST", bucket: e.bucket, query: q("delete", ""), body: deleteBody,
					header: http.Header{"Content-Md5": {contentMD5(deleteBody)}}}
			}},
		{op: s3api.OpPutObject, ok: 200, stored: newObject,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "PUT", bucket: e.bucket, key: "new", body: make([]byte, 200<<10)}
			}},
		{op: s3api.OpCopyObject, ok: 200, stored: newObject,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "PUT", bucket: e.bucket, key: "new", header: http.Header{"X-Amz-Copy-Source": {e.bucket + "/obj"}}}
			}},
		{op: s3api.OpGetObject, ok: 200, publicRead: true,
			req: func(e cellEnv) rawReq { return rawReq{method: "GET", bucket: e.bucket, key: "obj"} }},
		{op: s3api.OpGetObject, ok: 200, // with versionId: s3:GetObjectVersion, which public-read does not grant
			req: func(e cellEnv) rawReq {
				return rawReq{method: "GET", bucket: e.bucket, key: "obj", query: q("versionId", e.version)}
			}},
		{op: s3api.OpHeadObject, ok: 200, publicRead: true,
			req: func(e cellEnv) rawReq { return rawReq{method: "HEAD", bucket: e.bucket, key: "obj"} }},
		{op: s3api.OpDeleteObject, ok: 204, stored: objectGone,
			req: func(e cellEnv) rawReq { return rawReq{method: "DELETE", bucket: e.bucket, key: "obj"} }},
		{op: s3api.OpDeleteObject, ok: 204, stored: objectGone,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "DELETE", bucket: e.bucket, key: "obj", query: q("versionId", e.version)}
			}},
		{op: s3api.OpGetObjectACL, ok: 200,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "GET", bucket: e.bucket, key: "obj", query: q("acl", "")}
			}},
		{op: s3api.OpPutObjectACL, ok: 200, stored: objectACL,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "PUT", bucket: e.bucket, key: "obj", query: q("acl", ""), header: http.Header{"X-Amz-Acl": {"private"}}}
			}},
		{op: s3api.OpCreateMultipartUpload, ok: 200,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "POST", bucket: e.bucket, key: "new", query: q("uploads", "")}
			},
			stored: func(t *testing.T, f *fixture, e cellEnv) bool {
				res, _ := f.Engine.ListMultipartUploads(context.Background(), e.bucket, storage.ListUploadsOptions{Prefix: "new", MaxUploads: 10})
				return len(res.Uploads) > 0
			}},
		{op: s3api.OpUploadPart, ok: 200, stored: partsChanged,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "PUT", bucket: e.bucket, key: "mp", query: q("uploadId", e.upload, "partNumber", "2"), body: []byte("part two")}
			}},
		{op: s3api.OpUploadPartCopy, ok: 200, stored: partsChanged,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "PUT", bucket: e.bucket, key: "mp", query: q("uploadId", e.upload, "partNumber", "2"),
					header: http.Header{"X-Amz-Copy-Source": {e.bucket + "/obj"}}}
			}},
		{op: s3api.OpCompleteMultipartUpload, ok: 200,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "POST", bucket: e.bucket, key: "mp", query: q("uploadId", e.upload),
					body: []byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>` + e.partETag + `</ETag></Part></CompleteMultipartUpload>`)}
			},
			stored: func(t *testing.T, f *fixture, e cellEnv) bool { return f.exists(t, e.bucket, "mp") }},
		{op: s3api.OpAbortMultipartUpload, ok: 204, stored: uploadGone,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "DELETE", bucket: e.bucket, key: "mp", query: q("uploadId", e.upload)}
			}},
		{op: s3api.OpListParts, ok: 200,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "GET", bucket: e.bucket, key: "mp", query: q("uploadId", e.upload)}
			}},
		{op: s3api.OpGetBucketPolicy, ok: 200, req: get(q("policy", ""))},
		{op: s3api.OpPutBucketPolicy, ok: 204,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "PUT", bucket: e.bucket, query: q("policy", ""), body: []byte(`{"Version":"2012-10-17","Statement":[
					{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + e.bucket + `/nothing"}]}`)}
			},
			stored: func(t *testing.T, f *fixture, e cellEnv) bool {
				return strings.Contains(policyDoc(f, e.bucket), "nothing")
			}},
		{op: s3api.OpDeleteBucketPolicy, ok: 204,
			req: func(e cellEnv) rawReq { return rawReq{method: "DELETE", bucket: e.bucket, query: q("policy", "")} },
			stored: func(t *testing.T, f *fixture, e cellEnv) bool {
				return policyDoc(f, e.bucket) == "" && e.hadPolicy()
			}},
		{op: s3api.OpGetBucketPolicyStatus, ok: 200, req: get(q("policyStatus", ""))},
		{op: s3api.OpGetPublicAccessBlock, ok: 404, req: get(q("publicAccessBlock", ""))},
		{op: s3api.OpPutPublicAccessBlock, ok: 200, stored: cfgStored(storage.ConfigPublicAccessBlock),
			req: func(e cellEnv) rawReq {
				return rawReq{method: "PUT", bucket: e.bucket, query: q("publicAccessBlock", ""),
					body: []byte(`<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>`)}
			}},
		{op: s3api.OpDeletePublicAccessBlock, ok: 204,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "DELETE", bucket: e.bucket, query: q("publicAccessBlock", "")}
			}},
		{op: s3api.OpGetBucketOwnershipControls, ok: 200, req: get(q("ownershipControls", ""))},
		{op: s3api.OpPutBucketOwnershipControls, ok: 200,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "PUT", bucket: e.bucket, query: q("ownershipControls", ""),
					body: []byte(`<OwnershipControls><Rule><ObjectOwnership>BucketOwnerPreferred</ObjectOwnership></Rule></OwnershipControls>`)}
			},
			stored: func(t *testing.T, f *fixture, e cellEnv) bool {
				doc, _ := f.Engine.GetBucketConfig(context.Background(), e.bucket, storage.ConfigOwnership)
				return !bytes.Contains(doc, []byte("ObjectWriter"))
			}},
		{op: s3api.OpDeleteBucketOwnershipControls, ok: 204,
			stored: func(t *testing.T, f *fixture, e cellEnv) bool { return !hasCfg(f, e.bucket, storage.ConfigOwnership) },
			req: func(e cellEnv) rawReq {
				return rawReq{method: "DELETE", bucket: e.bucket, query: q("ownershipControls", "")}
			}},
		{op: s3api.OpNotImplemented, ok: 501, req: get(q("website", ""))},

		// Attributes, tags, object lock and CORS.
		{op: s3api.OpGetObjectAttributes, ok: 200,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "GET", bucket: e.bucket, key: "obj", query: q("attributes", ""),
					header: http.Header{"X-Amz-Object-Attributes": {"ETag"}}}
			}},
		{op: s3api.OpPutObjectTagging, ok: 200, stored: objectTagged,
			req: func(e cellEnv) rawReq { return withMD5("PUT", e.bucket, "obj", q("tagging", ""), tagSet) }},
		{op: s3api.OpGetObjectTagging, ok: 200,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "GET", bucket: e.bucket, key: "obj", query: q("tagging", "")}
			}},
		{op: s3api.OpDeleteObjectTagging, ok: 204,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "DELETE", bucket: e.bucket, key: "obj", query: q("tagging", "")}
			}},
		{op: s3api.OpPutBucketTagging, ok: 204, stored: cfgStored(storage.ConfigTagging),
			req: func(e cellEnv) rawReq { return withMD5("PUT", e.bucket, "", q("tagging", ""), tagSet) }},
		{op: s3api.OpGetBucketTagging, ok: 404, req: get(q("tagging", ""))}, // NoSuchTagSet: none set
		{op: s3api.OpDeleteBucketTagging, ok: 204,
			req: func(e cellEnv) rawReq { return rawReq{method: "DELETE", bucket: e.bucket, query: q("tagging", "")} }},
		{op: s3api.OpPutObjectLockConfig, ok: 200, stored: lockEnabled,
			req: func(e cellEnv) rawReq {
				return withMD5("PUT", e.bucket, "", q("object-lock", ""),
					`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`)
			}},
		{op: s3api.OpGetObjectLockConfig, ok: 404, req: get(q("object-lock", ""))}, // none configured
		// The cells' buckets have no object lock: an allowed caller gets
		// S3's InvalidRequest, a refused one AccessDenied first.
		{op: s3api.OpPutObjectRetention, ok: 400,
			req: func(e cellEnv) rawReq {
				return withMD5("PUT", e.bucket, "obj", q("retention", ""),
					`<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>`)
			}},
		{op: s3api.OpGetObjectRetention, ok: 400,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "GET", bucket: e.bucket, key: "obj", query: q("retention", "")}
			}},
		{op: s3api.OpPutObjectLegalHold, ok: 400,
			req: func(e cellEnv) rawReq {
				return withMD5("PUT", e.bucket, "obj", q("legal-hold", ""), `<LegalHold><Status>ON</Status></LegalHold>`)
			}},
		{op: s3api.OpGetObjectLegalHold, ok: 400,
			req: func(e cellEnv) rawReq {
				return rawReq{method: "GET", bucket: e.bucket, key: "obj", query: q("legal-hold", "")}
			}},
		{op: s3api.OpPutBucketCors, ok: 200, stored: cfgStored(storage.ConfigCORS),
			req: func(e cellEnv) rawReq {
				return withMD5("PUT", e.bucket, "", q("cors", ""),
					`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`)
			}},
		{op: s3api.OpGetBucketCors, ok: 404, req: get(q("cors", ""))}, // NoSuchCORSConfiguration
		{op: s3api.OpPutBucketLifecycle, ok: 200, stored: cfgStored(storage.ConfigLifecycle),
			req: func(e cellEnv) rawReq {
				return withMD5("PUT", e.bucket, "", q("lifecycle", ""), `<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>tmp/</Prefix></Filter>`+
					`<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`)
			}},
		{op: s3api.OpGetBucketLifecycle, ok: 404, req: get(q("lifecycle", ""))}, // NoSuchLifecycleConfiguration
		{op: s3api.OpDeleteBucketLifecycle, ok: 204,
			req: func(e cellEnv) rawReq { return rawReq{method: "DELETE", bucket: e.bucket, query: q("lifecycle", "")} }},
		{op: s3api.OpDeleteBucketCors, ok: 204,
			req: func(e cellEnv) rawReq { return rawReq{method: "DELETE", bucket: e.bucket, query: q("cors", "")} }},
		{op: s3api.OpPutBucketEncryption, ok: 200, stored: func(t *testing.T, f *fixture, e cellEnv) bool {
			_, err := f.Engine.GetBucketEncryption(context.Background(), e.bucket)
			return err == nil
		}, req: func(e cellEnv) rawReq {
			return withMD5("PUT", e.bucket, "", q("encryption", ""),
				`<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`)
		}},
		{op: s3api.OpGetBucketEncryption, ok: 404, req: get(q("encryption", ""))}, // none set
		{op: s3api.OpDeleteBucketEncryption, ok: 204,
			req: func(e cellEnv) rawReq { return rawReq{method: "DELETE", bucket: e.bucket, query: q("encryption", "")} }},
	}
}

// tagSet is a one-tag Tagging document.
const tagSet = `<Tagging><TagSet><Tag><Key>team</Key><Value>blue</Value></Tag></TagSet></Tagging>`

// withMD5 is a request with an XML body and its Content-MD5 (which the
// tagging, lock and CORS configuration requests require, as in S3).
func withMD5(method, bucket, key string, query url.Values, body string) rawReq {
	return rawReq{method: method, bucket: bucket, key: key, query: query, body: []byte(body),
		header: http.Header{"Content-Md5": {contentMD5([]byte(body))}}}
}

func objectTagged(t *testing.T, f *fixture, e cellEnv) bool {
	info, err := f.Engine.HeadObject(context.Background(), e.bucket, "obj", storage.GetOptions{})
	return err == nil && len(info.Tags) > 0
}

func lockEnabled(t *testing.T, f *fixture, e cellEnv) bool {
	_, err := f.Engine.GetObjectLockConfig(context.Background(), e.bucket)
	return err == nil
}

// hadPolicy: the cell's bucket was made with a policy (set by newCell).
func (e cellEnv) hadPolicy() bool { return strings.HasSuffix(e.bucket, "-p") }

// matrixCallers are the keys of the matrix's callers.
type matrixCallers struct {
	keys  [numCallers]key
	clock *clocktest.Clock
}

func setupCallers(t *testing.T, f *fixture, clk *clocktest.Clock) *matrixCallers {
	c := context.Background()
	m := &matrixCallers{clock: clk}
	all := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	m.keys[unknownKey] = key{id: "AKIAUNKNOWNUNKNOWN00", secret: "x"}
	wrong := f.newUser(t, "wrong", all)
	wrong.secret = "not-" + wrong.secret
	m.keys[wrongSecret] = wrong
	m.keys[inactiveKey] = f.newUser(t, "inactive", all)
	if err := f.IAM.UpdateAccessKey(c, "inactive", m.keys[inactiveKey].id, iam.KeyInactive); err != nil {
		t.Fatal(err)
	}
	m.keys[disabledUser] = f.newUser(t, "disabled", all)
	if err := f.IAM.SetUserEnabled(c, "disabled", false); err != nil {
		t.Fatal(err)
	}
	sessUser := f.newUser(t, "sessuser", all)
	cred, err := f.IAM.Credentials(c, sessUser.id)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := f.IAM.GetSessionToken(c, cred, 900)
	if err != nil {
		t.Fatal(err)
	}
	m.keys[expiredSession] = key{id: tc.AccessKeyID, secret: tc.SecretAccessKey, token: tc.SessionToken}
	clk.Advance(901 * time.Second)
	m.keys[noPolicy] = f.newUser(t, "nopolicy")
	m.keys[explicitDeny] = f.newUser(t, "denied", all, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`)
	m.keys[otherBucket] = f.newUser(t, "other", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*",
		"Resource":["arn:aws:s3:::other-bucket","arn:aws:s3:::other-bucket/*"]}]}`)
	m.keys[byBucketPolicy] = f.newUser(t, "bpuser")
	return m
}

// newCell makes the cell's bucket, with the policy the caller needs.
func newCell(t *testing.T, f *fixture, who caller) cellEnv {
	t.Helper()
	e := cellEnv{bucket: fmt.Sprintf("mx-%d", newBucketSeq.Add(1))}
	var pol string
	switch who {
	case byBucketPolicy:
		e.bucket += "-p"
		pol = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + f.IAM.Account().ID +
			`:user/bpuser"},"Action":"s3:*","Resource":["arn:aws:s3:::` + e.bucket + `","arn:aws:s3:::` + e.bucket + `/*"]}]}`
	case anonPublicRead:
		e.bucket += "-p"
		pol = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + e.bucket + `/*"}]}`
	}
	sdk := f.sdk
	must[*s3.CreateBucketOutput](t)(sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &e.bucket}))
	must[*s3.PutBucketVersioningOutput](t)(sdk.PutBucketVersioning(ctx(t), &s3.PutBucketVersioningInput{Bucket: &e.bucket,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}))
	must[*s3.PutBucketOwnershipControlsOutput](t)(sdk.PutBucketOwnershipControls(ctx(t), &s3.PutBucketOwnershipControlsInput{Bucket: &e.bucket,
		OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipObjectWriter}}}}))
	e.version = aws.ToString(f.put(t, e.bucket, "obj", []byte("object data")).VersionId)
	up := must[*s3.CreateMultipartUploadOutput](t)(sdk.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &e.bucket, Key: aws.String("mp")}))
	e.upload = aws.ToString(up.UploadId)
	part := must[*s3.UploadPartOutput](t)(sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &e.bucket, Key: aws.String("mp"),
		UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("part one")}))
	e.partETag = aws.ToString(part.ETag)
	if pol != "" {
		must[*s3.PutBucketPolicyOutput](t)(sdk.PutBucketPolicy(ctx(t), &s3.PutBucketPolicyInput{Bucket: &e.bucket, Policy: &pol}))
	}
	return e
}

// allowed reports whether who may run op.
func allowed(who caller, op matrixOp) bool {
	switch who {
	case byBucketPolicy:
		return !op.noBucket
	case anonPublicRead:
		return op.publicRead
	}
	return false
}

func TestAuthorizationMatrix(t *testing.T) {
	clk := clocktest.New(time.Now())
	f := newFixture(t, s3test.WithIAMConfig(func(c *iam.Config) { c.Now = clk.Now }))
	callers := setupCallers(t, f, clk)
	ops := matrixOps()

	// The matrix covers every routed S3 operation.
	covered := map[s3api.Operation]bool{}
	for _, op := range ops {
		covered[op.op] = true
	}
	for _, op := range s3api.RoutedOperations() {
		if _, admin := s3api.AdminAction(op); !admin && op != s3api.OpAdminUnknown && op != s3api.OpAuthzCheck && !covered[op] {
			t.Errorf("the matrix has no column for %s", op)
		}
	}
	cells := 0
	for who := range numCallers {
		for _, op := range ops {
			cells++
			name := fmt.Sprintf("%s/%s", strings.ReplaceAll(callerNames[who], " ", "_"), op.op)
			t.Run(name, func(t *testing.T) {
				e := newCell(t, f, who)
				r := op.req(e)
				switch who {
				case anonymous, anonPublicRead:
					r.unsign = true
				default:
					r = r.as(callers.keys[who])
				}
				resp, body := f.do(t, r)
				ok := allowed(who, op)
				if op.op == s3api.OpNotImplemented && signedIn(who) {
					ok = true // no permission is needed to be told "not implemented"
				}
				if ok {
					if resp.StatusCode != op.ok {
						t.Fatalf("allowed: got %d, want %d: %s", resp.StatusCode, op.ok, body)
					}
					return
				}
				want := refusals[who]
				if op.eachKey && (signedIn(who) || who == anonymous || who == anonPublicRead) {
					checkEachKeyRefused(t, resp, body)
				} else if r.method == "HEAD" {
					if resp.StatusCode != want.status {
						t.Fatalf("got %d, want %d", resp.StatusCode, want.status)
					}
				} else {
					wantXMLError(t, resp, body, want.code, want.status)
				}
				if op.stored != nil && op.stored(t, f, e) {
					t.Fatalf("a refused %s changed what is stored", op.op)
				}
			})
		}
	}
	t.Logf("%d cells", cells)
}

// signedIn: the caller authenticates (whatever it may then do).
func signedIn(who caller) bool {
	return who == noPolicy || who == explicitDeny || who == otherBucket || who == byBucketPolicy
}

// checkEachKeyRefused: DeleteObjects answers 200 with every key refused.
func checkEachKeyRefused(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	var out struct {
		Deleted []struct{ Key string }
		Error   []struct{ Key, Code string }
	}
	if resp.StatusCode != 200 || xml.Unmarshal(body, &out) != nil {
		t.Fatalf("DeleteObjects: %d %s", resp.StatusCode, body)
	}
	if len(out.Deleted) != 0 || len(out.Error) != 1 || out.Error[0].Code != "AccessDenied" {
		t.Fatalf("DeleteObjects: %s", body)
	}
}
