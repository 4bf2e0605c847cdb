package s3api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// ssecKey is an SSE-C key as the SDK takes it: base64 key and base64 MD5.
type ssecKey struct{ raw, b64, md5 string }

func newSSECKey(seed byte) ssecKey {
	raw := bytes.Repeat([]byte{seed}, 32)
	return ssecKey{raw: string(raw), b64: base64.StdEncoding.EncodeToString(raw), md5: contentMD5(raw)}
}

func (k ssecKey) header(prefix string) http.Header {
	return http.Header{prefix + "server-side-encryption-customer-algorithm": {"AES256"},
		prefix + "server-side-encryption-customer-key": {k.b64}, prefix + "server-side-encryption-customer-key-md5": {k.md5}}
}

// TestSSEPutGetWithTheSDK: aws-sdk-go-v2 writes SSE-S3, SSE-KMS (key id
// in its three forms, encryption context) and SSE-C objects; the answers
// carry the encryption headers as S3 sends them; reads in ranges across
// 64 KiB packages return the plaintext; the ETag is the plaintext's MD5
// only for SSE-S3; Content-MD5 and checksums are verified on the
// plaintext.
func TestSSEPutGetWithTheSDK(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	if _, err := f.KMS.CreateKey(ctx(t), "testkey-1"); err != nil {
		t.Fatal(err)
	}
	data := randBytes(200<<10+3, 1)
	k := newSSECKey(1)
	tests := []struct {
		name   string
		in     s3.PutObjectInput
		sse    types.ServerSideEncryption
		kmsKey string
	}{
		{"SSE-S3", s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAes256}, types.ServerSideEncryptionAes256, ""},
		{"SSE-KMS default key", s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAwsKms}, types.ServerSideEncryptionAwsKms, "filesphere-default"},
		{"SSE-KMS name", s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("testkey-1"),
			SSEKMSEncryptionContext: aws.String(base64.StdEncoding.EncodeToString([]byte(`{"team":"photos"}`)))}, types.ServerSideEncryptionAwsKms, "testkey-1"},
		{"SSE-KMS alias", s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("alias/testkey-1")}, types.ServerSideEncryptionAwsKms, "testkey-1"},
		{"SSE-KMS ARN", s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAwsKms,
			SSEKMSKeyId: aws.String("arn:aws:kms:us-east-1:123456789012:key/testkey-1")}, types.ServerSideEncryptionAwsKms, "testkey-1"},
		{"SSE-C", s3.PutObjectInput{SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: &k.b64, SSECustomerKeyMD5: &k.md5}, "", ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("o%d", i)
			in := tc.in
			in.Bucket, in.Key, in.Body = &b, &key, bytes.NewReader(data)
			in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256
			out, err := f.sdk.PutObject(ctx(t), &in)
			if err != nil {
				t.Fatal(err)
			}
			ssec := tc.in.SSECustomerKey != nil
			check := func(where string, sse types.ServerSideEncryption, kmsID, alg, md5 *string) {
				t.Helper()
				if sse != tc.sse || tc.kmsKey != "" && !strings.HasSuffix(aws.ToString(kmsID), ":key/"+tc.kmsKey) ||
					tc.kmsKey == "" && kmsID != nil || ssec && (aws.ToString(alg) != "AES256" || aws.ToString(md5) != k.md5) {
					t.Errorf("%s: sse %q key %q alg %q md5 %q", where, sse, aws.ToString(kmsID), aws.ToString(alg), aws.ToString(md5))
				}
			}
			check("PUT", out.ServerSideEncryption, out.SSEKMSKeyId, out.SSECustomerAlgorithm, out.SSECustomerKeyMD5)
			if (aws.ToString(out.ETag) == quoted(md5Hex(data))) != (tc.sse == types.ServerSideEncryptionAes256) {
				t.Errorf("ETag %s; the plaintext MD5 is %s and only SSE-S3 shows it", aws.ToString(out.ETag), md5Hex(data))
			}
			if tc.in.SSEKMSEncryptionContext != nil && aws.ToString(out.SSEKMSEncryptionContext) != *tc.in.SSEKMSEncryptionContext {
				t.Errorf("context %q, sent %q", aws.ToString(out.SSEKMSEncryptionContext), *tc.in.SSEKMSEncryptionContext)
			}
			head, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key, SSECustomerAlgorithm: tc.in.SSECustomerAlgorithm,
				SSECustomerKey: tc.in.SSECustomerKey, SSECustomerKeyMD5: tc.in.SSECustomerKeyMD5, ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			check("HEAD", head.ServerSideEncryption, head.SSEKMSKeyId, head.SSECustomerAlgorithm, head.SSECustomerKeyMD5)
			if aws.ToString(head.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sumOfSHA256(data)) {
				t.Errorf("checksum of the plaintext %q", aws.ToString(head.ChecksumSHA256))
			}
			for _, r := range [][2]int{{0, len(data)}, {65530, 20}, {65536, 65536}, {131000, 70000}, {len(data) - 5, 5}} {
				get, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key, Range: aws.String(fmt.Sprintf("bytes=%d-%d", r[0], r[0]+r[1]-1)),
					SSECustomerAlgorithm: tc.in.SSECustomerAlgorithm, SSECustomerKey: tc.in.SSECustomerKey, SSECustomerKeyMD5: tc.in.SSECustomerKeyMD5})
				if err != nil {
					t.Fatal(err)
				}
				check("GET", get.ServerSideEncryption, get.SSEKMSKeyId, get.SSECustomerAlgorithm, get.SSECustomerKeyMD5)
				if got := readAll(t, get.Body); !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
					t.Fatalf("range %v: %d bytes differ", r, len(got))
				}
			}
		})
	}
	// The body is verified on the plaintext: a wrong Content-MD5 is refused.
	_, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("bad"), Body: bytes.NewReader(data),
		ContentMD5: aws.String(contentMD5([]byte("other"))), ServerSideEncryption: types.ServerSideEncryptionAes256})
	wantErr(t, err, "BadDigest", 400)
	if f.exists(t, b, "bad") {
		t.Fatal("a refused body was stored")
	}
}

func sumOfSHA256(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// TestSSECRefusals: S3's answers to SSE-C requests it refuses, each with
// its code, status and message; nothing is stored by a refused write.
func TestSSECRefusals(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	k, other := newSSECKey(1), newSSECKey(2)
	if resp, body := f.do(t, rawReq{method: "PUT", bucket: b, key: "c", body: []byte("secret"), header: k.header("x-amz-"), secure: true}); resp.StatusCode != 200 {
		t.Fatalf("SSE-C PUT: %d %s", resp.StatusCode, body)
	}
	f.put(t, b, "plain", []byte("plain"))
	bad := k.header("x-amz-")
	bad["x-amz-server-side-encryption-customer-key-md5"] = []string{other.md5}
	tests := []struct {
		name   string
		req    rawReq
		code   string
		status int
		msg    string
	}{
		{"PUT over plain HTTP", rawReq{method: "PUT", bucket: b, key: "h", body: []byte("x"), header: k.header("x-amz-")},
			"InvalidRequest", 400, "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection."},
		{"GET over plain HTTP", rawReq{method: "GET", bucket: b, key: "c", header: k.header("x-amz-")},
			"InvalidRequest", 400, "must be made over a secure connection"},
		{"GET without the key", rawReq{method: "GET", bucket: b, key: "c", secure: true},
			"InvalidRequest", 400, "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."},
		{"GET with another key", rawReq{method: "GET", bucket: b, key: "c", header: other.header("x-amz-"), secure: true},
			"AccessDenied", 403, "must provide the correct secret key"},
		{"GET of a plain object with a key", rawReq{method: "GET", bucket: b, key: "plain", header: k.header("x-amz-"), secure: true},
			"InvalidRequest", 400, "The encryption parameters are not applicable to this object."},
		{"PUT with a wrong key MD5", rawReq{method: "PUT", bucket: b, key: "m", body: []byte("x"), header: bad, secure: true},
			"InvalidArgument", 400, "The calculated MD5 hash of the key did not match the hash that was provided."},
		{"PUT without the key", rawReq{method: "PUT", bucket: b, key: "m", body: []byte("x"), secure: true,
			header: http.Header{"x-amz-server-side-encryption-customer-algorithm": {"AES256"}}},
			"InvalidArgument", 400, "must provide an appropriate secret key"},
		{"PUT with SSE-C and SSE-S3", rawReq{method: "PUT", bucket: b, key: "m", body: []byte("x"), secure: true,
			header: func() http.Header {
				h := k.header("x-amz-")
				h["x-amz-server-side-encryption"] = []string{"AES256"}
				return h
			}()},
			"InvalidArgument", 400, "incompatible"},
		{"copy without the source key", rawReq{method: "PUT", bucket: b, key: "cp", secure: true,
			header: http.Header{"x-amz-copy-source": {b + "/c"}}}, "InvalidRequest", 400, "The correct parameters must be provided"},
		{"KMS key id without aws:kms", rawReq{method: "PUT", bucket: b, key: "m", body: []byte("x"),
			header: http.Header{"x-amz-server-side-encryption-aws-kms-key-id": {"k"}}}, "InvalidArgument", 400, "requires HTTP header x-amz-server-side-encryption : aws:kms"},
		{"unknown KMS key", rawReq{method: "PUT", bucket: b, key: "m", body: []byte("x"),
			header: http.Header{"x-amz-server-side-encryption": {"aws:kms"}, "x-amz-server-side-encryption-aws-kms-key-id": {"nope"}}}, "KMS.NotFoundException", 400, "'nope' does not exist"},
		{"reserved context key", rawReq{method: "PUT", bucket: b, key: "m", body: []byte("x"),
			header: http.Header{"x-amz-server-side-encryption": {"aws:kms"}, "x-amz-server-side-encryption-context": {base64.StdEncoding.EncodeToString([]byte(`{"aws:s3:arn":"x"}`))}}},
			"InvalidArgument", 400, "reserved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, tc.req)
			doc := wantXMLError(t, resp, body, tc.code, tc.status)
			if !strings.Contains(doc.Message, tc.msg) {
				t.Fatalf("message %q, want %q", doc.Message, tc.msg)
			}
			if strings.Contains(string(body), k.b64) || strings.Contains(string(body), other.b64) {
				t.Fatal("the answer echoes a customer key")
			}
		})
	}
	for _, key := range []string{"h", "m", "cp"} {
		if f.exists(t, b, key) {
			t.Errorf("refused write of %s stored it", key)
		}
	}
	// HEAD answers with the status alone, as S3 does.
	resp, _ := f.do(t, rawReq{method: "HEAD", bucket: b, key: "c", secure: true})
	if resp.StatusCode != 400 {
		t.Fatalf("HEAD without the key: %d", resp.StatusCode)
	}
	resp, _ = f.do(t, rawReq{method: "HEAD", bucket: b, key: "c", header: other.header("x-amz-"), secure: true})
	if resp.StatusCode != 403 {
		t.Fatalf("HEAD with another key: %d", resp.StatusCode)
	}
}

// TestSSEMultipartAndCopiesWithTheSDK: an SSE-C multipart upload whose
// parts must carry its key, parts copied from an SSE-KMS source, a copy
// that re-encrypts an SSE-C object under SSE-KMS.
func TestSSEMultipartAndCopiesWithTheSDK(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	k, other := newSSECKey(3), newSSECKey(4)
	src := randBytes(6<<20, 2)
	if _, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("src"), Body: bytes.NewReader(src),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms}); err != nil {
		t.Fatal(err)
	}
	up, err := f.sdk.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp"),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: &k.b64, SSECustomerKeyMD5: &k.md5})
	if err != nil || aws.ToString(up.SSECustomerAlgorithm) != "AES256" || aws.ToString(up.SSECustomerKeyMD5) != k.md5 {
		t.Fatalf("create: %+v %v", up, err)
	}
	part1 := randBytes(5<<20, 3)
	_, err = f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1),
		Body: bytes.NewReader(part1), SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: &other.b64, SSECustomerKeyMD5: &other.md5})
	wantErr(t, err, "InvalidRequest", 400)
	_, err = f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1),
		Body: bytes.NewReader(part1)})
	wantErr(t, err, "InvalidRequest", 400)
	p1, err := f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1),
		Body: bytes.NewReader(part1), SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: &k.b64, SSECustomerKeyMD5: &k.md5})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := f.sdk.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(2),
		CopySource: aws.String(b + "/src"), CopySourceRange: aws.String("bytes=100-1000099"),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: &k.b64, SSECustomerKeyMD5: &k.md5})
	if err != nil {
		t.Fatal(err)
	}
	done, err := f.sdk.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("mp"), UploadId: up.UploadId,
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: &k.b64, SSECustomerKeyMD5: &k.md5,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: p1.ETag}, {PartNumber: aws.Int32(2), ETag: p2.CopyPartResult.ETag}}}})
	if err != nil {
		t.Fatal(err)
	}
	if done.ServerSideEncryption != "" {
		t.Errorf("complete answer: %q", done.ServerSideEncryption)
	}
	all := append(append([]byte{}, part1...), src[100:1000100]...)
	get, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("mp"), Range: aws.String("bytes=5242000-5243999"),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: &k.b64, SSECustomerKeyMD5: &k.md5})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, get.Body); !bytes.Equal(got, all[5242000:5244000]) {
		t.Fatal("range across the parts differs")
	}
	// Re-encrypt the SSE-C object under SSE-KMS: the copy reads with the
	// source's key and needs no key afterwards.
	cp, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("mp-kms"), CopySource: aws.String(b + "/mp"),
		CopySourceSSECustomerAlgorithm: aws.String("AES256"), CopySourceSSECustomerKey: &k.b64, CopySourceSSECustomerKeyMD5: &k.md5,
		ServerSideEncryption: types.ServerSideEncryptionAwsKms})
	if err != nil || cp.ServerSideEncryption != types.ServerSideEncryptionAwsKms {
		t.Fatalf("copy: %+v %v", cp, err)
	}
	get, err = f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("mp-kms")})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, get.Body); !bytes.Equal(got, all) {
		t.Fatal("re-encrypted copy differs")
	}
}

// TestBucketEncryptionWithTheSDK: PutBucketEncryption / Get / Delete; a
// default-encrypted bucket encrypts objects written without headers and
// they report it; bucket keys are refused, not ignored.
func TestBucketEncryptionWithTheSDK(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	_, err := f.sdk.GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: &b})
	wantErr(t, err, "ServerSideEncryptionConfigurationNotFoundError", 404)
	if _, err := f.KMS.CreateKey(ctx(t), "bucket-key"); err != nil {
		t.Fatal(err)
	}
	rule := func(alg types.ServerSideEncryption, id *string, bk *bool) *types.ServerSideEncryptionConfiguration {
		return &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: alg, KMSMasterKeyID: id}, BucketKeyEnabled: bk}}}
	}
	_, err = f.sdk.PutBucketEncryption(ctx(t), &s3.PutBucketEncryptionInput{Bucket: &b, ServerSideEncryptionConfiguration: rule(types.ServerSideEncryptionAwsKms, nil, aws.Bool(true))})
	wantErr(t, err, "NotImplemented", 501)
	_, err = f.sdk.PutBucketEncryption(ctx(t), &s3.PutBucketEncryptionInput{Bucket: &b, ServerSideEncryptionConfiguration: rule(types.ServerSideEncryptionAes256, aws.String("bucket-key"), nil)})
	wantErr(t, err, "InvalidArgument", 400)
	_, err = f.sdk.PutBucketEncryption(ctx(t), &s3.PutBucketEncryptionInput{Bucket: &b, ServerSideEncryptionConfiguration: rule(types.ServerSideEncryptionAwsKmsDsse, nil, nil)})
	wantErr(t, err, "NotImplemented", 501)
	if _, err := f.sdk.GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: &b}); errCode(err) != "ServerSideEncryptionConfigurationNotFoundError" {
		t.Fatalf("a refused configuration was stored: %v", err)
	}
	f.put(t, b, "before", []byte("before"))
	if _, err := f.sdk.PutBucketEncryption(ctx(t), &s3.PutBucketEncryptionInput{Bucket: &b,
		ServerSideEncryptionConfiguration: rule(types.ServerSideEncryptionAwsKms, aws.String("alias/bucket-key"), aws.Bool(false))}); err != nil {
		t.Fatal(err)
	}
	got, err := f.sdk.GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: &b})
	if err != nil {
		t.Fatal(err)
	}
	d := got.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault
	if d.SSEAlgorithm != types.ServerSideEncryptionAwsKms || !strings.HasSuffix(aws.ToString(d.KMSMasterKeyID), ":key/bucket-key") {
		t.Fatalf("GetBucketEncryption: %+v", d)
	}
	out := f.put(t, b, "after", []byte("after"))
	if out.ServerSideEncryption != types.ServerSideEncryptionAwsKms || !strings.HasSuffix(aws.ToString(out.SSEKMSKeyId), ":key/bucket-key") {
		t.Fatalf("default-encrypted PUT answer: %q %q", out.ServerSideEncryption, aws.ToString(out.SSEKMSKeyId))
	}
	up, err := f.sdk.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp")})
	if err != nil || up.ServerSideEncryption != types.ServerSideEncryptionAwsKms {
		t.Fatalf("default-encrypted upload: %+v %v", up, err)
	}
	for key, want := range map[string]types.ServerSideEncryption{"before": "", "after": types.ServerSideEncryptionAwsKms} {
		h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String(key)})
		if err != nil || h.ServerSideEncryption != want {
			t.Errorf("%s: %q %v, want %q", key, h.ServerSideEncryption, err, want)
		}
	}
	// An explicit SSE-S3 request wins over the default.
	s3out, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("explicit"), Body: strings.NewReader("x"),
		ServerSideEncryption: types.ServerSideEncryptionAes256})
	if err != nil || s3out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Fatalf("explicit SSE-S3: %v", err)
	}
	if _, err := f.sdk.DeleteBucketEncryption(ctx(t), &s3.DeleteBucketEncryptionInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	if out := f.put(t, b, "later", []byte("later")); out.ServerSideEncryption != "" {
		t.Fatalf("after DeleteBucketEncryption: %q", out.ServerSideEncryption)
	}
	// PutBucketEncryption needs a digest, as S3 requires.
	resp, body := f.do(t, rawReq{method: "PUT", bucket: b, query: map[string][]string{"encryption": {""}},
		body: []byte(`<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`)})
	wantXMLError(t, resp, body, "InvalidRequest", 400)
}

// TestSSEKMSKeyLifecycle: through the admin API, a key is created,
// listed, rotated (old objects stay readable), disabled (its objects
// answer KMS.DisabledException and new writes are refused) and enabled.
func TestSSEKMSKeyLifecycle(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	admin := func(method, path string, params ...string) (int, []byte) {
		resp, body := f.do(t, adminReq(method, path, params...))
		return resp.StatusCode, body
	}
	status, body := admin("POST", "kms/key/create", "name=testkey-1")
	var key s3api.AdminKMSKey
	if status != 200 || json.Unmarshal(body, &key) != nil || key.Name != "testkey-1" || key.State != "enabled" || key.Current != 1 {
		t.Fatalf("create: %d %s", status, body)
	}
	for _, bad := range []struct{ params, code string }{{"name=testkey-1", "KMS.AlreadyExistsException"}, {"name=_secrets", "InvalidArgument"}, {"name=", "InvalidArgument"}} {
		resp, body := f.do(t, adminReq("POST", "kms/key/create", bad.params))
		wantXMLError(t, resp, body, bad.code, 400)
	}
	put := func(key string, data []byte) error {
		_, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: &key, Body: bytes.NewReader(data),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("testkey-1")})
		return err
	}
	get := func(key string) ([]byte, error) {
		out, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key})
		if err != nil {
			return nil, err
		}
		return readAll(t, out.Body), nil
	}
	old := randBytes(100<<10, 9)
	if err := put("old", old); err != nil {
		t.Fatal(err)
	}
	status, body = admin("POST", "kms/key/rotate", "name=testkey-1")
	if status != 200 || json.Unmarshal(body, &key) != nil || key.Current != 2 || len(key.Versions) != 2 {
		t.Fatalf("rotate: %d %s", status, body)
	}
	if err := put("new", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got, err := get("old"); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("old object after rotation: %v", err)
	}
	if status, body = admin("POST", "kms/key/disable", "name=testkey-1"); status != 200 || !strings.Contains(string(body), `"disabled"`) {
		t.Fatalf("disable: %d %s", status, body)
	}
	_, err := get("old")
	wantErr(t, err, "KMS.DisabledException", 400)
	if !strings.Contains(err.Error(), "testkey-1") {
		t.Errorf("the error does not name the key: %v", err)
	}
	wantErr(t, put("x", []byte("x")), "KMS.DisabledException", 400)
	if h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("old")}); err != nil || h.ServerSideEncryption != types.ServerSideEncryptionAwsKms {
		t.Fatalf("HEAD under a disabled key: %v", err)
	}
	if status, body = admin("GET", "kms/key/list"); status != 200 || !strings.Contains(string(body), `"testkey-1"`) || strings.Contains(string(body), "_secrets") {
		t.Fatalf("list: %d %s", status, body)
	}
	if status, _ = admin("POST", "kms/key/enable", "name=testkey-1"); status != 200 {
		t.Fatalf("enable: %d", status)
	}
	for k, want := range map[string][]byte{"old": old, "new": []byte("new")} {
		if got, err := get(k); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s after enable: %v", k, err)
		}
	}
	resp, body := f.do(t, adminReq("GET", "kms/key/status", "name=nope"))
	wantXMLError(t, resp, body, "KMS.NotFoundException", 400)
	if status, body = admin("GET", "kms/key/status", "name=testkey-1"); status != 200 || !strings.Contains(string(body), `"arn:aws:kms:`) {
		t.Fatalf("status: %d %s", status, body)
	}
	// Admin writes are POSTs only, like every admin operation.
	resp, body = f.do(t, adminReq("GET", "kms/key/disable", "name=testkey-1"))
	wantXMLError(t, resp, body, "MethodNotAllowed", 405)
}

// TestSSEWithMinio: minio-go's own SSE-S3, SSE-KMS and SSE-C encoders
// round-trip an object over TLS, with a multipart upload for SSE-C.
func TestSSEWithMinio(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	mc := f.MinioTLS(t)
	ssec, err := encrypt.NewSSEC(bytes.Repeat([]byte("m"), 32))
	if err != nil {
		t.Fatal(err)
	}
	kmsEnc, err := encrypt.NewSSEKMS("filesphere-default", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, enc := range map[string]encrypt.ServerSide{"SSE-S3": encrypt.NewSSE(), "SSE-KMS": kmsEnc, "SSE-C": ssec} {
		t.Run(name, func(t *testing.T) {
			data := randBytes(17<<20, 4)
			if _, err := mc.PutObject(context.Background(), b, name, bytes.NewReader(data), int64(len(data)),
				minio.PutObjectOptions{ServerSideEncryption: enc, PartSize: 5 << 20}); err != nil {
				t.Fatal(err)
			}
			var ge minio.GetObjectOptions
			if name == "SSE-C" {
				ge.ServerSideEncryption = ssec
			}
			obj, err := mc.GetObject(context.Background(), b, name, ge)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(obj)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back: %d bytes %v", len(got), err)
			}
		})
	}
}

// TestSSEBucketPolicyRequiresEncryption: a bucket policy can refuse
// uploads that do not ask for SSE-KMS (s3:x-amz-server-side-encryption),
// or that ask for another key than the bucket's; the uploads that do are
// stored encrypted.
func TestSSEBucketPolicyRequiresEncryption(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	if _, err := f.KMS.CreateKey(ctx(t), "team-key"); err != nil {
		t.Fatal(err)
	}
	pol := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::%[1]s/*",
		 "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}},
		{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::%[1]s/*",
		 "Condition":{"StringNotEqualsIfExists":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"team-key"}}}]}`, b)
	if _, err := f.sdk.PutBucketPolicy(ctx(t), &s3.PutBucketPolicyInput{Bucket: &b, Policy: &pol}); err != nil {
		t.Fatal(err)
	}
	u := f.sdkAs(t, f.newUser(t, "writer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`))
	put := func(key string, in s3.PutObjectInput) (*s3.PutObjectOutput, error) {
		in.Bucket, in.Key, in.Body = &b, &key, strings.NewReader("payload")
		return u.PutObject(ctx(t), &in)
	}
	_, err := put("plain", s3.PutObjectInput{})
	wantErr(t, err, "AccessDenied", 403)
	_, err = put("s3", s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAes256})
	wantErr(t, err, "AccessDenied", 403)
	_, err = put("other", s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("filesphere-default")})
	wantErr(t, err, "AccessDenied", 403)
	out, err := put("ok", s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("team-key")})
	if err != nil || out.ServerSideEncryption != types.ServerSideEncryptionAwsKms || !strings.HasSuffix(aws.ToString(out.SSEKMSKeyId), ":key/team-key") {
		t.Fatalf("the upload the policy allows: %+v %v", out, err)
	}
	for _, k := range []string{"plain", "s3", "other"} {
		if f.exists(t, b, k) {
			t.Errorf("a refused upload stored %s", k)
		}
	}
}

// TestSSEPostUploadGetsBucketDefault: a browser form upload into a bucket
// with default encryption is stored encrypted, and its answer says so.
func TestSSEPostUploadGetsBucketDefault(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	if _, err := f.sdk.PutBucketEncryption(ctx(t), &s3.PutBucketEncryptionInput{Bucket: &b,
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}}}}}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(100_000, 5)
	resp, body := f.post(t, b, postForm{fields: f.signed([]field{{"key", "form.bin"}}, signing{}, map[string]string{"bucket": b}, anyKey), file: data})
	if resp.StatusCode != 204 || resp.Header.Get("X-Amz-Server-Side-Encryption") != "AES256" {
		t.Fatalf("POST: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	info, err := f.Engine.HeadObject(ctx(t), b, "form.bin", storage.GetOptions{})
	if err != nil || info.SSE == nil || info.SSE.Type != storage.SSES3 {
		t.Fatalf("stored: %+v %v", info.SSE, err)
	}
	get, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("form.bin")})
	if err != nil || !bytes.Equal(readAll(t, get.Body), data) {
		t.Fatalf("read back: %v", err)
	}
}
