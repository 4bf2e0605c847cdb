package e2e

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/e2e/harness"
)

// TestS3Details drives the details clients trip on through the real
// binary: get-object-attributes and rb with only incomplete uploads with
// the aws cli, a FULL_OBJECT multipart upload with aws-sdk-go-v2 (the aws
// cli 2.9 here has no --checksum-type), and a PUT with HTTP chunked
// transfer coding and no Content-Length with curl on a presigned URL.
func TestS3Details(t *testing.T) {
	t.Parallel()
	harness.RequireTool(t, harness.AWSCLI)
	harness.RequireTool(t, harness.Curl)
	n := harness.StartNode(t, harness.NodeOptions{Name: "details"})
	t.Run("get-object-attributes", func(t *testing.T) { awsObjectAttributes(t, n) })
	t.Run("rb-with-incomplete-uploads", func(t *testing.T) { awsRemoveBucketWithUploads(t, n) })
	t.Run("mb-owned-bucket", func(t *testing.T) {
		c := n.Clients(t)
		b := harness.BucketName("owned")
		c.MustAWS("s3api", "create-bucket", "--bucket", b)
		if r := c.AWS("s3api", "create-bucket", "--bucket", b); r.Err != nil {
			t.Errorf("re-creating an owned bucket in us-east-1 failed:\n%s", r)
		}
	})
	t.Run("full-object-multipart", func(t *testing.T) { sdkFullObject(t, n) })
	t.Run("curl-chunked-put", func(t *testing.T) { curlChunkedPut(t, n) })
}

func crc32b64(b []byte) string {
	s := crc32.ChecksumIEEE(b)
	return base64.StdEncoding.EncodeToString([]byte{byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)})
}

// awsObjectAttributes: the cli's get-object-attributes on a plain object and
// on a multipart one with CRC32 part checksums, paged by --max-parts.
func awsObjectAttributes(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	b := harness.BucketName("attrs")
	c.MustAWS("s3", "mb", "s3://"+b)
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	must(t, os.WriteFile(plain, []byte("plain object"), 0o644))
	c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "plain", "--body", plain)
	var pa struct {
		ETag         string
		ObjectSize   int64
		StorageClass string
		ObjectParts  *struct{}
	}
	jsonInto(t, c.MustAWS("s3api", "get-object-attributes", "--bucket", b, "--key", "plain",
		"--object-attributes", "ETag", "ObjectSize", "StorageClass", "ObjectParts"), &pa)
	sum := md5.Sum([]byte("plain object"))
	if pa.ETag != hex.EncodeToString(sum[:]) || pa.ObjectSize != 12 || pa.StorageClass != "STANDARD" || pa.ObjectParts != nil {
		t.Errorf("plain attributes: %+v", pa)
	}

	parts := [][]byte{harness.RandomBytes(5<<20, 31), harness.RandomBytes(5<<20, 32), harness.RandomBytes(1000, 33)}
	var up struct{ UploadId string }
	jsonInto(t, c.MustAWS("s3api", "create-multipart-upload", "--bucket", b, "--key", "mp", "--checksum-algorithm", "CRC32"), &up)
	type part struct {
		ETag          string
		ChecksumCRC32 string
		PartNumber    int
	}
	var done []part
	for i, p := range parts {
		f := filepath.Join(dir, fmt.Sprint("part", i))
		must(t, os.WriteFile(f, p, 0o644))
		var r struct{ ETag, ChecksumCRC32 string }
		jsonInto(t, c.MustAWS("s3api", "upload-part", "--bucket", b, "--key", "mp", "--upload-id", up.UploadId,
			"--part-number", fmt.Sprint(i+1), "--body", f, "--checksum-algorithm", "CRC32"), &r)
		if r.ChecksumCRC32 != crc32b64(p) {
			t.Fatalf("part %d CRC32 %q, want %q", i+1, r.ChecksumCRC32, crc32b64(p))
		}
		done = append(done, part{r.ETag, r.ChecksumCRC32, i + 1})
	}
	mpu, _ := json.Marshal(map[string]any{"Parts": done})
	c.MustAWS("s3api", "complete-multipart-upload", "--bucket", b, "--key", "mp", "--upload-id", up.UploadId, "--multipart-upload", string(mpu))
	type attrs struct {
		Checksum    struct{ ChecksumCRC32 string }
		ObjectSize  int64
		ObjectParts struct {
			TotalPartsCount      int
			IsTruncated          bool
			NextPartNumberMarker int
			Parts                []struct {
				PartNumber    int
				Size          int64
				ChecksumCRC32 string
			}
		}
	}
	var all attrs
	jsonInto(t, c.MustAWS("s3api", "get-object-attributes", "--bucket", b, "--key", "mp",
		"--object-attributes", "Checksum", "ObjectParts", "ObjectSize"), &all)
	if all.ObjectParts.TotalPartsCount != 3 || len(all.ObjectParts.Parts) != 3 || all.ObjectSize != int64(len(bytes.Join(parts, nil))) ||
		!strings.HasSuffix(all.Checksum.ChecksumCRC32, "-3") {
		t.Errorf("multipart attributes: %+v", all)
	}
	var page attrs
	jsonInto(t, c.MustAWS("s3api", "get-object-attributes", "--bucket", b, "--key", "mp", "--max-parts", "2", "--part-number-marker", "1",
		"--object-attributes", "ObjectParts"), &page)
	op := page.ObjectParts
	if len(op.Parts) != 2 || op.Parts[0].PartNumber != 2 || op.Parts[1].PartNumber != 3 || op.IsTruncated ||
		op.Parts[1].Size != 1000 || op.Parts[1].ChecksumCRC32 != crc32b64(parts[2]) {
		t.Errorf("page after part 1: %+v", op)
	}
	if r := c.AWS("s3api", "get-object-attributes", "--bucket", b, "--key", "mp", "--object-attributes", "Colour"); r.Err == nil ||
		!strings.Contains(r.Output, "InvalidArgument") {
		t.Errorf("a bad attribute name:\n%s", r)
	}
}

// awsRemoveBucketWithUploads: `aws s3 rb` of a bucket holding only
// incomplete multipart uploads succeeds, and the uploads go with it.
func awsRemoveBucketWithUploads(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	b := harness.BucketName("rbuploads")
	c.MustAWS("s3", "mb", "s3://"+b)
	f := filepath.Join(t.TempDir(), "part")
	must(t, os.WriteFile(f, harness.RandomBytes(1<<20, 41), 0o644))
	for _, key := range []string{"a", "b/c"} {
		var up struct{ UploadId string }
		jsonInto(t, c.MustAWS("s3api", "create-multipart-upload", "--bucket", b, "--key", key), &up)
		c.MustAWS("s3api", "upload-part", "--bucket", b, "--key", key, "--upload-id", up.UploadId, "--part-number", "1", "--body", f)
	}
	if r := c.AWS("s3", "rb", "s3://"+b); r.Err != nil {
		t.Fatalf("rb of a bucket with only incomplete uploads:\n%s", r)
	}
	if r := c.AWS("s3api", "head-bucket", "--bucket", b); r.Err == nil {
		t.Fatalf("the bucket is still there")
	}
	c.MustAWS("s3", "mb", "s3://"+b)
	if out := c.MustAWS("s3api", "list-multipart-uploads", "--bucket", b); strings.Contains(out, "UploadId") {
		t.Errorf("the re-created bucket has the old uploads:\n%s", out)
	}
}

// sdkFullObject: a FULL_OBJECT CRC32C multipart upload with aws-sdk-go-v2,
// whose GET the SDK verifies against the whole object's CRC.
func sdkFullObject(t *testing.T, n *harness.Node) {
	sdk := n.SDKClient()
	ctx := t.Context()
	b := harness.BucketName("fullobj")
	if _, err := sdk.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	key := "full"
	parts := [][]byte{harness.RandomBytes(5<<20, 51), harness.RandomBytes(3<<20+7, 52)}
	up, err := sdk.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key,
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c, ChecksumType: types.ChecksumTypeFullObject})
	if err != nil || up.ChecksumType != types.ChecksumTypeFullObject {
		t.Fatalf("create: %v type %q", err, up.ChecksumType)
	}
	var done []types.CompletedPart
	for i, p := range parts {
		num := int32(i + 1)
		po, err := sdk.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumber: &num,
			Body: bytes.NewReader(p), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: &num, ETag: po.ETag, ChecksumCRC32C: po.ChecksumCRC32C})
	}
	whole := bytes.Join(parts, nil)
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	h.Write(whole)
	want := base64.StdEncoding.EncodeToString(h.Sum(nil))
	out, err := sdk.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: up.UploadId,
		ChecksumType: types.ChecksumTypeFullObject, ChecksumCRC32C: &want, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil || aws.ToString(out.ChecksumCRC32C) != want {
		t.Fatalf("complete: %v crc32c %q, want %q", err, aws.ToString(out.ChecksumCRC32C), want)
	}
	g, err := sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(g.Body)
	g.Body.Close()
	if err != nil || !bytes.Equal(got, whole) || aws.ToString(g.ChecksumCRC32C) != want || g.ChecksumType != types.ChecksumTypeFullObject {
		t.Fatalf("GET: %v, %d bytes, crc32c %q type %q", err, len(got), aws.ToString(g.ChecksumCRC32C), g.ChecksumType)
	}
}

// curlChunkedPut: curl streams a file with Transfer-Encoding: chunked and no
// Content-Length to a presigned PUT URL; the object reads back whole.
func curlChunkedPut(t *testing.T, n *harness.Node) {
	sdk := n.SDKClient()
	c := n.Clients(t)
	b := harness.BucketName("chunked")
	c.MustAWS("s3", "mb", "s3://"+b)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	data := harness.RandomBytes(3<<20+11, 61)
	must(t, os.WriteFile(src, data, 0o644))
	req, err := s3.NewPresignClient(sdk).PresignPutObject(t.Context(), &s3.PutObjectInput{Bucket: &b, Key: aws.String("streamed")},
		s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	res := c.Curl("-sS", "-v", "-o", filepath.Join(dir, "resp"), "-w", "%{http_code}", "-X", "PUT",
		"-H", "Transfer-Encoding: chunked", "-H", "Content-Type:", "-T", src, req.URL)
	if status := c.Must(res); status != "200" {
		t.Fatalf("chunked PUT: status %s: %s", status, readFile(t, filepath.Join(dir, "resp")))
	}
	// curl's -v lines show what it sent: chunked, with no length.
	if !strings.Contains(res.Output, "> Transfer-Encoding: chunked") || strings.Contains(strings.ToLower(res.Output), "> content-length") {
		t.Fatalf("curl did not stream the body chunked:\n%s", res.Output)
	}
	out := filepath.Join(dir, "out")
	c.MustAWS("s3", "cp", "s3://"+b+"/streamed", out)
	if !bytes.Equal(readFile(t, out), data) {
		t.Fatal("the streamed object reads back different")
	}
}
