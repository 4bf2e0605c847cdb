package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/filesphere/filesphere/e2e/harness"
)

const vhostDomain = "s3.localhost"

// TestVirtualHostStyle serves <bucket>.s3.localhost. *.localhost need not
// resolve here, so the HTTP clients dial the node's loopback port whatever
// the host name, and the Host header carries the bucket: aws-sdk-go-v2's
// S3 client (virtual-host addressing, as against AWS) and raw requests
// signed with its SigV4 signer.
func TestVirtualHostStyle(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "vhost", Domain: vhostDomain})
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, n.Addr())
		},
	}}
	base := "http://" + vhostDomain + ":" + n.Port()
	ctx := context.Background()
	cli := s3.New(s3.Options{
		BaseEndpoint:     aws.String(base),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(n.AccessKey(), n.SecretKey(), ""),
		UsePathStyle:     false,
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
	})
	// Record the Host each SDK request went to.
	var hosts []string
	hc.Transport = recordHosts{hc.Transport, &hosts}

	b := harness.BucketName("vhost")
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("CreateBucket (virtual-host): %v", err)
	}
	if len(hosts) == 0 || hosts[0] != b+"."+vhostDomain+":"+n.Port() {
		t.Fatalf("SDK did not use virtual-host addressing: hosts %v", hosts)
	}
	body := harness.RandomBytes(1<<20+3, 77)
	if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("dir/a b+c.bin"),
		Body: bytes.NewReader(body), ContentType: aws.String("application/octet-stream")}); err != nil {
		t.Fatalf("PutObject (virtual-host): %v", err)
	}
	get, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("dir/a b+c.bin")})
	if err != nil {
		t.Fatalf("GetObject (virtual-host): %v", err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, body) {
		t.Errorf("GetObject (virtual-host) returned %d different bytes", len(got))
	}
	rng, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("dir/a b+c.bin"), Range: aws.String("bytes=10-19")})
	if err != nil {
		t.Fatalf("ranged GetObject (virtual-host): %v", err)
	}
	got, _ = io.ReadAll(rng.Body)
	rng.Body.Close()
	if !bytes.Equal(got, body[10:20]) {
		t.Errorf("ranged GetObject returned %q", got)
	}
	lst, err := cli.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String("dir/")})
	if err != nil {
		t.Fatalf("ListObjectsV2 (virtual-host): %v", err)
	}
	if len(lst.Contents) != 1 || aws.ToString(lst.Contents[0].Key) != "dir/a b+c.bin" {
		t.Errorf("ListObjectsV2 (virtual-host) = %+v", lst.Contents)
	}
	if _, err := cli.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"),
		CopySource: aws.String(b + "/dir/a%20b%2Bc.bin")}); err != nil {
		t.Errorf("CopyObject (virtual-host): %v", err)
	}
	if _, err := cli.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("dir/a b+c.bin")}); err != nil {
		t.Errorf("DeleteObject (virtual-host): %v", err)
	}
	_, err = cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("dir/a b+c.bin")})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HeadObject of a deleted key (virtual-host): %v, want NotFound", err)
	}
	_, err = cli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(harness.BucketName("nosuch")), Key: aws.String("k")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchBucket" {
		t.Errorf("GetObject in a missing bucket (virtual-host): %v, want NoSuchBucket", err)
	}

	// Raw signed requests: Host picks the bucket; the path is the key.
	s := n.Signer()
	vurl := "http://" + b + "." + vhostDomain + ":" + n.Port()
	st, out, err := s.Do(hc, "PUT", vurl+"/raw/key.txt", []byte("raw body"), 0)
	if err != nil || st != 200 {
		t.Fatalf("raw virtual-host PUT: %d %v %s", st, err, out)
	}
	st, out, err = s.Do(hc, "GET", vurl+"/raw/key.txt", nil, 0)
	if err != nil || st != 200 || string(out) != "raw body" {
		t.Errorf("raw virtual-host GET: %d %v %q", st, err, out)
	}
	st, out, err = s.Do(hc, "GET", vurl+"/?list-type=2", nil, 0)
	if err != nil || st != 200 || !strings.Contains(string(out), "<Key>raw/key.txt</Key>") || !strings.Contains(string(out), "<Name>"+b+"</Name>") {
		t.Errorf("raw virtual-host ListObjectsV2: %d %v %s", st, err, out)
	}
	// The bare domain is path-style; so is the IP endpoint.
	st, out, err = s.Do(hc, "GET", base+"/"+b+"/raw/key.txt", nil, 0)
	if err != nil || st != 200 || string(out) != "raw body" {
		t.Errorf("path-style GET on the bare domain: %d %v %q", st, err, out)
	}
	st, out, err = s.Do(nil, "GET", n.URL("/"+b+"/raw/key.txt"), nil, 0)
	if err != nil || st != 200 || string(out) != "raw body" {
		t.Errorf("path-style GET on the IP endpoint of a --domain server: %d %v %q", st, err, out)
	}
	st, out, err = s.Do(hc, "GET", base+"/", nil, 0)
	if err != nil || st != 200 || !strings.Contains(string(out), "<Name>"+b+"</Name>") {
		t.Errorf("ListBuckets on the bare domain: %d %v %s", st, err, out)
	}

	// Where *.localhost resolves (systemd-resolved, nss-myhostname), the
	// aws cli runs virtual-host style by name too.
	if r := harness.RunCommand(10*time.Second, nil, "", "/usr/bin/getent", "hosts", b+"."+vhostDomain); r.Err != nil {
		t.Logf("%s.%s does not resolve here (getent: %v); virtual-host checks used the Host header only", b, vhostDomain, r.Err)
		return
	}
	c := harness.NewClients(t, base, n.AccessKey(), n.SecretKey())
	must(t, os.MkdirAll(filepath.Join(c.Home, ".aws"), 0o700))
	must(t, os.WriteFile(filepath.Join(c.Home, ".aws", "config"), []byte("[default]\ns3 =\n  addressing_style = virtual\n"), 0o600))
	if out := c.MustAWS("s3", "ls", "s3://"+b+"/raw/"); !strings.Contains(out, "key.txt") {
		t.Errorf("aws cli virtual-host listing lacks raw/key.txt:\n%s", out)
	}
}

type recordHosts struct {
	rt    http.RoundTripper
	hosts *[]string
}

func (r recordHosts) RoundTrip(req *http.Request) (*http.Response, error) {
	h := req.Host
	if h == "" {
		h = req.URL.Host
	}
	*r.hosts = append(*r.hosts, h)
	return r.rt.RoundTrip(req)
}
