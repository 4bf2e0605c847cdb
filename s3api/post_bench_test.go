package s3api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/sirupsen/logrus"
)

// BenchmarkPostVsPut compares a browser-based POST upload with a PUT of
// the same object over the same in-process server: the form parsing and
// the streaming through multipart should cost little beside the
// erasure-coded write itself.
func BenchmarkPostVsPut(b *testing.B) {
	env := s3test.New(b, s3test.WithLogLevel(logrus.WarnLevel))
	bucket := "bench"
	if _, err := env.SDK(b).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for _, size := range []int{64 << 10, 8 << 20} {
		data := randBytes(size, 99)
		b.Run(fmt.Sprintf("PUT/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPut, env.PlainURL+"/"+bucket+"/put", bytes.NewReader(data))
				req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
				creds := aws.Credentials{AccessKeyID: env.AccessKey, SecretAccessKey: env.SecretKey}
				if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", s3test.Region, time.Now()); err != nil {
					b.Fatal(err)
				}
				benchDo(b, client, req, http.StatusOK)
			}
		})
		b.Run(fmt.Sprintf("POST/%dKiB", size>>10), func(b *testing.B) {
			head, tail, ctype := benchForm(b, env)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				body := io.MultiReader(bytes.NewReader(head), bytes.NewReader(data), bytes.NewReader(tail))
				req, _ := http.NewRequest(http.MethodPost, env.PlainURL+"/"+bucket, body)
				req.ContentLength = int64(len(head) + len(data) + len(tail))
				req.Header.Set("Content-Type", ctype)
				benchDo(b, client, req, http.StatusNoContent)
			}
		})
	}
}

func benchDo(b *testing.B, c *http.Client, req *http.Request, want int) {
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// benchForm is a signed form around its file: the bytes before and after.
func benchForm(b *testing.B, env *s3test.Env) (head, tail []byte, ctype string) {
	now := time.Now().UTC()
	date, amzDate := now.Format("20060102"), now.Format("20060102T150405Z")
	cred := env.AccessKey + "/" + date + "/" + s3test.Region + "/s3/aws4_request"
	doc, _ := json.Marshal(map[string]any{"expiration": now.Add(time.Hour).Format(time.RFC3339), "conditions": []any{
		map[string]string{"bucket": "bench"}, []any{"starts-with", "$key", ""}, map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
		map[string]string{"x-amz-credential": cred}, map[string]string{"x-amz-date": amzDate}}})
	policy := base64.StdEncoding.EncodeToString(doc)
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, kv := range [][2]string{{"key", "post"}, {"x-amz-algorithm", "AWS4-HMAC-SHA256"}, {"x-amz-credential", cred},
		{"x-amz-date", amzDate}, {"policy", policy}, {"x-amz-signature", tSign(env.SecretKey, date, policy)}} {
		w.WriteField(kv[0], kv[1])
	}
	w.CreateFormFile("file", "bench.bin")
	n := buf.Len()
	w.Close()
	all := buf.Bytes()
	return append([]byte{}, all[:n]...), append([]byte{}, all[n:]...), w.FormDataContentType()
}
