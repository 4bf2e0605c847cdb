package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
)

// TestRefusedHeaders drives the aws cli with options FileSphere does not
// build (dual-layer encryption, S3 Bucket Keys, ACL grants, cold storage
// classes, website redirects): each must fail with NotImplemented and
// store nothing, while the values FileSphere does honour still work.
func TestRefusedHeaders(t *testing.T) {
	t.Parallel()
	harness.RequireTool(t, harness.AWSCLI)
	n := harness.StartNode(t, harness.NodeOptions{Name: "refused"})
	c := n.Clients(t)
	b := harness.BucketName("refused")
	c.MustAWS("s3", "mb", "s3://"+b)
	dir := t.TempDir()
	small := filepath.Join(dir, "small.bin")
	harness.WriteRandomFile(t, small, 4096, 1)
	big := filepath.Join(dir, "big.bin") // multipart with the cli's 8 MiB threshold
	harness.WriteRandomFile(t, big, 9<<20, 2)
	ssecKey := strings.Repeat("k", 32)

	refused := []struct {
		name string
		key  string
		args []string
	}{
		{"sse-dsse", "sse-dsse", []string{"s3api", "put-object", "--bucket", b, "--key", "sse-dsse", "--body", small, "--server-side-encryption", "aws:kms:dsse"}},
		{"sse-bucket-key", "sse-bk", []string{"s3api", "put-object", "--bucket", b, "--key", "sse-bk", "--body", small, "--server-side-encryption", "aws:kms", "--bucket-key-enabled"}},
		{"acl-aws-exec-read", "exec-read", []string{"s3", "cp", small, "s3://" + b + "/exec-read", "--acl", "aws-exec-read"}},
		{"storage-class-glacier", "glacier", []string{"s3", "cp", small, "s3://" + b + "/glacier", "--storage-class", "GLACIER"}},
		{"website-redirect", "redirect", []string{"s3api", "put-object", "--bucket", b, "--key", "redirect", "--body", small, "--website-redirect-location", "/elsewhere"}},
		{"multipart-sse", "big-sse", []string{"s3api", "create-multipart-upload", "--bucket", b, "--key", "big-sse", "--server-side-encryption", "aws:kms:dsse"}},
		{"multipart-glacier", "big-glacier", []string{"s3", "cp", big, "s3://" + b + "/big-glacier", "--storage-class", "GLACIER"}},
		{"copy-sse", "copy-sse", []string{"s3api", "copy-object", "--bucket", b, "--key", "copy-sse", "--copy-source", b + "/plain", "--server-side-encryption", "aws:kms:dsse"}},
	}
	c.MustAWS("s3", "cp", small, "s3://"+b+"/plain")
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			r := c.AWS(tc.args...)
			if r.Err == nil || !strings.Contains(r.Output, "(NotImplemented)") {
				t.Fatalf("want a NotImplemented failure:\n%s", r)
			}
			if r := c.AWS("s3api", "head-object", "--bucket", b, "--key", tc.key); r.Err == nil {
				t.Errorf("the refused upload stored %s:\n%s", tc.key, r)
			}
		})
	}
	t.Run("no-multipart-upload-left", func(t *testing.T) {
		var lm struct{ Uploads []struct{ Key string } }
		if out := c.MustAWS("s3api", "list-multipart-uploads", "--bucket", b); strings.TrimSpace(out) != "" {
			jsonInto(t, out, &lm)
		}
		if len(lm.Uploads) != 0 {
			t.Errorf("refused multipart uploads were created: %+v", lm.Uploads)
		}
	})
	// SSE-C is built, but S3 takes customer keys only over TLS.
	t.Run("sse-c-over-http", func(t *testing.T) {
		r := c.AWS("s3", "cp", small, "s3://"+b+"/sse-c", "--sse-c", "AES256", "--sse-c-key", ssecKey)
		if r.Err == nil || !strings.Contains(r.Output, "(InvalidRequest)") || !strings.Contains(r.Output, "must be made over a secure connection") {
			t.Fatalf("want InvalidRequest over plain HTTP:\n%s", r)
		}
		if r := c.AWS("s3api", "head-object", "--bucket", b, "--key", "sse-c"); r.Err == nil {
			t.Errorf("the refused upload stored sse-c:\n%s", r)
		}
	})
	t.Run("invalid-storage-class", func(t *testing.T) {
		r := c.AWS("s3api", "put-object", "--bucket", b, "--key", "bad-class", "--body", small, "--storage-class", "NOT_A_CLASS")
		if r.Err == nil || !strings.Contains(r.Output, "(InvalidStorageClass)") {
			t.Fatalf("want InvalidStorageClass:\n%s", r)
		}
	})
	// The other clients' everyday uploads carry nothing refused; boto3's
	// refused options fail the same way.
	t.Run("rclone-boto3", func(t *testing.T) {
		harness.RequireTool(t, harness.Rclone)
		harness.RequireTool(t, harness.Python3)
		c.MustRclone("copyto", big, harness.RcloneRemote+":"+b+"/rclone-big")
		c.MustRclone("copyto", small, harness.RcloneRemote+":"+b+"/rclone-small")
		out := c.Must(c.Python(boto3Refusals, b, small, big))
		if strings.TrimSpace(out) != "NotImplemented NotImplemented ok ok" {
			t.Errorf("boto3: %s", out)
		}
		for _, k := range []string{"rclone-big", "rclone-small", "boto3-private", "boto3-big"} {
			c.MustAWS("s3api", "head-object", "--bucket", b, "--key", k)
		}
	})
	// What FileSphere stores anyway is honoured, not refused.
	t.Run("honoured", func(t *testing.T) {
		c.MustAWS("s3", "cp", small, "s3://"+b+"/private", "--acl", "private")
		c.MustAWS("s3", "cp", small, "s3://"+b+"/owner", "--acl", "bucket-owner-full-control")
		c.MustAWS("s3", "cp", small, "s3://"+b+"/standard", "--storage-class", "STANDARD")
		c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "tagged", "--body", small, "--tagging", "a=b")
		lb := harness.BucketName("locked")
		c.MustAWS("s3api", "create-bucket", "--bucket", lb, "--object-lock-enabled-for-bucket")
		c.MustAWS("s3api", "get-object-lock-configuration", "--bucket", lb)
		c.MustAWS("s3", "cp", big, "s3://"+b+"/big-standard", "--storage-class", "STANDARD")
		c.MustAWS("s3", "cp", small, "s3://"+b+"/sse-aes", "--sse", "AES256")
		c.MustAWS("s3", "cp", big, "s3://"+b+"/sse-kms", "--sse", "aws:kms")
		for key, want := range map[string]string{"sse-aes": "AES256", "sse-kms": "aws:kms"} {
			if head := jsonOut(t, c.MustAWS("s3api", "head-object", "--bucket", b, "--key", key)); head["ServerSideEncryption"] != want {
				t.Errorf("%s head = %v, want %s", key, head, want)
			}
		}
		head := jsonOut(t, c.MustAWS("s3api", "head-object", "--bucket", b, "--key", "big-standard"))
		if head["ContentLength"] != float64(9<<20) {
			t.Errorf("big-standard head = %v", head)
		}
	})
}

// boto3Refusals tries refused options with boto3, then honoured ones.
const boto3Refusals = `
import os, sys
import boto3, botocore
from boto3.s3.transfer import TransferConfig
bucket, small, big = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=os.environ["FS_ENDPOINT"], region_name="us-east-1",
                  config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
res = []
for extra in ({"ServerSideEncryption": "aws:kms:dsse"}, {"WebsiteRedirectLocation": "/elsewhere"}):
    try:
        s3.put_object(Bucket=bucket, Key="boto3-refused", Body=b"x", **extra)
        res.append("stored")
    except botocore.exceptions.ClientError as e:
        res.append(e.response["Error"]["Code"])
s3.put_object(Bucket=bucket, Key="boto3-private", Body=b"x", ACL="private", StorageClass="STANDARD")
res.append("ok")
s3.upload_file(big, bucket, "boto3-big", Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
res.append("ok")
print(" ".join(res))
`

// awsNoRegion runs the aws cli with no region anywhere: no AWS_REGION or
// AWS_DEFAULT_REGION, an empty config file.
func awsNoRegion(t *testing.T, c *harness.Clients, args ...string) harness.Result {
	t.Helper()
	cfg := filepath.Join(c.Home, ".aws", "config")
	must(t, os.MkdirAll(filepath.Dir(cfg), 0o700))
	must(t, os.WriteFile(cfg, nil, 0o600))
	var env []string
	for _, e := range c.Environ() {
		if !strings.HasPrefix(e, "AWS_REGION=") && !strings.HasPrefix(e, "AWS_DEFAULT_REGION=") {
			env = append(env, e)
		}
	}
	return harness.RunCommand(c.Timeout, env, c.Home, harness.AWSCLI, append([]string{"--endpoint-url", c.Endpoint}, args...)...)
}

// TestHelpfulErrors checks the first steps of a newcomer and the errors of
// clients that guess wrong: the README example with no region configured,
// s3cmd with its default bucket_location, IAM requests, precise messages.
func TestHelpfulErrors(t *testing.T) {
	t.Parallel()
	harness.RequireTool(t, harness.AWSCLI)
	n := harness.StartNode(t, harness.NodeOptions{Name: "helpful"})

	t.Run("banner-names-region", func(t *testing.T) {
		if banner := strings.Join(n.Banner(), "\n"); !strings.Contains(banner, "AWS_REGION=us-east-1") {
			t.Errorf("the banner does not say which region to configure:\n%s", banner)
		}
	})
	t.Run("aws-mb-without-region", func(t *testing.T) {
		c := n.Clients(t)
		b := harness.BucketName("noregion")
		if r := awsNoRegion(t, c, "s3", "mb", "s3://"+b); r.Err != nil {
			t.Fatalf("aws s3 mb without a region failed:\n%s", r)
		}
		if r := awsNoRegion(t, c, "s3", "ls"); r.Err != nil || !strings.Contains(r.Output, b) {
			t.Fatalf("aws s3 ls without a region does not list %s:\n%s", b, r)
		}
		var loc struct{ LocationConstraint *string }
		jsonInto(t, c.MustAWS("s3api", "get-bucket-location", "--bucket", b), &loc)
		if loc.LocationConstraint != nil && *loc.LocationConstraint != "" {
			t.Errorf("bucket made without a region is in %q, want the server's us-east-1", *loc.LocationConstraint)
		}
	})
	t.Run("s3cmd-default-bucket-location", func(t *testing.T) {
		harness.RequireTool(t, harness.S3cmd)
		c := n.Clients(t)
		c.Region = "US" // s3cmd's own default bucket_location
		b := harness.BucketName("s3cmdus")
		c.MustS3cmd("mb", "s3://"+b)
		if out := c.MustS3cmd("ls"); !strings.Contains(out, "s3://"+b) {
			t.Errorf("s3cmd ls does not list %s:\n%s", b, out)
		}
		f := filepath.Join(t.TempDir(), "f.txt")
		must(t, os.WriteFile(f, []byte("hello"), 0o644))
		c.MustS3cmd("put", f, "s3://"+b+"/f.txt")
		if out := c.MustS3cmd("ls", "s3://"+b); !strings.Contains(out, "s3://"+b+"/f.txt") {
			t.Errorf("s3cmd ls s3://%s does not list f.txt:\n%s", b, out)
		}
	})
	t.Run("wrong-region-message", func(t *testing.T) {
		c := n.Clients(t)
		c.Region = "eu-west-3"
		r := c.AWS("s3api", "list-buckets")
		if r.Err == nil || !strings.Contains(r.Output, "(AuthorizationHeaderMalformed)") ||
			!strings.Contains(r.Output, "eu-west-3") || !strings.Contains(r.Output, "expecting 'us-east-1'") {
			t.Errorf("a wrong region does not say which region to use:\n%s", r)
		}
	})
	t.Run("expired-presigned-url", func(t *testing.T) {
		harness.RequireTool(t, harness.Curl)
		c := n.Clients(t)
		b := harness.BucketName("presign")
		c.MustAWS("s3", "mb", "s3://"+b)
		url := strings.TrimSpace(c.MustAWS("s3", "presign", "s3://"+b+"/k", "--expires-in", "1"))
		var r harness.Result
		err := harness.Eventually(30*time.Second, 500*time.Millisecond, func() error {
			r = c.Curl("-sS", url)
			if strings.Contains(r.Output, "<Code>AccessDenied</Code>") {
				return nil
			}
			return fmt.Errorf("not expired yet:\n%s", r)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Output, "<Message>Request has expired</Message>") {
			t.Errorf("an expired presigned URL does not say so:\n%s", r)
		}
	})
	// IAM and STS actions FileSphere does not offer: a real code, fast.
	for _, api := range []struct{ name, code string }{{"iam", "NotImplemented"}, {"sts", "NotImplemented"}} {
		t.Run(api.name+"-error-shape", func(t *testing.T) {
			c := n.Clients(t)
			args := []string{"iam", "list-entities-for-policy", "--policy-arn", "arn:aws:iam::123456789012:policy/x"}
			if api.name == "sts" {
				args = []string{"sts", "get-federation-token", "--name", "someone"}
			}
			start := time.Now()
			r := c.AWS(args...)
			took := time.Since(start)
			if r.Err == nil || strings.Contains(r.Output, "(Unknown)") || !strings.Contains(r.Output, "("+api.code+")") {
				t.Errorf("aws %s does not print a real error code:\n%s", strings.Join(args, " "), r)
			}
			// The cli starts in a second or two; retries of a 5xx would add
			// many more.
			if took > 20*time.Second {
				t.Errorf("aws %s took %v to fail", strings.Join(args, " "), took)
			}
			t.Logf("%s(took %v)", r.Output, took.Round(time.Millisecond))
		})
	}
}

// TestAccessLog checks --access-log: one info line per request with the
// request's fields, and never a secret or a signature.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	harness.RequireTool(t, harness.AWSCLI)
	harness.RequireTool(t, harness.Curl)
	n := harness.StartNode(t, harness.NodeOptions{Name: "accesslog", ExtraArgs: []string{"--access-log"}, LogLevel: "info"})
	c := n.Clients(t)
	b := harness.BucketName("alog")
	c.MustAWS("s3", "mb", "s3://"+b)
	f := filepath.Join(t.TempDir(), "f.bin")
	harness.WriteRandomFile(t, f, 1000, 3)
	c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "dir/f.bin", "--body", f)
	url := strings.TrimSpace(c.MustAWS("s3", "presign", "s3://"+b+"/dir/f.bin"))
	if r := c.Curl("-sSf", "-o", "/dev/null", url); r.Err != nil {
		t.Fatalf("presigned GET failed:\n%s", r)
	}
	sig := regexp.MustCompile(`X-Amz-Signature=([0-9a-f]{64})`).FindStringSubmatch(url)
	if sig == nil {
		t.Fatalf("no signature in the presigned URL %s", url)
	}

	var line string
	err := harness.Eventually(10*time.Second, 50*time.Millisecond, func() error {
		for _, l := range strings.Split(n.Log(), "\n") {
			if strings.Contains(l, "method=GET") && strings.Contains(l, "path=/"+b+"/dir/f.bin") {
				line = l
				return nil
			}
		}
		return fmt.Errorf("no access log line for the presigned GET")
	})
	if err != nil {
		t.Fatalf("%v:\n%s", err, n.Log())
	}
	for _, want := range []string{"level=info", "msg=access", "status=200", "bytes=1000", "duration=", "request_id=", "access_key=" + n.AccessKey()} {
		if !strings.Contains(line, want) {
			t.Errorf("access log line lacks %q: %s", want, line)
		}
	}
	if !strings.Contains(n.Log(), "method=PUT") {
		t.Errorf("no access log line for the PUT:\n%s", n.Log())
	}
	// The log lines, not the banner on stdout (which shows the root
	// credentials to the operator).
	for _, l := range strings.Split(n.Log(), "\n") {
		if !strings.Contains(l, "level=") {
			continue
		}
		for _, secret := range []string{n.SecretKey(), sig[1], "Signature=", "X-Amz-Credential"} {
			if strings.Contains(l, secret) {
				t.Errorf("a log line contains %q: %s", secret, l)
			}
		}
	}
}
