package e2e

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/e2e/harness"
)

// markerFile writes size bytes made of marker repeated: any stretch of it
// stored in clear would show the marker.
func markerFile(t *testing.T, path, marker string, size int) []byte {
	t.Helper()
	b := bytes.Repeat([]byte(marker), size/len(marker)+1)[:size]
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// kmsAdmin runs `filesphere admin kms ARGS…` against n.
func kmsAdmin(t *testing.T, n *harness.Node, args ...string) harness.Result {
	t.Helper()
	return harness.RunCommand(defaultTimeout, []string{"PATH=" + harness.SafePath, "HOME=" + t.TempDir(),
		"FILESPHERE_ROOT_USER=" + n.AccessKey(), "FILESPHERE_ROOT_PASSWORD=" + n.SecretKey()},
		t.TempDir(), harness.BinaryPath(t), append(append([]string{"admin", "kms"}, args...), "--endpoint", n.Endpoint())...)
}

func mustKMS(t *testing.T, n *harness.Node, args ...string) string {
	t.Helper()
	r := kmsAdmin(t, n, args...)
	if r.Err != nil {
		t.Fatalf("admin kms %v: %v\n%s", args, r.Err, r.Output)
	}
	return r.Stdout
}

// headSSE is what head-object reports of an object's encryption.
type headSSE struct {
	ServerSideEncryption string
	SSEKMSKeyId          string
	ContentLength        int64
}

func awsHead(t *testing.T, c *harness.Clients, bucket, key string) headSSE {
	t.Helper()
	var h headSSE
	if err := json.Unmarshal([]byte(c.MustAWS("s3api", "head-object", "--bucket", bucket, "--key", key)), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// secretForms are the ways a secret can sit in a file: raw, hex, and
// base64 as JSON records hold bytes (a repeated marker is found at any
// alignment as the encoding of three copies of it).
func secretForms(secrets ...[]byte) [][]byte {
	var out [][]byte
	for _, s := range secrets {
		out = append(out, s, []byte(hex.EncodeToString(s)), []byte(base64.StdEncoding.EncodeToString(s)),
			[]byte(base64.StdEncoding.EncodeToString(bytes.Repeat(s, 3))))
	}
	return out
}

// scanTree fails the test for every file under the roots holding one of
// the needles, and returns how many files it read.
func scanTree(t *testing.T, needles [][]byte, roots ...string) int {
	t.Helper()
	files := 0
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			for _, n := range needles {
				if bytes.Contains(b, n) {
					t.Errorf("%s holds a secret in clear (%.12q…)", p, n)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// sseBoto3Script writes with boto3: SSE-KMS with an encryption context,
// a multipart SSE-S3 upload, a copy re-encrypted under SSE-KMS; reads
// them back (one range across 64 KiB packages) and prints what it saw.
const sseBoto3Script = `
import base64, hashlib, json, os, sys
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

bucket, small, big = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=os.environ["FS_ENDPOINT"], region_name="us-east-1",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
ctx = base64.b64encode(json.dumps({"app": "e2e"}).encode()).decode()
with open(small, "rb") as f:
    put = s3.put_object(Bucket=bucket, Key="boto3/kms-small", Body=f, ServerSideEncryption="aws:kms",
                        SSEKMSKeyId="testkey-1", SSEKMSEncryptionContext=ctx)
tc = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
s3.upload_file(big, bucket, "boto3/s3-big", Config=tc, ExtraArgs={"ServerSideEncryption": "AES256"})
cp = s3.copy_object(Bucket=bucket, Key="boto3/copy-kms", CopySource={"Bucket": bucket, "Key": "boto3/s3-big"},
                    ServerSideEncryption="aws:kms", SSEKMSKeyId="arn:aws:kms:us-east-1:000000000000:key/testkey-1")
out = {"put": [put["ServerSideEncryption"], put["SSEKMSKeyId"], put.get("SSEKMSEncryptionContext", "")],
       "copy": [cp["ServerSideEncryption"], cp.get("SSEKMSKeyId", "")], "sha": {}}
for key in ["boto3/kms-small", "boto3/s3-big", "boto3/copy-kms"]:
    g = s3.get_object(Bucket=bucket, Key=key)
    out["sha"][key] = [hashlib.sha256(g["Body"].read()).hexdigest(), g.get("ServerSideEncryption", "")]
r = s3.get_object(Bucket=bucket, Key="boto3/s3-big", Range="bytes=65530-131080")
out["range"] = hashlib.sha256(r["Body"].read()).hexdigest()
print(json.dumps(out))
`

// TestSSENoPlaintextOnDisk writes objects holding a marker with SSE-S3,
// SSE-KMS and bucket default encryption — single PUTs, inline-small ones,
// multipart uploads and server-side copies — with the aws cli, boto3 and
// rclone against the real binary, reads each back, and then scans every
// file of every drive folder and the data folder (Raft log, snapshots,
// metadata store): neither the marker nor the master key appears.
// SSE-C over plain HTTP is refused (TestSSECClientsOverTLS writes SSE-C
// objects over HTTPS and scans for them the same way).
func TestSSENoPlaintextOnDisk(t *testing.T) {
	master := harness.RandomString(64, "0123456789abcdef")
	n := harness.StartNode(t, harness.NodeOptions{Name: "sse", DriveCount: 4, ECData: 2, ECParity: 2,
		ExtraEnv: []string{"FILESPHERE_KMS_MASTER_KEY=" + master}})
	c := n.Clients(t)
	marker := "FSMARKER-" + harness.RandomString(12, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small.txt"), filepath.Join(dir, "big.bin")
	smallData := markerFile(t, small, marker, 3000)     // inline in the metadata record
	bigData := markerFile(t, big, marker, 20<<20+12345) // multipart with the aws cli, boto3 and rclone
	sums := map[string]string{"small": harness.SHA256(smallData), "big": harness.SHA256(bigData)}
	mustKMS(t, n, "key", "add", "testkey-1")

	b := harness.BucketName("sse")
	c.MustAWS("s3", "mb", "s3://"+b)
	type obj struct{ key, src, sse, kmsKey string }
	objs := []obj{
		{"cli/s3-small", "small", "AES256", ""}, {"cli/s3-big", "big", "AES256", ""},
		{"cli/kms-small", "small", "aws:kms", "testkey-1"}, {"cli/kms-big", "big", "aws:kms", "testkey-1"},
	}
	for _, o := range objs {
		args := []string{"s3", "cp", "--only-show-errors", filepath.Join(dir, map[string]string{"small": "small.txt", "big": "big.bin"}[o.src]),
			"s3://" + b + "/" + o.key, "--sse", o.sse}
		if o.kmsKey != "" {
			args = append(args, "--sse-kms-key-id", o.kmsKey)
		}
		c.MustAWS(args...)
	}
	// Server-side copies (CopyObject, and UploadPartCopy for the big one)
	// re-encrypted from SSE-KMS to SSE-S3 and back.
	c.MustAWS("s3", "cp", "--only-show-errors", "s3://"+b+"/cli/kms-big", "s3://"+b+"/cli/copy-big", "--sse", "AES256")
	c.MustAWS("s3", "cp", "--only-show-errors", "s3://"+b+"/cli/s3-small", "s3://"+b+"/cli/copy-small", "--sse", "aws:kms", "--sse-kms-key-id", "testkey-1")
	objs = append(objs, obj{"cli/copy-big", "big", "AES256", ""}, obj{"cli/copy-small", "small", "aws:kms", "testkey-1"})

	// Bucket default encryption: uploads without headers are encrypted.
	def := harness.BucketName("sse-default")
	c.MustAWS("s3", "mb", "s3://"+def)
	c.MustAWS("s3api", "put-bucket-encryption", "--bucket", def, "--server-side-encryption-configuration",
		`{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"testkey-1"}}]}`)
	var enc struct {
		ServerSideEncryptionConfiguration struct {
			Rules []struct {
				ApplyServerSideEncryptionByDefault struct{ SSEAlgorithm, KMSMasterKeyID string }
			}
		}
	}
	if err := json.Unmarshal([]byte(c.MustAWS("s3api", "get-bucket-encryption", "--bucket", def)), &enc); err != nil ||
		enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != "aws:kms" {
		t.Fatalf("get-bucket-encryption: %v %+v", err, enc)
	}
	c.MustAWS("s3", "cp", "--only-show-errors", small, "s3://"+def+"/small")
	c.MustAWS("s3", "cp", "--only-show-errors", big, "s3://"+def+"/big")
	for _, key := range []string{"small", "big"} {
		if h := awsHead(t, c, def, key); h.ServerSideEncryption != "aws:kms" || !strings.HasSuffix(h.SSEKMSKeyId, ":key/testkey-1") {
			t.Errorf("default-encrypted %s: %+v", key, h)
		}
	}

	for _, o := range objs {
		h := awsHead(t, c, b, o.key)
		if h.ServerSideEncryption != o.sse || o.kmsKey != "" && !strings.HasSuffix(h.SSEKMSKeyId, ":key/"+o.kmsKey) {
			t.Errorf("%s: head-object %+v, want %s %s", o.key, h, o.sse, o.kmsKey)
		}
		out := filepath.Join(t.TempDir(), "back")
		c.MustAWS("s3", "cp", "--only-show-errors", "s3://"+b+"/"+o.key, out)
		if got := harness.SHA256File(t, out); got != sums[o.src] {
			t.Errorf("%s read back differs", o.key)
		}
	}
	// A range across the 64 KiB packages.
	rng := filepath.Join(t.TempDir(), "range")
	c.MustAWS("s3api", "get-object", "--bucket", b, "--key", "cli/kms-big", "--range", "bytes=65530-200000", rng)
	if got := harness.SHA256File(t, rng); got != harness.SHA256(bigData[65530:200001]) {
		t.Error("ranged read differs")
	}

	// boto3.
	harness.RequireTool(t, harness.Python3)
	var bo struct {
		Put, Copy []string
		Sha       map[string][]string
		Range     string
	}
	if err := json.Unmarshal([]byte(c.Must(c.Python(sseBoto3Script, b, small, big))), &bo); err != nil {
		t.Fatal(err)
	}
	if bo.Put[0] != "aws:kms" || !strings.HasSuffix(bo.Put[1], ":key/testkey-1") || bo.Put[2] == "" || bo.Copy[0] != "aws:kms" {
		t.Errorf("boto3 answers: put %v copy %v", bo.Put, bo.Copy)
	}
	for key, want := range map[string][]string{"boto3/kms-small": {sums["small"], "aws:kms"}, "boto3/s3-big": {sums["big"], "AES256"},
		"boto3/copy-kms": {sums["big"], "aws:kms"}} {
		if got := bo.Sha[key]; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("boto3 %s: %v, want %v", key, got, want)
		}
	}
	if bo.Range != harness.SHA256(bigData[65530:131081]) {
		t.Error("boto3 ranged read differs")
	}

	// rclone with server_side_encryption (and a KMS key), multipart above 16 MiB.
	harness.RequireTool(t, harness.Rclone)
	rcDir := filepath.Join(t.TempDir(), "rc")
	must(t, os.MkdirAll(rcDir, 0o700))
	must(t, os.WriteFile(filepath.Join(rcDir, "small.txt"), smallData, 0o600))
	must(t, os.WriteFile(filepath.Join(rcDir, "big.bin"), bigData, 0o600))
	for _, sse := range []struct{ name, kms string }{{"AES256", ""}, {"aws:kms", "testkey-1"}} {
		rc := n.Clients(t)
		rc.Env = []string{"RCLONE_CONFIG_FS_SERVER_SIDE_ENCRYPTION=" + sse.name}
		if sse.kms != "" {
			rc.Env = append(rc.Env, "RCLONE_CONFIG_FS_SSE_KMS_KEY_ID="+sse.kms)
		}
		remote := harness.RcloneRemote + ":" + b + "/rclone-" + strings.ReplaceAll(sse.name, ":", "-")
		flags := []string{"-q", "--retries", "1", "--low-level-retries", "1", "--s3-upload-cutoff", "16M", "--s3-chunk-size", "5M"}
		rc.MustRclone(append([]string{"copy", rcDir, remote}, flags...)...)
		rc.MustRclone(append([]string{"check", "--download", rcDir, remote}, flags...)...)
		for _, f := range []string{"small.txt", "big.bin"} {
			key := strings.TrimPrefix(remote, harness.RcloneRemote+":"+b+"/") + "/" + f
			if h := awsHead(t, c, b, key); h.ServerSideEncryption != sse.name {
				t.Errorf("rclone %s: %+v", key, h)
			}
		}
	}

	// SSE-C over plain HTTP is refused before anything is stored.
	s := n.Signer()
	req, err := s.Request(t.Context(), "PUT", n.URL("/"+b+"/ssec"), []byte(marker), 0)
	if err != nil {
		t.Fatal(err)
	}
	ckey := bytes.Repeat([]byte("c"), 32)
	req.Header.Set("X-Amz-Server-Side-Encryption-Customer-Algorithm", "AES256")
	req.Header.Set("X-Amz-Server-Side-Encryption-Customer-Key", base64.StdEncoding.EncodeToString(ckey))
	req.Header.Set("X-Amz-Server-Side-Encryption-Customer-Key-Md5", func() string { m := md5.Sum(ckey); return base64.StdEncoding.EncodeToString(m[:]) }())
	sum := sha256.Sum256([]byte(marker))
	must(t, s.Sign(req, hex.EncodeToString(sum[:])))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>InvalidRequest</Code>") ||
		!strings.Contains(body, "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.") {
		t.Fatalf("SSE-C over HTTP: %d %s", resp.StatusCode, body)
	}
	if r := c.AWS("s3api", "head-object", "--bucket", b, "--key", "ssec"); r.Err == nil {
		t.Fatal("a refused SSE-C PUT was stored")
	}

	// Stop the server so everything it wrote is on disk, then scan.
	must(t, n.Stop())
	key, _ := hex.DecodeString(master)
	needles := secretForms([]byte(marker), key)
	needles = append(needles, []byte(master)) // the hex text the env carried
	if files := scanTree(t, needles, append([]string{n.DataDir()}, n.Drives()...)...); files < 50 {
		t.Fatalf("scanned only %d files", files)
	}
}

// TestSSEKMSKeysAndHeal: the master key is generated in the data folder
// at first start with a warning; a KMS key rotated keeps old objects
// readable, disabled refuses them with KMS.DisabledException, enabled
// serves them again; a corrupted ciphertext byte is served from parity
// and healed by a deep heal that needs no key; after a restart with the
// same data folder everything reads back.
func TestSSEKMSKeysAndHeal(t *testing.T) {
	n := harness.StartNode(t, harness.NodeOptions{Name: "ssekms", DriveCount: 4, ECData: 2, ECParity: 2})
	keyFile := filepath.Join(n.DataDir(), "kms-master.key")
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v %v", fi, err)
	}
	if err := n.WaitForLog("KMS master key: generated the key file in the data folder", defaultTimeout); err != nil {
		t.Fatal(err)
	}
	c := n.Clients(t)
	b := harness.BucketName("ssekms")
	c.MustAWS("s3", "mb", "s3://"+b)
	if out := mustKMS(t, n, "key", "add", "testkey-1"); !strings.Contains(out, "key testkey-1 created: enabled, version 1") {
		t.Fatalf("add: %q", out)
	}
	dir := t.TempDir()
	oldSum := harness.WriteRandomFile(t, filepath.Join(dir, "old"), 3<<20+7, 1)
	newSum := harness.WriteRandomFile(t, filepath.Join(dir, "new"), 70_000, 2)
	cp := func(key, file string) harness.Result {
		return c.AWS("s3", "cp", "--only-show-errors", file, "s3://"+b+"/"+key, "--sse", "aws:kms", "--sse-kms-key-id", "testkey-1")
	}
	get := func(key string) (string, harness.Result) {
		out := filepath.Join(t.TempDir(), "got")
		r := c.AWS("s3", "cp", "--only-show-errors", "s3://"+b+"/"+key, out)
		if r.Err != nil {
			return "", r
		}
		return harness.SHA256File(t, out), r
	}
	c.Must(cp("old", filepath.Join(dir, "old")))
	if out := mustKMS(t, n, "key", "rotate", "testkey-1"); !strings.Contains(out, "version 2") {
		t.Fatalf("rotate: %q", out)
	}
	c.Must(cp("new", filepath.Join(dir, "new")))
	for key, want := range map[string]string{"old": oldSum, "new": newSum} {
		if got, r := get(key); got != want {
			t.Fatalf("%s after rotation: %v\n%s", key, r.Err, r.Output)
		}
	}
	mustKMS(t, n, "key", "disable", "testkey-1")
	if _, r := get("old"); r.Err == nil || !strings.Contains(r.Output, "KMS.DisabledException") {
		t.Fatalf("GET under a disabled key: %v\n%s", r.Err, r.Output)
	}
	if r := cp("x", filepath.Join(dir, "new")); r.Err == nil || !strings.Contains(r.Output, "KMS.DisabledException") {
		t.Fatalf("PUT under a disabled key: %v\n%s", r.Err, r.Output)
	}
	if out := mustKMS(t, n, "key", "list"); !strings.Contains(out, "testkey-1") || !strings.Contains(out, "disabled") {
		t.Fatalf("list: %q", out)
	}
	mustKMS(t, n, "key", "enable", "testkey-1")
	if got, r := get("old"); got != oldSum {
		t.Fatalf("after enable: %v\n%s", r.Err, r.Output)
	}

	// A flipped byte of an SSE-S3 object's ciphertext on disk.
	c.MustAWS("s3api", "put-bucket-encryption", "--bucket", b, "--server-side-encryption-configuration",
		`{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}`)
	// "read" is read while damaged (the read queues a heal of its own);
	// "unread" only the deep heal pass can find and repair, with no key.
	data := harness.RandomBytes(3<<20, 3)
	damaged := map[string]string{}
	originals := map[string][]byte{}
	for _, key := range []string{"read", "unread"} {
		shards := putAndFindShards(t, n, n.Signer(), b, key, data)
		if h := awsHead(t, c, b, key); h.ServerSideEncryption != "AES256" {
			t.Fatalf("default-encrypted object: %+v", h)
		}
		orig, err := os.ReadFile(shards[1])
		if err != nil {
			t.Fatal(err)
		}
		damaged[key], originals[key] = shards[1], orig
		flipByte(t, shards[1], bitrotFrame+32+777)
	}
	if got, r := get("read"); got != harness.SHA256(data) {
		t.Fatalf("GET with a corrupted shard: %v\n%s", r.Err, r.Output)
	}
	rep := adminHeal(t, n, true)
	if rep.Healed < 1 || rep.Failed != 0 || rep.Lost != 0 {
		t.Fatalf("heal report %+v", rep)
	}
	for key, p := range damaged {
		if now, err := os.ReadFile(p); err != nil || !bytes.Equal(now, originals[key]) {
			t.Fatalf("shard of %s not restored byte-identical: %v", key, err)
		}
	}

	// A restart reuses the master key in the data folder.
	must(t, n.Stop())
	n.MustStart()
	if strings.Contains(n.Log(), "generated the key file") {
		t.Fatal("a new master key was generated on restart")
	}
	for key, want := range map[string]string{"old": oldSum, "new": newSum, "read": harness.SHA256(data), "unread": harness.SHA256(data)} {
		if got, r := get(key); got != want {
			t.Fatalf("%s after restart: %v\n%s", key, r.Err, r.Output)
		}
	}
}
