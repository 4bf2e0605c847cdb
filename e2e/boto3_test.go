package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
)

// boto3Script uploads with boto3 (a put_object and a multipart
// upload_file), downloads, and prints presigned URLs as JSON.
const boto3Script = `
import json, os, sys
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

bucket, small, big, down = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=os.environ["FS_ENDPOINT"], region_name="us-east-1",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                retries={"max_attempts": 1}))
s3.create_bucket(Bucket=bucket)
with open(small, "rb") as f:
    s3.put_object(Bucket=bucket, Key="dir/hello world.txt", Body=f, ContentType="text/plain")
tc = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
s3.upload_file(big, bucket, "big.bin", Config=tc)
s3.download_file(bucket, "big.bin", down, Config=tc)
head = s3.head_object(Bucket=bucket, Key="big.bin")
print(json.dumps({
    "get": s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/hello world.txt"}, ExpiresIn=600),
    "put": s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "presigned-put.txt"}, ExpiresIn=600),
    "expired": s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/hello world.txt"}, ExpiresIn=1),
    "bigLength": head["ContentLength"],
    "bigETag": head["ETag"],
}))
`

// testBoto3 checks boto3 uploads and its presigned URLs fetched with curl,
// including one that expires.
func testBoto3(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	harness.RequireTool(t, harness.Python3)
	harness.RequireTool(t, harness.Curl)
	if r := c.Python("import boto3"); r.Err != nil {
		t.Fatalf("boto3 is required: install it with `apt-get install python3-boto3` or run `make deps`\n%s", r)
	}
	b := harness.BucketName("boto3")
	dir := t.TempDir()
	small, big, down := filepath.Join(dir, "small.txt"), filepath.Join(dir, "big.bin"), filepath.Join(dir, "down.bin")
	smallSum := harness.WriteRandomFile(t, small, 10_000, 401)
	bigSum := harness.WriteRandomFile(t, big, 12<<20+5, 402)

	out := c.Must(c.Python(boto3Script, b, small, big, down))
	var res struct {
		Get, Put, Expired string
		BigLength         int64
		BigETag           string
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("boto3 script output: %v\n%s", err, out)
	}
	if harness.SHA256File(t, down) != bigSum || res.BigLength != 12<<20+5 || !strings.HasSuffix(res.BigETag, `-3"`) {
		t.Errorf("boto3 multipart round trip: sha ok=%v length=%d etag=%s", harness.SHA256File(t, down) == bigSum, res.BigLength, res.BigETag)
	}
	if !strings.Contains(res.Get, "X-Amz-Signature=") || !strings.HasPrefix(res.Get, n.Endpoint()+"/"+b+"/") {
		t.Fatalf("presigned URL is not a path-style SigV4 URL: %s", res.Get)
	}

	// The presigned GET works without any credentials.
	got := filepath.Join(dir, "got.txt")
	r := c.Must(c.Curl("-sS", "-o", got, "-w", "%{http_code}", res.Get))
	if r != "200" || harness.SHA256File(t, got) != smallSum {
		t.Errorf("curl of presigned GET: status %s, content matches: %v", r, harness.SHA256File(t, got) == smallSum)
	}
	// Tampering with the URL breaks the signature.
	tampered := strings.Replace(res.Get, "hello%20world.txt", "hello%20world.txT", 1)
	if s := c.Must(c.Curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", tampered)); s != "403" {
		t.Errorf("curl of a tampered presigned URL: status %s, want 403", s)
	}
	// Presigned PUT, then the object is readable.
	if s := c.Must(c.Curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "Content-Type:", "--data-binary", "@"+small, res.Put)); s != "200" {
		t.Errorf("curl of presigned PUT: status %s", s)
	}
	head := c.AWS("s3api", "head-object", "--bucket", b, "--key", "presigned-put.txt")
	if head.Err != nil || !strings.Contains(head.Stdout, `"ContentLength": 10000`) {
		t.Errorf("object uploaded by presigned PUT:\n%s", head)
	}

	// The 1-second URL expires: poll until the server refuses it.
	body := filepath.Join(dir, "expired.xml")
	var status string
	err := harness.Eventually(20*time.Second, 250*time.Millisecond, func() error {
		status = c.Must(c.Curl("-sS", "-o", body, "-w", "%{http_code}", res.Expired))
		if status == "403" {
			return nil
		}
		if status != "200" {
			return harness.Permanent(errorf("expired presigned URL: status %s, want 200 then 403", status))
		}
		return errorf("still %s", status)
	})
	if err != nil {
		t.Fatal(err)
	}
	xml, _ := os.ReadFile(body)
	if !strings.Contains(string(xml), "<Code>AccessDenied</Code>") {
		t.Errorf("expired presigned URL: body lacks <Code>AccessDenied</Code>:\n%s", xml)
	}
}
