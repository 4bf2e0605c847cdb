package harness

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// UnsignedPayload is the x-amz-content-sha256 value for a body that is not
// part of the signature (streamed bodies of unknown content).
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// Signer signs raw HTTP requests with SigV4 (aws-sdk-go-v2's signer,
// configured as its S3 client is), for tests that need control over the
// connection or the body that no CLI gives.
type Signer struct {
	AccessKey, SecretKey, Region string
}

// Signer returns a signer with the node's root credentials.
func (n *Node) Signer() Signer {
	return Signer{AccessKey: n.AccessKey(), SecretKey: n.SecretKey(), Region: "us-east-1"}
}

// Sign signs r in place. payloadHash is the hex SHA-256 of the body, or
// UnsignedPayload; empty means the SHA-256 of an empty body.
func (s Signer) Sign(r *http.Request, payloadHash string) error {
	if payloadHash == "" {
		sum := sha256.Sum256(nil)
		payloadHash = hex.EncodeToString(sum[:])
	}
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	return v4.NewSigner().SignHTTP(context.Background(), creds, r, payloadHash, "s3", s.Region, time.Now().UTC(),
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// Request builds and signs a request to url. A []byte body is signed with
// its hash; any other reader is sent with UNSIGNED-PAYLOAD and size as
// Content-Length (-1 for chunked).
func (s Signer) Request(ctx context.Context, method, url string, body any, size int64) (*http.Request, error) {
	var rd io.Reader
	hash := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
		sum := sha256.Sum256(b)
		hash, size = hex.EncodeToString(sum[:]), int64(len(b))
	case io.Reader:
		rd, hash = b, UnsignedPayload
	default:
		return nil, fmt.Errorf("unsupported body %T", body)
	}
	r, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		r.ContentLength = size
	}
	return r, s.Sign(r, hash)
}

// Do sends a signed request with client (http.DefaultClient when nil) and
// returns the status and the whole response body.
func (s Signer) Do(client *http.Client, method, url string, body any, size int64) (int, []byte, error) {
	resp, b, err := s.DoResponse(client, method, url, body, size)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

// DoResponse is Do returning the response (its body already read and
// closed) for the headers.
func (s Signer) DoResponse(client *http.Client, method, url string, body any, size int64) (*http.Response, []byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	r, err := s.Request(context.Background(), method, url, body, size)
	if err != nil {
		return nil, nil, err
	}
	resp, err := client.Do(r)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// PostForm returns the fields of a browser-based upload form signed with
// the signer's key: the SigV4 fields and the base64 policy of conds (the
// conditions on the signature fields added), valid until expires. It is
// what an application's backend hands to the browser.
func (s Signer) PostForm(expires time.Time, conds ...any) (map[string]string, error) {
	now := time.Now().UTC()
	date, amzDate := now.Format("20060102"), now.Format("20060102T150405Z")
	cred := s.AccessKey + "/" + date + "/" + s.Region + "/s3/aws4_request"
	conds = append(conds, map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
		map[string]string{"x-amz-credential": cred}, map[string]string{"x-amz-date": amzDate})
	doc, err := json.Marshal(map[string]any{"expiration": expires.UTC().Format("2006-01-02T15:04:05.000Z"), "conditions": conds})
	if err != nil {
		return nil, err
	}
	policy := base64.StdEncoding.EncodeToString(doc)
	mac := func(k []byte, m string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(m)); return h.Sum(nil) }
	key := mac(mac(mac(mac([]byte("AWS4"+s.SecretKey), date), s.Region), "s3"), "aws4_request")
	return map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": cred, "x-amz-date": amzDate,
		"policy": policy, "x-amz-signature": hex.EncodeToString(mac(key, policy))}, nil
}
