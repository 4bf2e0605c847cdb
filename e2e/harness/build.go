// Package harness runs real filesphere processes on loopback for the
// end-to-end tests and drives real S3 clients (aws cli, rclone, s3cmd,
// boto3, curl) against them.
//
// The binary is built once per test process (BinaryPath); Node starts one
// server with its own data folder, waits for /health/ready, records its
// output in a log file that is dumped through t.Log when the test fails, and
// can be stopped (SIGTERM), killed (SIGKILL) and restarted on the same data,
// drives and port. Cluster runs several Nodes as one cluster (node 1
// bootstraps, the others join it on fixed cluster ports) and reads its
// state through `filesphere admin cluster status --json`.
package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// BinaryEnv names an environment variable that, when set, points at a
// prebuilt filesphere binary to test instead of building one.
const BinaryEnv = "FILESPHERE_E2E_BINARY"

var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// BinaryPath returns the filesphere binary under test, building it on first
// use (once per test process). It fails the test if the build fails.
func BinaryPath(t testing.TB) string {
	t.Helper()
	p, err := binary()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return p
}

func binary() (string, error) {
	build.once.Do(func() {
		if p := os.Getenv(BinaryEnv); p != "" {
			build.path, build.err = filepath.Abs(p)
			return
		}
		root, err := moduleRoot()
		if err != nil {
			build.err = err
			return
		}
		dir, err := os.MkdirTemp("", "filesphere-e2e-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.dir = dir
		out := filepath.Join(dir, "filesphere")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/filesphere")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/filesphere: %v\n%s", err, b)
			return
		}
		build.path = out
	})
	return build.path, build.err
}

// Cleanup removes the built binary; call it from TestMain after m.Run.
func Cleanup() {
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
}

// moduleRoot finds the directory holding go.mod, walking up from the
// working directory (a test runs in its package directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
