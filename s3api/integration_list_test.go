package s3api_test

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/storage"
	"github.com/minio/minio-go/v7"
)

// seed stores empty objects under keys straight through the engine (the
// listing, not the PUT path, is under test here), eight at a time.
func (f *fixture) seed(t *testing.T, bucket string, keys []string) {
	t.Helper()
	var wg sync.WaitGroup
	ch := make(chan string)
	errs := make(chan error, len(keys))
	for range 8 {
		wg.Go(func() {
			for k := range ch {
				if _, err := f.Engine.PutObject(ctx(t), bucket, k, strings.NewReader(""), storage.PutOptions{Size: 0}); err != nil {
					errs <- fmt.Errorf("seed %q: %w", k, err)
				}
			}
		})
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// listV2 pages through ListObjectsV2 and returns keys and common prefixes.
func listV2(t *testing.T, f *fixture, in s3.ListObjectsV2Input) (keys, prefixes []string, pages int) {
	t.Helper()
	p := s3.NewListObjectsV2Paginator(f.sdk, &in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		n := len(out.Contents) + len(out.CommonPrefixes)
		if int(aws.ToInt32(out.KeyCount)) != n {
			t.Fatalf("KeyCount %d, page holds %d", aws.ToInt32(out.KeyCount), n)
		}
		if in.MaxKeys != nil && n > int(*in.MaxKeys) {
			t.Fatalf("page of %d exceeds max-keys %d", n, *in.MaxKeys)
		}
		if aws.ToBool(out.IsTruncated) != (out.NextContinuationToken != nil) {
			t.Fatalf("IsTruncated %v with NextContinuationToken %v", aws.ToBool(out.IsTruncated), out.NextContinuationToken)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, cp := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(cp.Prefix))
		}
	}
	return keys, prefixes, pages
}

// listV1 pages through ListObjects (V1) by marker.
func listV1(t *testing.T, f *fixture, in s3.ListObjectsInput) (keys, prefixes []string, pages int) {
	t.Helper()
	for {
		out, err := f.sdk.ListObjects(ctx(t), &in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		var last string
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
			last = aws.ToString(o.Key)
			if o.Owner == nil {
				t.Fatalf("V1 listing without Owner")
			}
		}
		for _, cp := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(cp.Prefix))
			last = max(last, aws.ToString(cp.Prefix))
		}
		if !aws.ToBool(out.IsTruncated) {
			return keys, prefixes, pages
		}
		next := aws.ToString(out.NextMarker)
		if next == "" {
			next = last
		}
		in.Marker = &next
		if pages > 10000 {
			t.Fatal("V1 listing does not end")
		}
	}
}

func TestIntegrationListPagination(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	var all []string
	for i := range 2500 {
		all = append(all, fmt.Sprintf("obj/%05d", i))
	}
	f.seed(t, b, all)
	for _, c := range []struct{ page, pages int }{{1000, 3}, {7, 358}, {2500, 3}, {0, 3}} {
		t.Run(fmt.Sprintf("v2 max-keys %d", c.page), func(t *testing.T) {
			in := s3.ListObjectsV2Input{Bucket: &b}
			if c.page > 0 {
				in.MaxKeys = aws.Int32(int32(c.page)) // above 1000 is capped at 1000
			}
			keys, _, pages := listV2(t, f, in)
			if !slices.Equal(keys, all) || pages != c.pages {
				t.Fatalf("got %d keys in %d pages, want %d in %d", len(keys), pages, len(all), c.pages)
			}
		})
		t.Run(fmt.Sprintf("v1 max-keys %d", c.page), func(t *testing.T) {
			in := s3.ListObjectsInput{Bucket: &b}
			if c.page > 0 {
				in.MaxKeys = aws.Int32(int32(c.page))
			}
			keys, _, pages := listV1(t, f, in)
			if !slices.Equal(keys, all) || pages != c.pages {
				t.Fatalf("got %d keys in %d pages, want %d in %d", len(keys), pages, len(all), c.pages)
			}
		})
	}
	t.Run("minio", func(t *testing.T) {
		for _, v1 := range []bool{false, true} {
			var keys []string
			for o := range f.mc.ListObjects(ctx(t), b, minio.ListObjectsOptions{Recursive: true, UseV1: v1, MaxKeys: 700}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				keys = append(keys, o.Key)
			}
			if !slices.Equal(keys, all) {
				t.Fatalf("minio (v1=%v) listed %d keys, want %d", v1, len(keys), len(all))
			}
		}
	})
	t.Run("start-after and marker", func(t *testing.T) {
		keys, _, _ := listV2(t, f, s3.ListObjectsV2Input{Bucket: &b, StartAfter: aws.String("obj/02490")})
		if !slices.Equal(keys, all[2491:]) {
			t.Fatalf("start-after: %v", keys)
		}
		keys, _, _ = listV2(t, f, s3.ListObjectsV2Input{Bucket: &b, StartAfter: aws.String("obj/02490x")})
		if !slices.Equal(keys, all[2491:]) {
			t.Fatalf("start-after between keys: %v", keys)
		}
		keys, _, _ = listV1(t, f, s3.ListObjectsInput{Bucket: &b, Marker: aws.String("obj/02497")})
		if !slices.Equal(keys, all[2498:]) {
			t.Fatalf("marker: %v", keys)
		}
		out, err := f.sdk.ListObjects(ctx(t), &s3.ListObjectsInput{Bucket: &b, Marker: aws.String("zzz")})
		if err != nil || len(out.Contents) != 0 || aws.ToBool(out.IsTruncated) || aws.ToString(out.Marker) != "zzz" {
			t.Fatalf("marker past the end: %+v, %v", out, err)
		}
		// A continuation token wins over start-after.
		first, err := f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: aws.Int32(3)})
		if err != nil {
			t.Fatal(err)
		}
		next, err := f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: aws.Int32(2),
			ContinuationToken: first.NextContinuationToken, StartAfter: aws.String("obj/01000")})
		if err != nil {
			t.Fatal(err)
		}
		if len(next.Contents) != 2 || aws.ToString(next.Contents[0].Key) != all[3] ||
			aws.ToString(next.ContinuationToken) != aws.ToString(first.NextContinuationToken) || aws.ToString(next.StartAfter) != "obj/01000" {
			t.Fatalf("continuation: %+v", next)
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, err := f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, ContinuationToken: aws.String("!!not base64!!")})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		_, err = f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: aws.Int32(-1)})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		_, err = f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("missing-bucket")})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
		_, err = f.sdk.ListObjects(ctx(t), &s3.ListObjectsInput{Bucket: &b, EncodingType: "base64"})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
	})
}

func TestIntegrationListDelimiter(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	keys := []string{"a/1", "a/2", "a/b/3", "b/1", "c", "d/e/f", "d/e/g", "d/h", "e", "photos/2024/x.jpg", "photos/2025/y.jpg", "photos-old"}
	f.seed(t, b, keys)
	cases := []struct {
		prefix, delim string
		keys, cps     []string
	}{
		{"", "/", []string{"c", "e", "photos-old"}, []string{"a/", "b/", "d/", "photos/"}},
		{"a/", "/", []string{"a/1", "a/2"}, []string{"a/b/"}},
		{"d/", "/", []string{"d/h"}, []string{"d/e/"}},
		{"d", "/", nil, []string{"d/"}},
		{"photos", "/", []string{"photos-old"}, []string{"photos/"}},
		{"photos/", "/", nil, []string{"photos/2024/", "photos/2025/"}},
		{"", "e", []string{"a/1", "a/2", "a/b/3", "b/1", "c", "d/h", "photos-old", "photos/2024/x.jpg", "photos/2025/y.jpg"}, []string{"d/e", "e"}},
		{"x", "/", nil, nil},
		{"a/", "", []string{"a/1", "a/2", "a/b/3"}, nil},
		{"", "/2", []string{"a/1", "a/b/3", "b/1", "c", "d/e/f", "d/e/g", "d/h", "e", "photos-old"}, []string{"a/2", "photos/2"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("prefix=%q delimiter=%q", c.prefix, c.delim), func(t *testing.T) {
			for _, page := range []int32{1000, 1, 2} {
				in := s3.ListObjectsV2Input{Bucket: &b, Prefix: &c.prefix, Delimiter: &c.delim, MaxKeys: aws.Int32(page)}
				gotKeys, gotCPs, _ := listV2(t, f, in)
				if !slices.Equal(gotKeys, c.keys) || !slices.Equal(gotCPs, c.cps) {
					t.Fatalf("v2 page %d: keys %q prefixes %q, want %q %q", page, gotKeys, gotCPs, c.keys, c.cps)
				}
				gotKeys, gotCPs, _ = listV1(t, f, s3.ListObjectsInput{Bucket: &b, Prefix: &c.prefix, Delimiter: &c.delim, MaxKeys: aws.Int32(page)})
				if !slices.Equal(gotKeys, c.keys) || !slices.Equal(gotCPs, c.cps) {
					t.Fatalf("v1 page %d: keys %q prefixes %q, want %q %q", page, gotKeys, gotCPs, c.keys, c.cps)
				}
			}
			var mKeys []string
			for o := range f.mc.ListObjects(ctx(t), b, minio.ListObjectsOptions{Prefix: c.prefix, Recursive: c.delim == ""}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				mKeys = append(mKeys, o.Key)
			}
			if c.delim == "/" || c.delim == "" {
				// minio-go yields a page's objects before its prefixes.
				want := slices.Concat(c.keys, c.cps)
				slices.Sort(want)
				slices.Sort(mKeys)
				if !slices.Equal(mKeys, want) {
					t.Fatalf("minio: %q, want %q", mKeys, want)
				}
			}
		})
	}
	t.Run("echoes parameters", func(t *testing.T) {
		out, err := f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("a/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(5)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Name) != b || aws.ToString(out.Prefix) != "a/" || aws.ToString(out.Delimiter) != "/" || aws.ToInt32(out.MaxKeys) != 5 {
			t.Fatalf("echo: name %q prefix %q delimiter %q max %d", aws.ToString(out.Name), aws.ToString(out.Prefix), aws.ToString(out.Delimiter), aws.ToInt32(out.MaxKeys))
		}
	})
}

func TestIntegrationListObjectFields(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	body := []byte("twelve bytes")
	f.put(t, b, "k", body)
	out, err := f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 {
		t.Fatalf("%d objects", len(out.Contents))
	}
	o := out.Contents[0]
	if aws.ToString(o.ETag) != quoted(md5Hex(body)) || aws.ToInt64(o.Size) != 12 || o.LastModified == nil || o.StorageClass != types.ObjectStorageClassStandard {
		t.Fatalf("entry: etag %s size %d class %s", aws.ToString(o.ETag), aws.ToInt64(o.Size), o.StorageClass)
	}
	if o.Owner != nil {
		t.Fatalf("V2 without fetch-owner returned an Owner")
	}
	out, err = f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, FetchOwner: aws.Bool(true)})
	if err != nil || out.Contents[0].Owner == nil || aws.ToString(out.Contents[0].Owner.ID) == "" {
		t.Fatalf("fetch-owner: %+v, %v", out.Contents[0].Owner, err)
	}
}

func TestIntegrationListOrderAndEncoding(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	keys := []string{"a", "B", "é", "z", "~", "日本", "😀", "ab", "a b", "a+b", "a%2Fb", "ctl\x01char", "ctl\x1fchar", "tab\tkey", "new\nline", "amp&lt;"}
	for _, k := range keys {
		f.put(t, b, k, []byte(k))
	}
	// S3 orders keys by their UTF-8 bytes (so 😀 after 日本, unlike UTF-16).
	want := slices.Clone(keys)
	slices.Sort(want)
	if i, j := slices.Index(want, "日本"), slices.Index(want, "😀"); i > j {
		t.Fatal("test expectation is not byte order")
	}

	t.Run("encoding-type=url", func(t *testing.T) {
		for _, v := range []url.Values{
			{"list-type": {"2"}, "encoding-type": {"url"}},
			{"encoding-type": {"url"}},
			{"list-type": {"2"}, "encoding-type": {"url"}, "delimiter": {"\x01"}, "prefix": {"ctl"}},
		} {
			resp, body := f.do(t, rawReq{method: http.MethodGet, bucket: b, query: v})
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var res struct {
				EncodingType   string
				Prefix         string
				Delimiter      string
				Contents       []struct{ Key string }
				CommonPrefixes []struct{ Prefix string }
			}
			if err := xml.Unmarshal(body, &res); err != nil {
				t.Fatalf("listing is not XML 1.0 even with encoding-type=url: %v", err)
			}
			if res.EncodingType != "url" {
				t.Fatalf("EncodingType %q", res.EncodingType)
			}
			var got []string
			for _, c := range res.Contents {
				k, err := url.QueryUnescape(c.Key)
				if err != nil {
					t.Fatalf("key %q is not url-encoded: %v", c.Key, err)
				}
				got = append(got, k)
			}
			if v.Get("delimiter") != "" {
				var cps []string
				for _, c := range res.CommonPrefixes {
					p, _ := url.QueryUnescape(c.Prefix)
					cps = append(cps, p)
				}
				d, _ := url.QueryUnescape(res.Delimiter)
				if !slices.Equal(cps, []string{"ctl\x01"}) || !slices.Equal(got, []string{"ctl\x1fchar"}) || d != "\x01" {
					t.Fatalf("control-char delimiter: keys %q prefixes %q delimiter %q", got, cps, res.Delimiter)
				}
				continue
			}
			if !slices.Equal(got, want) {
				t.Fatalf("decoded keys\n got %q\nwant %q", got, want)
			}
		}
	})
	t.Run("sdk order", func(t *testing.T) {
		// Keys with control characters need encoding-type=url; the SDK
		// returns them still encoded, so decode here.
		out, err := f.sdk.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, EncodingType: types.EncodingTypeUrl})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range out.Contents {
			k, err := url.QueryUnescape(aws.ToString(o.Key))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, k)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("order\n got %q\nwant %q", got, want)
		}
	})
	t.Run("minio", func(t *testing.T) {
		var got []string
		for o := range f.mc.ListObjects(ctx(t), b, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			got = append(got, o.Key)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("minio order\n got %q\nwant %q", got, want)
		}
	})
}
