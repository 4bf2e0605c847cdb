package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
)

// TestRefusedUploadsAnswered: real clients that send "Expect: 100-continue"
// get the refusal of an upload at once, without sending the body. The aws
// cli v2 reports the S3 error (it used to report "Connection was closed
// before we received a valid response"), and curl, told to wait 20 s for
// "100 Continue", has its answer in well under a second.
func TestRefusedUploadsAnswered(t *testing.T) {
	harness.RequireTool(t, harness.AWSCLI)
	harness.RequireTool(t, harness.Curl)
	n := harness.StartNode(t, harness.NodeOptions{Name: "refused"})
	c := n.Clients(t)
	b := harness.BucketName("refused")
	c.MustAWS("s3", "mb", "s3://"+b)
	file := filepath.Join(t.TempDir(), "3mb.bin")
	harness.WriteRandomFile(t, file, 3<<20, 7)

	t.Run("aws-cli", func(t *testing.T) {
		for _, tt := range []struct{ name, target, want string }{
			{"missing bucket", "s3://no-such-bucket-" + harness.RandomString(8, "abcdefgh") + "/k", "NoSuchBucket"},
			{"1025-byte key", "s3://" + b + "/" + strings.Repeat("k", 1025), "KeyTooLongError"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				start := time.Now()
				r := c.AWS("s3", "cp", file, tt.target, "--only-show-errors", "--no-progress")
				took := time.Since(start)
				if r.Err == nil {
					t.Fatalf("upload succeeded:\n%s", r)
				}
				if !strings.Contains(r.Output, tt.want) || strings.Contains(r.Output, "Connection was closed") {
					t.Fatalf("want %s:\n%s", tt.want, r)
				}
				t.Logf("aws s3 cp reported %s after %v", tt.want, took.Round(time.Millisecond))
			})
		}
	})

	t.Run("curl", func(t *testing.T) {
		signed := []string{"-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "--aws-sigv4", "aws:amz:us-east-1:s3",
			"--user", n.AccessKey() + ":" + n.SecretKey()}
		for _, tt := range []struct {
			name string
			args []string
			url  string
			want string
		}{
			{"anonymous", nil, n.URL("/" + b + "/k"), "403"},
			{"signed, missing bucket", signed, n.URL("/no-such-bucket-x/k"), "404"},
			{"signed, accepted", signed, n.URL("/" + b + "/curl-ok"), "200"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				args := append([]string{"-sS", "-o", "/dev/null", "-w", "%{http_code}", "--expect100-timeout", "20", "-T", file, tt.url}, tt.args...)
				start := time.Now()
				r := c.Curl(args...)
				took := time.Since(start)
				if r.Err != nil || strings.TrimSpace(r.Stdout) != tt.want {
					t.Fatalf("want %s:\n%s", tt.want, r)
				}
				if tt.want != "200" && took > time.Second {
					t.Fatalf("curl got its %s after %v", tt.want, took)
				}
				t.Logf("curl got %s after %v", tt.want, took.Round(time.Millisecond))
			})
		}
	})
}
