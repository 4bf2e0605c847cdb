package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/client"
)

// runClientCmd runs `filesphere ARGS…` in-process with stdin and returns
// stdout, stderr and the exit status main would use.
func runClientCmd(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCmd()
	var out, errs bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errs)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	code := 0
	if err := root.Execute(); err != nil {
		code = exitCode(&errs, err)
	}
	return out.String(), errs.String(), code
}

func TestClientAliasSetReadsTheSecretFromStdin(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FILESPHERE_CONFIG_DIR", dir)
	_, errs, code := runClientCmd(t, "s3cr3t-from-stdin\n", "alias", "set", "fs", "http://127.0.0.1:9000", "AKID", "-")
	if code != 0 {
		t.Fatalf("alias set: %d %s", code, errs)
	}
	a, ok, err := client.NewAliasStore(dir).Get("fs")
	if err != nil || !ok || a.Credentials.SecretKey != "s3cr3t-from-stdin" || a.Credentials.Kind != client.KindStatic {
		t.Fatalf("stored alias %+v %v %v", a, ok, err)
	}
	out, _, code := runClientCmd(t, "", "alias", "list")
	if code != 0 || strings.Contains(out, "s3cr3t") || !strings.Contains(out, "AKID") {
		t.Fatalf("alias list (%d): %q", code, out)
	}
	// No keys: the AWS environment; --profile: that profile.
	for _, args := range [][]string{{"env", "http://h:1"}, {"aws", "--profile", "dev"}} {
		if _, errs, code := runClientCmd(t, "", append([]string{"alias", "set"}, args...)...); code != 0 {
			t.Fatalf("alias set %v: %s", args, errs)
		}
	}
	list, _ := client.NewAliasStore(dir).List()
	if len(list) != 3 || list[0].Credentials.Kind != client.KindProfile || list[1].Credentials.Kind != client.KindEnv {
		t.Fatalf("aliases %+v", list)
	}
}

func TestClientExitCodes(t *testing.T) {
	t.Setenv("FILESPHERE_CONFIG_DIR", t.TempDir())
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ls"}, client.ExitUsage, "filesphere: ls: accepts 1 arg(s), received 0"},
		{[]string{"cp", "--nope", "a", "b"}, client.ExitUsage, "unknown flag: --nope"},
		{[]string{"alias", "set", "fs", "http://h", "AK"}, client.ExitUsage, "give both ACCESS_KEY and SECRET_KEY"},
		{[]string{"alias", "set", "a/b", "http://h", "AK", "SK"}, client.ExitUsage, "alias name"},
		{[]string{"ls", "nosuch/bkt"}, client.ExitUsage, `no alias "nosuch"`},
		{[]string{"cp", "a", "b"}, client.ExitUsage, "both paths are local"},
		{[]string{"cp", "a", "b", "--part-size", "1MiB"}, client.ExitUsage, "part size must be between 5 MiB and 5 GiB"},
		{[]string{"alias", "remove", "ghost"}, client.ExitError, `no alias "ghost"`},
	}
	for _, tc := range tests {
		_, errs, code := runClientCmd(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") > 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
	_, errs, code := runClientCmd(t, "", "alias", "remove", "ghost", "--json")
	var rec client.ErrorRecord
	if code != client.ExitError || json.Unmarshal([]byte(errs), &rec) != nil || rec.Exit != 1 || !strings.Contains(rec.Error.Message, `no alias "ghost"`) {
		t.Errorf("--json error: %d %q", code, errs)
	}
}
