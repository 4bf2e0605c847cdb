package e2e

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/filesphere/filesphere/e2e/harness"
)

// Users and access against the real binary: the aws cli creating a user,
// its key and policy, then used with that key; boto3 assuming a role;
// rclone with a read-only user; a smaller authorization matrix; and a
// change made through one node of a cluster seen through another.

// iamKey is an access key printed by `aws iam create-access-key`.
type iamKey struct {
	AccessKey struct{ AccessKeyId, SecretAccessKey string }
}

// newCLIUser creates a user with the aws cli, gives it the policy and a
// key, and returns clients signing with that key.
func newCLIUser(t *testing.T, root *harness.Clients, name, policy string) (*harness.Clients, iamKey) {
	t.Helper()
	root.MustAWS("iam", "create-user", "--user-name", name)
	var k iamKey
	if err := json.Unmarshal([]byte(root.MustAWS("iam", "create-access-key", "--user-name", name)), &k); err != nil {
		t.Fatal(err)
	}
	if policy != "" {
		root.MustAWS("iam", "put-user-policy", "--user-name", name, "--policy-name", name+"-policy", "--policy-document", policy)
	}
	return harness.NewClients(t, root.Endpoint, k.AccessKey.AccessKeyId, k.AccessKey.SecretAccessKey), k
}

func readPolicy(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject","s3:ListAllMyBuckets"],` +
		`"Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*","arn:aws:s3:::*"]}]}`
}

// wantRefused checks that a client command failed with AccessDenied.
func wantRefused(t *testing.T, r harness.Result) {
	t.Helper()
	if r.Err == nil || !strings.Contains(r.Output, "AccessDenied") {
		t.Fatalf("want AccessDenied, got %v:\n%s", r.Err, r)
	}
}

func TestAccessAWSCLI(t *testing.T) {
	harness.RequireTool(t, harness.AWSCLI)
	n := harness.StartNode(t, harness.NodeOptions{Name: "access-cli"})
	root := n.Clients(t)
	b := harness.BucketName("cliaccess")
	root.MustAWS("s3", "mb", "s3://"+b)
	src := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(src, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	root.MustAWS("s3", "cp", src, "s3://"+b+"/hello.txt")

	reader, _ := newCLIUser(t, root, "reader", readPolicy(b))
	var users struct{ Users []struct{ UserName string } }
	if err := json.Unmarshal([]byte(root.MustAWS("iam", "list-users")), &users); err != nil || len(users.Users) != 1 || users.Users[0].UserName != "reader" {
		t.Fatalf("list-users: %+v %v", users, err)
	}
	got := reader.MustAWS("s3", "cp", "s3://"+b+"/hello.txt", "-")
	if got != "hello" {
		t.Fatalf("reader downloads %q", got)
	}
	if ls := reader.MustAWS("s3", "ls", "s3://"+b); !strings.Contains(ls, "hello.txt") {
		t.Fatalf("reader ls: %s", ls)
	}
	wantRefused(t, reader.AWS("s3", "cp", src, "s3://"+b+"/written.txt"))
	wantRefused(t, reader.AWS("s3", "rm", "s3://"+b+"/hello.txt"))
	wantRefused(t, reader.AWS("iam", "list-users"))
	wantRefused(t, reader.AWS("s3", "mb", "s3://"+harness.BucketName("readermb")))
	if ls := root.MustAWS("s3", "ls", "s3://"+b); strings.Contains(ls, "written.txt") || !strings.Contains(ls, "hello.txt") {
		t.Fatalf("refused writes changed the bucket:\n%s", ls)
	}
	var who struct{ Arn string }
	if err := json.Unmarshal([]byte(reader.MustAWS("sts", "get-caller-identity")), &who); err != nil || !strings.HasSuffix(who.Arn, ":user/reader") {
		t.Fatalf("get-caller-identity: %+v %v", who, err)
	}

	// A bucket policy makes one prefix public: plain curl reads it.
	root.MustAWS("s3", "cp", src, "s3://"+b+"/public/hello.txt")
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/public/*"}]}`
	root.MustAWS("s3api", "put-bucket-policy", "--bucket", b, "--policy", pol)
	if out := root.Must(root.Curl("-fsS", n.URL("/"+b+"/public/hello.txt"))); out != "hello" {
		t.Fatalf("curl of a public object: %q", out)
	}
	if r := root.Curl("-fsS", n.URL("/"+b+"/hello.txt")); r.Err == nil {
		t.Fatalf("curl of a private object succeeded:\n%s", r)
	}
	var st struct{ PolicyStatus struct{ IsPublic bool } }
	if err := json.Unmarshal([]byte(root.MustAWS("s3api", "get-bucket-policy-status", "--bucket", b)), &st); err != nil || !st.PolicyStatus.IsPublic {
		t.Fatalf("get-bucket-policy-status: %+v %v", st, err)
	}
	// A malformed policy is refused with the problem named.
	r := root.AWS("s3api", "put-bucket-policy", "--bucket", b, "--policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	if r.Err == nil || !strings.Contains(r.Output, "MalformedPolicy") {
		t.Fatalf("malformed policy: %s", r)
	}

	// The admin verbs over the same API.
	admin := harness.RunCommand(30*time.Second, []string{"PATH=" + harness.SafePath, "HOME=" + t.TempDir(),
		"FILESPHERE_ROOT_USER=" + n.AccessKey(), "FILESPHERE_ROOT_PASSWORD=" + n.SecretKey()}, t.TempDir(),
		harness.BinaryPath(t), "admin", "user", "info", "reader", "--endpoint", n.Endpoint())
	if admin.Err != nil || !strings.Contains(admin.Output, "reader-policy") {
		t.Fatalf("admin user info:\n%s", admin)
	}
}

// boto3AssumeRole sets up a user and a role with boto3's IAM client,
// assumes the role with STS (DurationSeconds=900, the AWS minimum) and uses
// the temporary credentials for S3.
const boto3AssumeRole = `
import json, os, sys, time
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

bucket = sys.argv[1]
ep = os.environ["FS_ENDPOINT"]
cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
iam = boto3.client("iam", endpoint_url=ep, region_name="us-east-1", config=cfg)
acct = boto3.client("sts", endpoint_url=ep, region_name="us-east-1", config=cfg).get_caller_identity()["Account"]
iam.create_user(UserName="dev")
key = iam.create_access_key(UserName="dev")["AccessKey"]
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::%s:user/dev" % acct}, "Action": "sts:AssumeRole"}]}
iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(trust))
iam.put_role_policy(RoleName="reader", PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/*" % bucket}]}))
sts = boto3.client("sts", endpoint_url=ep, region_name="us-east-1", config=cfg,
                   aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
out = sts.assume_role(RoleArn="arn:aws:iam::%s:role/reader" % acct, RoleSessionName="e2e", DurationSeconds=900)
c = out["Credentials"]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", config=cfg, aws_access_key_id=c["AccessKeyId"],
                  aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
res = {"arn": out["AssumedRoleUser"]["Arn"], "body": s3.get_object(Bucket=bucket, Key="k")["Body"].read().decode()}
res["expires_in"] = int(c["Expiration"].timestamp() - time.time())
try:
    s3.put_object(Bucket=bucket, Key="w", Body=b"x")
    res["put"] = "allowed"
except ClientError as e:
    res["put"] = e.response["Error"]["Code"]
bad = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", config=cfg, aws_access_key_id=c["AccessKeyId"],
                   aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"][:-4] + "AAAA")
try:
    bad.get_object(Bucket=bucket, Key="k")
    res["badtoken"] = "allowed"
except ClientError as e:
    res["badtoken"] = e.response["Error"]["Code"]
print(json.dumps(res))
`

// TestAccessBoto3AssumeRole: the temporary credentials are accepted within
// the role's policy and refused with a wrong token. Their expiry is checked
// in-process with an injected clock (s3api TestAuthzSessions), since the
// real binary's shortest session lasts 900 s.
func TestAccessBoto3AssumeRole(t *testing.T) {
	harness.RequireTool(t, harness.Python3)
	n := harness.StartNode(t, harness.NodeOptions{Name: "access-boto3"})
	c := n.Clients(t)
	b := harness.BucketName("boto3role")
	c.MustAWS("s3", "mb", "s3://"+b)
	if _, err := n.SDKClient().PutObject(context.Background(), &s3.PutObjectInput{Bucket: &b, Key: aws.String("k"), Body: strings.NewReader("data")}); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Arn, Body, Put, Badtoken string
		ExpiresIn                int `json:"expires_in"`
	}
	out := c.Must(c.Python(boto3AssumeRole, b))
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "{"):]), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.HasSuffix(res.Arn, ":assumed-role/reader/e2e") || res.Body != "data" || res.Put != "AccessDenied" || res.Badtoken != "InvalidToken" {
		t.Fatalf("assume role: %+v", res)
	}
	if res.ExpiresIn < 800 || res.ExpiresIn > 900 {
		t.Fatalf("DurationSeconds=900 gave credentials expiring in %d s", res.ExpiresIn)
	}
}

// TestAccessRcloneReadOnly: a read-only user can copy from the bucket with
// rclone but its sync to the bucket is refused and changes nothing.
func TestAccessRcloneReadOnly(t *testing.T) {
	harness.RequireTool(t, harness.Rclone)
	n := harness.StartNode(t, harness.NodeOptions{Name: "access-rclone"})
	root := n.Clients(t)
	b := harness.BucketName("rcloneread")
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src, 20, 0, 0, 11)
	root.MustRclone("mkdir", harness.RcloneRemote+":"+b)
	root.MustRclone("copy", src, harness.RcloneRemote+":"+b+"/tree", "-q")
	reader, _ := newCLIUser(t, root, "rclone-reader", readPolicy(b))

	dst := filepath.Join(t.TempDir(), "dst")
	reader.MustRclone("copy", harness.RcloneRemote+":"+b+"/tree", dst, "-q", "--retries", "1")
	if got, want := harness.TreeDigest(t, dst), harness.TreeDigest(t, src); len(got) != len(want) {
		t.Fatalf("copied %d files, want %d", len(got), len(want))
	}
	changed := filepath.Join(t.TempDir(), "changed")
	makeTree(t, changed, 5, 0, 0, 12)
	r := reader.Rclone("sync", changed, harness.RcloneRemote+":"+b+"/tree", "-q", "--retries", "1", "--low-level-retries", "1")
	if r.Err == nil || !strings.Contains(r.Output, "AccessDenied") {
		t.Fatalf("read-only sync: %s", r)
	}
	after := filepath.Join(t.TempDir(), "after")
	root.MustRclone("copy", harness.RcloneRemote+":"+b+"/tree", after, "-q")
	if got, want := harness.TreeDigest(t, after), harness.TreeDigest(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatal("a refused sync changed the bucket")
	}
}

// TestAccessMatrixBinary is a smaller authorization matrix against the
// real binary: callers × operations, each refused write checked to have
// stored nothing.
func TestAccessMatrixBinary(t *testing.T) {
	harness.RequireTool(t, harness.AWSCLI)
	n := harness.StartNode(t, harness.NodeOptions{Name: "access-matrix"})
	root := n.Clients(t)
	sdk := n.SDKClient()
	ctx := context.Background()
	b := harness.BucketName("binmatrix")
	pub := harness.BucketName("binpublic")
	for _, bk := range []string{b, pub} {
		if _, err := sdk.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bk}); err != nil {
			t.Fatal(err)
		}
		if _, err := sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: &bk, Key: aws.String("obj"), Body: strings.NewReader("data")}); err != nil {
			t.Fatal(err)
		}
	}
	_, none := newCLIUser(t, root, "none", "")
	_, friend := newCLIUser(t, root, "friend", "")
	var acct struct{ Account string }
	if err := json.Unmarshal([]byte(root.MustAWS("sts", "get-caller-identity")), &acct); err != nil {
		t.Fatal(err)
	}
	root.MustAWS("s3api", "put-bucket-policy", "--bucket", b, "--policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"AWS":"arn:aws:iam::`+acct.Account+`:user/friend"},"Action":"s3:*","Resource":["arn:aws:s3:::`+b+`","arn:aws:s3:::`+b+`/*"]}]}`)
	root.MustAWS("s3api", "put-bucket-policy", "--bucket", pub, "--policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+pub+`/*"}]}`)

	callers := []struct {
		name   string
		client *s3.Client // nil: anonymous
		bucket string
		allow  map[string]bool
		code   string
	}{
		{"anonymous", nil, b, nil, "AccessDenied"},
		{"unknown key", harness.SDKClient(n.Endpoint(), "AKIAUNKNOWNUNKNOWN00", "secret"), b, nil, "InvalidAccessKeyId"},
		{"wrong secret", harness.SDKClient(n.Endpoint(), none.AccessKey.AccessKeyId, "wrong"), b, nil, "SignatureDoesNotMatch"},
		{"no policy", harness.SDKClient(n.Endpoint(), none.AccessKey.AccessKeyId, none.AccessKey.SecretAccessKey), b, nil, "AccessDenied"},
		{"bucket policy", harness.SDKClient(n.Endpoint(), friend.AccessKey.AccessKeyId, friend.AccessKey.SecretAccessKey), b,
			map[string]bool{"list": true, "get": true, "put": true, "delete": true}, ""},
		{"public read", nil, pub, map[string]bool{"get": true}, "AccessDenied"},
	}
	for _, c := range callers {
		for _, op := range []string{"list", "get", "put", "delete"} {
			t.Run(strings.ReplaceAll(c.name, " ", "_")+"/"+op, func(t *testing.T) {
				err := binaryOp(ctx, n, c.client, c.bucket, op)
				if c.allow[op] {
					if err != nil {
						t.Fatalf("allowed %s: %v", op, err)
					}
					return
				}
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != c.code {
					t.Fatalf("%s: got %v, want %s", op, err, c.code)
				}
				if op == "put" && existsObj(t, sdk, c.bucket, "new") || op == "delete" && !existsObj(t, sdk, c.bucket, "obj") {
					t.Fatalf("a refused %s changed the bucket", op)
				}
			})
		}
	}
}

// anonError is an anonymous request's S3 error code.
type anonError struct{ code string }

func (e anonError) Error() string                 { return e.code }
func (e anonError) ErrorCode() string             { return e.code }
func (e anonError) ErrorMessage() string          { return e.code }
func (e anonError) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

// binaryOp runs one operation with the SDK, or anonymously (plain HTTP
// as curl sends it) when c is nil.
func binaryOp(ctx context.Context, n *harness.Node, c *s3.Client, b, op string) error {
	if c == nil {
		req := map[string][2]string{"list": {"GET", "/" + b + "?list-type=2"}, "get": {"GET", "/" + b + "/obj"},
			"put": {"PUT", "/" + b + "/new"}, "delete": {"DELETE", "/" + b + "/obj"}}[op]
		r, err := http.NewRequestWithContext(ctx, req[0], n.URL(req[1]), strings.NewReader("x"))
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode < 300 {
			return nil
		}
		var doc struct{ Code string }
		_ = xml.Unmarshal(body, &doc)
		return anonError{doc.Code}
	}
	var err error
	switch op {
	case "list":
		_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b})
	case "get":
		var out *s3.GetObjectOutput
		if out, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj")}); err == nil {
			out.Body.Close()
		}
	case "put":
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("new"), Body: strings.NewReader("x")})
	case "delete":
		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("obj")})
	}
	return err
}

func existsObj(t *testing.T, c *s3.Client, b, k string) bool {
	t.Helper()
	_, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &b, Key: &k})
	return err == nil
}

// TestAccessAcrossCluster: a user, key and policy made through node 1, and
// a bucket policy put there, take effect through the other nodes within a
// second, and so do their revocations.
func TestAccessAcrossCluster(t *testing.T) {
	harness.RequireTool(t, harness.AWSCLI)
	cl := harness.StartCluster(t, harness.ClusterOptions{Nodes: 3, ECData: 2, ECParity: 1, Name: "acc"})
	n1, n2, n3 := cl.Node(1), cl.Node(2), cl.Node(3)
	root1 := n1.Clients(t)
	b := harness.BucketName("clusteraccess")
	root1.MustAWS("s3", "mb", "s3://"+b)
	ctx := context.Background()
	if _, err := n1.SDKClient().PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("obj"), Body: strings.NewReader("data")}); err != nil {
		t.Fatal(err)
	}
	_, k := newCLIUser(t, root1, "everywhere", readPolicy(b))
	on2 := harness.SDKClient(n2.Endpoint(), k.AccessKey.AccessKeyId, k.AccessKey.SecretAccessKey)
	within(t, time.Second, "the new user's key on node 2", func() error {
		_, err := on2.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("obj")})
		return err
	})
	root1.MustAWS("iam", "update-access-key", "--user-name", "everywhere", "--access-key-id", k.AccessKey.AccessKeyId, "--status", "Inactive")
	within(t, time.Second, "the deactivated key refused on node 2", func() error {
		if _, err := on2.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("obj")}); err == nil {
			return errors.New("still accepted")
		}
		return nil
	})
	anon := func() (int, error) {
		resp, err := http.Get(n3.URL("/" + b + "/obj"))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	root1.MustAWS("s3api", "put-bucket-policy", "--bucket", b, "--policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/*"}]}`)
	within(t, time.Second, "the public policy on node 3", func() error {
		if st, err := anon(); err != nil || st != 200 {
			return fmt.Errorf("status %d, %v", st, err)
		}
		return nil
	})
	root1.MustAWS("s3api", "delete-bucket-policy", "--bucket", b)
	within(t, time.Second, "the deleted policy on node 3", func() error {
		if st, err := anon(); err != nil || st != 403 {
			return fmt.Errorf("status %d, %v", st, err)
		}
		return nil
	})
}

// within polls cond until it holds, failing if that takes longer than d
// (the time is measured from the call, after the change was acknowledged).
func within(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	start := time.Now()
	var err error
	for time.Since(start) < 10*d {
		if err = cond(); err == nil {
			took := time.Since(start)
			t.Logf("%s: after %v", what, took.Round(time.Millisecond))
			if took > d {
				t.Errorf("%s took %v, more than %v", what, took, d)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v: %v", what, 10*d, err)
}
