package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// SafePath is the PATH given to every process the harness starts: system
// directories only, so the Debian-packaged clients are found rather than
// pyenv shims or user installs.
const SafePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Client binaries the tests drive, with how to get them.
const (
	AWSCLI  = "/usr/bin/aws"
	Rclone  = "/usr/bin/rclone"
	S3cmd   = "/usr/bin/s3cmd"
	Python3 = "/usr/bin/python3"
	Curl    = "/usr/bin/curl"
	// Chromium is Debian's package, driven headless by chromedp; nothing
	// downloads a browser.
	Chromium = "/usr/bin/chromium"
)

var installHints = map[string]string{
	AWSCLI:   "apt-get install awscli (aws cli v2 at /usr/bin/aws)",
	Rclone:   "apt-get install rclone",
	S3cmd:    "apt-get install s3cmd",
	Python3:  "apt-get install python3 python3-boto3",
	Curl:     "apt-get install curl",
	Chromium: "apt-get install chromium",
}

// RequireTool fails the test (rather than skipping it: CI installs the
// clients, see scripts/test-deps.sh) when a client binary is missing.
func RequireTool(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is required by the end-to-end tests: %v; install it with `%s` or run `make deps`",
			path, err, installHints[path])
	}
}

// DefaultTimeout bounds one client command unless a Clients sets another.
const DefaultTimeout = 3 * time.Minute

// Clients runs real S3 clients against one endpoint with given
// credentials. Every command gets a minimal environment with HOME set to a
// private temp folder, so no user configuration leaks in.
type Clients struct {
	t         testing.TB
	Endpoint  string // http://host:port
	AccessKey string
	SecretKey string
	Region    string
	Home      string
	Timeout   time.Duration
	// Env entries (KEY=VALUE) are added to every command's environment.
	Env []string
	// CABundle is the PEM file the clients trust for an https endpoint:
	// aws --ca-bundle, rclone --ca-cert (RCLONE_CA_CERT), AWS_CA_BUNDLE for
	// python (boto3), curl --cacert, s3cmd's ca_certs_file. rclone never
	// sees AWS_CA_BUNDLE.
	CABundle string

	once   sync.Once
	s3cfg  string
	rccfg  string
	initEr error
}

// Clients returns a client runner for the node with its root credentials.
func (n *Node) Clients(t testing.TB) *Clients {
	c := NewClients(t, n.Endpoint(), n.AccessKey(), n.SecretKey())
	c.CABundle = n.CABundle()
	return c
}

// NewClients returns a client runner for any endpoint.
func NewClients(t testing.TB, endpoint, accessKey, secretKey string) *Clients {
	return &Clients{t: t, Endpoint: endpoint, AccessKey: accessKey, SecretKey: secretKey,
		Region: "us-east-1", Home: t.TempDir(), Timeout: DefaultTimeout}
}

func (c *Clients) hostPort() string {
	_, hp, _ := strings.Cut(c.Endpoint, "://")
	return hp
}

func (c *Clients) https() bool { return strings.HasPrefix(c.Endpoint, "https://") }

// RcloneRemote is the rclone remote name the environment defines ("fs:").
const RcloneRemote = "fs"

func (c *Clients) init() error {
	c.once.Do(func() {
		c.s3cfg = filepath.Join(c.Home, ".s3cfg")
		useHTTPS, check := "False", "False"
		if c.https() {
			useHTTPS, check = "True", "True"
		}
		cfg := fmt.Sprintf(`[default]
access_key = %s
secret_key = %s
host_base = %s
host_bucket = %s
use_https = %s
signature_v2 = False
bucket_location = %s
check_ssl_certificate = %s
ca_certs_file = %s
guess_mime_type = False
progress_meter = False
`, c.AccessKey, c.SecretKey, c.hostPort(), c.hostPort(), useHTTPS, c.Region, check, c.CABundle)
		if err := os.WriteFile(c.s3cfg, []byte(cfg), 0o600); err != nil {
			c.initEr = err
			return
		}
		c.rccfg = filepath.Join(c.Home, "rclone.conf")
		c.initEr = os.WriteFile(c.rccfg, nil, 0o600)
	})
	return c.initEr
}

// Environ is the environment client commands run with.
func (c *Clients) Environ() []string {
	env := []string{
		"PATH=" + SafePath,
		"HOME=" + c.Home,
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
		"TMPDIR=" + os.TempDir(),
		"AWS_ACCESS_KEY_ID=" + c.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretKey,
		"AWS_DEFAULT_REGION=" + c.Region,
		"AWS_REGION=" + c.Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(c.Home, ".aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(c.Home, ".aws", "credentials"),
		"AWS_PAGER=",
		"AWS_CLI_AUTO_PROMPT=off",
		"FS_ENDPOINT=" + c.Endpoint,
		// rclone: the remote "fs:" is defined entirely by the environment.
		"RCLONE_CONFIG=" + c.rccfg,
		"RCLONE_CONFIG_FS_TYPE=s3",
		"RCLONE_CONFIG_FS_PROVIDER=Other",
		"RCLONE_CONFIG_FS_ENDPOINT=" + c.Endpoint,
		"RCLONE_CONFIG_FS_ACCESS_KEY_ID=" + c.AccessKey,
		"RCLONE_CONFIG_FS_SECRET_ACCESS_KEY=" + c.SecretKey,
		"RCLONE_CONFIG_FS_REGION=" + c.Region,
		"RCLONE_CONFIG_FS_FORCE_PATH_STYLE=true",
		"RCLONE_CONFIG_FS_ENV_AUTH=false",
	}
	return append(env, c.Env...)
}

// Result is a finished command.
type Result struct {
	Cmd    string
	Output string // stdout and stderr interleaved
	Stdout string
	Err    error
}

// Run runs a command with the clients' environment and timeout, in dir
// (or the temp HOME when dir is empty).
func (c *Clients) Run(dir, name string, args ...string) Result {
	if err := c.init(); err != nil {
		return Result{Err: err}
	}
	RequireTool(c.t, name)
	if dir == "" {
		dir = c.Home
	}
	env := c.Environ()
	if c.CABundle != "" {
		switch name {
		case Python3:
			env = append(env, "AWS_CA_BUNDLE="+c.CABundle)
		case Rclone:
			env = append(env, "RCLONE_CA_CERT="+c.CABundle)
		case AWSCLI:
			args = append([]string{"--ca-bundle", c.CABundle}, args...)
		case Curl:
			args = append([]string{"--cacert", c.CABundle}, args...)
		}
	}
	return RunCommand(c.Timeout, env, dir, name, args...)
}

// RunCommand runs name with args, env and a timeout, and returns its
// combined output (and separately its stdout).
func RunCommand(timeout time.Duration, env []string, dir, name string, args ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	cmd.WaitDelay = 5 * time.Second
	var all, out bytes.Buffer
	var mu sync.Mutex
	cmd.Stdout = &lockedWriter{mu: &mu, ws: []*bytes.Buffer{&all, &out}}
	cmd.Stderr = &lockedWriter{mu: &mu, ws: []*bytes.Buffer{&all}}
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", timeout, errors.Join(err, ctx.Err()))
	}
	r := Result{Cmd: name + " " + shellJoin(args), Output: all.String(), Stdout: out.String(), Err: err}
	return r
}

type lockedWriter struct {
	mu *sync.Mutex
	ws []*bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.ws {
		b.Write(p)
	}
	return len(p), nil
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$*?[]{}()<>|&;#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// String describes the result for failure messages.
func (r Result) String() string {
	return fmt.Sprintf("$ %s\n%s(%s)", r.Cmd, r.Output, exitString(r.Err))
}

// Must fails the test unless the command succeeded, and returns stdout.
func (c *Clients) Must(r Result) string {
	c.t.Helper()
	if r.Err != nil {
		c.t.Fatalf("command failed:\n%s", r)
	}
	return r.Stdout
}

// AWS runs the aws cli v2 (/usr/bin/aws) against the endpoint.
func (c *Clients) AWS(args ...string) Result {
	return c.Run("", AWSCLI, append([]string{"--endpoint-url", c.Endpoint}, args...)...)
}

// AWSIn runs the aws cli in dir.
func (c *Clients) AWSIn(dir string, args ...string) Result {
	return c.Run(dir, AWSCLI, append([]string{"--endpoint-url", c.Endpoint}, args...)...)
}

// MustAWS runs the aws cli and fails the test on error; it returns stdout.
func (c *Clients) MustAWS(args ...string) string {
	c.t.Helper()
	return c.Must(c.AWS(args...))
}

// Rclone runs rclone; the endpoint is the remote "fs:".
func (c *Clients) Rclone(args ...string) Result {
	return c.Run("", Rclone, args...)
}

// MustRclone runs rclone and fails the test on error.
func (c *Clients) MustRclone(args ...string) string {
	c.t.Helper()
	return c.Must(c.Rclone(args...))
}

// S3cmd runs s3cmd with a config file for the endpoint.
func (c *Clients) S3cmd(args ...string) Result {
	if err := c.init(); err != nil {
		return Result{Err: err}
	}
	return c.Run("", S3cmd, append([]string{"-c", c.s3cfg}, args...)...)
}

// MustS3cmd runs s3cmd and fails the test on error.
func (c *Clients) MustS3cmd(args ...string) string {
	c.t.Helper()
	return c.Must(c.S3cmd(args...))
}

// Python runs a /usr/bin/python3 script (given as source) with args; the
// endpoint is in $FS_ENDPOINT and the credentials in the AWS_* variables.
func (c *Clients) Python(script string, args ...string) Result {
	return c.Run("", Python3, append([]string{"-c", script}, args...)...)
}

// Curl runs curl with args.
func (c *Clients) Curl(args ...string) Result {
	return c.Run("", Curl, args...)
}
