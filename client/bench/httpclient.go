package bench

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // Content-MD5 of DeleteObjects, required by S3
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// httpClient speaks S3 over net/http and signs each request with the SDK's
// SigV4 signer. Per request it does only what every client must: build
// the request, hash the body when payloads are signed, sign, send, drain.
type httpClient struct {
	endpoint string
	region   string
	creds    aws.Credentials
	payload  PayloadMode
	signer   *v4.Signer
	hc       *http.Client
	now      func() time.Time
}

// emptySHA256 is the payload hash of a request without a body.
var emptySHA256 = func() string { s := sha256.Sum256(nil); return hex.EncodeToString(s[:]) }()

const unsignedPayload = "UNSIGNED-PAYLOAD"

func newHTTPClient(cfg Config, tr *http.Transport) *httpClient {
	return &httpClient{
		endpoint: strings.TrimRight(cfg.Endpoint, "/"),
		region:   cfg.Region,
		creds:    aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey, SessionToken: cfg.SessionToken},
		payload:  cfg.Payload,
		// S3 signs the path as sent, without escaping it a second time.
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		hc:     &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		now:    cfg.Now,
	}
}

func (c *httpClient) Close() { c.hc.CloseIdleConnections() }

// objectURL is the path-style URL of bucket/key (query appended by callers).
func (c *httpClient) objectURL(bucket, key string) string {
	if key == "" {
		return c.endpoint + "/" + bucket
	}
	return c.endpoint + "/" + bucket + "/" + escapeKey(key)
}

// escapeKey percent-encodes a key as S3 expects in the path: everything but
// unreserved characters and '/'.
func escapeKey(k string) string {
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		ch := k[i]
		if ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || strings.IndexByte("-_.~/", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}

// do signs and sends a request. body may be nil; payloadHash is the signed
// hash of it. The caller closes the response body of a 2xx answer; other
// answers are returned as *S3Error.
func (c *httpClient) do(ctx context.Context, method, rawURL string, body *Body, payloadHash string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil && body.Len() > 0 {
		b := *body
		req.Body, req.ContentLength = io.NopCloser(b.Reader()), b.Len()
		// Lets the transport resend on a keep-alive connection the
		// server had closed, as it does for any replayable body.
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(b.Reader()), nil }
	} else if body != nil {
		req.Body = http.NoBody
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if err := c.signer.SignHTTP(ctx, c.creds, req, payloadHash, "s3", c.region, c.now()); err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, readS3Error(resp)
	}
	return resp, nil
}

// call is do for answers whose body is not needed.
func (c *httpClient) call(ctx context.Context, method, rawURL string, body *Body, payloadHash string, hdr http.Header) error {
	resp, err := c.do(ctx, method, rawURL, body, payloadHash, hdr)
	if err != nil {
		return err
	}
	return drainClose(resp.Body)
}

// drainClose reads what is left of a body, so the connection is reused.
func drainClose(rc io.ReadCloser) error {
	_, err := io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return err
}

// readS3Error reads an error answer's XML, when it has one.
func readS3Error(resp *http.Response) error {
	e := &S3Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Amz-Request-Id")}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var doc struct {
		Code      string `xml:"Code"`
		Message   string `xml:"Message"`
		RequestID string `xml:"RequestId"`
	}
	if xml.Unmarshal(b, &doc) == nil {
		e.Code, e.Message = doc.Code, doc.Message
		if doc.RequestID != "" {
			e.RequestID = doc.RequestID
		}
	}
	return e
}

func (c *httpClient) HeadBucket(ctx context.Context, bucket string) error {
	return c.call(ctx, http.MethodHead, c.objectURL(bucket, ""), nil, emptySHA256, nil)
}

func (c *httpClient) CreateBucket(ctx context.Context, bucket string) error {
	body := BytesBody(nil)
	if c.region != "us-east-1" {
		body = BytesBody([]byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>` +
			c.region + `</LocationConstraint></CreateBucketConfiguration>`))
	}
	return c.call(ctx, http.MethodPut, c.objectURL(bucket, ""), &body, c.payloadHash(body), nil)
}

func (c *httpClient) DeleteBucket(ctx context.Context, bucket string) error {
	return c.call(ctx, http.MethodDelete, c.objectURL(bucket, ""), nil, emptySHA256, nil)
}

// payloadHash is the x-amz-content-sha256 of a body: its SHA-256 when
// payloads are signed, else UNSIGNED-PAYLOAD.
func (c *httpClient) payloadHash(body Body) string {
	if c.payload == PayloadUnsigned {
		return unsignedPayload
	}
	return body.sha256Hex()
}

func (c *httpClient) PutObject(ctx context.Context, bucket, key string, body Body) error {
	return c.call(ctx, http.MethodPut, c.objectURL(bucket, key), &body, c.payloadHash(body), nil)
}

func (c *httpClient) GetObject(ctx context.Context, bucket, key string, buf []byte) (int64, error) {
	resp, err := c.do(ctx, http.MethodGet, c.objectURL(bucket, key), nil, emptySHA256, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.CopyBuffer(io.Discard, onlyReader{resp.Body}, buf)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = &SizeError{Op: "GET", Key: key, Got: n, Want: resp.ContentLength}
	}
	return n, err
}

// onlyReader hides io.WriterTo, so io.CopyBuffer reads into the given
// buffer instead of allocating its own.
type onlyReader struct{ io.Reader }

func (c *httpClient) HeadObject(ctx context.Context, bucket, key string) (int64, error) {
	resp, err := c.do(ctx, http.MethodHead, c.objectURL(bucket, key), nil, emptySHA256, nil)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.ContentLength, nil
}

func (c *httpClient) DeleteObject(ctx context.Context, bucket, key string) error {
	return c.call(ctx, http.MethodDelete, c.objectURL(bucket, key), nil, emptySHA256, nil)
}

func (c *httpClient) ListObjects(ctx context.Context, bucket, prefix, token string, maxKeys int) (ListPage, error) {
	q := url.Values{"list-type": {"2"}, "prefix": {prefix}, "max-keys": {strconv.Itoa(maxKeys)}}
	if token != "" {
		q.Set("continuation-token", token)
	}
	// url.Values encodes spaces as '+'; SigV4 and S3 want %20.
	u := c.objectURL(bucket, "") + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	resp, err := c.do(ctx, http.MethodGet, u, nil, emptySHA256, nil)
	if err != nil {
		return ListPage{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxListBody+1))
	if err != nil {
		return ListPage{}, err
	}
	if len(b) > maxListBody {
		return ListPage{}, fmt.Errorf("list: answer larger than %d bytes", maxListBody)
	}
	return parseListPage(b)
}

// maxListBody bounds a listing answer (1,000 keys of 1,024 bytes, escaped).
const maxListBody = 16 << 20

var (
	keyOpen  = []byte("<Key>")
	keyClose = []byte("</Key>")
)

// parseListPage reads a ListObjectsV2 answer. It scans for the few
// elements it needs instead of running encoding/xml over every element of
// every entry: that cost ~10 µs per key on the shared CPU and made the
// client, not the server, the limit of list loads. Without a delimiter or
// fetch-owner, <Key> occurs only in <Contents>; escaped text goes through
// encoding/xml, and KeyCount must match what was found.
func parseListPage(b []byte) (ListPage, error) {
	if !bytes.Contains(b, []byte("<ListBucketResult")) {
		return ListPage{}, fmt.Errorf("list: the answer is not a ListBucketResult")
	}
	var page ListPage
	for rest := b; ; {
		i := bytes.Index(rest, keyOpen)
		if i < 0 {
			break
		}
		rest = rest[i+len(keyOpen):]
		j := bytes.Index(rest, keyClose)
		if j < 0 {
			return ListPage{}, fmt.Errorf("list: unterminated <Key>")
		}
		k, err := xmlText(rest[:j])
		if err != nil {
			return ListPage{}, err
		}
		page.Keys = append(page.Keys, k)
		rest = rest[j+len(keyClose):]
	}
	if n, ok := element(b, "KeyCount"); ok && n != strconv.Itoa(len(page.Keys)) {
		return ListPage{}, fmt.Errorf("list: KeyCount %s but %d keys", n, len(page.Keys))
	}
	if t, _ := element(b, "IsTruncated"); t == "true" {
		tok, _ := element(b, "NextContinuationToken")
		if tok == "" {
			return ListPage{}, fmt.Errorf("list: truncated answer without NextContinuationToken")
		}
		var err error
		if page.Next, err = xmlText([]byte(tok)); err != nil {
			return ListPage{}, err
		}
	}
	return page, nil
}

// element is the raw text of the first <name> element in b.
func element(b []byte, name string) (string, bool) {
	open, end := []byte("<"+name+">"), []byte("</"+name+">")
	i := bytes.Index(b, open)
	if i < 0 {
		return "", false
	}
	b = b[i+len(open):]
	j := bytes.Index(b, end)
	if j < 0 {
		return "", false
	}
	return string(b[:j]), true
}

// xmlText unescapes element text (entities, character references).
func xmlText(raw []byte) (string, error) {
	if bytes.IndexByte(raw, '&') < 0 {
		if bytes.IndexByte(raw, '<') >= 0 {
			return "", fmt.Errorf("list: markup inside <Key>")
		}
		return string(raw), nil
	}
	var s string
	if err := xml.Unmarshal(append(append([]byte("<t>"), raw...), "</t>"...), &s); err != nil {
		return "", fmt.Errorf("list: bad key text: %w", err)
	}
	return s, nil
}

func (c *httpClient) DeleteObjects(ctx context.Context, bucket string, keys []string) error {
	var b bytes.Buffer
	b.WriteString(`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>`)
	for _, k := range keys {
		b.WriteString("<Object><Key>")
		_ = xml.EscapeText(&b, []byte(k))
		b.WriteString("</Key></Object>")
	}
	b.WriteString("</Delete>")
	sum := md5.Sum(b.Bytes()) //nolint:gosec // required by the API, not for security
	hdr := http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(sum[:])}, "Content-Type": {"application/xml"}}
	body := BytesBody(b.Bytes())
	resp, err := c.do(ctx, http.MethodPost, c.objectURL(bucket, "")+"?delete=", &body, c.payloadHash(body), hdr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var doc struct {
		Errors []struct {
			Key     string `xml:"Key"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	}
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&doc); err != nil {
		return fmt.Errorf("delete objects: reading the answer: %w", err)
	}
	if len(doc.Errors) > 0 {
		e := doc.Errors[0]
		return fmt.Errorf("delete objects: %d keys not deleted, first %s: %w", len(doc.Errors), e.Key,
			&S3Error{Status: http.StatusOK, Code: e.Code, Message: e.Message})
	}
	return drainClose(resp.Body)
}
