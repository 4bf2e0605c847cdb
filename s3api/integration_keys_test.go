package s3api_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
)

// oddKeys are keys that must reach storage byte-for-byte: nothing may clean,
// unescape twice or trim them.
var oddKeys = []string{
	"../a",
	"../../etc/passwd",
	"./dot",
	"a/./b",
	"a/../b",
	"a//b",
	"//leading",
	"trailing/",
	"%2F",
	"literal%2Fslash",
	"100%",
	"%zz",
	"with space",
	" lead and trail ",
	"plus+sign",
	"query?x=1&y=2",
	"hash#frag",
	"semi;colon,comma",
	"tilde~star*quote'paren()",
	"back\\slash",
	"emoji 😀/🎉.txt",
	"日本語/キー",
	"e\u0301 decomposed",
	"é composed",
	"tab\there",
	"<xml>&amp;\"",
	strings.Repeat("k", 1024),
	strings.Repeat("😀", 256), // 1024 bytes
	strings.Repeat("a/", 512),
}

func TestIntegrationKeys(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	for i, key := range oddKeys {
		body := []byte("body of " + key)
		name := key
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(strings.ToValidUTF8(name, "?"), func(t *testing.T) {
			if i%2 == 0 {
				f.put(t, b, key, body)
			} else {
				if _, err := f.mc.PutObject(ctx(t), b, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
					t.Fatalf("minio PutObject %q: %v", key, err)
				}
			}
			if got := f.get(t, b, key); !bytes.Equal(got, body) {
				t.Fatalf("SDK GET %q returned %q", key, got)
			}
			obj, err := f.mc.GetObject(ctx(t), b, key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, obj); !bytes.Equal(got, body) {
				t.Fatalf("minio GET %q returned %q", key, got)
			}
		})
	}
	t.Run("listed back exactly", func(t *testing.T) {
		want := slices.Clone(oddKeys)
		slices.Sort(want)
		var got []string
		p := s3.NewListObjectsV2Paginator(f.sdk, &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: aws.Int32(7)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out.Contents {
				got = append(got, aws.ToString(o.Key))
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("SDK listing differs:\n got %q\nwant %q", got, want)
		}
		got = got[:0]
		for o := range f.mc.ListObjects(ctx(t), b, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			got = append(got, o.Key)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("minio listing (encoding-type=url) differs:\n got %q\nwant %q", got, want)
		}
	})
	t.Run("too long", func(t *testing.T) {
		for _, key := range []string{strings.Repeat("k", 1025), strings.Repeat("é", 513)} {
			_, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: &key, Body: strings.NewReader("x")})
			wantErr(t, err, "KeyTooLongError", http.StatusBadRequest)
			_, err = f.sdk.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key})
			wantErr(t, err, "KeyTooLongError", http.StatusBadRequest)
			_, err = f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: &key, CopySource: aws.String(b + "/a//b")})
			wantErr(t, err, "KeyTooLongError", http.StatusBadRequest)
		}
	})
	t.Run("invalid utf-8", func(t *testing.T) {
		resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, key: "bad\xffutf8", body: []byte("x")})
		wantXMLError(t, resp, body, "InvalidArgument", http.StatusBadRequest)
	})
}
