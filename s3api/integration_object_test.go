package s3api_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/minio/minio-go/v7"
)

func TestIntegrationPutGetRoundTrip(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	sizes := []int{0, 1, 4 << 10, 16 << 10, 16<<10 + 1, 1<<20 + 1, 10 << 20}
	for i, size := range sizes {
		t.Run("sdk/"+strconv.Itoa(size), func(t *testing.T) {
			body := randBytes(size, uint64(i+1))
			key := "sdk/obj-" + strconv.Itoa(size)
			out := f.put(t, b, key, body)
			if got, want := aws.ToString(out.ETag), quoted(md5Hex(body)); got != want {
				t.Fatalf("PUT ETag %s, want %s", got, want)
			}
			g, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key})
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, g.Body)
			if !bytes.Equal(got, body) {
				t.Fatalf("GET returned %d bytes differing from the %d put", len(got), size)
			}
			if aws.ToInt64(g.ContentLength) != int64(size) || aws.ToString(g.ETag) != quoted(md5Hex(body)) {
				t.Fatalf("GET Content-Length %d ETag %s", aws.ToInt64(g.ContentLength), aws.ToString(g.ETag))
			}
			if aws.ToString(g.ContentType) != "binary/octet-stream" && aws.ToString(g.ContentType) != "application/octet-stream" {
				t.Fatalf("default Content-Type %q", aws.ToString(g.ContentType))
			}
			if g.LastModified == nil || time.Since(*g.LastModified) > time.Minute {
				t.Fatalf("Last-Modified %v", g.LastModified)
			}
		})
		t.Run("minio/"+strconv.Itoa(size), func(t *testing.T) {
			body := randBytes(size, uint64(100+i))
			key := "minio/obj-" + strconv.Itoa(size)
			info, err := f.mc.PutObject(ctx(t), b, key, bytes.NewReader(body), int64(size), minio.PutObjectOptions{ContentType: "application/x-test"})
			if err != nil {
				t.Fatal(err)
			}
			if info.ETag != md5Hex(body) {
				t.Fatalf("minio ETag %s, want %s", info.ETag, md5Hex(body))
			}
			obj, err := f.mc.GetObject(ctx(t), b, key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, obj)
			if !bytes.Equal(got, body) {
				t.Fatalf("minio GET returned %d bytes differing from the %d put", len(got), size)
			}
			st, err := f.mc.StatObject(ctx(t), b, key, minio.StatObjectOptions{})
			if err != nil || st.Size != int64(size) || st.ContentType != "application/x-test" {
				t.Fatalf("StatObject = %+v, %v", st, err)
			}
		})
	}
	t.Run("overwrite", func(t *testing.T) {
		f.put(t, b, "over", randBytes(100<<10, 7))
		f.put(t, b, "over", []byte("short"))
		if got := f.get(t, b, "over"); string(got) != "short" {
			t.Fatalf("overwrite: got %d bytes", len(got))
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("nope")})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		_, err = f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("missing-bucket"), Key: aws.String("nope")})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
		resp, body := f.do(t, rawReq{method: http.MethodGet, bucket: b, key: "nope/x y"})
		doc := wantXMLError(t, resp, body, "NoSuchKey", http.StatusNotFound)
		if doc.Key != "nope/x y" {
			t.Fatalf("NoSuchKey Key = %q", doc.Key)
		}
	})
}

func TestIntegrationRange(t *testing.T) {
	// Small blocks, so ranges cross erasure blocks and parts of blocks.
	f := newFixture(t, s3test.WithBlockSize(4<<10), s3test.WithInlineThreshold(1<<10))
	b := f.bucket(t)
	const n = 40000
	body := randBytes(n, 42)
	f.put(t, b, "obj", body)
	f.put(t, b, "empty", nil)
	f.put(t, b, "small", []byte("0123456789")) // inline

	cases := []struct {
		key, rng string
		status   int
		from, to int // expected body slice; to exclusive
		cr       string
	}{
		{"obj", "bytes=0-0", 206, 0, 1, "bytes 0-0/40000"},
		{"obj", "bytes=-5", 206, n - 5, n, "bytes 39995-39999/40000"},
		{"obj", "bytes=10-", 206, 10, n, "bytes 10-39999/40000"},
		{"obj", "bytes=4090-8200", 206, 4090, 8201, "bytes 4090-8200/40000"},
		{"obj", "bytes=39999-39999", 206, n - 1, n, "bytes 39999-39999/40000"},
		{"obj", "bytes=0-99999", 206, 0, n, "bytes 0-39999/40000"},
		{"obj", "bytes=-99999", 206, 0, n, "bytes 0-39999/40000"},
		{"obj", "bytes=40000-", 416, 0, 0, ""},
		{"obj", "bytes=50000-60000", 416, 0, 0, ""},
		{"obj", "bytes=-0", 416, 0, 0, ""},
		// Syntactically invalid or multiple ranges are ignored, as S3 does.
		{"obj", "bytes=9-3", 200, 0, n, ""},
		{"obj", "bytes=0-1,5-6", 200, 0, n, ""},
		{"obj", "items=0-1", 200, 0, n, ""},
		{"small", "bytes=2-4", 206, 2, 5, "bytes 2-4/10"},
		{"small", "bytes=-3", 206, 7, 10, "bytes 7-9/10"},
		{"empty", "bytes=0-0", 416, 0, 0, ""},
	}
	objects := map[string][]byte{"obj": body, "empty": nil, "small": []byte("0123456789")}
	for _, c := range cases {
		t.Run(c.key+"/"+c.rng, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				resp, got := f.do(t, rawReq{method: method, bucket: b, key: c.key, header: http.Header{"Range": {c.rng}}})
				if c.status == 416 {
					if method == http.MethodGet {
						wantXMLError(t, resp, got, "InvalidRange", 416)
					} else if resp.StatusCode != 416 {
						t.Fatalf("HEAD status %d, want 416", resp.StatusCode)
					}
					continue
				}
				if resp.StatusCode != c.status {
					t.Fatalf("%s status %d, want %d: %s", method, resp.StatusCode, c.status, got)
				}
				if cr := resp.Header.Get("Content-Range"); cr != c.cr {
					t.Fatalf("%s Content-Range %q, want %q", method, cr, c.cr)
				}
				want := objects[c.key][c.from:c.to]
				if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(want)) {
					t.Fatalf("%s Content-Length %s, want %d", method, cl, len(want))
				}
				if method == http.MethodGet && !bytes.Equal(got, want) {
					t.Fatalf("GET body: %d bytes, want %d (bytes differ)", len(got), len(want))
				}
				if resp.Header.Get("Accept-Ranges") != "bytes" {
					t.Fatalf("no Accept-Ranges: bytes")
				}
			}
		})
	}
	t.Run("sdk", func(t *testing.T) {
		out, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj"), Range: aws.String("bytes=100-199")})
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, out.Body); !bytes.Equal(got, body[100:200]) || aws.ToString(out.ContentRange) != "bytes 100-199/40000" {
			t.Fatalf("SDK range: %d bytes, Content-Range %s", len(got), aws.ToString(out.ContentRange))
		}
		_, err = f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj"), Range: aws.String("bytes=40000-")})
		wantErr(t, err, "InvalidRange", http.StatusRequestedRangeNotSatisfiable)
	})
	t.Run("minio", func(t *testing.T) {
		opts := minio.GetObjectOptions{}
		if err := opts.SetRange(30000, 30009); err != nil {
			t.Fatal(err)
		}
		obj, err := f.mc.GetObject(ctx(t), b, "obj", opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, obj); !bytes.Equal(got, body[30000:30010]) {
			t.Fatalf("minio range returned %q", got)
		}
		// ReadAt through minio's seeking reader.
		obj, err = f.mc.GetObject(ctx(t), b, "obj", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		buf := make([]byte, 77)
		if _, err := obj.ReadAt(buf, 12345); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, body[12345:12345+77]) {
			t.Fatalf("minio ReadAt differs")
		}
	})
}

func TestIntegrationConditionalGet(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	body := []byte("conditional body")
	etag := aws.ToString(f.put(t, b, "k", body).ETag)
	head, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	mod := *head.LastModified
	past := mod.Add(-time.Hour).Format(http.TimeFormat)
	future := mod.Add(time.Hour).Format(http.TimeFormat)
	same := mod.Format(http.TimeFormat)

	cases := []struct {
		name   string
		h      http.Header
		status int
	}{
		{"if-match ok", http.Header{"If-Match": {etag}}, 200},
		{"if-match unquoted", http.Header{"If-Match": {strings.Trim(etag, `"`)}}, 200},
		{"if-match star", http.Header{"If-Match": {"*"}}, 200},
		{"if-match list", http.Header{"If-Match": {`"nope", ` + etag}}, 200},
		{"if-match wrong", http.Header{"If-Match": {`"0123"`}}, 412},
		{"if-none-match same", http.Header{"If-None-Match": {etag}}, 304},
		{"if-none-match star", http.Header{"If-None-Match": {"*"}}, 304},
		{"if-none-match other", http.Header{"If-None-Match": {`"0123"`}}, 200},
		{"if-modified-since past", http.Header{"If-Modified-Since": {past}}, 200},
		{"if-modified-since same", http.Header{"If-Modified-Since": {same}}, 304},
		{"if-modified-since future", http.Header{"If-Modified-Since": {future}}, 304},
		{"if-modified-since garbage", http.Header{"If-Modified-Since": {"yesterday"}}, 200},
		{"if-unmodified-since past", http.Header{"If-Unmodified-Since": {past}}, 412},
		{"if-unmodified-since same", http.Header{"If-Unmodified-Since": {same}}, 200},
		{"if-unmodified-since future", http.Header{"If-Unmodified-Since": {future}}, 200},
		// RFC 9110 / S3: If-Match wins over If-Unmodified-Since, If-None-Match
		// over If-Modified-Since.
		{"if-match ok + unmodified past", http.Header{"If-Match": {etag}, "If-Unmodified-Since": {past}}, 200},
		{"if-none-match other + modified future", http.Header{"If-None-Match": {`"x"`}, "If-Modified-Since": {future}}, 200},
		{"if-match wrong + none-match same", http.Header{"If-Match": {`"x"`}, "If-None-Match": {etag}}, 412},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				resp, got := f.do(t, rawReq{method: method, bucket: b, key: "k", header: c.h})
				if resp.StatusCode != c.status {
					t.Fatalf("%s status %d, want %d: %s", method, resp.StatusCode, c.status, got)
				}
				switch {
				case c.status == 200 && method == http.MethodGet && !bytes.Equal(got, body):
					t.Fatalf("GET body %q", got)
				case c.status == 304:
					if len(got) != 0 || resp.Header.Get("Etag") != etag || resp.Header.Get("Last-Modified") == "" {
						t.Fatalf("304 must have no body and carry ETag and Last-Modified: %q %v", got, resp.Header)
					}
				case c.status == 412 && method == http.MethodGet:
					wantXMLError(t, resp, got, "PreconditionFailed", 412)
				}
			}
		})
	}
	t.Run("sdk", func(t *testing.T) {
		_, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k"), IfNoneMatch: &etag})
		if errStatus(err) != http.StatusNotModified {
			t.Fatalf("If-None-Match: want 304, got %v", err)
		}
		_, err = f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k"), IfMatch: aws.String(`"bad"`)})
		wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
		_, err = f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("k"), IfUnmodifiedSince: aws.Time(mod.Add(-time.Hour))})
		if errStatus(err) != http.StatusPreconditionFailed {
			t.Fatalf("HEAD If-Unmodified-Since: want 412, got %v", err)
		}
		opts := minio.GetObjectOptions{}
		_ = opts.SetMatchETagExcept(strings.Trim(etag, `"`))
		_, err = f.mc.StatObject(ctx(t), b, "k", minio.StatObjectOptions(opts))
		if minio.ToErrorResponse(err).StatusCode != http.StatusNotModified {
			t.Fatalf("minio If-None-Match: %v", err)
		}
	})
}

func TestIntegrationResponseOverrides(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	_, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("doc"), Body: strings.NewReader("hello"),
		ContentType: aws.String("text/plain")})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	out, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("doc"),
		ResponseContentType:        aws.String("application/json"),
		ResponseContentDisposition: aws.String(`attachment; filename="ü x.json"`),
		ResponseContentLanguage:    aws.String("de-CH"),
		ResponseCacheControl:       aws.String("no-store"),
		ResponseContentEncoding:    aws.String("identity"),
		ResponseExpires:            aws.Time(exp),
	})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, out.Body)
	checks := map[string][2]string{
		"Content-Type":        {aws.ToString(out.ContentType), "application/json"},
		"Content-Disposition": {aws.ToString(out.ContentDisposition), `attachment; filename="ü x.json"`},
		"Content-Language":    {aws.ToString(out.ContentLanguage), "de-CH"},
		"Cache-Control":       {aws.ToString(out.CacheControl), "no-store"},
		"Content-Encoding":    {aws.ToString(out.ContentEncoding), "identity"},
		"Expires":             {aws.ToString(out.ExpiresString), exp.Format(http.TimeFormat)},
	}
	for h, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", h, c[0], c[1])
		}
	}
	// The override does not change what is stored.
	head, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("doc")})
	if err != nil || aws.ToString(head.ContentType) != "text/plain" {
		t.Fatalf("stored Content-Type %q, %v", aws.ToString(head.ContentType), err)
	}
	// minio passes overrides as query parameters as well.
	q := url.Values{"response-content-type": {"image/png"}}
	obj, err := f.mc.GetObject(ctx(t), b, "doc", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	obj.Close()
	resp, _ := f.do(t, rawReq{method: http.MethodGet, bucket: b, key: "doc", query: q})
	if resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("raw override Content-Type %q", resp.Header.Get("Content-Type"))
	}
}

func TestIntegrationMetadataPreserved(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	exp := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	in := &s3.PutObjectInput{Bucket: &b, Key: aws.String("m"), Body: strings.NewReader("gzipped?"),
		ContentType:        aws.String("text/csv; charset=utf-8"),
		ContentEncoding:    aws.String("gzip"),
		ContentDisposition: aws.String(`inline; filename="a.csv"`),
		ContentLanguage:    aws.String("fr"),
		CacheControl:       aws.String("max-age=60, public"),
		Expires:            aws.Time(exp),
		Metadata:           map[string]string{"Color": "blue", "multi-word-name": "v a l u e", "empty": ""},
	}
	if _, err := f.sdk.PutObject(ctx(t), in); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, ct, ce, cd, cl, cc, ex *string, md map[string]string) {
		t.Helper()
		got := map[string]string{"ct": aws.ToString(ct), "ce": aws.ToString(ce), "cd": aws.ToString(cd),
			"cl": aws.ToString(cl), "cc": aws.ToString(cc), "ex": aws.ToString(ex)}
		want := map[string]string{"ct": "text/csv; charset=utf-8", "ce": "gzip", "cd": `inline; filename="a.csv"`,
			"cl": "fr", "cc": "max-age=60, public", "ex": exp.Format(http.TimeFormat)}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s = %q, want %q", k, got[k], w)
			}
		}
		if md["color"] != "blue" || md["multi-word-name"] != "v a l u e" {
			t.Errorf("user metadata = %v", md)
		}
	}
	g, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("m")})
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, g.Body); string(body) != "gzipped?" {
		t.Fatalf("body %q", body)
	}
	check(t, g.ContentType, g.ContentEncoding, g.ContentDisposition, g.ContentLanguage, g.CacheControl, g.ExpiresString, g.Metadata)
	h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("m")})
	if err != nil {
		t.Fatal(err)
	}
	check(t, h.ContentType, h.ContentEncoding, h.ContentDisposition, h.ContentLanguage, h.CacheControl, h.ExpiresString, h.Metadata)
	if aws.ToInt64(h.ContentLength) != 8 || aws.ToString(h.ETag) != quoted(md5Hex([]byte("gzipped?"))) {
		t.Fatalf("HEAD Content-Length %d ETag %s", aws.ToInt64(h.ContentLength), aws.ToString(h.ETag))
	}
	st, err := f.mc.StatObject(ctx(t), b, "m", minio.StatObjectOptions{})
	if err != nil || st.UserMetadata["Color"] != "blue" || st.ContentType != "text/csv; charset=utf-8" {
		t.Fatalf("minio StatObject: %+v, %v", st.UserMetadata, err)
	}

	t.Run("too large", func(t *testing.T) {
		_, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("big-meta"), Body: strings.NewReader("x"),
			Metadata: map[string]string{"a": strings.Repeat("v", 2100)}})
		wantErr(t, err, "MetadataTooLarge", http.StatusBadRequest)
		if f.exists(t, b, "big-meta") {
			t.Fatal("object stored despite MetadataTooLarge")
		}
	})
}

func TestIntegrationHeadObject(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	body := randBytes(20000, 3)
	f.put(t, b, "h", body)
	out, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("h")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(out.ContentLength) != 20000 || aws.ToString(out.ETag) != quoted(md5Hex(body)) || out.LastModified == nil {
		t.Fatalf("HEAD = len %d etag %s", aws.ToInt64(out.ContentLength), aws.ToString(out.ETag))
	}
	if out.VersionId != nil {
		t.Fatalf("unversioned bucket returned x-amz-version-id %q", aws.ToString(out.VersionId))
	}
	_, err = f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("missing")})
	wantErr(t, err, "NotFound", http.StatusNotFound)
	_, err = f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("h"), PartNumber: aws.Int32(1)})
	if err != nil {
		t.Fatalf("HEAD partNumber=1 of a plain object: %v", err)
	}
	resp, got := f.do(t, rawReq{method: http.MethodHead, bucket: b, key: "h"})
	if resp.StatusCode != 200 || len(got) != 0 || resp.Header.Get("Content-Length") != "20000" {
		t.Fatalf("raw HEAD: %d len=%q body=%d", resp.StatusCode, resp.Header.Get("Content-Length"), len(got))
	}
}

func TestIntegrationDeleteObject(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "d", []byte("x"))
	out, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("d")})
	if err != nil {
		t.Fatal(err)
	}
	if out.DeleteMarker != nil && *out.DeleteMarker {
		t.Fatalf("unversioned delete reported a delete marker")
	}
	if f.exists(t, b, "d") {
		t.Fatal("deleted object still exists")
	}
	// Deleting a missing key is a success, as in S3.
	resp, body := f.do(t, rawReq{method: http.MethodDelete, bucket: b, key: "d"})
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete missing: %d %s", resp.StatusCode, body)
	}
	if err := f.mc.RemoveObject(ctx(t), b, "never-was", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("minio RemoveObject missing: %v", err)
	}
	_, err = f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String("missing-bucket"), Key: aws.String("d")})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
}

func TestIntegrationDeleteObjects(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	for _, k := range []string{"a", "b", "dir/c", "sp ace&<x>"} {
		f.put(t, b, k, []byte(k))
	}
	objs := func(keys ...string) []types.ObjectIdentifier {
		var out []types.ObjectIdentifier
		for _, k := range keys {
			out = append(out, types.ObjectIdentifier{Key: aws.String(k)})
		}
		return out
	}
	out, err := f.sdk.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{
		Objects: objs("a", "dir/c", "missing", "sp ace&<x>", strings.Repeat("k", 1025)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	for _, d := range out.Deleted {
		deleted[aws.ToString(d.Key)] = true
	}
	for _, k := range []string{"a", "dir/c", "missing", "sp ace&<x>"} {
		if !deleted[k] {
			t.Errorf("%q not reported deleted (deleted: %v)", k, deleted)
		}
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "KeyTooLongError" {
		t.Fatalf("errors = %+v, want one KeyTooLongError", out.Errors)
	}
	for k, want := range map[string]bool{"a": false, "b": true, "dir/c": false, "sp ace&<x>": false} {
		if f.exists(t, b, k) != want {
			t.Errorf("after DeleteObjects, %q exists = %v, want %v", k, !want, want)
		}
	}

	t.Run("quiet", func(t *testing.T) {
		f.put(t, b, "q1", []byte("1"))
		f.put(t, b, "q2", []byte("2"))
		out, err := f.sdk.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{
			Objects: append(objs("q1", "q2"), types.ObjectIdentifier{Key: aws.String("q3"), VersionId: aws.String("not-a-version")}), Quiet: aws.Bool(true),
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Deleted) != 0 {
			t.Fatalf("quiet mode listed %d deleted keys", len(out.Deleted))
		}
		if len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "q3" || aws.ToString(out.Errors[0].Code) == "" {
			t.Fatalf("quiet mode must still report errors: %+v", out.Errors)
		}
		if f.exists(t, b, "q1") || f.exists(t, b, "q2") {
			t.Fatal("quiet delete left objects")
		}
	})
	t.Run("minio", func(t *testing.T) {
		ch := make(chan minio.ObjectInfo, 3)
		for _, k := range []string{"m1", "m2", "m3"} {
			f.put(t, b, k, []byte(k))
			ch <- minio.ObjectInfo{Key: k}
		}
		close(ch)
		for e := range f.mc.RemoveObjects(ctx(t), b, ch, minio.RemoveObjectsOptions{}) {
			t.Fatalf("minio RemoveObjects: %s: %v", e.ObjectName, e.Err)
		}
		for _, k := range []string{"m1", "m2", "m3"} {
			if f.exists(t, b, k) {
				t.Fatalf("%s survived RemoveObjects", k)
			}
		}
	})
	t.Run("raw result", func(t *testing.T) {
		f.put(t, b, "r", []byte("r"))
		doc := `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>r</Key></Object></Delete>`
		resp, body := f.do(t, rawReq{method: http.MethodPost, bucket: b, query: url.Values{"delete": {""}}, body: []byte(doc),
			header: http.Header{"Content-Md5": {contentMD5([]byte(doc))}}})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var res struct {
			XMLName xml.Name `xml:"DeleteResult"`
			Deleted []struct{ Key string }
		}
		if err := xml.Unmarshal(body, &res); err != nil || len(res.Deleted) != 1 || res.Deleted[0].Key != "r" {
			t.Fatalf("DeleteResult %s (%v)", body, err)
		}
		if !strings.Contains(string(body), `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`) {
			t.Fatalf("DeleteResult without the S3 namespace: %s", body)
		}
	})
	t.Run("too many keys", func(t *testing.T) {
		var sb strings.Builder
		sb.WriteString("<Delete>")
		for i := range 1001 {
			fmt.Fprintf(&sb, "<Object><Key>k%d</Key></Object>", i)
		}
		sb.WriteString("</Delete>")
		resp, body := f.do(t, rawReq{method: http.MethodPost, bucket: b, query: url.Values{"delete": {""}}, body: []byte(sb.String())})
		wantXMLError(t, resp, body, "MalformedXML", http.StatusBadRequest)
	})
}

func TestIntegrationCopyObject(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	b2 := f.bucket(t)
	body := randBytes(50000, 11)
	put, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("src key+ü"), Body: bytes.NewReader(body),
		ContentType: aws.String("image/x-src"), CacheControl: aws.String("no-cache"), Metadata: map[string]string{"origin": "src"}})
	if err != nil {
		t.Fatal(err)
	}
	srcETag := aws.ToString(put.ETag)
	source := url.PathEscape(b) + "/" + url.PathEscape("src key+ü")

	t.Run("metadata copy", func(t *testing.T) {
		out, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("dst"), CopySource: &source,
			ContentType: aws.String("ignored/when-copy"), Metadata: map[string]string{"ignored": "yes"}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.CopyObjectResult.ETag) != srcETag || out.CopyObjectResult.LastModified == nil {
			t.Fatalf("CopyObjectResult ETag %s, want %s", aws.ToString(out.CopyObjectResult.ETag), srcETag)
		}
		h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b2, Key: aws.String("dst")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(h.ContentType) != "image/x-src" || aws.ToString(h.CacheControl) != "no-cache" ||
			h.Metadata["origin"] != "src" || h.Metadata["ignored"] != "" {
			t.Fatalf("COPY directive: ct %q cc %q meta %v", aws.ToString(h.ContentType), aws.ToString(h.CacheControl), h.Metadata)
		}
		if got := f.get(t, b2, "dst"); !bytes.Equal(got, body) {
			t.Fatal("copied bytes differ")
		}
	})
	t.Run("metadata replace", func(t *testing.T) {
		_, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("dst2"), CopySource: &source,
			MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/replaced"),
			Metadata: map[string]string{"new": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b2, Key: aws.String("dst2")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(h.ContentType) != "text/replaced" || h.Metadata["new"] != "1" || h.Metadata["origin"] != "" || h.CacheControl != nil {
			t.Fatalf("REPLACE directive: ct %q cc %v meta %v", aws.ToString(h.ContentType), h.CacheControl, h.Metadata)
		}
	})
	t.Run("copy-source-if-match fails", func(t *testing.T) {
		_, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("dst3"), CopySource: &source,
			CopySourceIfMatch: aws.String(`"00000000000000000000000000000000"`)})
		wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
		_, err = f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("dst3"), CopySource: &source,
			CopySourceIfNoneMatch: &srcETag})
		wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
		_, err = f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("dst3"), CopySource: &source,
			CopySourceIfUnmodifiedSince: aws.Time(time.Now().Add(-24 * time.Hour))})
		wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
		if f.exists(t, b2, "dst3") {
			t.Fatal("failed conditional copy created the destination")
		}
		_, err = f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("dst3"), CopySource: &source,
			CopySourceIfMatch: &srcETag})
		if err != nil {
			t.Fatalf("matching copy-source-if-match: %v", err)
		}
	})
	t.Run("self copy", func(t *testing.T) {
		self := b + "/self"
		f.put(t, b, "self", []byte("me"))
		_, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("self"), CopySource: &self})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		_, err = f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("self"), CopySource: &self,
			MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"touched": "yes"}})
		if err != nil {
			t.Fatalf("self copy with REPLACE: %v", err)
		}
		h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("self")})
		if err != nil || h.Metadata["touched"] != "yes" {
			t.Fatalf("self copy metadata %v, %v", h.Metadata, err)
		}
		if got := f.get(t, b, "self"); string(got) != "me" {
			t.Fatalf("self copy body %q", got)
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("x"), CopySource: aws.String(b + "/missing")})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		_, err = f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("x"), CopySource: aws.String("missing-bucket/k")})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
		_, err = f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("x"), CopySource: aws.String("no-key")})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		_, err = f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("x"), CopySource: &source,
			MetadataDirective: "MERGE"})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
	})
	t.Run("minio", func(t *testing.T) {
		_, err := f.mc.CopyObject(ctx(t), minio.CopyDestOptions{Bucket: b2, Object: "minio-dst"},
			minio.CopySrcOptions{Bucket: b, Object: "src key+ü"})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, b2, "minio-dst"); !bytes.Equal(got, body) {
			t.Fatal("minio copy differs")
		}
	})
}

func TestIntegrationConditionalPut(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	first, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("c"), Body: strings.NewReader("one"), IfNoneMatch: aws.String("*")})
	if err != nil {
		t.Fatalf("first If-None-Match: *: %v", err)
	}
	_, err = f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("c"), Body: strings.NewReader("two"), IfNoneMatch: aws.String("*")})
	wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	_, err = f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("c"), Body: strings.NewReader("three"), IfMatch: aws.String(`"ffffffffffffffffffffffffffffffff"`)})
	wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	if got := f.get(t, b, "c"); string(got) != "one" {
		t.Fatalf("failed conditional PUTs changed the object: %q", got)
	}
	_, err = f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("c"), Body: strings.NewReader("four"), IfMatch: first.ETag})
	if err != nil {
		t.Fatalf("If-Match current ETag: %v", err)
	}
	if got := f.get(t, b, "c"); string(got) != "four" {
		t.Fatalf("If-Match PUT: %q", got)
	}
	_, err = f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("absent"), Body: strings.NewReader("x"), IfMatch: first.ETag})
	wantErr(t, err, "NoSuchKey", http.StatusNotFound)
	resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "c", body: []byte("x"), header: http.Header{"If-None-Match": {`"abc"`}}})
	wantXMLError(t, resp, body, "NotImplemented", http.StatusNotImplemented)
	// After a delete, If-None-Match: * succeeds again.
	if _, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("c")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("c"), Body: strings.NewReader("five"), IfNoneMatch: aws.String("*")}); err != nil {
		t.Fatalf("If-None-Match: * after delete: %v", err)
	}
}

// A large upload refused before its body is read still gets a clean S3
// error, whichever client sends it (SDK with Expect: 100-continue over TLS,
// minio-go with signed chunks over plain HTTP and unsigned trailers over TLS).
func TestIntegrationEarlyRefusal(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	big := randBytes(8<<20, 1)
	f.put(t, b, "exists", []byte("x"))
	for range 2 { // twice, so a connection left in a bad state would show
		_, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("missing-bucket"), Key: aws.String("k"), Body: bytes.NewReader(big)})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
		_, err = f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("exists"), Body: bytes.NewReader(big), IfNoneMatch: aws.String("*")})
		wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
		for _, mc := range []*minio.Client{f.mc, f.MinioTLS(t)} {
			_, err = mc.PutObject(ctx(t), "missing-bucket", "k", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{DisableMultipart: true})
			wantMinioErr(t, err, "NoSuchBucket", http.StatusNotFound)
		}
	}
	if got := f.get(t, b, "exists"); string(got) != "x" {
		t.Fatalf("refused PUT changed the object: %d bytes", len(got))
	}
}
