package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkClient is the aws-sdk-go-v2 S3 client, configured so it does the same
// work per request as httpClient: no retries (every failure is counted),
// checksums only where an operation requires them (DeleteObjects), and the
// payload signed or UNSIGNED-PAYLOAD as chosen, over HTTP and HTTPS alike.
// The SDK's defaults would add a CRC32 over every upload (sent as an
// aws-chunked trailer over HTTPS) and verify one over every download.
type sdkClient struct {
	s3 *s3.Client
}

func newSDKClient(cfg Config, tr *http.Transport) *sdkClient {
	payload := func(st *middleware.Stack) error {
		// Replaces the S3 default, which signs payloads over HTTP only.
		_, err := st.Finalize.Swap((&v4.ComputePayloadSHA256{}).ID(), &v4.ComputePayloadSHA256{})
		return err
	}
	if cfg.Payload == PayloadUnsigned {
		payload = v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware
	}
	c := s3.New(s3.Options{
		BaseEndpoint:               aws.String(strings.TrimRight(cfg.Endpoint, "/")),
		Region:                     cfg.Region,
		Credentials:                credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		UsePathStyle:               true,
		HTTPClient:                 &http.Client{Transport: tr},
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		APIOptions:                 []func(*middleware.Stack) error{payload, addDropXID},
	})
	return &sdkClient{s3: c}
}

func (c *sdkClient) Close() {}

// addDropXID removes the informational x-id query parameter the SDK adds
// to object requests (?x-id=PutObject): S3 ignores it, but the null server
// refuses parameters it does not know, and the two clients should send the
// same requests.
func addDropXID(st *middleware.Stack) error {
	return st.Build.Add(middleware.BuildMiddlewareFunc("DropXID", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			var kept []string
			for _, kv := range strings.Split(req.URL.RawQuery, "&") {
				if kv != "" && !strings.HasPrefix(kv, "x-id=") {
					kept = append(kept, kv)
				}
			}
			req.URL.RawQuery = strings.Join(kept, "&")
		}
		return next.HandleBuild(ctx, in)
	}), middleware.After)
}

// sdkError turns the SDK's error types into *S3Error.
func sdkError(err error) error {
	if err == nil {
		return nil
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return err
	}
	e := &S3Error{Status: re.HTTPStatusCode(), RequestID: re.ServiceRequestID()}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code, e.Message = ae.ErrorCode(), ae.ErrorMessage()
	}
	// The SDK names a HEAD answer without a body by its status text.
	if e.Code == http.StatusText(e.Status) || strings.ReplaceAll(http.StatusText(e.Status), " ", "") == e.Code {
		e.Code = ""
	}
	return e
}

func (c *sdkClient) HeadBucket(ctx context.Context, bucket string) error {
	_, err := c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket})
	return sdkError(err)
}

func (c *sdkClient) CreateBucket(ctx context.Context, bucket string) error {
	in := &s3.CreateBucketInput{Bucket: &bucket}
	if r := c.s3.Options().Region; r != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(r)}
	}
	_, err := c.s3.CreateBucket(ctx, in)
	return sdkError(err)
}

func (c *sdkClient) DeleteBucket(ctx context.Context, bucket string) error {
	_, err := c.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket})
	return sdkError(err)
}

func (c *sdkClient) PutObject(ctx context.Context, bucket, key string, body Body) error {
	_, err := c.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &bucket, Key: &key, Body: body.Reader(), ContentLength: aws.Int64(body.Len()),
	})
	return sdkError(err)
}

func (c *sdkClient) GetObject(ctx context.Context, bucket, key string, buf []byte) (int64, error) {
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return 0, sdkError(err)
	}
	defer out.Body.Close()
	n, err := io.CopyBuffer(io.Discard, onlyReader{out.Body}, buf)
	if err == nil && out.ContentLength != nil && n != *out.ContentLength {
		err = &SizeError{Op: "GET", Key: key, Got: n, Want: *out.ContentLength}
	}
	return n, err
}

func (c *sdkClient) HeadObject(ctx context.Context, bucket, key string) (int64, error) {
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return 0, sdkError(err)
	}
	return aws.ToInt64(out.ContentLength), nil
}

func (c *sdkClient) DeleteObject(ctx context.Context, bucket, key string) error {
	_, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
	return sdkError(err)
}

func (c *sdkClient) ListObjects(ctx context.Context, bucket, prefix, token string, maxKeys int) (ListPage, error) {
	in := &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix, MaxKeys: aws.Int32(int32(maxKeys))}
	if token != "" {
		in.ContinuationToken = &token
	}
	out, err := c.s3.ListObjectsV2(ctx, in)
	if err != nil {
		return ListPage{}, sdkError(err)
	}
	page := ListPage{Keys: make([]string, len(out.Contents))}
	for i, o := range out.Contents {
		page.Keys[i] = aws.ToString(o.Key)
	}
	if aws.ToBool(out.IsTruncated) {
		if aws.ToString(out.NextContinuationToken) == "" {
			return ListPage{}, fmt.Errorf("list: truncated answer without NextContinuationToken")
		}
		page.Next = *out.NextContinuationToken
	}
	return page, nil
}

func (c *sdkClient) DeleteObjects(ctx context.Context, bucket string, keys []string) error {
	ids := make([]types.ObjectIdentifier, len(keys))
	for i := range keys {
		ids[i] = types.ObjectIdentifier{Key: &keys[i]}
	}
	out, err := c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: &bucket, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return sdkError(err)
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		return fmt.Errorf("delete objects: %d keys not deleted, first %s: %w", len(out.Errors), aws.ToString(e.Key),
			&S3Error{Status: http.StatusOK, Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)})
	}
	return nil
}
