package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/e2e/harness"
)

// adminPath is the admin API under the S3 endpoint.
const adminPath = "/.filesphere/admin/v1"

// runFilesphere runs the real binary in dir with a minimal environment
// (no credentials unless given in env).
func runFilesphere(t *testing.T, dir string, env []string, args ...string) harness.Result {
	t.Helper()
	base := []string{"PATH=" + harness.SafePath, "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
	return harness.RunCommand(time.Minute, append(base, env...), dir, harness.BinaryPath(t), args...)
}

// TestBannerSecretOnlyOnFirstStart: the generated root secret is printed
// once; a restart prints the access key and where the secret is kept.
func TestBannerSecretOnlyOnFirstStart(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "banner", GenerateCredentials: true})
	sk := n.SecretKey()
	if first := strings.Join(n.Banner(), "\n"); !strings.Contains(first, sk) {
		t.Fatalf("first start does not show the generated secret:\n%s", first)
	}
	n.Restart()
	second := strings.Join(n.Banner(), "\n")
	if strings.Contains(second, sk) || strings.Contains(second, "AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("second start prints the secret:\n%s", second)
	}
	credPath := filepath.Join(n.DataDir(), "root-credentials.json")
	if !strings.Contains(second, n.AccessKey()) || !strings.Contains(second, credPath) {
		t.Fatalf("second start does not name the access key and %s:\n%s", credPath, second)
	}
	if log := n.Log(); strings.Contains(log, sk) {
		t.Fatalf("the secret appears in the second run's output")
	}

	// Credentials from the environment are never printed.
	env := harness.StartNode(t, harness.NodeOptions{Name: "banner-env"})
	if b := strings.Join(env.Banner(), "\n"); strings.Contains(b, env.SecretKey()) || !strings.Contains(b, env.AccessKey()) {
		t.Fatalf("banner with credentials from the environment:\n%s", b)
	}
}

// TestMetricsNeedSignature: unsigned GET /metrics is refused by default and
// served with --metrics-public; signed requests get the metrics at the
// admin path.
func TestMetricsNeedSignature(t *testing.T) {
	t.Parallel()
	closed := harness.StartNode(t, harness.NodeOptions{Name: "metrics"})
	open := harness.StartNode(t, harness.NodeOptions{Name: "metrics-public", ExtraArgs: []string{"--metrics-public"}})

	resp, err := http.Get(closed.URL("/metrics"))
	must(t, err)
	body := responseText(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "<Code>AccessDenied</Code>") || strings.Contains(body, "filesphere_") {
		t.Fatalf("unsigned /metrics by default: %d %s", resp.StatusCode, body)
	}
	status, b, err := closed.Signer().Do(nil, http.MethodGet, closed.URL(adminPath+"/metrics"), nil, 0)
	must(t, err)
	if status != http.StatusOK || !bytes.Contains(b, []byte("filesphere_drive_online")) {
		t.Fatalf("signed metrics: %d %.300s", status, b)
	}
	bad := harness.Signer{AccessKey: closed.AccessKey(), SecretKey: "wrong" + closed.SecretKey(), Region: "us-east-1"}
	if status, b, _ := bad.Do(nil, http.MethodGet, closed.URL(adminPath+"/metrics"), nil, 0); status != http.StatusForbidden {
		t.Fatalf("metrics with a wrong secret: %d %.300s", status, b)
	}

	resp, err = http.Get(open.URL("/metrics"))
	must(t, err)
	if body := responseText(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "filesphere_drive_online") {
		t.Fatalf("unsigned /metrics with --metrics-public: %d %.300s", resp.StatusCode, body)
	}
	if status, _, err := open.Signer().Do(nil, http.MethodGet, open.URL(adminPath+"/metrics"), nil, 0); err != nil || status != 200 {
		t.Fatalf("signed metrics with --metrics-public: %d %v", status, err)
	}
}

func responseText(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err := b.ReadFrom(resp.Body)
	must(t, err)
	return b.String()
}

// TestAdminNextToLocalServer: admin commands run next to a server read its
// credentials file (no flags, no environment); S3 errors print as one line.
func TestAdminNextToLocalServer(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	n := harness.StartNode(t, harness.NodeOptions{Name: "local-admin", GenerateCredentials: true, DataDir: filepath.Join(work, "data")})
	ep := "--endpoint=" + n.Endpoint()

	// The default --data is ./data, as for the server.
	r := runFilesphere(t, work, nil, "admin", "cluster", "status", ep)
	if r.Err != nil || !strings.Contains(r.Stdout, "cluster healthy") {
		t.Fatalf("admin next to the server:\n%s", r)
	}
	r = runFilesphere(t, t.TempDir(), nil, "admin", "heal", "status", "--json", ep, "--data", n.DataDir())
	var st harness.HealStatus
	if r.Err != nil || json.Unmarshal([]byte(r.Stdout), &st) != nil || st.Leader == "" {
		t.Fatalf("admin with --data:\n%s", r)
	}
	// Elsewhere, without credentials, it says what is missing.
	r = runFilesphere(t, t.TempDir(), nil, "admin", "cluster", "status", ep)
	if r.Err == nil || !strings.Contains(r.Output, "--data") {
		t.Fatalf("admin without any credentials:\n%s", r)
	}

	oneLine := func(r harness.Result, want ...string) {
		t.Helper()
		out := strings.TrimRight(r.Output, "\n")
		if r.Err == nil || strings.Contains(out, "\n") || strings.Contains(out, "<") {
			t.Fatalf("want one readable error line:\n%s", r)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Fatalf("error line %q lacks %q", out, w)
			}
		}
	}
	r = runFilesphere(t, work, nil, "admin", "heal", "status", ep, "--access-key", n.AccessKey(), "--secret-key", "wrong-secret-key")
	oneLine(r, "filesphere: heal status: SignatureDoesNotMatch: ", "(request ")
	r = runFilesphere(t, work, nil, "admin", "node", "drain", "no-such-node", ep)
	oneLine(r, `filesphere: node drain: NoSuchNode: Node "no-such-node" is not a member of the cluster. (request `)
	r = runFilesphere(t, work, nil, "admin", "cluster", "remove", "node1", ep)
	oneLine(r, "filesphere: cluster remove: InvalidClusterState: The last node of a cluster cannot be removed.")
}

// TestHealStatusFromFollower: on a 3-node cluster, heal status asked of a
// follower reports the leader's repair state (a table, and JSON with
// --json); after kill -9 of another node, with a long --lost-after, it
// says that node is unreachable and its repairs wait, not fail.
func TestHealStatusFromFollower(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, harness.ClusterOptions{Nodes: 3, ECData: 2, ECParity: 1, Name: "hs",
		ExtraArgs: []string{"--lost-after", "10m", "--repair-interval", "1s"}})
	leader, err := c.WaitLeader(time.Minute)
	must(t, err)
	var followers []int
	for _, i := range c.Members() {
		if i != leader {
			followers = append(followers, i)
		}
	}
	asked, victim := followers[0], followers[1]

	// Objects above the inline threshold, so they have shards on every node.
	sdk := c.Node(asked).SDKClient()
	bucket := harness.BucketName("heal-status")
	_, err = sdk.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	must(t, err)
	for i := range 6 {
		_, err := sdk.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket),
			Key: aws.String(fmt.Sprintf("obj-%d", i)), Body: bytes.NewReader(harness.RandomBytes(64<<10, uint64(i)))})
		must(t, err)
	}

	// The follower's own engine runs no passes; the leader's does.
	var st harness.HealStatus
	err = harness.Eventually(30*time.Second, 200*time.Millisecond, func() error {
		st, err = c.HealStatus(asked)
		switch {
		case err != nil:
			return err
		case st.Leader != c.ID(leader):
			return fmt.Errorf("heal status via %s names leader %q, want %s", c.ID(asked), st.Leader, c.ID(leader))
		case st.Passes < 1 || st.Last == nil || !st.Last.Incremental || st.Sweep == nil || st.Sweep.Active || st.Sweep.Placed == 0 || st.Scrub == nil:
			// The leader's first passes swept every record once (no
			// sweep had finished) and started the scrub's first cycle.
			return fmt.Errorf("heal status via %s shows %d passes (last %+v, sweep %+v): not the leader's state", c.ID(asked), st.Passes, st.Last, st.Sweep)
		}
		return nil
	})
	must(t, err)
	if len(st.Unreachable) != 0 {
		t.Fatalf("all nodes up, but unreachable: %+v", st.Unreachable)
	}
	r := c.Admin(asked, "heal", "status")
	if r.Err != nil || !strings.Contains(r.Stdout, "leader "+c.ID(leader)) || !strings.Contains(r.Stdout, "0 streams queued for repair") ||
		!strings.Contains(r.Stdout, "every record placed for ring") || !strings.Contains(r.Stdout, "no full scan yet") {
		t.Fatalf("heal status table via a follower:\n%s", r)
	}

	must(t, c.Kill(victim))
	killed := time.Now()
	err = harness.Eventually(time.Minute, 250*time.Millisecond, func() error {
		st, err = c.HealStatus(asked)
		if err != nil {
			return err
		}
		if len(st.Unreachable) != 1 || st.Unreachable[0].Node != c.ID(victim) || st.Unreachable[0].LostAfterSeconds != 600 {
			return fmt.Errorf("unreachable %+v, want %s lost after 600 s", st.Unreachable, c.ID(victim))
		}
		if l := st.Last; l == nil || !l.Started.After(killed) || len(l.DrivesOffline) == 0 || !l.Outstanding() {
			return fmt.Errorf("no pass since the kill that finds the victim's drives offline: %+v", st.Last)
		}
		return nil
	})
	must(t, err)
	if l := st.Last; l.Failed != 0 || len(l.FailedObjects) != 0 {
		t.Fatalf("repairs that wait for %s were counted as failures: %s", c.ID(victim), l)
	}
	r = c.Admin(asked, "heal", "status")
	want := "waiting: " + c.ID(victim) + " unreachable "
	if r.Err != nil || !strings.Contains(r.Stdout, want) || !strings.Contains(r.Stdout, ", lost after 10 min") ||
		!strings.Contains(r.Stdout, "(streams with a shard there wait for them)") {
		t.Fatalf("heal status table lacks %q:\n%s", want, r)
	}
	t.Logf("heal status via %s after kill -9 of %s:\n%s", c.ID(asked), c.ID(victim), r.Stdout)
}

// TestDrainFinishesInBackground: `admin node drain` starts a drain with a
// POST and polls a read-only status; the leader removes the node after the
// repair pass that emptied it, and every object stays readable.
func TestDrainFinishesInBackground(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, harness.ClusterOptions{Nodes: 4, ECData: 2, ECParity: 1, Name: "dr",
		ExtraArgs: []string{"--repair-interval", "1s"}})
	sdk := c.Node(1).SDKClient()
	bucket := harness.BucketName("drain")
	_, err := sdk.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	must(t, err)
	want := map[string][]byte{}
	for i := range 8 {
		key := fmt.Sprintf("obj-%d", i)
		want[key] = harness.RandomBytes(64<<10, uint64(100+i))
		_, err := sdk.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(want[key])})
		must(t, err)
	}
	victim := 4
	r := c.DrainNode(2, victim, 2*time.Minute)
	if r.Err != nil || !strings.Contains(r.Stdout, "safe to turn off") {
		t.Fatalf("drain:\n%s", r)
	}
	st, err := c.Status(1)
	must(t, err)
	for _, id := range st.NodeIDs() {
		if id == c.ID(victim) {
			t.Fatalf("drained node still a member: %v", st.NodeIDs())
		}
	}
	// Once removed, polling the drain again still answers (removed, safe).
	r = c.Admin(1, "node", "drain", c.ID(victim), "--wait", "10s")
	if r.Err != nil || !strings.Contains(r.Stdout, "safe to turn off") {
		t.Fatalf("drain of a drained node:\n%s", r)
	}
	must(t, c.Kill(victim))
	for key, body := range want {
		out, err := sdk.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		must(t, err)
		var got bytes.Buffer
		_, err = got.ReadFrom(out.Body)
		out.Body.Close()
		must(t, err)
		if !bytes.Equal(got.Bytes(), body) {
			t.Fatalf("%s differs after the drain", key)
		}
	}
}
