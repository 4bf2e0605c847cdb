package s3api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
	"github.com/minio/minio-go/v7"
)

// The details clients trip on: one test per behaviour, each checked
// against what the AWS S3 API reference (or S3 itself, where the
// reference is silent) answers.

// smallParts lets multipart tests use parts of a few bytes.
var smallParts = s3test.WithEngineConfig(func(c *storage.EngineConfig) { c.MinPartSize = 1 })

// upload creates a multipart upload of key from parts with the SDK, with
// alg and ctype as CreateMultipartUpload's checksum settings ("" none),
// and returns its id and the completed-part list.
func (f *fixture) upload(t *testing.T, b, key string, alg types.ChecksumAlgorithm, ctype types.ChecksumType, parts ...[]byte) (string, []types.CompletedPart) {
	t.Helper()
	out, err := f.sdk.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key,
		ChecksumAlgorithm: alg, ChecksumType: ctype})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	id := aws.ToString(out.UploadId)
	var done []types.CompletedPart
	for i, p := range parts {
		n := int32(i + 1)
		in := &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &id, PartNumber: &n, Body: bytes.NewReader(p), ChecksumAlgorithm: alg}
		po, err := f.sdk.UploadPart(ctx(t), in)
		if err != nil {
			t.Fatalf("UploadPart %d: %v", n, err)
		}
		done = append(done, types.CompletedPart{PartNumber: &n, ETag: po.ETag, ChecksumCRC32: po.ChecksumCRC32,
			ChecksumCRC32C: po.ChecksumCRC32C, ChecksumCRC64NVME: po.ChecksumCRC64NVME, ChecksumSHA1: po.ChecksumSHA1, ChecksumSHA256: po.ChecksumSHA256})
	}
	return id, done
}

func (f *fixture) uploadIDs(t *testing.T, b string) []string {
	t.Helper()
	out, err := f.sdk.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	var ids []string
	for _, u := range out.Uploads {
		ids = append(ids, aws.ToString(u.UploadId))
	}
	return ids
}

// waitShards polls until the drives hold want shards.
func (f *fixture) waitShards(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.ShardCount(t) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d shards on the drives, want %d", f.ShardCount(t), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIntegrationDeleteBucketWithUploads: S3 deletes a bucket that holds
// only incomplete multipart uploads, and aborts them with it; objects
// still keep a bucket, and then its uploads are left alone.
func TestIntegrationDeleteBucketWithUploads(t *testing.T) {
	f := newFixture(t, smallParts, s3test.WithInlineThreshold(0))
	before := f.ShardCount(t)
	for _, client := range []string{"sdk", "minio"} {
		t.Run(client, func(t *testing.T) {
			b := f.bucket(t)
			f.upload(t, b, "with-parts", "", "", []byte("part one"), []byte("part two"))
			f.upload(t, b, "no-parts", "", "")
			if got := f.ShardCount(t); got == before {
				t.Fatal("the parts wrote no shards")
			}
			var err error
			if client == "sdk" {
				_, err = f.sdk.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: &b})
			} else {
				err = f.mc.RemoveBucket(ctx(t), b)
			}
			if err != nil {
				t.Fatalf("DeleteBucket with only uploads: %v", err)
			}
			_, err = f.sdk.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: &b})
			wantErr(t, err, "NotFound", http.StatusNotFound)
			f.waitShards(t, before) // the parts' data goes too
			// A bucket of the same name starts with no uploads.
			if _, err := f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &b}); err != nil {
				t.Fatal(err)
			}
			if ids := f.uploadIDs(t, b); len(ids) != 0 {
				t.Fatalf("recreated bucket has uploads %v", ids)
			}
		})
	}
	t.Run("objects keep the bucket and its uploads", func(t *testing.T) {
		b := f.bucket(t)
		f.put(t, b, "obj", []byte("x"))
		id, _ := f.upload(t, b, "up", "", "", []byte("part"))
		_, err := f.sdk.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: &b})
		wantErr(t, err, "BucketNotEmpty", http.StatusConflict)
		if ids := f.uploadIDs(t, b); len(ids) != 1 || ids[0] != id {
			t.Fatalf("uploads after a refused delete: %v", ids)
		}
	})
}

// TestIntegrationCompleteTwice: a second CompleteMultipartUpload of a
// completed upload with the same part list answers 200 with the same
// ETag (and version id) and changes nothing; another part list, or an
// upload whose object was replaced, is NoSuchUpload.
func TestIntegrationCompleteTwice(t *testing.T) {
	f := newFixture(t, smallParts)
	b := f.bucket(t)
	enableVersioning(t, f, b)
	key := "twice"
	p1, p2 := []byte("first part"), []byte("second part")
	id, parts := f.upload(t, b, key, types.ChecksumAlgorithmCrc32, "", p1, p2)
	first, err := f.complete(t, b, key, id, parts...)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.complete(t, b, key, id, parts...)
	if err != nil {
		t.Fatalf("second complete: %v", err)
	}
	if aws.ToString(again.ETag) != aws.ToString(first.ETag) || aws.ToString(again.VersionId) != aws.ToString(first.VersionId) ||
		aws.ToString(again.ChecksumCRC32) != aws.ToString(first.ChecksumCRC32) || aws.ToString(first.ETag) != multipartETag(p1, p2) {
		t.Fatalf("second complete answered %s/%s/%s, first %s/%s/%s", aws.ToString(again.ETag), aws.ToString(again.VersionId),
			aws.ToString(again.ChecksumCRC32), aws.ToString(first.ETag), aws.ToString(first.VersionId), aws.ToString(first.ChecksumCRC32))
	}
	vs, _, _ := listVersions(t, f, s3.ListObjectVersionsInput{Bucket: &b})
	if len(vs) != 1 {
		t.Fatalf("versions after two completions: %v", vs)
	}
	// minio-go's Core client completes the same way.
	mcore := &minio.Core{Client: f.mc}
	var mparts []minio.CompletePart
	for _, p := range parts {
		mparts = append(mparts, minio.CompletePart{PartNumber: int(*p.PartNumber), ETag: aws.ToString(p.ETag)})
	}
	info, err := mcore.CompleteMultipartUpload(ctx(t), b, key, id, mparts, minio.PutObjectOptions{})
	if err != nil || `"`+info.ETag+`"` != aws.ToString(first.ETag) {
		t.Fatalf("minio-go second complete: %+v %v", info, err)
	}

	_, err = f.complete(t, b, key, id, parts[:1]...)
	wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
	_, err = f.complete(t, b, key, id, parts[1], parts[0])
	wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
	t.Run("checksum of a repeat is checked", func(t *testing.T) {
		_, err := f.sdk.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, ChecksumCRC32: aws.String(checksumOf(types.ChecksumAlgorithmCrc32, []byte("x")) + "-2")})
		wantErr(t, err, "BadDigest", http.StatusBadRequest)
	})
	t.Run("replaced object", func(t *testing.T) {
		b := f.bucket(t) // unversioned: a PUT replaces the version
		id, parts := f.upload(t, b, key, "", "", p1)
		if _, err := f.complete(t, b, key, id, parts...); err != nil {
			t.Fatal(err)
		}
		f.put(t, b, key, []byte("replacement"))
		_, err := f.complete(t, b, key, id, parts...)
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		if got := f.get(t, b, key); string(got) != "replacement" {
			t.Fatalf("object after a late complete: %q", got)
		}
	})
}

// TestIntegrationWriteVersionHeaders: writes to a versioning-suspended
// bucket make the null version and answer without x-amz-version-id
// (reads show "null"); enabled buckets answer the new id; a delete in an
// unversioned bucket answers neither x-amz-delete-marker nor a version,
// and one in a suspended bucket the null delete marker.
func TestIntegrationWriteVersionHeaders(t *testing.T) {
	f := newFixture(t, smallParts)
	b := f.bucket(t)
	setVersioning(t, f, b, types.BucketVersioningStatusSuspended)
	src := f.bucket(t)
	f.put(t, src, "src", []byte("copy me"))
	writes := map[string]func() http.Header{
		"PutObject": func() http.Header {
			resp, _ := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "put", body: []byte("x")})
			return resp.Header
		},
		"CopyObject": func() http.Header {
			resp, _ := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "copy", header: http.Header{"X-Amz-Copy-Source": {src + "/src"}}})
			return resp.Header
		},
		"CompleteMultipartUpload": func() http.Header {
			id, parts := f.upload(t, b, "mp", "", "", []byte("part"))
			body := `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>` + aws.ToString(parts[0].ETag) + `</ETag></Part></CompleteMultipartUpload>`
			resp, _ := f.do(t, rawReq{method: http.MethodPost, bucket: b, key: "mp", query: url.Values{"uploadId": {id}}, body: []byte(body)})
			return resp.Header
		},
	}
	for op, write := range writes {
		if h := write(); h.Get("X-Amz-Request-Id") == "" || len(h.Values("X-Amz-Version-Id")) != 0 {
			t.Errorf("%s to a suspended bucket answered x-amz-version-id %q", op, h.Values("X-Amz-Version-Id"))
		}
	}
	h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("put")})
	if err != nil || aws.ToString(h.VersionId) != "null" {
		t.Fatalf("HEAD of the null version: %v %q", err, aws.ToString(h.VersionId))
	}
	enableVersioning(t, f, b)
	if out := f.put(t, b, "put", []byte("y")); aws.ToString(out.VersionId) == "" || aws.ToString(out.VersionId) == "null" {
		t.Fatalf("PUT to an enabled bucket answered version %q", aws.ToString(out.VersionId))
	}

	plain := f.bucket(t)
	f.put(t, plain, "k", []byte("x"))
	resp, _ := f.do(t, rawReq{method: http.MethodDelete, bucket: plain, key: "k"})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("X-Amz-Delete-Marker") != "" || resp.Header.Get("X-Amz-Version-Id") != "" {
		t.Fatalf("unversioned delete: %d %v", resp.StatusCode, resp.Header)
	}
	setVersioning(t, f, b, types.BucketVersioningStatusSuspended)
	resp, _ = f.do(t, rawReq{method: http.MethodDelete, bucket: b, key: "copy"})
	if resp.Header.Get("X-Amz-Delete-Marker") != "true" || resp.Header.Get("X-Amz-Version-Id") != "null" {
		t.Fatalf("suspended delete: %v", resp.Header)
	}
}

// TestIntegrationWrongChecksum: a wrong x-amz-checksum-* of any algorithm
// is BadDigest, in a header or in a trailer, and stores nothing.
func TestIntegrationWrongChecksum(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	body := []byte("the body")
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
		types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
		wrong := checksumOf(alg, []byte("other"))
		t.Run(string(alg)+"/header", func(t *testing.T) {
			key := "hdr-" + string(alg)
			resp, rb := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: key, body: body,
				header: http.Header{"X-Amz-Checksum-" + string(alg): {wrong}}})
			wantXMLError(t, resp, rb, "BadDigest", http.StatusBadRequest)
			if f.exists(t, b, key) {
				t.Fatal("stored")
			}
		})
		t.Run(string(alg)+"/sdk", func(t *testing.T) {
			key := "sdk-" + string(alg)
			in := &s3.PutObjectInput{Bucket: &b, Key: &key, Body: bytes.NewReader(body)}
			switch alg {
			case types.ChecksumAlgorithmCrc32:
				in.ChecksumCRC32 = &wrong
			case types.ChecksumAlgorithmCrc32c:
				in.ChecksumCRC32C = &wrong
			case types.ChecksumAlgorithmCrc64nvme:
				in.ChecksumCRC64NVME = &wrong
			case types.ChecksumAlgorithmSha1:
				in.ChecksumSHA1 = &wrong
			case types.ChecksumAlgorithmSha256:
				in.ChecksumSHA256 = &wrong
			}
			_, err := f.sdk.PutObject(ctx(t), in)
			wantErr(t, err, "BadDigest", http.StatusBadRequest)
			if f.exists(t, b, key) {
				t.Fatal("stored")
			}
		})
	}
}

// TestIntegrationEmptyContinuationToken: S3 answers an empty
// continuation-token (an SDK caller passing "") InvalidArgument, in
// ListObjectsV2 and ListBuckets alike, rather than listing from the start.
func TestIntegrationEmptyContinuationToken(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "k", []byte("x"))
	_, err := f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, ContinuationToken: aws.String("")})
	wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
	resp, body := f.do(t, rawReq{method: http.MethodGet, bucket: b, query: url.Values{"list-type": {"2"}, "continuation-token": {""}}})
	if doc := wantXMLError(t, resp, body, "InvalidArgument", http.StatusBadRequest); doc.Message != "The continuation token provided is incorrect" {
		t.Fatalf("message %q", doc.Message)
	}
	_, err = f.sdk.ListBuckets(ctx(t), &s3.ListBucketsInput{ContinuationToken: aws.String("")})
	wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
}

// TestIntegrationContentEncodingKept: the stored Content-Encoding is the
// one sent, byte for byte, less the aws-chunked framing coding.
func TestIntegrationContentEncodingKept(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	for i, tc := range []struct{ sent, stored string }{
		{"gzip, br", "gzip, br"},
		{"aws-chunked, gzip,  br", "gzip,  br"},
		{"gzip,aws-chunked, br", "gzip, br"},
		{"AWS-Chunked", ""},
		{"x-custom;q=1", "x-custom;q=1"},
	} {
		key := "enc-" + string(rune('a'+i))
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: key, body: []byte("x"),
			header: http.Header{"Content-Encoding": {tc.sent}}})
		if resp.StatusCode != 200 {
			t.Fatalf("PUT %q: %d %s", tc.sent, resp.StatusCode, body)
		}
		h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key})
		if err != nil || aws.ToString(h.ContentEncoding) != tc.stored {
			t.Errorf("sent %q, stored %q (%v), want %q", tc.sent, aws.ToString(h.ContentEncoding), err, tc.stored)
		}
	}
	// The SDK over TLS sends a trailer checksum, which adds aws-chunked.
	key := "sdk-enc"
	if _, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: &key, Body: strings.NewReader("x"),
		ContentEncoding: aws.String("gzip, identity")}); err != nil {
		t.Fatal(err)
	}
	h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key})
	if err != nil || aws.ToString(h.ContentEncoding) != "gzip, identity" {
		t.Fatalf("SDK Content-Encoding stored as %q (%v)", aws.ToString(h.ContentEncoding), err)
	}
}

// TestIntegrationPartNumberPastParts: a partNumber past the object's parts
// is InvalidPartNumber (416), as the S3 error reference lists it.
func TestIntegrationPartNumberPastParts(t *testing.T) {
	f := newFixture(t, smallParts)
	b := f.bucket(t)
	f.put(t, b, "plain", []byte("x"))
	id, parts := f.upload(t, b, "mp", "", "", []byte("one"), []byte("two"))
	if _, err := f.complete(t, b, "mp", id, parts...); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		part int32
	}{{"plain", 2}, {"mp", 3}, {"mp", 10000}} {
		_, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &tc.key, PartNumber: &tc.part})
		wantErr(t, err, "InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable)
		_, err = f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &tc.key, PartNumber: &tc.part})
		if errStatus(err) != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("HEAD %s part %d: %v", tc.key, tc.part, err)
		}
	}
	o, err := f.mc.GetObject(ctx(t), b, "mp", minio.GetObjectOptions{PartNumber: 3})
	if err == nil {
		_, err = o.Read(make([]byte, 1)) // a GET; Stat's HEAD has no error body
	}
	wantMinioErr(t, err, "InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable)
}

// TestIntegrationCreateOwnedBucket: re-creating a bucket one owns answers
// 200 in us-east-1 (S3's legacy behaviour there) and changes nothing;
// elsewhere it is BucketAlreadyOwnedByYou.
func TestIntegrationCreateOwnedBucket(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "k", []byte("kept"))
	if _, err := f.sdk.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatalf("SDK re-create in us-east-1: %v", err)
	}
	if err := f.mc.MakeBucket(ctx(t), b, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("minio-go re-create in us-east-1: %v", err)
	}
	if got := f.get(t, b, "k"); string(got) != "kept" {
		t.Fatalf("re-created bucket lost its object: %q", got)
	}

	eu := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.Region = "eu-west-1" }))
	euSDK := s3.NewFromConfig(eu.AWSConfig(), func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle, o.Region = aws.String(eu.URL), true, "eu-west-1"
	})
	name := "owned-elsewhere"
	in := &s3.CreateBucketInput{Bucket: &name, CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}
	if _, err := euSDK.CreateBucket(ctx(t), in); err != nil {
		t.Fatal(err)
	}
	_, err := euSDK.CreateBucket(ctx(t), in)
	wantErr(t, err, "BucketAlreadyOwnedByYou", http.StatusConflict)
}

// TestIntegrationChunkedTransferPut: a PUT (or UploadPart) with
// Transfer-Encoding: chunked and no Content-Length streams to its end, with
// its checksums verified; S3 itself answers such a request
// NotImplemented, FileSphere stores it as clients that stream expect.
func TestIntegrationChunkedTransferPut(t *testing.T) {
	f := newFixture(t, smallParts, s3test.WithInlineThreshold(1<<10))
	b := f.bucket(t)
	for _, tc := range []struct {
		name    string
		size    int
		payload string // "" signs the body's SHA-256
	}{
		{"small unsigned", 10, "UNSIGNED-PAYLOAD"},
		{"small signed", 10, ""},
		{"empty", 0, "UNSIGNED-PAYLOAD"},
		{"inline edge", 1 << 10, "UNSIGNED-PAYLOAD"},
		{"erasure coded", 3<<20 + 5, "UNSIGNED-PAYLOAD"},
		{"erasure coded signed", 1<<20 + 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := randBytes(tc.size, uint64(tc.size))
			key := "chunked-" + strings.ReplaceAll(tc.name, " ", "-")
			resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: key, body: data, payload: tc.payload, chunked: true,
				header: http.Header{"X-Amz-Checksum-Crc32": {checksumOf(types.ChecksumAlgorithmCrc32, data)}}})
			if resp.StatusCode != 200 || resp.Header.Get("Etag") != quoted(md5Hex(data)) {
				t.Fatalf("chunked PUT: %d %s etag %s", resp.StatusCode, body, resp.Header.Get("Etag"))
			}
			if got := f.get(t, b, key); !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, sent %d", len(got), len(data))
			}
		})
	}
	t.Run("wrong checksum", func(t *testing.T) {
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "chunked-bad", body: randBytes(2<<20, 9), payload: "UNSIGNED-PAYLOAD", chunked: true,
			header: http.Header{"X-Amz-Checksum-Crc32": {checksumOf(types.ChecksumAlgorithmCrc32, []byte("other"))}}})
		wantXMLError(t, resp, body, "BadDigest", http.StatusBadRequest)
		if f.exists(t, b, "chunked-bad") {
			t.Fatal("stored")
		}
	})
	t.Run("wrong signed payload", func(t *testing.T) {
		sum := sha256.Sum256([]byte("other"))
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "chunked-sig", body: []byte("data"), chunked: true,
			payload: hexString(sum[:])})
		wantXMLError(t, resp, body, "XAmzContentSHA256Mismatch", http.StatusBadRequest)
		if f.exists(t, b, "chunked-sig") {
			t.Fatal("stored")
		}
	})
	t.Run("upload part", func(t *testing.T) {
		out, err := f.sdk.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp")})
		if err != nil {
			t.Fatal(err)
		}
		data := randBytes(5000, 3)
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "mp", body: data, payload: "UNSIGNED-PAYLOAD", chunked: true,
			query: url.Values{"uploadId": {aws.ToString(out.UploadId)}, "partNumber": {"1"}}})
		if resp.StatusCode != 200 || resp.Header.Get("Etag") != quoted(md5Hex(data)) {
			t.Fatalf("chunked UploadPart: %d %s", resp.StatusCode, body)
		}
	})
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestIntegrationGetObjectAttributes: plain, multipart (paged) and
// versioned objects through the SDK and minio-go, and the documented errors.
func TestIntegrationGetObjectAttributes(t *testing.T) {
	f := newFixture(t, smallParts)
	b := f.bucket(t)
	enableVersioning(t, f, b)
	all := []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesChecksum, types.ObjectAttributesObjectParts,
		types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize}
	attrs := func(key, version string, maxParts int32, marker string, which ...types.ObjectAttributes) (*s3.GetObjectAttributesOutput, error) {
		in := &s3.GetObjectAttributesInput{Bucket: &b, Key: &key, ObjectAttributes: which}
		if version != "" {
			in.VersionId = &version
		}
		if maxParts > 0 {
			in.MaxParts = &maxParts
		}
		if marker != "" {
			in.PartNumberMarker = &marker
		}
		return f.sdk.GetObjectAttributes(ctx(t), in)
	}

	t.Run("plain", func(t *testing.T) {
		data := []byte("plain object")
		v1 := f.put(t, b, "plain", data) // the SDK sends a CRC32 trailer
		out, err := attrs("plain", "", 0, "", all...)
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ETag) != md5Hex(data) || aws.ToInt64(out.ObjectSize) != int64(len(data)) || out.StorageClass != types.StorageClassStandard ||
			out.ObjectParts != nil || out.Checksum == nil || aws.ToString(out.Checksum.ChecksumCRC32) != checksumOf(types.ChecksumAlgorithmCrc32, data) ||
			out.Checksum.ChecksumType != types.ChecksumTypeFullObject || aws.ToString(out.VersionId) != aws.ToString(v1.VersionId) || out.LastModified == nil {
			t.Fatalf("plain attributes: %+v", out)
		}
		only, err := attrs("plain", "", 0, "", types.ObjectAttributesObjectSize)
		if err != nil || only.ETag != nil || only.Checksum != nil || only.StorageClass != "" || aws.ToInt64(only.ObjectSize) != int64(len(data)) {
			t.Fatalf("ObjectSize only: %+v %v", only, err)
		}
		// An older version by id; the latest a delete marker.
		f.put(t, b, "plain", []byte("newer"))
		old, err := attrs("plain", aws.ToString(v1.VersionId), 0, "", types.ObjectAttributesObjectSize)
		if err != nil || aws.ToInt64(old.ObjectSize) != int64(len(data)) {
			t.Fatalf("old version: %+v %v", old, err)
		}
		if _, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("plain")}); err != nil {
			t.Fatal(err)
		}
		resp, body := f.do(t, rawReq{method: http.MethodGet, bucket: b, key: "plain", query: url.Values{"attributes": {""}},
			header: http.Header{"X-Amz-Object-Attributes": {"ETag"}}})
		wantXMLError(t, resp, body, "NoSuchKey", http.StatusNotFound)
		if resp.Header.Get("X-Amz-Delete-Marker") != "true" {
			t.Fatalf("no x-amz-delete-marker: %v", resp.Header)
		}
	})

	parts := [][]byte{[]byte("part one"), []byte("part two"), []byte("part three")}
	id, done := f.upload(t, b, "mp", types.ChecksumAlgorithmCrc32c, "", parts...)
	if _, err := f.complete(t, b, "mp", id, done...); err != nil {
		t.Fatal(err)
	}
	t.Run("multipart paged", func(t *testing.T) {
		out, err := attrs("mp", "", 0, "", all...)
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ETag) != strings.Trim(multipartETag(parts...), `"`) || out.Checksum.ChecksumType != types.ChecksumTypeComposite ||
			!strings.HasSuffix(aws.ToString(out.Checksum.ChecksumCRC32C), "-3") || aws.ToInt32(out.ObjectParts.TotalPartsCount) != 3 ||
			len(out.ObjectParts.Parts) != 3 || aws.ToBool(out.ObjectParts.IsTruncated) {
			t.Fatalf("multipart attributes: %+v %+v", out, out.ObjectParts)
		}
		var seen []int32
		var marker string
		for page := 0; ; page++ {
			out, err := attrs("mp", "", 2, marker, types.ObjectAttributesObjectParts)
			if err != nil {
				t.Fatal(err)
			}
			op := out.ObjectParts
			for _, p := range op.Parts {
				n := aws.ToInt32(p.PartNumber)
				seen = append(seen, n)
				if aws.ToInt64(p.Size) != int64(len(parts[n-1])) || aws.ToString(p.ChecksumCRC32C) != checksumOf(types.ChecksumAlgorithmCrc32c, parts[n-1]) {
					t.Fatalf("part %d: %+v", n, p)
				}
			}
			if !aws.ToBool(op.IsTruncated) {
				break
			}
			if page > 3 {
				t.Fatal("paging does not end")
			}
			marker = aws.ToString(op.NextPartNumberMarker)
		}
		if len(seen) != 3 || seen[0] != 1 || seen[2] != 3 {
			t.Fatalf("pages gave parts %v", seen)
		}
	})
	t.Run("multipart without checksums", func(t *testing.T) {
		key := "mp-plain"
		id, done := f.upload(t, b, key, "", "", parts[0], parts[1])
		if _, err := f.complete(t, b, key, id, done...); err != nil {
			t.Fatal(err)
		}
		resp, body := f.do(t, rawReq{method: http.MethodGet, bucket: b, key: key, query: url.Values{"attributes": {""}},
			header: http.Header{"X-Amz-Object-Attributes": {"ObjectParts,Checksum"}}})
		var doc struct {
			Checksum    *struct{}
			ObjectParts struct {
				PartsCount int
				Part       []struct{}
			}
		}
		if resp.StatusCode != 200 || xml.Unmarshal(body, &doc) != nil || doc.ObjectParts.PartsCount != 2 || len(doc.ObjectParts.Part) != 0 || doc.Checksum != nil {
			t.Fatalf("multipart without checksums: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("minio-go", func(t *testing.T) {
		out, err := f.mc.GetObjectAttributes(ctx(t), b, "mp", minio.ObjectAttributesOptions{MaxParts: 2})
		if err != nil {
			t.Fatal(err)
		}
		op := out.ObjectParts
		if out.ETag != strings.Trim(multipartETag(parts...), `"`) || out.ObjectSize != len(slicesConcat(parts)) ||
			op.PartsCount != 3 || len(op.Parts) != 2 || !op.IsTruncated || op.NextPartNumberMarker != 2 || op.MaxParts != 2 ||
			out.Checksum.ChecksumCRC32C == "" || out.Checksum.ChecksumType != "COMPOSITE" {
			t.Fatalf("minio-go attributes: %+v", out)
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, err := attrs("mp", "", 0, "", "Colour")
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		_, err = attrs("missing", "", 0, "", types.ObjectAttributesEtag)
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		_, err = attrs("mp", "00000000000000000000000000000000", 0, "", types.ObjectAttributesEtag)
		if code := errCode(err); code != "NoSuchVersion" && code != "InvalidArgument" {
			t.Fatalf("unknown version: %v", err)
		}
		for _, tc := range []struct {
			header http.Header
			query  url.Values
			code   string
			status int
		}{
			{http.Header{}, url.Values{"attributes": {""}}, "InvalidRequest", 400},
			{http.Header{"X-Amz-Object-Attributes": {","}}, url.Values{"attributes": {""}}, "InvalidRequest", 400},
			{http.Header{"X-Amz-Object-Attributes": {"ETag,etag"}}, url.Values{"attributes": {""}}, "InvalidArgument", 400},
			{http.Header{"X-Amz-Object-Attributes": {"ETag"}}, url.Values{"attributes": {""}, "versionId": {""}}, "InvalidArgument", 400},
			{http.Header{"X-Amz-Object-Attributes": {"ETag"}, "X-Amz-Part-Number-Marker": {"-1"}}, url.Values{"attributes": {""}}, "InvalidArgument", 400},
		} {
			resp, body := f.do(t, rawReq{method: http.MethodGet, bucket: b, key: "mp", query: tc.query, header: tc.header})
			wantXMLError(t, resp, body, tc.code, tc.status)
		}
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "mp", query: url.Values{"attributes": {""}}, body: []byte("x")})
		wantXMLError(t, resp, body, "MethodNotAllowed", http.StatusMethodNotAllowed)
		if got := f.get(t, b, "mp"); !bytes.Equal(got, slicesConcat(parts)) {
			t.Fatal("PUT ?attributes changed the object")
		}
	})
}

func slicesConcat(parts [][]byte) []byte { return bytes.Join(parts, nil) }

// crc32Full is the CRC32 (IEEE) of the concatenated parts.
func crc32Full(parts ...[]byte) string {
	h := crc32.NewIEEE()
	for _, p := range parts {
		h.Write(p)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// TestIntegrationFullObjectChecksum: multipart uploads with
// x-amz-checksum-type: FULL_OBJECT get the CRC of the whole object,
// combined from the parts' CRCs, which the SDK verifies on GET; the
// documented refusals of type/algorithm pairs; minio-go's full-object mode.
func TestIntegrationFullObjectChecksum(t *testing.T) {
	f := newFixture(t, smallParts)
	b := f.bucket(t)
	parts := [][]byte{randBytes(70<<10, 1), randBytes(1<<20+3, 2), randBytes(13, 3)}
	whole := slicesConcat(parts)
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme} {
		t.Run(string(alg), func(t *testing.T) {
			key := "full-" + string(alg)
			id, done := f.upload(t, b, key, alg, types.ChecksumTypeFullObject, parts...)
			want := checksumOf(alg, whole)
			in := &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id, ChecksumType: types.ChecksumTypeFullObject,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}
			switch alg {
			case types.ChecksumAlgorithmCrc32:
				in.ChecksumCRC32 = &want
			case types.ChecksumAlgorithmCrc32c:
				in.ChecksumCRC32C = &want
			case types.ChecksumAlgorithmCrc64nvme:
				in.ChecksumCRC64NVME = &want
			}
			out, err := f.sdk.CompleteMultipartUpload(ctx(t), in)
			if err != nil {
				t.Fatal(err)
			}
			if got := checksumField(alg, out.ChecksumCRC32, out.ChecksumCRC32C, nil, nil, out.ChecksumCRC64NVME); got != want || out.ChecksumType != types.ChecksumTypeFullObject {
				t.Fatalf("complete: %s %q, want FULL_OBJECT %q", out.ChecksumType, got, want)
			}
			// The SDK checks a full-object checksum against the bytes.
			g, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(g.Body)
			g.Body.Close()
			if err != nil || !bytes.Equal(got, whole) || g.ChecksumType != types.ChecksumTypeFullObject {
				t.Fatalf("GET: %v (%d bytes) type %s", err, len(got), g.ChecksumType)
			}
			lp, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
			if err != nil || checksumField(alg, lp.ChecksumCRC32, lp.ChecksumCRC32C, nil, nil, lp.ChecksumCRC64NVME) != want {
				t.Fatalf("HEAD: %v", err)
			}
		})
	}
	t.Run("CRC64NVME defaults to full object", func(t *testing.T) {
		out, err := f.sdk.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("nvme"),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc64nvme})
		if err != nil || out.ChecksumType != types.ChecksumTypeFullObject {
			t.Fatalf("%v type %q", err, out.ChecksumType)
		}
	})
	t.Run("wrong full-object checksum", func(t *testing.T) {
		key := "full-bad"
		id, done := f.upload(t, b, key, types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, parts...)
		for _, v := range []string{crc32Full([]byte("other")), crc32Full(whole) + "-3"} {
			_, err := f.sdk.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id,
				ChecksumCRC32: aws.String(v), MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
			wantErr(t, err, "BadDigest", http.StatusBadRequest)
		}
		_, err := f.sdk.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id,
			ChecksumType: types.ChecksumTypeComposite, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		if f.exists(t, b, key) {
			t.Fatal("a refused completion stored")
		}
		if _, err := f.complete(t, b, key, id, done...); err != nil {
			t.Fatalf("the upload survives refused completions: %v", err)
		}
	})
	t.Run("refused pairs", func(t *testing.T) {
		for _, tc := range []struct {
			alg   types.ChecksumAlgorithm
			ctype types.ChecksumType
		}{
			{types.ChecksumAlgorithmSha256, types.ChecksumTypeFullObject},
			{types.ChecksumAlgorithmSha1, types.ChecksumTypeFullObject},
			{types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeComposite},
			{"", types.ChecksumTypeFullObject},
		} {
			_, err := f.sdk.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("refused"),
				ChecksumAlgorithm: tc.alg, ChecksumType: tc.ctype})
			wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		}
		lu, err := f.sdk.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b, Prefix: aws.String("refused")})
		if err != nil || len(lu.Uploads) != 0 {
			t.Fatalf("refused creations left uploads %v (%v)", lu.Uploads, err)
		}
	})
	t.Run("part of another algorithm", func(t *testing.T) {
		key := "mixed"
		out, err := f.sdk.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key,
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c, ChecksumType: types.ChecksumTypeFullObject})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: out.UploadId, PartNumber: aws.Int32(1),
			Body: bytes.NewReader(parts[0]), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		// A part sent with no checksum gets the upload's.
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: key, body: parts[0],
			query: url.Values{"uploadId": {aws.ToString(out.UploadId)}, "partNumber": {"1"}}})
		if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Checksum-Crc32c") != checksumOf(types.ChecksumAlgorithmCrc32c, parts[0]) {
			t.Fatalf("part without a checksum: %d %s %v", resp.StatusCode, body, resp.Header)
		}
	})
	t.Run("minio-go", func(t *testing.T) {
		data := randBytes(11<<20, 7)
		// minio-go sends checksums when it may send trailers (over TLS).
		info, err := f.MinioTLS(t).PutObject(ctx(t), b, "minio-full", bytes.NewReader(data), int64(len(data)),
			minio.PutObjectOptions{PartSize: 5 << 20, AutoChecksum: minio.ChecksumFullObjectCRC32C})
		if err != nil {
			t.Fatal(err)
		}
		want := checksumOf(types.ChecksumAlgorithmCrc32c, data)
		if info.ChecksumCRC32C != want || info.ChecksumMode != "FULL_OBJECT" {
			t.Fatalf("minio-go upload: crc32c %q mode %q, want %q", info.ChecksumCRC32C, info.ChecksumMode, want)
		}
		st, err := f.mc.StatObject(ctx(t), b, "minio-full", minio.StatObjectOptions{Checksum: true})
		if err != nil || st.ChecksumCRC32C != want {
			t.Fatalf("minio-go stat: %v %q", err, st.ChecksumCRC32C)
		}
	})
}

// TestIntegrationCopyChecksum: CopyObject computes the checksum it is asked
// for over the copied bytes; without one, the copy keeps the source's
// algorithm, as a full-object checksum (the copy is one part).
func TestIntegrationCopyChecksum(t *testing.T) {
	f := newFixture(t, smallParts)
	b := f.bucket(t)
	data := []byte("copy this")
	f.put(t, b, "src", data)
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmSha1,
		types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme} {
		key := "copy-" + string(alg)
		out, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: &key, CopySource: aws.String(b + "/src"), ChecksumAlgorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		want := checksumOf(alg, data)
		r := out.CopyObjectResult
		if got := checksumField(alg, r.ChecksumCRC32, r.ChecksumCRC32C, r.ChecksumSHA1, r.ChecksumSHA256, r.ChecksumCRC64NVME); got != want {
			t.Fatalf("%s copy result %q, want %q", alg, got, want)
		}
		h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || checksumField(alg, h.ChecksumCRC32, h.ChecksumCRC32C, h.ChecksumSHA1, h.ChecksumSHA256, h.ChecksumCRC64NVME) != want {
			t.Fatalf("%s copy HEAD: %v", alg, err)
		}
	}
	parts := [][]byte{[]byte("one"), []byte("two")}
	id, done := f.upload(t, b, "mp", types.ChecksumAlgorithmCrc32, "", parts...)
	if _, err := f.complete(t, b, "mp", id, done...); err != nil {
		t.Fatal(err)
	}
	out, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("mp-copy"), CopySource: aws.String(b + "/mp")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.CopyObjectResult.ChecksumCRC32); got != crc32Full(parts...) || out.CopyObjectResult.ChecksumType != types.ChecksumTypeFullObject {
		t.Fatalf("copy of a composite source: %q %s, want full-object %q", got, out.CopyObjectResult.ChecksumType, crc32Full(parts...))
	}
}
