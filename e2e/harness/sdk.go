package harness

import (
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// SDKClient returns an aws-sdk-go-v2 S3 client for endpoint with static
// credentials: path-style addressing, no retries (tests see every failure
// as it happens), checksums only where the API requires them, and a
// connection pool large enough for concurrent tests.
func SDKClient(endpoint, accessKey, secretKey string) *s3.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(endpoint),
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		UsePathStyle:               true,
		HTTPClient:                 &http.Client{Transport: tr},
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// SDKClient returns an aws-sdk-go-v2 S3 client for the node with its root
// credentials (see the package function SDKClient).
func (n *Node) SDKClient() *s3.Client {
	return SDKClient(n.Endpoint(), n.AccessKey(), n.SecretKey())
}
