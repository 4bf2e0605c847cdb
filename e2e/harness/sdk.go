package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
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
	return SDKClientCA(endpoint, accessKey, secretKey, "")
}

// SDKClientCA is SDKClient trusting the PEM file caBundle (for https).
func SDKClientCA(endpoint, accessKey, secretKey, caBundle string) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(endpoint),
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		UsePathStyle:               true,
		HTTPClient:                 &http.Client{Transport: transportFor(caBundle)},
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// SDKClient returns an aws-sdk-go-v2 S3 client for the node with its root
// credentials (see the package function SDKClient).
func (n *Node) SDKClient() *s3.Client {
	return SDKClientCA(n.Endpoint(), n.AccessKey(), n.SecretKey(), n.CABundle())
}

// transportFor is the pooled transport of test clients, trusting caBundle
// (a PEM file) when given. A file that cannot be read fails the request
// with the reason, rather than falling back to the system roots.
func transportFor(caBundle string) *http.Transport {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	if caBundle != "" {
		pool := x509.NewCertPool()
		b, err := os.ReadFile(caBundle)
		if err == nil && !pool.AppendCertsFromPEM(b) {
			err = fmt.Errorf("no certificate in %s", caBundle)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		if err != nil {
			tr.DialTLSContext = func(context.Context, string, string) (net.Conn, error) { return nil, err }
		}
	}
	return tr
}
