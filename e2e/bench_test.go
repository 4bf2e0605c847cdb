package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/client/bench"
	"github.com/filesphere/filesphere/e2e/harness"
)

// benchBuckets are the buckets a bench run may have left behind.
func benchBuckets(t *testing.T, c *s3.Client) []string {
	t.Helper()
	out, err := c.ListBuckets(t.Context(), &s3.ListBucketsInput{})
	must(t, err)
	var names []string
	for _, b := range out.Buckets {
		if strings.HasPrefix(aws.ToString(b.Name), "fsbench-") {
			names = append(names, aws.ToString(b.Name))
		}
	}
	return names
}

func parseBenchReport(t *testing.T, r harness.Result) bench.ProfileResult {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("%s", r)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || len(rep.Profiles) != 1 {
		t.Fatalf("bench --json: %v\n%s", err, r)
	}
	return rep.Profiles[0]
}

// TestBenchPutGetAgainstServer runs `filesphere bench put` and `get` for a
// couple of seconds against a real server and reads their --json reports.
func TestBenchPutGetAgainstServer(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "bench"})
	const size = 64 << 10
	common := []string{"--endpoint", n.Endpoint(), "--size", "64KiB", "--concurrent", "4", "--duration", "2s", "--json", "--quiet"}

	// Credentials from the standard AWS variables.
	env := []string{"AWS_ACCESS_KEY_ID=" + n.AccessKey(), "AWS_SECRET_ACCESS_KEY=" + n.SecretKey()}
	put := parseBenchReport(t, runFilesphere(t, t.TempDir(), env, append([]string{"bench", "put"}, common...)...))
	p := put.Total
	if p.Ops == 0 || p.Errors != 0 || p.Bytes != p.Ops*size || put.Cleanup.Deleted != int(p.Ops) || p.MiBPerSec <= 0 {
		t.Fatalf("bench put: %+v, cleanup %+v", p, put.Cleanup)
	}
	if p.LatencyMS.P50 <= 0 || p.LatencyMS.P50 > p.LatencyMS.P99 || p.LatencyMS.P99 > p.LatencyMS.Max {
		t.Fatalf("bench put latencies: %+v", p.LatencyMS)
	}

	// Credentials from flags, with the server's memory sampled.
	get := parseBenchReport(t, runFilesphere(t, t.TempDir(), nil, append([]string{"bench", "get", "--objects", "16",
		"--access-key", n.AccessKey(), "--secret-key", n.SecretKey(), "--server-pid", strconv.Itoa(n.PID())}, common...)...))
	g := get.Total
	if g.Ops == 0 || g.Errors != 0 || g.Bytes != g.Ops*size || get.Objects != 16 || get.Cleanup.Deleted != 16 {
		t.Fatalf("bench get: %+v, objects %d, cleanup %+v", g, get.Objects, get.Cleanup)
	}
	if get.ServerRSS == nil || get.ServerRSS.PeakBytes < 1<<20 || get.ServerRSS.Samples == 0 {
		t.Fatalf("server RSS: %+v", get.ServerRSS)
	}
	if b := benchBuckets(t, n.SDKClient()); len(b) != 0 {
		t.Fatalf("bench left buckets: %v", b)
	}

	// A wrong secret fails at once, with the server's error code.
	r := runFilesphere(t, t.TempDir(), nil, "bench", "put", "--endpoint", n.Endpoint(), "--access-key", n.AccessKey(),
		"--secret-key", "wrong", "--quiet")
	if r.Err == nil || !strings.Contains(r.Output, "SignatureDoesNotMatch") {
		t.Fatalf("bench with a wrong secret:\n%s", r)
	}
}

// TestBenchCtrlCCleansUp interrupts a long `bench put` with SIGINT: it
// stops, removes what it wrote and its bucket, and exits non-zero.
func TestBenchCtrlCCleansUp(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "bench-sigint"})
	sdk := n.SDKClient()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.BinaryPath(t), "bench", "put", "--endpoint", n.Endpoint(),
		"--access-key", n.AccessKey(), "--secret-key", n.SecretKey(), "--size", "16KiB", "--concurrent", "4", "--duration", "10m")
	cmd.Env = []string{"PATH=" + harness.SafePath, "HOME=" + t.TempDir()}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	must(t, cmd.Start())

	// Wait until objects are being written.
	err := harness.Eventually(time.Minute, 50*time.Millisecond, func() error {
		b := benchBuckets(t, sdk)
		if len(b) == 0 {
			return errors.New("no bench bucket yet")
		}
		l, err := sdk.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: &b[0]})
		if err != nil || aws.ToInt32(l.KeyCount) < 20 {
			return errors.New("fewer than 20 objects yet")
		}
		return nil
	})
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("bench put did not get going: %v\n%s", err, out.String())
	}
	must(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out.String(), "interrupted") {
		t.Fatalf("after SIGINT: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "put-16KiB") || !strings.Contains(out.String(), "cleanup removed") {
		t.Fatalf("no partial report or cleanup message:\n%s", out.String())
	}
	if b := benchBuckets(t, sdk); len(b) != 0 {
		t.Fatalf("bench left buckets after SIGINT: %v\n%s", b, out.String())
	}
}
