package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"golang.org/x/time/rate"
)

// Client carries out the verbs. It is safe for use by one command at a
// time (the CLI makes one per process).
type Client struct {
	cfg     Config
	aliases *AliasStore
	out     *printer
	limiter *rate.Limiter

	mu    sync.Mutex
	conns map[string]*conn
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, aliases: NewAliasStore(cfg.Dir), conns: map[string]*conn{}}
	c.out = &printer{w: cfg.Stdout, json: cfg.JSON}
	if cfg.LimitRate > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(cfg.LimitRate), int(min(cfg.LimitRate, 1<<20)))
	}
	return c, nil
}

// Aliases is the alias store.
func (c *Client) Aliases() *AliasStore { return c.aliases }

// conn is the S3 client of one alias.
type conn struct {
	alias Alias
	s3    *s3.Client
	hc    *http.Client
}

// id says whether two locations share an endpoint and credentials, so a
// copy between them can be done by the server.
func (k *conn) id() string {
	return k.alias.URL + "\x00" + k.alias.Credentials.Kind + "\x00" + k.alias.Credentials.AccessKey + k.alias.Credentials.Profile
}

// parse reads a command-line path against the known aliases.
func (c *Client) parse(s string) (Location, error) {
	list, err := c.aliases.List()
	if err != nil {
		return Location{}, err
	}
	known := map[string]bool{}
	for _, a := range list {
		known[a.Name] = true
	}
	return ParseLocation(s, func(n string) bool { return known[n] }), nil
}

// remote parses s and insists it is remote with a bucket (needBucket) or
// at least an alias.
func (c *Client) remote(s string, needBucket bool) (Location, error) {
	l, err := c.parse(s)
	if err != nil {
		return l, err
	}
	if !l.IsRemote() {
		if name, _, ok := strings.Cut(s, "/"); ok || name != "" {
			return l, usageErrorf("%s: not a remote path: no alias %q (see filesphere alias list)", s, name)
		}
		return l, usageErrorf("%s: not a remote path (ALIAS/bucket/key)", s)
	}
	if needBucket && l.Bucket == "" {
		return l, usageErrorf("%s: name a bucket (ALIAS/bucket)", s)
	}
	return l, nil
}

// conn returns the S3 client for alias name, building it on first use.
func (c *Client) conn(ctx context.Context, name string) (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.conns[name]; ok {
		return k, nil
	}
	a, ok, err := c.aliases.Get(name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &NoAliasError{Name: name}
	}
	k, err := c.dial(ctx, a)
	if err != nil {
		return nil, opErr("alias", name, err)
	}
	c.conns[name] = k
	return k, nil
}

// dial builds the SDK client of an alias: its credential source, region,
// endpoint style and TLS settings. Checksums are computed only where an
// operation requires them or the client asks for one explicitly (uploads
// send their own, see upload.go), so any S3 endpoint accepts the requests.
func (c *Client) dial(ctx context.Context, a Alias) (*conn, error) {
	hc, err := c.httpClient(a)
	if err != nil {
		return nil, err
	}
	src, err := c.cfg.source(a)
	if err != nil {
		return nil, err
	}
	acfg, err := src.AWSConfig(ctx, hc)
	if err != nil {
		return nil, err
	}
	acfg.HTTPClient = hc
	if a.Region != "" {
		acfg.Region = a.Region
	}
	if acfg.Region == "" {
		acfg.Region = "us-east-1"
	}
	cl := s3.NewFromConfig(acfg, func(o *s3.Options) {
		if !a.IsAWS() {
			o.BaseEndpoint = aws.String(a.URL)
		}
		o.UsePathStyle = a.pathStyle()
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.Logger = logging.Nop{}
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return &conn{alias: a, s3: cl, hc: hc}, nil
}

func (c *Client) httpClient(a Alias) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = c.cfg.Jobs*c.cfg.PartJobs + 4
	caFile, insecure := a.CACert, a.Insecure
	if c.cfg.CACertFile != "" {
		caFile = c.cfg.CACertFile
	}
	if c.cfg.Insecure {
		insecure = true
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // --insecure asks for it
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA certificates: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificates: %s holds no PEM certificate", caFile)
		}
		tc.RootCAs = pool
	}
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr}, nil
}

// unsignedPayload sends UNSIGNED-PAYLOAD instead of hashing the body for
// the signature, for uploads that carry their own checksum (Content-MD5 or
// x-amz-checksum-sha256, which the server verifies): the body is then read
// once, as it is sent.
func unsignedPayload(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}
