package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/e2e/harness"
)

// TestGeneratedCredentials starts a server without FILESPHERE_ROOT_USER:
// it generates root credentials, prints them, stores them with mode 0600,
// and reuses them after a restart.
func TestGeneratedCredentials(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "gencreds", GenerateCredentials: true})
	ak, sk := n.AccessKey(), n.SecretKey()
	banner := strings.Join(n.Banner(), "\n")
	credPath := filepath.Join(n.DataDir(), "root-credentials.json")
	if !strings.Contains(banner, "Generated root credentials (stored in "+credPath+")") {
		t.Errorf("first start does not announce generated credentials:\n%s", banner)
	}
	if len(ak) < 16 || len(sk) < 32 {
		t.Fatalf("generated credentials look weak or were not printed: %q / %q\n%s", ak, sk, banner)
	}
	fi, err := os.Stat(credPath)
	if err != nil {
		t.Fatalf("credentials file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", credPath, fi.Mode().Perm())
	}
	var stored struct{ AccessKey, SecretKey string }
	b := readFile(t, credPath)
	must(t, json.Unmarshal(b, &stored))
	if stored.AccessKey != ak || stored.SecretKey != sk {
		t.Errorf("stored credentials %s differ from the printed ones", b)
	}

	c := n.Clients(t)
	bucket := harness.BucketName("creds")
	c.MustAWS("s3", "mb", "s3://"+bucket)
	bad := harness.NewClients(t, n.Endpoint(), ak, sk+"x")
	if r := bad.AWS("s3", "ls"); r.Err == nil || !strings.Contains(r.Output, "SignatureDoesNotMatch") {
		t.Errorf("a wrong secret was not refused with SignatureDoesNotMatch:\n%s", r)
	}
	unknown := harness.NewClients(t, n.Endpoint(), "NOSUCHKEY1234567890", sk)
	if r := unknown.AWS("s3", "ls"); r.Err == nil || !strings.Contains(r.Output, "InvalidAccessKeyId") {
		t.Errorf("an unknown access key was not refused with InvalidAccessKeyId:\n%s", r)
	}

	n.Restart()
	if n.AccessKey() != ak || n.SecretKey() != sk {
		t.Fatalf("restart printed other credentials: %s / %s", n.AccessKey(), n.SecretKey())
	}
	if banner := strings.Join(n.Banner(), "\n"); strings.Contains(banner, "Generated root credentials") {
		t.Errorf("restart claims to generate credentials again:\n%s", banner)
	}
	if out := c.MustAWS("s3", "ls"); !strings.Contains(out, bucket) {
		t.Errorf("bucket missing after restart:\n%s", out)
	}
	if fi, err := os.Stat(credPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file after restart: %v %v", fi.Mode(), err)
	}
}

// TestHalfCredentialsRefused: only one of FILESPHERE_ROOT_USER/PASSWORD set
// is a configuration error, not a silent fallback.
func TestHalfCredentialsRefused(t *testing.T) {
	t.Parallel()
	n := harness.NewNode(t, harness.NodeOptions{Name: "halfcreds", GenerateCredentials: true,
		ExtraEnv: []string{"FILESPHERE_ROOT_USER=someone"}})
	if err := n.Start(); err == nil {
		t.Fatal("server started with FILESPHERE_ROOT_USER but no FILESPHERE_ROOT_PASSWORD")
	}
	if !strings.Contains(n.Log(), "FILESPHERE_ROOT_PASSWORD") {
		t.Errorf("error does not name the missing variable:\n%s", n.Log())
	}
	if _, err := os.Stat(filepath.Join(n.DataDir(), "root-credentials.json")); err == nil {
		t.Errorf("credentials were generated although the configuration was refused")
	}
}
