package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/creack/pty"
	"github.com/filesphere/filesphere/client"
	"github.com/filesphere/filesphere/e2e/harness"
)

// fsCLI runs the filesphere client verbs against one node with its own
// config folder (and HOME, for aws profiles).
type fsCLI struct {
	t         *testing.T
	n         *harness.Node
	cfg, home string
}

func newFSCLI(t *testing.T, n *harness.Node) *fsCLI {
	c := &fsCLI{t: t, n: n, cfg: t.TempDir(), home: t.TempDir()}
	c.must("alias", "set", "fs", n.Endpoint(), n.AccessKey(), n.SecretKey())
	return c
}

func (c *fsCLI) env() []string {
	return []string{"PATH=" + harness.SafePath, "HOME=" + c.home, "LANG=C.UTF-8", "FILESPHERE_CONFIG_DIR=" + c.cfg}
}

func (c *fsCLI) run(args ...string) harness.Result {
	c.t.Helper()
	return harness.RunCommand(2*time.Minute, c.env(), c.home, harness.BinaryPath(c.t), args...)
}

func (c *fsCLI) must(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.Err != nil {
		c.t.Fatalf("%s", r)
	}
	return r.Stdout
}

// records runs a verb with --json and decodes each stdout line.
func records[T any](c *fsCLI, args ...string) []T {
	c.t.Helper()
	out := c.must(append(args, "--json")...)
	var recs []T
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var r T
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			c.t.Fatalf("%v: not NDJSON: %v\n%s", args, err, out)
		}
		recs = append(recs, r)
	}
	return recs
}

func exitStatus(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

// digest is a TreeDigest value: size and SHA-256.
func digest(b []byte) string { return fmt.Sprintf("%d:%s", len(b), harness.SHA256(b)) }

// clientTree writes files whose names need escaping, and one of 30 MiB
// (sent in parts).
func clientTree(t *testing.T) string {
	root := t.TempDir()
	for i, rel := range []string{"a.txt", "sp ace/b c.txt", "plus+percent%/q?hash#amp&.txt", "ü/ñ.txt", "deep/x/y/z.txt"} {
		harness.WriteRandomFile(t, filepath.Join(root, filepath.FromSlash(rel)), int64(100+i*1000), uint64(i+1))
	}
	harness.WriteRandomFile(t, filepath.Join(root, "big.bin"), 30<<20, 99)
	return root
}

// TestClientVerbs drives every client verb of the real binary against a
// real server: aliases, buckets, copies both ways and across buckets,
// listings, stat, cat, share, versions and restore, mv, rm, mirror, du,
// find, exit codes and the --json shapes.
func TestClientVerbs(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "client"})
	c := newFSCLI(t, n)
	sdk := n.SDKClient()
	ctx := t.Context()

	// Aliases: listed without the secret; an aws profile whose keys come
	// from a credential_process works too.
	aliases := records[client.AliasRecord](c, "alias", "list")
	if len(aliases) != 1 || aliases[0].Name != "fs" || aliases[0].AccessKey != n.AccessKey() || aliases[0].Kind != "static" {
		t.Fatalf("alias list: %+v", aliases)
	}
	if out := c.must("alias", "list"); strings.Contains(out, n.SecretKey()) {
		t.Fatalf("alias list prints the secret:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(c.cfg, "config.json")); !bytes.Contains(b, []byte(n.SecretKey())) {
		t.Fatal("config.json does not keep the key")
	}
	if st, err := os.Stat(filepath.Join(c.cfg, "config.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config.json mode: %v %v", st.Mode(), err)
	}
	proc := filepath.Join(c.home, "creds.sh")
	must(t, os.WriteFile(proc, fmt.Appendf(nil, "#!/bin/sh\necho '{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\"}'\n",
		n.AccessKey(), n.SecretKey()), 0o700))
	must(t, os.MkdirAll(filepath.Join(c.home, ".aws"), 0o700))
	must(t, os.WriteFile(filepath.Join(c.home, ".aws", "config"), []byte("[profile proc]\ncredential_process = "+proc+"\nregion = us-east-1\n"), 0o600))
	c.must("alias", "set", "prof", n.Endpoint(), "--profile", "proc")

	// mb, and cp -r up with a 30 MiB file in parts.
	c.must("mb", "fs/tree")
	c.must("mb", "prof/viaprofile")
	root := clientTree(t)
	want := harness.TreeDigest(t, root)
	ups := records[client.TransferRecord](c, "cp", "-r", root, "fs/tree/up")
	big := 0
	for _, r := range ups {
		if r.Op != "cp" || r.Size <= 0 || r.ETag == "" || !strings.HasPrefix(r.Target, "fs/tree/up/") {
			t.Fatalf("cp record: %+v", r)
		}
		if r.Multipart {
			big++
			if r.Parts != 4 || r.Size != 30<<20 {
				t.Fatalf("multipart record: %+v", r)
			}
		} else if r.SHA256 == "" {
			t.Fatalf("single PUT without its SHA-256: %+v", r)
		}
	}
	if len(ups) != len(want) || big != 1 {
		t.Fatalf("cp -r up: %d records (%d multipart), want %d", len(ups), big, len(want))
	}

	// ls -r and ls of one level; stat; cat.
	objs := records[client.ObjectInfo](c, "ls", "-r", "fs/tree/up")
	if len(objs) != len(want) {
		t.Fatalf("ls -r: %+v", objs)
	}
	level := c.must("ls", "fs/tree/up")
	for _, s := range []string{"DIR  sp ace/", "DIR  plus+percent%/", "a.txt", "big.bin", "30.0MiB"} {
		if !strings.Contains(level, s) {
			t.Fatalf("ls fs/tree/up lacks %q:\n%s", s, level)
		}
	}
	st := records[client.StatRecord](c, "stat", "fs/tree/up/plus+percent%/q?hash#amp&.txt")
	if len(st) != 1 || st[0].Size != 2100 || st[0].Checksums["SHA256"] == "" || st[0].ChecksumType != "FULL_OBJECT" {
		t.Fatalf("stat: %+v", st)
	}
	cat := c.run("cat", "fs/tree/up/a.txt")
	if cat.Err != nil || digest([]byte(cat.Stdout)) != want["a.txt"] {
		t.Fatalf("cat: %v", cat)
	}

	// Down again, and remote to remote (the server copies).
	down := t.TempDir()
	c.must("cp", "-r", "fs/tree/up", down)
	if d := harness.DiffTrees(want, harness.TreeDigest(t, down)); d != "" {
		t.Fatalf("cp -r down:\n%s", d)
	}
	c.must("cp", "-r", "fs/tree/up", "prof/viaprofile/copy")
	viaProfile := records[client.ObjectInfo](c, "ls", "-r", "prof/viaprofile")
	if len(viaProfile) != len(want) {
		t.Fatalf("remote copy through the profile alias: %d objects", len(viaProfile))
	}

	// share: a plain HTTP client fetches the URL.
	sh := records[client.ShareRecord](c, "share", "fs/tree/up/sp ace/b c.txt", "--expire", "10m")
	resp, err := http.Get(sh[0].URL)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || digest(body) != want["sp ace/b c.txt"] {
		t.Fatalf("presigned GET: %d", resp.StatusCode)
	}

	// versions and restore on a versioned bucket.
	c.must("mb", "fs/ver", "--versioning")
	doc := filepath.Join(t.TempDir(), "doc.txt")
	must(t, os.WriteFile(doc, []byte("first"), 0o644))
	c.must("cp", doc, "fs/ver/doc.txt")
	must(t, os.WriteFile(doc, []byte("second"), 0o644))
	c.must("cp", doc, "fs/ver/doc.txt")
	vs := records[client.ObjectInfo](c, "versions", "fs/ver/doc.txt")
	if len(vs) != 2 || vs[0].IsLatest == nil || !*vs[0].IsLatest || vs[1].Size != 5 {
		t.Fatalf("versions: %+v", vs)
	}
	c.must("restore", "fs/ver/doc.txt", "--version", vs[1].VersionID)
	if got := c.must("cat", "fs/ver/doc.txt"); got != "first" {
		t.Fatalf("after restore: %q", got)
	}
	if vs := records[client.ObjectInfo](c, "ls", "--versions", "fs/ver"); len(vs) != 3 {
		t.Fatalf("ls --versions: %+v", vs)
	}
	rmv := records[client.RemoveRecord](c, "rm", "--versions", "fs/ver/doc.txt")
	if len(rmv) != 3 {
		t.Fatalf("rm --versions: %+v", rmv)
	}
	c.must("rb", "fs/ver")

	// mv within the endpoint; rm -r.
	c.must("cp", "-r", "fs/tree/up", "fs/tree/copy")
	c.must("mv", "fs/tree/copy/a.txt", "fs/tree/moved.txt")
	if _, err := sdk.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("tree"), Key: aws.String("copy/a.txt")}); err == nil {
		t.Fatal("mv left its source")
	}
	if r := records[client.RemoveRecord](c, "rm", "-r", "fs/tree/copy"); len(r) != len(want)-1 {
		t.Fatalf("rm -r: %d records", len(r))
	}

	// mirror up, with --dry-run and --remove.
	mir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(mir, "keep.txt"), []byte("keep"), 0o644))
	must(t, os.WriteFile(filepath.Join(mir, "change.txt"), []byte("v1"), 0o644))
	c.must("mirror", mir, "fs/tree/mir")
	must(t, os.WriteFile(filepath.Join(mir, "change.txt"), []byte("version 2"), 0o644))
	must(t, os.Remove(filepath.Join(mir, "keep.txt")))
	plan := records[client.PlanRecord](c, "mirror", mir, "fs/tree/mir", "--remove", "--dry-run")
	if len(plan) != 2 || plan[0].Action != "copy" || plan[0].Reason != "size" || plan[1].Action != "remove" || !plan[1].DryRun {
		t.Fatalf("mirror plan: %+v", plan)
	}
	if got := c.must("cat", "fs/tree/mir/change.txt"); got != "v1" {
		t.Fatalf("the dry run changed the target: %q", got)
	}
	c.must("mirror", mir, "fs/tree/mir", "--remove")
	if got := c.must("cat", "fs/tree/mir/change.txt"); got != "version 2" {
		t.Fatalf("after mirror: %q", got)
	}
	if r := c.run("stat", "fs/tree/mir/keep.txt"); exitStatus(r.Err) != 1 {
		t.Fatalf("mirror --remove kept keep.txt: %s", r)
	}

	// du and find.
	du := records[client.DuRecord](c, "du", "fs/tree/up")
	var total int64
	for _, o := range objs {
		total += o.Size
	}
	if len(du) != 1 || du[0].Objects != int64(len(want)) || du[0].Size != total {
		t.Fatalf("du: %+v (want %d objects, %d bytes)", du, len(want), total)
	}
	found := records[client.ObjectInfo](c, "find", "fs/tree/up", "--name", "*.txt", "--newer", "1h")
	if len(found) != len(want)-1 {
		t.Fatalf("find --name --newer: %+v", found)
	}
	if f := c.must("find", "fs/tree/up", "--newer", "2000-01-01", "--larger", "1MiB"); strings.TrimSpace(f) != "fs/tree/up/big.bin" {
		t.Fatalf("find --larger: %q", f)
	}
	if f := c.must("find", "fs/tree/up", "--sha256", strings.SplitN(want["a.txt"], ":", 2)[1]); strings.TrimSpace(f) != "fs/tree/up/a.txt" {
		t.Fatalf("find --sha256: %q", f)
	}

	// rb: refused while full, then --force.
	if r := c.run("rb", "fs/tree"); exitStatus(r.Err) != 1 || !strings.Contains(r.Output, "not empty") {
		t.Fatalf("rb of a full bucket: %s", r)
	}
	c.must("rb", "fs/tree", "--force")

	// Exit codes and one-line errors; --json errors on stderr.
	for _, tc := range []struct {
		args []string
		code int
		text string
	}{
		{[]string{"ls"}, 2, "accepts 1 arg"},
		{[]string{"cp", "--no-such-flag", "a", "b"}, 2, "unknown flag"},
		{[]string{"ls", "nosuch/bucket"}, 2, `no alias "nosuch"`},
		{[]string{"ls", "fs/no-such-bucket"}, 1, "filesphere: ls fs/no-such-bucket: NoSuchBucket: The specified bucket does not exist. (request "},
		{[]string{"cat", "fs/tree/missing"}, 1, "NoSuchBucket"},
	} {
		r := c.run(tc.args...)
		if exitStatus(r.Err) != tc.code || !strings.Contains(r.Output, tc.text) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", tc.args, exitStatus(r.Err), tc.code, tc.text, r)
		}
	}
	r := c.run("stat", "fs/no-such-bucket/k", "--json")
	var er client.ErrorRecord
	if exitStatus(r.Err) != 1 || r.Stdout != "" || json.Unmarshal([]byte(strings.TrimSpace(r.Output)), &er) != nil ||
		er.Error.Op != "stat" || er.Error.Status != 404 || er.Exit != 1 {
		t.Fatalf("--json error: %+v\n%s", er, r)
	}

	// Piped: no progress drawn (and no escape sequences).
	c.must("mb", "fs/piped")
	r = c.run("cp", filepath.Join(root, "big.bin"), "fs/piped/")
	if r.Err != nil || strings.Contains(r.Output, "ETA") || strings.Contains(r.Output, "\x1b[") ||
		!strings.Contains(r.Output, "-> fs/piped/big.bin (30.0MiB)") {
		t.Fatalf("piped cp:\n%s", r)
	}
}

// TestClientProgressOnTerminal runs cp on a pseudo-terminal: bars with
// rate and ETA are drawn; with --json, none.
func TestClientProgressOnTerminal(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "client-tty"})
	c := newFSCLI(t, n)
	c.must("mb", "fs/tty")
	src := filepath.Join(t.TempDir(), "f.bin")
	harness.WriteRandomFile(t, src, 24<<20, 5)
	onTTY := func(args ...string) string {
		cmd := exec.Command(harness.BinaryPath(t), args...)
		cmd.Env = c.env()
		f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
		must(t, err)
		var out bytes.Buffer
		_, _ = io.Copy(&out, f) // until the process closes its end (EIO)
		_ = f.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%v on a terminal: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	// About 2 s at the capped rate, so several frames are drawn.
	out := onTTY("cp", src, src, "fs/tty/dir/", "--limit-rate", "24MiB")
	for _, s := range []string{"total (2 files)", "f.bin", "MiB/s", "ETA", "100 %", "\x1b["} {
		if !strings.Contains(out, s) {
			t.Fatalf("terminal output lacks %q:\n%q", s, out)
		}
	}
	if frames := strings.Count(out, "ETA"); frames < 4 {
		t.Fatalf("only %d progress frames:\n%q", frames, out)
	}
	out = onTTY("cp", src, "fs/tty/json.bin", "--json")
	if strings.Contains(out, "ETA") || strings.Contains(out, "\x1b[") {
		t.Fatalf("--json on a terminal drew progress:\n%q", out)
	}
	var rec client.TransferRecord
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &rec); err != nil || rec.Target != "fs/tty/json.bin" {
		t.Fatalf("--json on a terminal: %v %q", err, out)
	}
}

// TestClientResumeAfterKill kills a multipart upload with SIGKILL midway;
// the same command then sends only the parts the server lacks (counted in
// the server's access log) and the object is whole.
func TestClientResumeAfterKill(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "client-resume", ExtraArgs: []string{"--access-log"}})
	c := newFSCLI(t, n)
	c.must("mb", "fs/res")
	src := filepath.Join(t.TempDir(), "big.bin")
	sum := harness.WriteRandomFile(t, src, 30<<20, 7)
	args := []string{"cp", src, "fs/res/big.bin", "--part-size", "5MiB", "--part-parallel", "2"}

	var state struct {
		UploadID string                     `json:"upload_id"`
		Parts    map[string]json.RawMessage `json:"parts"`
	}
	// interrupt starts the upload at a capped rate, waits until the state
	// file records at least parts finished parts, and sends sig.
	interrupt := func(parts int, sig syscall.Signal) (int, string) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, harness.BinaryPath(t), append(args, "--limit-rate", "4MiB")...)
		cmd.Env = c.env()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		must(t, cmd.Start())
		err := harness.Eventually(time.Minute, 20*time.Millisecond, func() error {
			files, _ := filepath.Glob(filepath.Join(c.cfg, "uploads", "*.json"))
			if len(files) != 1 {
				return errors.New("no state file yet")
			}
			b, err := os.ReadFile(files[0])
			if err != nil || json.Unmarshal(b, &state) != nil || len(state.Parts) < parts {
				return fmt.Errorf("fewer than %d parts recorded", parts)
			}
			return nil
		})
		if err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("upload did not progress: %v\n%s", err, out.String())
		}
		must(t, cmd.Process.Signal(sig))
		return exitStatus(cmd.Wait()), out.String()
	}
	// Ctrl-C: exit 130, the upload kept for later.
	code, out := interrupt(1, syscall.SIGINT)
	if code != client.ExitInterrupted || !strings.Contains(out, "interrupted") {
		t.Fatalf("SIGINT: exit %d\n%s", code, out)
	}
	firstUpload := state.UploadID
	// Then kill -9 midway through the resumed run.
	interrupt(3, syscall.SIGKILL)
	if state.UploadID != firstUpload {
		t.Fatalf("the run after Ctrl-C started a new upload (%s, was %s)", state.UploadID, firstUpload)
	}

	sdk := n.SDKClient()
	lp, err := sdk.ListParts(t.Context(), &s3.ListPartsInput{Bucket: aws.String("res"), Key: aws.String("big.bin"), UploadId: aws.String(state.UploadID)})
	must(t, err)
	onServer := len(lp.Parts)
	if onServer < 3 || onServer >= 6 {
		t.Fatalf("%d parts on the server after the kill (want some, not all)", onServer)
	}
	logBefore := len(n.Log())

	recs := records[client.TransferRecord](c, args...)
	if len(recs) != 1 || recs[0].ResumedParts != onServer || recs[0].Parts != 6 {
		t.Fatalf("resumed upload: %+v (server had %d parts)", recs, onServer)
	}
	// Only parts stored count: the part the killed run had in flight may be
	// logged (refused, its body cut) after logBefore was taken.
	sent := 0
	for _, l := range strings.Split(n.Log()[logBefore:], "\n") {
		if strings.Contains(l, "op=UploadPart path=/res/big.bin ") && strings.Contains(l, " status=200") {
			sent++
		}
	}
	if sent != 6-onServer {
		t.Fatalf("the resumed run sent %d parts, want %d", sent, 6-onServer)
	}
	got, err := sdk.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("res"), Key: aws.String("big.bin")})
	must(t, err)
	b, _ := io.ReadAll(got.Body)
	if harness.SHA256(b) != sum {
		t.Fatal("the resumed object differs from the source")
	}
	if files, _ := filepath.Glob(filepath.Join(c.cfg, "uploads", "*.json")); len(files) != 0 {
		t.Fatalf("state left after completion: %v", files)
	}
	ups, err := sdk.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String("res")})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("uploads left: %v %v", ups.Uploads, err)
	}
}
