package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/e2e/harness"
)

// sseCBoto3Script round-trips an SSE-C object with boto3 (which computes
// the key's MD5 itself) and reports what a read without the key answers.
const sseCBoto3Script = `
import hashlib, json, os, sys
import boto3, botocore
from botocore.config import Config
bucket, path, key = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=os.environ["FS_ENDPOINT"], region_name="us-east-1",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
with open(path, "rb") as f:
    put = s3.put_object(Bucket=bucket, Key="boto3-ssec", Body=f, SSECustomerAlgorithm="AES256", SSECustomerKey=key)
g = s3.get_object(Bucket=bucket, Key="boto3-ssec", SSECustomerAlgorithm="AES256", SSECustomerKey=key, Range="bytes=65000-70000")
out = {"alg": put["SSECustomerAlgorithm"], "md5": put["SSECustomerKeyMD5"], "range": hashlib.sha256(g["Body"].read()).hexdigest()}
try:
    s3.get_object(Bucket=bucket, Key="boto3-ssec")
    out["nokey"] = "served"
except botocore.exceptions.ClientError as e:
    out["nokey"] = e.response["Error"]["Code"]
print(json.dumps(out))
`

// TestSSECClientsOverTLS: SSE-C with the real aws cli, boto3 and rclone
// against the binary serving HTTPS (--tls-auto): multipart uploads,
// ranges, wrong and missing keys, copies between SSE-C, SSE-KMS and
// another SSE-C key. Afterwards no file of the drives or the data folder
// holds the objects' marker or a customer key.
func TestSSECClientsOverTLS(t *testing.T) {
	n := harness.StartNode(t, harness.NodeOptions{Name: "ssec", DriveCount: 4, ECData: 2, ECParity: 2, ExtraArgs: []string{"--tls-auto"}})
	c := n.Clients(t)
	key, other := strings.Repeat("K", 32), strings.Repeat("O", 32)
	marker := "FSMARKER-" + harness.RandomString(12, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small.bin"), filepath.Join(dir, "big.bin")
	smallData := markerFile(t, small, marker, 100_000)
	bigData := markerFile(t, big, marker, 17<<20+3) // multipart with the cli's 8 MiB threshold
	smallSum, bigSum := harness.SHA256(smallData), harness.SHA256(bigData)
	b := harness.BucketName("ssec")
	c.MustAWS("s3", "mb", "s3://"+b)
	for _, f := range []string{small, big} {
		c.MustAWS("s3", "cp", "--only-show-errors", f, "s3://"+b+"/"+filepath.Base(f), "--sse-c", "AES256", "--sse-c-key", key)
	}
	get := func(obj string, args ...string) (string, harness.Result) {
		out := filepath.Join(t.TempDir(), "got")
		r := c.AWS(append([]string{"s3", "cp", "--only-show-errors", "s3://" + b + "/" + obj, out}, args...)...)
		if r.Err != nil {
			return "", r
		}
		return harness.SHA256File(t, out), r
	}
	for obj, want := range map[string]string{"small.bin": smallSum, "big.bin": bigSum} {
		if got, r := get(obj, "--sse-c", "AES256", "--sse-c-key", key); got != want {
			t.Fatalf("%s with the key: %v\n%s", obj, r.Err, r.Output)
		}
		if _, r := get(obj, "--sse-c", "AES256", "--sse-c-key", other); r.Err == nil || !strings.Contains(r.Output, "403") {
			t.Fatalf("%s with another key: %v\n%s", obj, r.Err, r.Output)
		}
	}
	if r := c.AWS("s3api", "get-object", "--bucket", b, "--key", "small.bin", filepath.Join(dir, "x")); r.Err == nil ||
		!strings.Contains(r.Output, "The object was stored using a form of Server Side Encryption") {
		t.Fatalf("GET without the key: %v\n%s", r.Err, r.Output)
	}
	var head struct{ SSECustomerAlgorithm, SSECustomerKeyMD5 string }
	jsonInto(t, c.MustAWS("s3api", "head-object", "--bucket", b, "--key", "big.bin", "--sse-customer-algorithm", "AES256", "--sse-customer-key", key), &head)
	if head.SSECustomerAlgorithm != "AES256" || head.SSECustomerKeyMD5 == "" {
		t.Fatalf("head-object with the key: %+v", head)
	}
	// Copy (multipart: UploadPartCopy) from the SSE-C object to SSE-KMS,
	// and back to SSE-C under another key (CopyObject: the cli's s3 cp
	// would send the new key with its HEAD of the source, which S3 refuses).
	c.MustAWS("s3", "cp", "--only-show-errors", "s3://"+b+"/big.bin", "s3://"+b+"/big-kms", "--sse-c-copy-source", "AES256",
		"--sse-c-copy-source-key", key, "--sse", "aws:kms")
	c.MustAWS("s3api", "copy-object", "--bucket", b, "--key", "big-other", "--copy-source", b+"/big-kms",
		"--sse-customer-algorithm", "AES256", "--sse-customer-key", other)
	if got, r := get("big-kms"); got != bigSum {
		t.Fatalf("SSE-KMS copy: %v\n%s", r.Err, r.Output)
	}
	if got, r := get("big-other", "--sse-c", "AES256", "--sse-c-key", other); got != bigSum {
		t.Fatalf("SSE-C copy under another key: %v\n%s", r.Err, r.Output)
	}

	harness.RequireTool(t, harness.Python3)
	var bo struct{ Alg, Md5, Range, Nokey string }
	jsonInto(t, c.Must(c.Python(sseCBoto3Script, b, small, key)), &bo)
	if bo.Alg != "AES256" || bo.Md5 != head.SSECustomerKeyMD5 || bo.Range != harness.SHA256(smallData[65000:70001]) || bo.Nokey != "InvalidRequest" {
		t.Fatalf("boto3: %+v", bo)
	}

	// rclone with sse_customer_key.
	harness.RequireTool(t, harness.Rclone)
	rc := n.Clients(t)
	rc.Env = []string{"RCLONE_CONFIG_FS_SSE_CUSTOMER_ALGORITHM=AES256", "RCLONE_CONFIG_FS_SSE_CUSTOMER_KEY=" + key}
	src := filepath.Join(t.TempDir(), "src")
	must(t, os.MkdirAll(src, 0o700))
	must(t, os.WriteFile(filepath.Join(src, "small.bin"), smallData, 0o600))
	must(t, os.WriteFile(filepath.Join(src, "big.bin"), bigData, 0o600))
	remote := harness.RcloneRemote + ":" + b + "/rclone"
	flags := []string{"-q", "--retries", "1", "--low-level-retries", "1", "--s3-upload-cutoff", "16M", "--s3-chunk-size", "5M"}
	rc.MustRclone(append([]string{"copy", src, remote}, flags...)...)
	rc.MustRclone(append([]string{"check", "--download", src, remote}, flags...)...)
	if got, r := get("rclone/big.bin", "--sse-c", "AES256", "--sse-c-key", key); got != bigSum {
		t.Fatalf("rclone's upload read with the aws cli: %v\n%s", r.Err, r.Output)
	}

	must(t, n.Stop())
	if files := scanTree(t, secretForms([]byte(marker), []byte(key), []byte(other)), append([]string{n.DataDir()}, n.Drives()...)...); files < 30 {
		t.Fatalf("scanned only %d files", files)
	}
}
