package s3api_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

const mib = 1 << 20

// multipartETag is S3's ETag of a multipart object.
func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(h.Sum(nil)), len(parts))
}

func (f *fixture) createUpload(t *testing.T, bucket, key string) string {
	t.Helper()
	out, err := f.sdk.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	if aws.ToString(out.Bucket) != bucket || aws.ToString(out.Key) != key || aws.ToString(out.UploadId) == "" {
		t.Fatalf("CreateMultipartUpload result %+v", out)
	}
	return aws.ToString(out.UploadId)
}

func (f *fixture) uploadPart(t *testing.T, bucket, key, id string, n int32, body []byte) types.CompletedPart {
	t.Helper()
	out, err := f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: &id, PartNumber: &n, Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("UploadPart %d: %v", n, err)
	}
	if got := aws.ToString(out.ETag); got != quoted(md5Hex(body)) {
		t.Fatalf("part %d ETag %s, want %s", n, got, quoted(md5Hex(body)))
	}
	return types.CompletedPart{PartNumber: &n, ETag: out.ETag}
}

func (f *fixture) complete(t *testing.T, bucket, key, id string, parts ...types.CompletedPart) (*s3.CompleteMultipartUploadOutput, error) {
	return f.sdk.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
}

func TestIntegrationMultipartUpload(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	key := "big/object.bin"
	p1, p2, p3 := randBytes(5*mib, 1), randBytes(5*mib+123, 2), randBytes(777, 3)
	id := f.createUpload(t, b, key)

	// Parts go up concurrently and out of order, as real clients send them.
	parts := make([]types.CompletedPart, 3)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i, body := range [][]byte{p1, p2, p3} {
		wg.Go(func() {
			pn := int32(i + 1)
			out, err := f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &id, PartNumber: &pn, Body: bytes.NewReader(body)})
			if err != nil {
				errs <- err
				return
			}
			parts[i] = types.CompletedPart{PartNumber: aws.Int32(pn), ETag: out.ETag}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if f.exists(t, b, key) {
		t.Fatal("object visible before CompleteMultipartUpload")
	}
	out, err := f.complete(t, b, key, id, parts...)
	if err != nil {
		t.Fatal(err)
	}
	want := multipartETag(p1, p2, p3)
	if aws.ToString(out.ETag) != want || aws.ToString(out.Bucket) != b || aws.ToString(out.Key) != key || aws.ToString(out.Location) == "" {
		t.Fatalf("Complete result: etag %s (want %s) bucket %s key %s location %s", aws.ToString(out.ETag), want,
			aws.ToString(out.Bucket), aws.ToString(out.Key), aws.ToString(out.Location))
	}
	all := slices.Concat(p1, p2, p3)
	if got := f.get(t, b, key); !bytes.Equal(got, all) {
		t.Fatalf("multipart object: %d bytes, want %d (differs)", len(got), len(all))
	}
	h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key})
	if err != nil || aws.ToString(h.ETag) != want || aws.ToInt64(h.ContentLength) != int64(len(all)) {
		t.Fatalf("HEAD: %v etag %s len %d", err, aws.ToString(h.ETag), aws.ToInt64(h.ContentLength))
	}
	t.Run("get by part number", func(t *testing.T) {
		for i, p := range [][]byte{p1, p2, p3} {
			g, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key, PartNumber: aws.Int32(int32(i + 1))})
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, g.Body); !bytes.Equal(got, p) || aws.ToInt32(g.PartsCount) != 3 {
				t.Fatalf("part %d: %d bytes, parts count %d", i+1, len(got), aws.ToInt32(g.PartsCount))
			}
		}
		_, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key, PartNumber: aws.Int32(4)})
		if errStatus(err) != http.StatusBadRequest && errStatus(err) != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("part 4 of 3: %v", err)
		}
	})
	t.Run("range across parts", func(t *testing.T) {
		g, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key, Range: aws.String(fmt.Sprintf("bytes=%d-%d", 5*mib-10, 10*mib+200))})
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, g.Body); !bytes.Equal(got, all[5*mib-10:10*mib+201]) {
			t.Fatalf("range across parts differs (%d bytes)", len(got))
		}
	})
	t.Run("upload is gone", func(t *testing.T) {
		// A repeated completion answers the first (see
		// TestIntegrationCompleteTwice); the upload itself is gone.
		_, err := f.complete(t, b, key, id, parts[:2]...)
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		_, err = f.sdk.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
	})
}

func TestIntegrationMultipartErrors(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	big := randBytes(5*mib, 9)

	t.Run("EntityTooSmall", func(t *testing.T) {
		id := f.createUpload(t, b, "small")
		c1 := f.uploadPart(t, b, "small", id, 1, []byte("tiny first part"))
		c2 := f.uploadPart(t, b, "small", id, 2, []byte("last"))
		_, err := f.complete(t, b, "small", id, c1, c2)
		wantErr(t, err, "EntityTooSmall", http.StatusBadRequest)
		// The upload survives a refused complete; a lone small part is fine.
		if _, err := f.complete(t, b, "small", id, c1); err != nil {
			t.Fatalf("single small (last) part: %v", err)
		}
		if got := f.get(t, b, "small"); string(got) != "tiny first part" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("InvalidPart", func(t *testing.T) {
		id := f.createUpload(t, b, "ip")
		c1 := f.uploadPart(t, b, "ip", id, 1, big)
		c2 := f.uploadPart(t, b, "ip", id, 2, []byte("end"))
		bad := c2
		bad.ETag = aws.String(quoted(md5Hex([]byte("something else"))))
		_, err := f.complete(t, b, "ip", id, c1, bad)
		wantErr(t, err, "InvalidPart", http.StatusBadRequest)
		_, err = f.complete(t, b, "ip", id, c1, types.CompletedPart{PartNumber: aws.Int32(3), ETag: c2.ETag})
		wantErr(t, err, "InvalidPart", http.StatusBadRequest)
		// ETags without quotes are accepted, as S3 does.
		unq := c2
		unq.ETag = aws.String(md5Hex([]byte("end")))
		if _, err := f.complete(t, b, "ip", id, c1, unq); err != nil {
			t.Fatalf("unquoted ETag: %v", err)
		}
		if f.exists(t, b, "ip") != true {
			t.Fatal("completed object missing")
		}
	})
	t.Run("InvalidPartOrder", func(t *testing.T) {
		id := f.createUpload(t, b, "order")
		c1 := f.uploadPart(t, b, "order", id, 1, big)
		c2 := f.uploadPart(t, b, "order", id, 2, big)
		_, err := f.complete(t, b, "order", id, c2, c1)
		wantErr(t, err, "InvalidPartOrder", http.StatusBadRequest)
		_, err = f.complete(t, b, "order", id, c1, c1)
		wantErr(t, err, "InvalidPartOrder", http.StatusBadRequest)
		if f.exists(t, b, "order") {
			t.Fatal("refused complete created the object")
		}
	})
	t.Run("NoSuchUpload", func(t *testing.T) {
		const bogus = "00000000-0000-0000-0000-000000000000"
		_, err := f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("k"), UploadId: aws.String(bogus), PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("x"))})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		_, err = f.complete(t, b, "k", bogus, types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(`"x"`)})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		_, err = f.sdk.AbortMultipartUpload(ctx(t), &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String("k"), UploadId: aws.String(bogus)})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		_, err = f.sdk.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("k"), UploadId: aws.String(bogus)})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		// An upload id belongs to its key.
		id := f.createUpload(t, b, "owner")
		_, err = f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("other"), UploadId: &id, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("x"))})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "owner", query: map[string][]string{"uploadId": {id}, "partNumber": {"1"}}, body: []byte("x")})
		if resp.StatusCode != 200 {
			t.Fatalf("raw UploadPart: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("part number", func(t *testing.T) {
		id := f.createUpload(t, b, "pn")
		for _, n := range []string{"0", "10001", "-1", "x"} {
			resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "pn", query: map[string][]string{"uploadId": {id}, "partNumber": {n}}, body: []byte("x")})
			wantXMLError(t, resp, body, "InvalidArgument", http.StatusBadRequest)
		}
	})
	t.Run("Abort", func(t *testing.T) {
		id := f.createUpload(t, b, "ab")
		f.uploadPart(t, b, "ab", id, 1, []byte("data"))
		if _, err := f.sdk.AbortMultipartUpload(ctx(t), &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String("ab"), UploadId: &id}); err != nil {
			t.Fatal(err)
		}
		_, err := f.sdk.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("ab"), UploadId: &id, PartNumber: aws.Int32(2), Body: bytes.NewReader([]byte("x"))})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		_, err = f.complete(t, b, "ab", id, types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(quoted(md5Hex([]byte("data"))))})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		if f.exists(t, b, "ab") {
			t.Fatal("aborted upload created an object")
		}
		ups, err := f.sdk.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b, Prefix: aws.String("ab")})
		if err != nil || len(ups.Uploads) != 0 {
			t.Fatalf("aborted upload still listed: %+v, %v", ups.Uploads, err)
		}
	})
	t.Run("conditional complete", func(t *testing.T) {
		f.put(t, b, "exists", []byte("old"))
		id := f.createUpload(t, b, "exists")
		c1 := f.uploadPart(t, b, "exists", id, 1, []byte("new"))
		_, err := f.sdk.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("exists"), UploadId: &id,
			IfNoneMatch: aws.String("*"), MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{c1}}})
		wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
		if got := f.get(t, b, "exists"); string(got) != "old" {
			t.Fatalf("refused complete replaced the object: %q", got)
		}
	})
	t.Run("empty part list", func(t *testing.T) {
		id := f.createUpload(t, b, "none")
		_, err := f.complete(t, b, "none", id)
		wantErr(t, err, "MalformedXML", http.StatusBadRequest)
	})
}

func TestIntegrationUploadPartCopy(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	src := randBytes(6*mib+500, 21)
	f.put(t, b, "src", src)
	id := f.createUpload(t, b, "dst")
	cp1, err := f.sdk.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst"), UploadId: &id, PartNumber: aws.Int32(1),
		CopySource: aws.String(b + "/src"), CopySourceRange: aws.String(fmt.Sprintf("bytes=100-%d", 100+5*mib-1))})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(cp1.CopyPartResult.ETag), quoted(md5Hex(src[100:100+5*mib])); got != want {
		t.Fatalf("copy part ETag %s, want %s", got, want)
	}
	cp2, err := f.sdk.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst"), UploadId: &id, PartNumber: aws.Int32(2),
		CopySource: aws.String(b + "/src")})
	if err != nil {
		t.Fatal(err)
	}
	c3 := f.uploadPart(t, b, "dst", id, 3, []byte("tail"))
	out, err := f.complete(t, b, "dst", id,
		types.CompletedPart{PartNumber: aws.Int32(1), ETag: cp1.CopyPartResult.ETag},
		types.CompletedPart{PartNumber: aws.Int32(2), ETag: cp2.CopyPartResult.ETag}, c3)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(src[100:100+5*mib], src, []byte("tail"))
	if aws.ToString(out.ETag) != multipartETag(src[100:100+5*mib], src, []byte("tail")) {
		t.Fatalf("ETag %s", aws.ToString(out.ETag))
	}
	if got := f.get(t, b, "dst"); !bytes.Equal(got, want) {
		t.Fatalf("UploadPartCopy object differs (%d bytes, want %d)", len(got), len(want))
	}
	t.Run("errors", func(t *testing.T) {
		id := f.createUpload(t, b, "dst2")
		_, err := f.sdk.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst2"), UploadId: &id, PartNumber: aws.Int32(1),
			CopySource: aws.String(b + "/src"), CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", len(src)))})
		if errStatus(err) != http.StatusBadRequest && errStatus(err) != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("range past the source: %v", err)
		}
		for _, rng := range []string{"bytes=-5", "bytes=5-", "5-10"} {
			_, err = f.sdk.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst2"), UploadId: &id, PartNumber: aws.Int32(1),
				CopySource: aws.String(b + "/src"), CopySourceRange: aws.String(rng)})
			wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		}
		_, err = f.sdk.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst2"), UploadId: &id, PartNumber: aws.Int32(1),
			CopySource: aws.String(b + "/missing")})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		_, err = f.sdk.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst2"), UploadId: &id, PartNumber: aws.Int32(1),
			CopySource: aws.String(b + "/src"), CopySourceIfMatch: aws.String(`"nope"`)})
		wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
		_, err = f.sdk.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst2"), UploadId: aws.String("bogus"), PartNumber: aws.Int32(1),
			CopySource: aws.String(b + "/src")})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
	})
}

func TestIntegrationListParts(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	id := f.createUpload(t, b, "lp")
	var want []types.CompletedPart
	for _, n := range []int32{1, 2, 3, 5, 8, 13, 21} {
		want = append(want, f.uploadPart(t, b, "lp", id, n, []byte("part "+strconv.Itoa(int(n)))))
	}
	// Re-uploading a part replaces it.
	want[1] = f.uploadPart(t, b, "lp", id, 2, []byte("part 2, second try"))

	var got []types.Part
	var marker *string
	pages := 0
	for {
		out, err := f.sdk.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("lp"), UploadId: &id, MaxParts: aws.Int32(3), PartNumberMarker: marker})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Parts) > 3 || aws.ToString(out.UploadId) != id || aws.ToString(out.Key) != "lp" || aws.ToInt32(out.MaxParts) != 3 {
			t.Fatalf("page %d: %+v", pages, out)
		}
		got = append(got, out.Parts...)
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		marker = out.NextPartNumberMarker
	}
	if pages != 3 || len(got) != len(want) {
		t.Fatalf("%d parts in %d pages", len(got), pages)
	}
	for i, p := range got {
		if aws.ToInt32(p.PartNumber) != aws.ToInt32(want[i].PartNumber) || aws.ToString(p.ETag) != aws.ToString(want[i].ETag) ||
			p.LastModified == nil || aws.ToInt64(p.Size) == 0 {
			t.Fatalf("part %d = %d %s, want %d %s", i, aws.ToInt32(p.PartNumber), aws.ToString(p.ETag), aws.ToInt32(want[i].PartNumber), aws.ToString(want[i].ETag))
		}
	}
	if aws.ToInt64(got[1].Size) != int64(len("part 2, second try")) {
		t.Fatalf("replaced part size %d", aws.ToInt64(got[1].Size))
	}
	// minio lists parts too.
	core := minio.Core{Client: f.mc}
	res, err := core.ListObjectParts(ctx(t), b, "lp", id, 0, 1000)
	if err != nil || len(res.ObjectParts) != len(want) {
		t.Fatalf("minio ListObjectParts: %d parts, %v", len(res.ObjectParts), err)
	}
}

func TestIntegrationListMultipartUploads(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	type up struct{ key, id string }
	var ups []up
	for _, k := range []string{"a/1", "a/2", "b", "b", "c/d/e", "z"} {
		ups = append(ups, up{k, f.createUpload(t, b, k)})
	}
	slices.SortFunc(ups, func(x, y up) int {
		if x.key != y.key {
			if x.key < y.key {
				return -1
			}
			return 1
		}
		if x.id < y.id {
			return -1
		}
		if x.id > y.id {
			return 1
		}
		return 0
	})
	var got []up
	in := &s3.ListMultipartUploadsInput{Bucket: &b, MaxUploads: aws.Int32(2)}
	pages := 0
	for {
		out, err := f.sdk.ListMultipartUploads(ctx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range out.Uploads {
			got = append(got, up{aws.ToString(u.Key), aws.ToString(u.UploadId)})
			if u.Initiated == nil {
				t.Fatal("upload without Initiated")
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
		if pages > 10 {
			t.Fatal("listing does not end")
		}
	}
	if !slices.Equal(got, ups) || pages != 3 {
		t.Fatalf("uploads in %d pages:\n got %v\nwant %v", pages, got, ups)
	}
	out, err := f.sdk.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b, Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var keys, cps []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	for _, cp := range out.CommonPrefixes {
		cps = append(cps, aws.ToString(cp.Prefix))
	}
	if !slices.Equal(keys, []string{"b", "b", "z"}) || !slices.Equal(cps, []string{"a/", "c/"}) {
		t.Fatalf("delimiter: keys %v prefixes %v", keys, cps)
	}
	out, err = f.sdk.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b, Prefix: aws.String("a/")})
	if err != nil || len(out.Uploads) != 2 {
		t.Fatalf("prefix a/: %d uploads, %v", len(out.Uploads), err)
	}
	var mKeys []string
	for u := range f.mc.ListIncompleteUploads(ctx(t), b, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		mKeys = append(mKeys, u.Key)
	}
	if len(mKeys) != len(ups) {
		t.Fatalf("minio ListIncompleteUploads: %v", mKeys)
	}
	_, err = f.sdk.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: aws.String("missing-bucket")})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
}

// genReader streams n deterministic bytes without holding them, hashing
// what it hands out.
type genReader struct {
	n    int64
	seed uint64
	md5  hash.Hash
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.n == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	chunk := randBytes(len(p), g.seed)
	g.seed++
	copy(p, chunk)
	g.n -= int64(len(p))
	g.md5.Write(p)
	return len(p), nil
}

func TestIntegrationMinioStreamingMultipart(t *testing.T) {
	if testing.Short() {
		t.Skip("70 MiB upload")
	}
	f := newFixture(t)
	b := f.bucket(t)
	const size = 70 * mib
	src := &genReader{n: size, seed: 77, md5: md5.New()}
	info, err := f.mc.PutObject(ctx(t), b, "stream", src, -1, minio.PutObjectOptions{PartSize: 16 * mib, ContentType: "application/x-stream"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size {
		t.Fatalf("uploaded %d bytes", info.Size)
	}
	st, err := f.mc.StatObject(ctx(t), b, "stream", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != size || st.ContentType != "application/x-stream" || !strings.HasSuffix(st.ETag, "-5") {
		t.Fatalf("stat: size %d type %s etag %s", st.Size, st.ContentType, st.ETag)
	}
	obj, err := f.mc.GetObject(ctx(t), b, "stream", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	h := md5.New()
	n, err := io.Copy(h, obj)
	if err != nil || n != size {
		t.Fatalf("read back %d bytes: %v", n, err)
	}
	if !bytes.Equal(h.Sum(nil), src.md5.Sum(nil)) {
		t.Fatal("70 MiB object read back differs")
	}
}
