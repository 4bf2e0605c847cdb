package s3api_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
)

// submit POSTs a form made of an SDK's presigned values (in a stable
// order, the file last) with client.
func submit(t *testing.T, client *http.Client, target string, values map[string]string, file []byte) (*http.Response, []byte) {
	t.Helper()
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, k := range names {
		w.WriteField(k, values[k])
	}
	fw, _ := w.CreateFormFile("file", "upload.bin")
	fw.Write(file)
	w.Close()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, target, &b)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// The presigned POSTs of aws-sdk-go-v2 (PresignPostObject) and minio-go
// (PresignedPostPolicy) are accepted with what they sign, and refused
// past it.
func TestIntegrationPostSDKs(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	data := randBytes(70_000, 81)

	t.Run("aws-sdk-go-v2", func(t *testing.T) {
		presign := s3.NewPresignClient(f.sdk)
		post, err := presign.PresignPostObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("sdk/post.bin")},
			func(o *s3.PresignPostOptions) {
				o.Expires = 5 * time.Minute
				o.Conditions = []any{[]any{"content-length-range", 1, 100_000}}
			})
		if err != nil {
			t.Fatal(err)
		}
		resp, body := submit(t, f.HTTPClient(), post.URL, post.Values, data)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if got := f.get(t, b, "sdk/post.bin"); !bytes.Equal(got, data) {
			t.Fatal("stored other bytes")
		}
		resp, body = submit(t, f.HTTPClient(), post.URL, post.Values, randBytes(100_001, 82))
		wantXMLError(t, resp, body, "EntityTooLarge", http.StatusBadRequest)
		// The policy names the key: another one is refused.
		other := map[string]string{}
		for k, v := range post.Values {
			other[k] = v
		}
		other["key"] = "sdk/elsewhere.bin"
		resp, body = submit(t, f.HTTPClient(), post.URL, other, data)
		wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
		if f.exists(t, b, "sdk/elsewhere.bin") {
			t.Fatal("a key the policy does not allow was stored")
		}
	})

	t.Run("minio-go", func(t *testing.T) {
		p := minio.NewPostPolicy()
		for _, err := range []error{
			p.SetBucket(b), p.SetKey("minio/post.bin"), p.SetExpires(time.Now().UTC().Add(5 * time.Minute)),
			p.SetContentType("application/x-test"), p.SetContentLengthRange(1, 100_000),
			p.SetUserMetadata("origin", "minio-go"), p.SetSuccessStatusAction("201"),
			p.SetChecksum(minio.NewChecksum(minio.ChecksumSHA256, sha256sum(data))),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		u, values, err := f.mc.PresignedPostPolicy(ctx(t), p)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := submit(t, http.DefaultClient, u.String(), values, data)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		out, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("minio/post.bin")})
		if err != nil || *out.ContentType != "application/x-test" || out.Metadata["origin"] != "minio-go" {
			t.Fatalf("stored %+v %v", out, err)
		}
		// The checksum it signed is checked against the file.
		resp, body = submit(t, http.DefaultClient, u.String(), values, randBytes(70_000, 83))
		wantXMLError(t, resp, body, "BadDigest", http.StatusBadRequest)
		if got := f.get(t, b, "minio/post.bin"); !bytes.Equal(got, data) {
			t.Fatal("a file failing its checksum replaced the object")
		}
	})
}
