package harness

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// NodeOptions configure one filesphere server process. The zero value is a
// single node on a free loopback port with four default drive folders
// (erasure 2+2) and random root credentials.
type NodeOptions struct {
	// Name labels the node in logs (default "node").
	Name string
	// Address is the --address flag (default "127.0.0.1:0": a free port,
	// read back from the banner). Restarts reuse the port first bound.
	Address string
	// DataDir is the --data folder (default a fresh t.TempDir()).
	DataDir string
	// Drives, when set, are passed as DRIVE arguments; DriveCount > 0
	// instead creates that many drive folders under a fresh temp dir.
	// With neither, the server uses <data>/drive1..4.
	Drives     []string
	DriveCount int
	// ECData and ECParity set --ec-data/--ec-parity when non-zero.
	ECData, ECParity int
	// Domain sets --domain (virtual-host-style buckets).
	Domain string
	// Region sets --region (default: the server's, us-east-1).
	Region string
	// AccessKey/SecretKey are passed as FILESPHERE_ROOT_USER/PASSWORD;
	// empty means random ones. GenerateCredentials passes neither, so the
	// server generates (or reuses) its own; they are read from the banner.
	AccessKey, SecretKey string
	GenerateCredentials  bool
	// LogLevel sets --log-level (default "info").
	LogLevel string
	// ExtraArgs are appended to the flags, before the drives.
	ExtraArgs []string
	// ExtraEnv entries (KEY=VALUE) are added to the process environment.
	ExtraEnv []string
	// ReadyTimeout bounds Start's wait for /health/ready (default 60s).
	ReadyTimeout time.Duration
	// MaxOpenFiles, when set, is the process's RLIMIT_NOFILE (soft and
	// hard, as `ulimit -n` sets it), for tests of descriptor exhaustion.
	MaxOpenFiles int
	// Console serves the web console on a free loopback port (its URL is
	// read from the banner: ConsoleURL); otherwise it is off, so that
	// nodes never contend for the default port.
	Console bool
	// CABundle is the PEM file clients trust for an https endpoint. With
	// --tls-auto among the flags it may stay empty: the self-signed
	// certificate the banner names is used.
	CABundle string
}

// Node is one filesphere server process and its persistent state.
type Node struct {
	t       testing.TB
	opts    NodeOptions
	logPath string
	logMu   sync.Mutex
	logFile *os.File

	mu        sync.Mutex
	addr      string // host:port, fixed after the first start
	scheme    string // http or https, from the banner
	caBundle  string // CA file for https: the option or the banner's self-signed certificate
	console   string // the console's URL, from the banner
	accessKey string
	secretKey string
	banner    []string // stdout lines of the current run
	cmd       *exec.Cmd
	done      chan struct{} // closed when the current process exited
	exitErr   error
	runStart  int64 // log offset where the current run begins
	starts    int
}

// NewNode prepares a node without starting it. The process is killed and
// its output dumped through t.Log (when the test failed) at cleanup.
func NewNode(t testing.TB, opts NodeOptions) *Node {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "node"
	}
	if opts.Address == "" {
		opts.Address = "127.0.0.1:0"
	}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	} else if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if len(opts.Drives) == 0 && opts.DriveCount > 0 {
		base := t.TempDir()
		for i := 1; i <= opts.DriveCount; i++ {
			d := filepath.Join(base, "d"+strconv.Itoa(i))
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
			opts.Drives = append(opts.Drives, d)
		}
	}
	if !opts.GenerateCredentials {
		if opts.AccessKey == "" {
			opts.AccessKey = RandomString(20, upperAlnum)
		}
		if opts.SecretKey == "" {
			opts.SecretKey = RandomString(40, alnum)
		}
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	logDir := t.TempDir()
	n := &Node{t: t, opts: opts, logPath: filepath.Join(logDir, opts.Name+".log"), addr: opts.Address,
		accessKey: opts.AccessKey, secretKey: opts.SecretKey, scheme: "http", caBundle: opts.CABundle}
	f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	n.logFile = f
	// Registered after the temp dirs, so it runs before they are removed.
	t.Cleanup(n.cleanup)
	return n
}

// StartNode creates a node and starts it, failing the test if it does not
// become ready.
func StartNode(t testing.TB, opts NodeOptions) *Node {
	t.Helper()
	n := NewNode(t, opts)
	n.MustStart()
	return n
}

func (n *Node) cleanup() {
	if n.Running() {
		n.signal(syscall.SIGKILL)
		n.waitExit(30 * time.Second)
	}
	if n.t.Failed() {
		n.DumpLog()
	}
	_ = n.logFile.Close()
}

// DumpLog writes the node's whole output (the last 256 KiB) to t.Log.
func (n *Node) DumpLog() {
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		n.t.Logf("%s: reading log: %v", n.opts.Name, err)
		return
	}
	const max = 256 << 10
	if len(b) > max {
		b = append([]byte("...(truncated)...\n"), b[len(b)-max:]...)
	}
	n.t.Logf("---- %s output (%s) ----\n%s---- end of %s output ----", n.opts.Name, n.logPath, b, n.opts.Name)
}

// Name is the node's label.
func (n *Node) Name() string { return n.opts.Name }

// Options returns the options the node was created with (defaults filled).
func (n *Node) Options() NodeOptions { return n.opts }

// DataDir is the node's --data folder.
func (n *Node) DataDir() string { return n.opts.DataDir }

// Drives are the drive folders passed on the command line (nil when the
// server uses its default <data>/driveN folders).
func (n *Node) Drives() []string { return n.opts.Drives }

// Addr is host:port of the S3 endpoint (known after the first start).
func (n *Node) Addr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addr
}

// Port is the endpoint's TCP port.
func (n *Node) Port() string {
	_, p, _ := net.SplitHostPort(n.Addr())
	return p
}

// Endpoint is the S3 endpoint URL, e.g. http://127.0.0.1:41234 (https
// when the server serves TLS).
func (n *Node) Endpoint() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.scheme + "://" + n.addr
}

// ConsoleURL is the web console's URL (with Console set), e.g.
// http://127.0.0.1:41235. The banner line follows the endpoint's, so it
// is waited for briefly.
func (n *Node) ConsoleURL() string {
	var u string
	_ = Eventually(10*time.Second, 10*time.Millisecond, func() error {
		n.mu.Lock()
		u = n.console
		n.mu.Unlock()
		if u == "" {
			return errors.New("no console line in the banner")
		}
		return nil
	})
	return u
}

// CABundle is the CA file clients of an https endpoint trust ("" for
// plain HTTP).
func (n *Node) CABundle() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.scheme != "https" {
		return ""
	}
	return n.caBundle
}

// HTTPClient is an HTTP client for the endpoint: it trusts CABundle.
func (n *Node) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: transportFor(n.CABundle())}
}

// AdminArgs are the flags pointing `filesphere admin` at this node.
func (n *Node) AdminArgs() []string {
	a := []string{"--endpoint", n.Endpoint()}
	if ca := n.CABundle(); ca != "" {
		a = append(a, "--ca-cert", ca)
	}
	return a
}

// URL is the endpoint joined with a path ("/health/ready").
func (n *Node) URL(path string) string { return n.Endpoint() + path }

// AccessKey is the root access key (from the options or, with
// GenerateCredentials, from the latest banner).
func (n *Node) AccessKey() string {
	n.waitCredentials()
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.accessKey
}

// SecretKey is the root secret key.
func (n *Node) SecretKey() string {
	n.waitCredentials()
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.secretKey
}

// waitCredentials waits for the banner that prints generated credentials:
// the node may be ready before this side has read those lines.
func (n *Node) waitCredentials() {
	if n.opts.GenerateCredentials {
		n.Banner()
	}
}

// Banner returns the stdout lines printed by the current (or last) run.
func (n *Node) Banner() []string {
	// The node is ready once it serves, which may be before this side has
	// read the rest of its banner: wait (briefly) for the banner's last
	// line, the aws cli hint.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n.mu.Lock()
		b := append([]string(nil), n.banner...)
		n.mu.Unlock()
		if slices.ContainsFunc(b, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "aws --endpoint-url ") }) ||
			time.Now().After(deadline) {
			return b
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// LogPath is the file receiving the node's stdout and stderr.
func (n *Node) LogPath() string { return n.logPath }

// Log returns the output of the current (or last) run.
func (n *Node) Log() string {
	b, _ := os.ReadFile(n.logPath)
	n.mu.Lock()
	off := n.runStart
	n.mu.Unlock()
	if int64(len(b)) < off {
		return ""
	}
	return string(b[off:])
}

// WaitForLog polls the current run's output until it contains s.
func (n *Node) WaitForLog(s string, timeout time.Duration) error {
	return Eventually(timeout, 20*time.Millisecond, func() error {
		if strings.Contains(n.Log(), s) {
			return nil
		}
		return fmt.Errorf("%s: output does not contain %q", n.opts.Name, s)
	})
}

// Running reports whether the process is alive.
func (n *Node) Running() bool {
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// PID is the current process id (0 if never started).
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

func (n *Node) args() []string {
	o := n.opts
	a := []string{"server", "--address", n.Addr(), "--data", o.DataDir, "--log-level", o.LogLevel}
	if o.Domain != "" {
		a = append(a, "--domain", o.Domain)
	}
	if o.Region != "" {
		a = append(a, "--region", o.Region)
	}
	if o.ECData != 0 {
		a = append(a, "--ec-data", strconv.Itoa(o.ECData))
	}
	if o.ECParity != 0 {
		a = append(a, "--ec-parity", strconv.Itoa(o.ECParity))
	}
	if o.Console {
		a = append(a, "--console-address", "127.0.0.1:0")
	} else {
		a = append(a, "--console-address", "")
	}
	a = append(a, o.ExtraArgs...)
	return append(a, o.Drives...)
}

func (n *Node) env() []string {
	// A minimal environment: nothing from the developer's shell (such as
	// FILESPHERE_* variables, which the server binds to flags) leaks in.
	env := []string{"PATH=" + SafePath, "HOME=" + n.opts.DataDir, "LANG=C.UTF-8", "TMPDIR=" + os.TempDir()}
	if !n.opts.GenerateCredentials {
		env = append(env, "FILESPHERE_ROOT_USER="+n.opts.AccessKey, "FILESPHERE_ROOT_PASSWORD="+n.opts.SecretKey)
	}
	return append(env, n.opts.ExtraEnv...)
}

// MustStart starts the node and fails the test if it is not ready in time.
func (n *Node) MustStart() {
	n.t.Helper()
	if err := n.Start(); err != nil {
		n.t.Fatalf("%s: start: %v", n.opts.Name, err)
	}
}

// Start launches the process and waits until it prints its endpoint and
// GET /health/ready answers 200.
func (n *Node) Start() error {
	if n.Running() {
		return errors.New("already running")
	}
	bin, err := binary()
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.starts++
	starts := n.starts
	n.banner = nil
	n.mu.Unlock()

	n.logMu.Lock()
	off, _ := n.logFile.Seek(0, io.SeekEnd)
	args := n.args()
	fmt.Fprintf(n.logFile, "==== start #%d at %s: %s %s\n", starts, time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))
	n.logMu.Unlock()

	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	if n.opts.MaxOpenFiles > 0 {
		// The shell sets the limit and execs the server in its place, so
		// the pid (and signals) stay the server's.
		script := fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, n.opts.MaxOpenFiles)
		cmd = exec.Command("/bin/sh", append([]string{"-c", script, bin}, args...)...)
	}
	cmd.Env = n.env()
	cmd.Dir = n.opts.DataDir
	cmd.Stdout = pw
	cmd.Stderr = n.logFile
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return err
	}
	pw.Close()
	done := make(chan struct{})
	n.mu.Lock()
	n.cmd, n.done, n.exitErr, n.runStart = cmd, done, nil, off
	n.mu.Unlock()

	endpoint := make(chan string, 1)
	stdoutDone := make(chan struct{})
	go n.readStdout(pr, endpoint, stdoutDone)
	go func() {
		err := cmd.Wait()
		<-stdoutDone
		n.mu.Lock()
		n.exitErr = err
		n.mu.Unlock()
		n.logMu.Lock()
		fmt.Fprintf(n.logFile, "==== exit of start #%d: %v\n", starts, exitString(err))
		n.logMu.Unlock()
		close(done)
	}()

	deadline := time.Now().Add(n.opts.ReadyTimeout)
	select {
	case ep := <-endpoint:
		scheme, addr, ok := strings.Cut(ep, "://")
		if !ok {
			return fmt.Errorf("endpoint line %q has no scheme", ep)
		}
		n.mu.Lock()
		n.scheme, n.addr = scheme, addr
		n.mu.Unlock()
	case <-done:
		return fmt.Errorf("exited before printing its endpoint: %s", exitString(n.ExitErr()))
	case <-time.After(time.Until(deadline)):
		return fmt.Errorf("no endpoint line within %v", n.opts.ReadyTimeout)
	}
	return n.WaitReady(time.Until(deadline))
}

func (n *Node) readStdout(r *os.File, endpoint chan<- string, done chan<- struct{}) {
	defer close(done)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sent, pending := false, ""
	for sc.Scan() {
		line := sc.Text()
		n.logMu.Lock()
		fmt.Fprintln(n.logFile, line)
		n.logMu.Unlock()
		n.mu.Lock()
		n.banner = append(n.banner, line)
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export AWS_ACCESS_KEY_ID="); ok && n.opts.GenerateCredentials {
			n.accessKey = v
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export AWS_SECRET_ACCESS_KEY="); ok && n.opts.GenerateCredentials {
			n.secretKey = v
		}
		n.mu.Unlock()
		// An https endpoint is reported once the certificate line after it
		// has named the file clients trust.
		if v, ok := strings.CutPrefix(line, "FileSphere S3 endpoint: "); ok && !sent && pending == "" {
			pending = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "FileSphere console: "); ok {
			u, _, _ := strings.Cut(v, " ")
			n.mu.Lock()
			n.console = u
			n.mu.Unlock()
		}
		if v, ok := strings.CutPrefix(line, "TLS certificate: "); ok && n.opts.CABundle == "" {
			if path, _, ok := strings.Cut(v, " ("); ok {
				n.mu.Lock()
				n.caBundle = path
				n.mu.Unlock()
			}
		}
		if pending != "" && !sent && (!strings.HasPrefix(pending, "https://") || strings.HasPrefix(line, "TLS certificate: ")) {
			sent = true
			endpoint <- pending
		}
	}
}

// WaitReady polls GET /health/ready until it answers 200.
func (n *Node) WaitReady(timeout time.Duration) error {
	c := n.HTTPClient(2 * time.Second)
	return Eventually(timeout, 25*time.Millisecond, func() error {
		if !n.Running() {
			return Permanent(fmt.Errorf("process exited: %s", exitString(n.ExitErr())))
		}
		resp, err := c.Get(n.URL("/health/ready"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/health/ready: %s", resp.Status)
		}
		return nil
	})
}

func (n *Node) signal(sig os.Signal) error {
	n.mu.Lock()
	cmd := n.cmd
	n.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return errors.New("not started")
	}
	return cmd.Process.Signal(sig)
}

// Signal sends sig to the running process without waiting.
func (n *Node) Signal(sig os.Signal) error { return n.signal(sig) }

func (n *Node) waitExit(timeout time.Duration) bool {
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// WaitExit waits for the process to end and returns its exit error (nil
// for exit status 0).
func (n *Node) WaitExit(timeout time.Duration) error {
	if !n.waitExit(timeout) {
		return fmt.Errorf("%s: still running after %v", n.opts.Name, timeout)
	}
	return n.ExitErr()
}

// ExitErr is the last process's exit error (nil when it exited 0 or runs).
func (n *Node) ExitErr() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.exitErr
}

// Stop sends SIGTERM and waits (up to a minute) for a clean exit; it
// returns an error unless the process exited with status 0.
func (n *Node) Stop() error {
	if !n.Running() {
		return nil
	}
	if err := n.signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := n.WaitExit(time.Minute); err != nil {
		return fmt.Errorf("%s: after SIGTERM: %s", n.opts.Name, exitString(err))
	}
	return nil
}

// Kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (n *Node) Kill() {
	n.t.Helper()
	if !n.Running() {
		return
	}
	_ = n.signal(syscall.SIGKILL)
	if !n.waitExit(30 * time.Second) {
		n.t.Fatalf("%s: still running after SIGKILL", n.opts.Name)
	}
}

// Restart stops the node with SIGTERM (if running) and starts it again on
// the same address, data folder and drives.
func (n *Node) Restart() {
	n.t.Helper()
	if err := n.Stop(); err != nil {
		n.t.Fatalf("%v", err)
	}
	n.MustStart()
}

func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// Eventually calls f every interval until it returns nil, returns an error
// wrapped by Permanent, or timeout passes; the last error is returned.
func Eventually(timeout, interval time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		var p permanentError
		if errors.As(err, &p) {
			return p.err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(interval)
	}
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }

// Permanent marks an error that stops Eventually at once.
func Permanent(err error) error { return permanentError{err} }

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// RandomString returns n random characters from alphabet.
func RandomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// BucketName returns a random valid bucket name starting with prefix.
func BucketName(prefix string) string {
	return prefix + "-" + RandomString(10, lowerAlnum)
}

// RSS is the resident memory of the running process in bytes (VmRSS).
func (n *Node) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.PID()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// OpenFiles is the number of file descriptors the running process holds.
func (n *Node) OpenFiles() (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", n.PID()))
	return len(ents), err
}
