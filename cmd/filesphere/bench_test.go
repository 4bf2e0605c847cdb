package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/client/bench"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/sirupsen/logrus"
)

// runBenchCmd runs `filesphere bench ARGS…` in-process.
func runBenchCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(append([]string{"bench"}, args...))
	err := root.Execute()
	return out.String(), err
}

func clearAWSEnv(t *testing.T) {
	clearCredentialEnv(t)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func TestBenchConfigFromFlagsAndEnvironment(t *testing.T) {
	clearAWSEnv(t)
	parse := func(args ...string) (bench.Config, error) {
		cmd := newBenchLoadCmd(bench.OpGet)
		f := &benchFlags{}
		cmd.ResetFlags()
		f.register(cmd.Flags(), bench.DefaultConfig().Duration)
		if err := cmd.Flags().Parse(args); err != nil {
			return bench.Config{}, err
		}
		return f.config(cmd.Flags())
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "ENVKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	t.Setenv("AWS_SESSION_TOKEN", "env-token")
	c, err := parse("--max-errors", "2.5%", "--payload", "unsigned", "--client", "sdk", "--insecure", "--duration", "7s")
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKey != "ENVKEY" || c.SecretKey != "env-secret" || c.SessionToken != "env-token" {
		t.Errorf("credentials from the environment: %q %q %q", c.AccessKey, c.SecretKey, c.SessionToken)
	}
	if c.MaxErrors != 0.025 || c.Payload != bench.PayloadUnsigned || c.Client != bench.ClientSDK || !c.Insecure || c.Duration.Seconds() != 7 {
		t.Errorf("config %+v", c)
	}
	c, err = parse("--access-key", "FLAGKEY", "--secret-key", "flag-secret", "--max-errors", "0.1")
	if err != nil || c.AccessKey != "FLAGKEY" || c.SecretKey != "flag-secret" || c.SessionToken != "" || c.MaxErrors != 0.1 {
		t.Errorf("flags win: %+v, %v", c, err)
	}
	if _, err := parse("--access-key", "ONLY"); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("half credentials: %v", err)
	}
	for _, bad := range []string{"-1", "150%", "lots"} {
		if _, err := parse("--max-errors", bad); err == nil {
			t.Errorf("--max-errors %s accepted", bad)
		}
	}
}

func TestBenchRejectsBadFlags(t *testing.T) {
	clearAWSEnv(t)
	keys := []string{"--access-key", "AK", "--secret-key", "SK", "--quiet"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"put", "--size", "huge"}, "size"},
		{[]string{"put", "--payload", "chunked"}, "payload"},
		{[]string{"get", "--endpoint", "ftp://x"}, "endpoint"},
		{[]string{"mixed", "--mix", "get=0"}, "mix"},
		{[]string{"suite", "--set", "nope"}, "profile set"},
		{[]string{"suite", "--profiles", "put-1TiB"}, "put-1TiB"},
	} {
		_, err := runBenchCmd(t, append(tc.args, keys...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench %v: %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
	if _, err := runBenchCmd(t, "put", "--quiet"); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("no credentials: %v", err)
	}
}

// TestBenchCommandsAgainstS3API runs put and a suite subset in-process
// against the real S3 API, then compares the two JSON reports.
func TestBenchCommandsAgainstS3API(t *testing.T) {
	clearAWSEnv(t)
	env := s3test.New(t, s3test.WithLogLevel(logrus.WarnLevel))
	common := []string{"--endpoint", env.PlainURL, "--access-key", env.AccessKey, "--secret-key", env.SecretKey,
		"--duration", "300ms", "--quiet", "--json"}
	out, err := runBenchCmd(t, append([]string{"put", "--size", "4KiB", "--concurrent", "2"}, common...)...)
	if err != nil {
		t.Fatalf("bench put: %v\n%s", err, out)
	}
	var put bench.Report
	if err := json.Unmarshal([]byte(out), &put); err != nil {
		t.Fatalf("bench put --json: %v\n%s", err, out)
	}
	if len(put.Profiles) != 1 || put.Profiles[0].Name != "put-4KiB" || put.Profiles[0].Total.Ops == 0 ||
		put.Profiles[0].Total.Errors != 0 || put.Profiles[0].Total.Bytes != put.Profiles[0].Total.Ops*4096 {
		t.Fatalf("bench put report: %+v", put.Profiles)
	}

	out, err = runBenchCmd(t, append([]string{"suite", "--set", "quick", "--profiles", "put-4KiB,get-4KiB"}, common...)...)
	if err != nil {
		t.Fatalf("bench suite: %v\n%s", err, out)
	}
	var suite bench.Report
	if err := json.Unmarshal([]byte(out), &suite); err != nil {
		t.Fatal(err)
	}
	if len(suite.Profiles) != 2 || suite.Profiles[1].Name != "get-4KiB" || suite.Profiles[1].Total.Ops == 0 ||
		suite.Profiles[1].Concurrency != 16 || suite.Profiles[1].Objects != 200 {
		t.Fatalf("bench suite report: %+v", suite.Profiles)
	}

	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	mustWrite(t, a, put)
	mustWrite(t, b, suite)
	out, err = runBenchCmd(t, "compare", "--names", "first,second", a, b)
	if err != nil {
		t.Fatalf("bench compare: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "second MiB/S") || !strings.Contains(lines[1], "put-4KiB") {
		t.Fatalf("bench compare printed:\n%s", out)
	}

	// The table form names every profile.
	table, err := runBenchCmd(t, "put", "--endpoint", env.PlainURL, "--access-key", env.AccessKey, "--secret-key", env.SecretKey,
		"--duration", "200ms", "--quiet", "--size", "1KiB", "--concurrent", "1")
	if err != nil || !strings.Contains(table, "put-1KiB") || !strings.Contains(table, "P99 ms") {
		t.Fatalf("table: %v\n%s", err, table)
	}
}

func mustWrite(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
