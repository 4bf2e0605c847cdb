package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/e2e/harness"
)

// lifecycleDay is the --lifecycle-day of the lifecycle tests: rules of
// days act in seconds.
const lifecycleDay = 2 * time.Second

var expiryDate = regexp.MustCompile(`expiry-date="([^"]+)", rule-id="([^"]*)"`)

// parseExpiration reads an x-amz-expiration value.
func parseExpiration(t *testing.T, v string) (time.Time, string) {
	t.Helper()
	m := expiryDate.FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("x-amz-expiration %q is not S3's shape", v)
	}
	at, err := time.Parse(http.TimeFormat, m[1])
	if err != nil {
		t.Fatalf("expiry-date %q: %v", m[1], err)
	}
	return at, m[2]
}

func writeJSON(t *testing.T, dir, name, doc string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLifecycleAWSCLI: put-bucket-lifecycle-configuration with the aws
// cli on a server whose days last 2 s; objects, noncurrent versions and
// incomplete uploads really expire, none before its time, objects outside
// the rules stay; the refusals reach the cli; admin lifecycle status
// reports the steps.
func TestLifecycleAWSCLI(t *testing.T) {
	harness.RequireTool(t, harness.AWSCLI)
	n := harness.StartNode(t, harness.NodeOptions{Name: "lifecycle", ExtraArgs: []string{"--lifecycle-day", lifecycleDay.String()}})
	c := n.Clients(t)
	dir := t.TempDir()
	b := harness.BucketName("ilm")
	c.MustAWS("s3", "mb", "s3://"+b)
	c.MustAWS("s3api", "put-bucket-versioning", "--bucket", b, "--versioning-configuration", "Status=Enabled")
	cfg := writeJSON(t, dir, "lc.json", `{"Rules":[
		{"ID":"tmp","Status":"Enabled","Filter":{"Prefix":"tmp/"},"Expiration":{"Days":1}},
		{"ID":"old versions","Status":"Enabled","Filter":{"Prefix":"ver/"},"NoncurrentVersionExpiration":{"NoncurrentDays":1}},
		{"ID":"uploads","Status":"Enabled","Filter":{"Prefix":"up/"},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1}}]}`)
	c.MustAWS("s3api", "put-bucket-lifecycle-configuration", "--bucket", b, "--lifecycle-configuration", "file://"+cfg)
	var got struct {
		Rules []struct {
			ID     string
			Status string
			Filter struct{ Prefix string }
		}
	}
	jsonInto(t, c.MustAWS("s3api", "get-bucket-lifecycle-configuration", "--bucket", b), &got)
	if len(got.Rules) != 3 || got.Rules[1].ID != "old versions" || got.Rules[1].Filter.Prefix != "ver/" {
		t.Fatalf("get-bucket-lifecycle-configuration: %+v", got)
	}

	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct{ code, doc string }{
			{"InvalidArgument", `{"Rules":[{"ID":"a","Status":"Enabled","Filter":{},"Expiration":{"Days":0}}]}`},
			{"InvalidArgument", `{"Rules":[{"ID":"a","Status":"Enabled","Filter":{},"Expiration":{"Days":1}},{"ID":"a","Status":"Enabled","Filter":{},"Expiration":{"Days":2}}]}`},
			{"InvalidArgument", `{"Rules":[{"ID":"a","Status":"Enabled","Filter":{},"Expiration":{"Date":"2031-01-01T05:00:00Z"}}]}`},
			{"InvalidStorageClass", `{"Rules":[{"ID":"a","Status":"Enabled","Filter":{},"Transitions":[{"Days":30,"StorageClass":"GLACIER"}]}]}`},
			{"InvalidRequest", `{"Rules":[{"ID":"a","Status":"Enabled","Filter":{"Tag":{"Key":"k","Value":"v"}},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1}}]}`},
		} {
			p := writeJSON(t, dir, "bad.json", tc.doc)
			wantAWSFail(t, c, tc.code, "s3api", "put-bucket-lifecycle-configuration", "--bucket", b, "--lifecycle-configuration", "file://"+p)
		}
		jsonInto(t, c.MustAWS("s3api", "get-bucket-lifecycle-configuration", "--bucket", b), &got)
		if len(got.Rules) != 3 {
			t.Fatalf("a refused configuration changed the stored one: %+v", got)
		}
	})

	src := filepath.Join(dir, "body.txt")
	if err := os.WriteFile(src, []byte("lifecycle e2e\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	put := jsonOut(t, c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "tmp/a", "--body", src))
	exp, _ := put["Expiration"].(string)
	due, rule := parseExpiration(t, exp)
	if rule != "tmp" || due.Before(time.Now().Add(lifecycleDay-time.Second)) || due.After(time.Now().Add(3*lifecycleDay)) {
		t.Fatalf("put-object Expiration %q (now %v)", exp, time.Now().UTC())
	}
	head := jsonOut(t, c.MustAWS("s3api", "head-object", "--bucket", b, "--key", "tmp/a"))
	if head["Expiration"] != exp {
		t.Fatalf("head-object Expiration %v, put-object said %q", head["Expiration"], exp)
	}
	c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "keep/a", "--body", src)
	v1 := jsonOut(t, c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "ver/x", "--body", src))["VersionId"]
	c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "ver/x", "--body", src)
	upload := jsonOut(t, c.MustAWS("s3api", "create-multipart-upload", "--bucket", b, "--key", "up/big"))["UploadId"]

	// Poll: tmp/a must exist until its expiry date and be gone after it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := c.AWS("s3api", "head-object", "--bucket", b, "--key", "tmp/a")
		// The aws cli takes a while to start, so the request left at some
		// moment before now: a 404 answered before the due time is early.
		if answered := time.Now(); r.Err != nil {
			if !strings.Contains(r.Output, "404") {
				t.Fatalf("head-object: %s", r)
			}
			if answered.Before(due) {
				t.Fatalf("tmp/a gone at %v, before its expiry date %v", answered, due)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tmp/a still there %v after its expiry date", time.Since(due))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The delete marker's time is when the server expired it (the cli's
	// own latency aside).
	var lv struct {
		DeleteMarkers []struct {
			Key          string
			LastModified time.Time
		}
	}
	jsonInto(t, c.MustAWS("s3api", "list-object-versions", "--bucket", b, "--prefix", "tmp/a"), &lv)
	if len(lv.DeleteMarkers) != 1 || lv.DeleteMarkers[0].LastModified.Before(due) {
		t.Fatalf("tmp/a delete markers %+v, expiry date %v", lv.DeleteMarkers, due)
	}
	t.Logf("tmp/a expired %v after its expiry date (seen by the cli %v after)",
		lv.DeleteMarkers[0].LastModified.Sub(due), time.Since(due).Round(time.Millisecond))
	if err := harness.Eventually(30*time.Second, 200*time.Millisecond, func() error {
		vs, dms := versionIDs(t, c, b, "ver/x")
		if len(vs) != 1 || vs[0] == v1 || len(dms) != 0 {
			return fmt.Errorf("ver/x versions %v markers %v", vs, dms)
		}
		var ups struct{ Uploads []struct{ UploadId string } }
		if out := c.MustAWS("s3api", "list-multipart-uploads", "--bucket", b); strings.TrimSpace(out) != "" {
			jsonInto(t, out, &ups)
		}
		if len(ups.Uploads) != 0 {
			return fmt.Errorf("upload %v not aborted: %+v", upload, ups)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if r := c.AWS("s3api", "head-object", "--bucket", b, "--key", "keep/a"); r.Err != nil {
		t.Fatalf("keep/a (no rule) expired: %s", r)
	}
	// Versioned: the expiry added one delete marker over the version.
	if vs, dms := versionIDs(t, c, b, "tmp/a"); len(vs) != 1 || len(dms) != 1 {
		t.Fatalf("tmp/a: versions %v markers %v", vs, dms)
	}

	t.Run("admin-status", func(t *testing.T) {
		env := []string{"FILESPHERE_ROOT_USER=" + n.AccessKey(), "FILESPHERE_ROOT_PASSWORD=" + n.SecretKey()}
		r := runFilesphere(t, dir, env, "admin", "lifecycle", "status", "--json", "--endpoint", n.Endpoint())
		var st struct {
			Leader string           `json:"leader"`
			Day    string           `json:"day"`
			Totals map[string]int64 `json:"totals"`
		}
		if r.Err != nil || json.Unmarshal([]byte(r.Stdout), &st) != nil {
			t.Fatalf("admin lifecycle status --json:\n%s", r)
		}
		if st.Day != "2s" || st.Totals["delete_marker"] < 1 || st.Totals["noncurrent"] < 1 || st.Totals["abort_upload"] != 1 {
			t.Fatalf("lifecycle status %+v", st)
		}
		r = runFilesphere(t, dir, env, "admin", "lifecycle", "status", "--endpoint", n.Endpoint())
		if r.Err != nil || !strings.Contains(r.Stdout, "Lifecycle worker") || !strings.Contains(r.Stdout, "abort_upload") {
			t.Fatalf("admin lifecycle status:\n%s", r)
		}
	})

	c.MustAWS("s3api", "delete-bucket-lifecycle", "--bucket", b)
	wantAWSFail(t, c, "NoSuchLifecycleConfiguration", "s3api", "get-bucket-lifecycle-configuration", "--bucket", b)
}

// TestLifecycleCluster3: on 3 nodes with 2-second days and the worker
// slowed to 4 steps a second, the leader is killed with kill -9 while
// expiring a batch of objects in a versioned bucket; the new leader
// finishes. Every object gets exactly one delete marker, none before the
// expiry date PUT announced, and no object outside the rule gets one.
func TestLifecycleCluster3(t *testing.T) {
	c := harness.StartCluster(t, harness.ClusterOptions{Nodes: 3, DrivesPerNode: 2, ECData: 2, ECParity: 1,
		ExtraArgs: []string{"--lifecycle-day", lifecycleDay.String(), "--lifecycle-rate", "4"}})
	sdk := clusterClients(c)
	ctx := context.Background()
	b := harness.BucketName("ilmcluster")
	if _, err := sdk[1].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk[2].PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk[3].PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: &b,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{ID: aws.String("expire"),
			Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("x/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(2)}}}}}); err != nil {
		t.Fatal(err)
	}
	const n = 24
	due := map[string]time.Time{}
	for i := range n {
		key := fmt.Sprintf("x/%02d", i)
		out, err := sdk[1+i%3].PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: &key, Body: strings.NewReader(key)})
		if err != nil {
			t.Fatal(err)
		}
		at, rule := parseExpiration(t, aws.ToString(out.Expiration))
		if rule != "expire" {
			t.Fatalf("%s: rule %q", key, rule)
		}
		due[key] = at
	}
	for _, key := range []string{"y/0", "y/1"} {
		if _, err := sdk[2].PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String(key), Body: strings.NewReader(key)}); err != nil {
			t.Fatal(err)
		}
	}
	// markers lists the delete markers per key, through node i.
	markers := func(i int) (map[string][]types.DeleteMarkerEntry, int, error) {
		out, err := sdk[i].ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b})
		if err != nil {
			return nil, 0, err
		}
		m := map[string][]types.DeleteMarkerEntry{}
		for _, dm := range out.DeleteMarkers {
			m[aws.ToString(dm.Key)] = append(m[aws.ToString(dm.Key)], dm)
		}
		return m, len(out.Versions), nil
	}
	leader, err := c.WaitLeader(15 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the first expiries, then kill the leader mid-batch.
	other := 1 + leader%3
	var seen int
	if err := harness.Eventually(60*time.Second, 100*time.Millisecond, func() error {
		m, _, err := markers(other)
		if err != nil {
			return err
		}
		if seen = len(m); seen == 0 {
			return errors.New("no object expired yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen >= n {
		t.Fatalf("all %d objects expired before the kill: the worker was not slowed", n)
	}
	t.Logf("killing leader %s after %d of %d expiries", c.ID(leader), seen, n)
	if err := c.Kill(leader); err != nil {
		t.Fatal(err)
	}
	next, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("new leader %s", c.ID(next))
	var final map[string][]types.DeleteMarkerEntry
	if err := harness.Eventually(90*time.Second, 250*time.Millisecond, func() error {
		m, _, err := markers(next)
		if err != nil {
			return err
		}
		final = m
		if len(m) < n {
			return fmt.Errorf("%d of %d objects expired", len(m), n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The killed node comes back and agrees.
	if err := c.Node(leader).Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	// A later pass must not add anything: wait a few days of 2 s.
	time.Sleep(3 * lifecycleDay)
	for _, i := range c.Running() {
		var m map[string][]types.DeleteMarkerEntry
		var versions int
		if err := harness.Eventually(30*time.Second, 200*time.Millisecond, func() error {
			var err error
			m, versions, err = markers(i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if versions != n+2 || len(m) != n {
			t.Fatalf("%s: %d versions, %d keys with markers; want %d and %d", c.ID(i), versions, len(m), n+2, n)
		}
		for key, at := range due {
			dms := m[key]
			if len(dms) != 1 {
				t.Fatalf("%s: %s has %d delete markers, want exactly 1", c.ID(i), key, len(dms))
			}
			if made := aws.ToTime(dms[0].LastModified); made.Before(at) {
				t.Fatalf("%s: %s expired at %v, before its expiry date %v", c.ID(i), key, made, at)
			}
			if len(final[key]) != 1 || aws.ToString(final[key][0].VersionId) != aws.ToString(dms[0].VersionId) {
				t.Fatalf("%s: %s's marker changed after the expiry: %+v then %+v", c.ID(i), key, final[key], dms)
			}
		}
		for _, key := range []string{"y/0", "y/1"} {
			if len(m[key]) != 0 {
				t.Fatalf("%s: %s (no rule) got a delete marker", c.ID(i), key)
			}
		}
	}
	// The status comes from the leader, whichever node is asked.
	r := c.Admin(leader, "lifecycle", "status", "--json")
	var st struct {
		Leader string `json:"leader"`
	}
	if r.Err != nil || json.Unmarshal([]byte(r.Stdout), &st) != nil || st.Leader != c.ID(next) {
		t.Fatalf("lifecycle status from %s:\n%s", c.ID(leader), r)
	}
}
