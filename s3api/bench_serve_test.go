package s3api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

// BenchmarkServeGetSmall drives the handler directly (no sockets) with a
// signed GET of a 4 KiB object, so the per-request overhead around the
// engine read (routing, SigV4, IAM, header rules, metrics, render) is what
// it measures. The request is signed once, outside the loop, the way an
// SDK signs each request with a header set like this one. Metrics are on,
// as in the real server.
func BenchmarkServeGetSmall(b *testing.B) {
	env := s3test.New(b, s3test.WithLogLevel(logrus.ErrorLevel),
		s3test.WithAPIConfig(func(c *s3api.Config) { c.Registry = prometheus.NewRegistry() }))
	srv := env.Server.Config.Handler.(*s3api.Server)
	ctx := context.Background()
	sdk := env.SDK(b)
	if _, err := sdk.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	data := randBytes(4<<10, 3)
	if _, err := sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String("dir/small.bin"), Body: bytes.NewReader(data)}); err != nil {
		b.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.PlainURL+"/bench/dir/small.bin", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.RemoteAddr = "127.0.0.1:40000"
	req.RequestURI = req.URL.RequestURI()
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("Amz-Sdk-Invocation-Id", "2a1c3b4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.36.3 os/linux lang/go#1.24 api/s3#1.79.0")
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	creds := aws.Credentials{AccessKeyID: env.AccessKey, SecretAccessKey: env.SecretKey}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(ctx, creds, req, emptySHA256, "s3", s3test.Region, time.Now()); err != nil {
		b.Fatal(err)
	}
	// serve reports with Errorf: RunParallel's goroutines may not FailNow.
	serve := func(b *testing.B) {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Body.Len() != len(data) {
			b.Errorf("GET: %d, %d bytes: %s", w.Code, w.Body.Len(), w.Body.String())
		}
	}
	if serve(b); b.Failed() {
		b.FailNow()
	}
	b.Run("serial", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		done := cpuMeter(b)
		for b.Loop() {
			serve(b)
		}
		done()
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		b.SetParallelism(16) // 32 goroutines on 2 cores, as the perf run
		done := cpuMeter(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				serve(b)
			}
		})
		done()
	})
}
