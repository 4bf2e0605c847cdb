// Package e2e holds black-box tests of the real filesphere binary driven by
// real S3 clients: the aws cli v2, rclone, s3cmd, boto3 and curl, plus
// crash (kill -9), graceful shutdown, virtual-host and credential scenarios.
// The clients must be installed (scripts/test-deps.sh); a missing client
// fails the test instead of skipping it.
package e2e

import (
	"os"
	"testing"

	"github.com/filesphere/filesphere/e2e/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}

// sharedNode starts the one server that the client suites share.
func sharedNode(t *testing.T) *harness.Node {
	t.Helper()
	return harness.StartNode(t, harness.NodeOptions{Name: "shared"})
}

// TestClients runs every client suite against one shared server, in
// parallel, each in its own buckets.
func TestClients(t *testing.T) {
	n := sharedNode(t)
	t.Run("awscli", func(t *testing.T) { t.Parallel(); testAWSCLI(t, n) })
	t.Run("rclone", func(t *testing.T) { t.Parallel(); testRclone(t, n) })
	t.Run("s3cmd", func(t *testing.T) { t.Parallel(); testS3cmd(t, n) })
	t.Run("boto3", func(t *testing.T) { t.Parallel(); testBoto3(t, n) })
	t.Run("minio-go", func(t *testing.T) { t.Parallel(); testMinioGo(t, n) })
}
