package client_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/client"
)

func put(t *testing.T, s *server, bucket, key, body string) {
	t.Helper()
	_, err := s.sdk.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	must(t, err)
}

func decode[T any](t *testing.T, out string) []T {
	t.Helper()
	var recs []T
	for _, l := range lines(out) {
		var r T
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not one JSON object per line: %v\n%s", err, out)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestLsLevelsAndRecursive(t *testing.T) {
	s := newServer(t)
	c := newCLI(t, s)
	ctx := context.Background()
	mkBucket(t, c, "bkt")
	for _, k := range []string{"top.txt", "photos/a.jpg", "photos/b.jpg", "photos/2024/c.jpg"} {
		put(t, s, "bkt", k, "x")
	}
	tests := []struct {
		path string
		o    client.LsOptions
		want []string // names, in order
	}{
		{"fs/bkt", client.LsOptions{}, []string{"photos/", "top.txt"}},
		{"fs/bkt/photos", client.LsOptions{}, []string{"2024/", "a.jpg", "b.jpg"}}, // descends into the folder
		{"fs/bkt/photos/", client.LsOptions{}, []string{"2024/", "a.jpg", "b.jpg"}},
		{"fs/bkt/photos/", client.LsOptions{Recursive: true}, []string{"2024/c.jpg", "a.jpg", "b.jpg"}},
		{"fs/bkt", client.LsOptions{Recursive: true}, []string{"photos/2024/c.jpg", "photos/a.jpg", "photos/b.jpg", "top.txt"}},
	}
	for _, tc := range tests {
		must(t, c.Ls(ctx, tc.path, tc.o))
		var got []string
		for _, l := range lines(c.take()) {
			f := strings.Fields(l)
			got = append(got, f[len(f)-1])
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("ls %s %+v: %v, want %v", tc.path, tc.o, got, tc.want)
		}
	}
	must(t, c.Ls(ctx, "fs", client.LsOptions{}))
	if out := c.take(); !strings.Contains(out, "BUCKET  bkt/") {
		t.Errorf("ls fs: %q", out)
	}
	if err := c.Ls(ctx, "fs/bkt/nothing", client.LsOptions{}); !errors.Is(err, client.ErrNothingMatched) || client.ExitCode(err) != 1 {
		t.Errorf("ls of nothing: %v", err)
	}
	err := c.Ls(ctx, "fs/no-such-bucket", client.LsOptions{})
	if got := client.Describe(err); !strings.HasPrefix(got, "ls fs/no-such-bucket: NoSuchBucket: The specified bucket does not exist. (request ") {
		t.Errorf("one-line error: %q", got)
	}
}

func TestVersionsRestoreAndRm(t *testing.T) {
	s := newServer(t)
	c := newCLI(t, s, func(cfg *client.Config) { cfg.JSON = true })
	ctx := context.Background()
	must(t, c.Mb(ctx, "fs/ver", client.MbOptions{Versioning: true}))
	if r := decode[client.BucketRecord](t, c.take()); len(r) != 1 || r[0].Versioning != "Enabled" {
		t.Fatalf("mb --versioning: %+v", r)
	}
	put(t, s, "ver", "doc", "one")
	put(t, s, "ver", "doc", "two")
	must(t, c.Versions(ctx, "fs/ver/doc", client.VersionsOptions{}))
	vs := decode[client.ObjectInfo](t, c.take())
	if len(vs) != 2 || !*vs[0].IsLatest || *vs[1].IsLatest || vs[1].Size != 3 || vs[0].Type != client.TypeVersion {
		t.Fatalf("versions: %+v", vs)
	}
	must(t, c.Restore(ctx, "fs/ver/doc", vs[1].VersionID))
	rec := decode[client.TransferRecord](t, c.take())
	if len(rec) != 1 || rec[0].VersionID == "" || rec[0].Op != "restore" {
		t.Fatalf("restore: %+v", rec)
	}
	c2 := newCLI(t, s)
	must(t, c2.Cat(ctx, []string{"fs/ver/doc"}, ""))
	if got := c2.take(); got != "one" {
		t.Fatalf("after restore: %q", got)
	}

	// rm leaves a delete marker; rm --versions removes everything.
	must(t, c.Rm(ctx, []string{"fs/ver/doc"}, client.RmOptions{}))
	if r := decode[client.RemoveRecord](t, c.take()); len(r) != 1 || !r[0].DeleteMarker {
		t.Fatalf("rm in a versioned bucket: %+v", r)
	}
	must(t, c.Ls(ctx, "fs/ver", client.LsOptions{Versions: true}))
	if vs := decode[client.ObjectInfo](t, c.take()); len(vs) != 4 || vs[0].Type != client.TypeDeleteMarker {
		t.Fatalf("ls --versions: %+v", vs)
	}
	if err := c.Restore(ctx, "fs/ver/doc", ""); client.ExitCode(err) != client.ExitUsage {
		t.Fatalf("restore without a version: %v", err)
	}
	must(t, c.Rm(ctx, []string{"fs/ver/doc"}, client.RmOptions{Versions: true}))
	if r := decode[client.RemoveRecord](t, c.take()); len(r) != 4 {
		t.Fatalf("rm --versions: %+v", r)
	}
	if err := c.Rm(ctx, []string{"fs/ver/doc"}, client.RmOptions{}); !client.IsNotFound(err) {
		t.Fatalf("rm of a removed object: %v", err)
	}
	must(t, c.Rb(ctx, "fs/ver", client.RbOptions{}))
}

func TestRmRecursiveAndBucketGuards(t *testing.T) {
	s := newServer(t)
	c := newCLI(t, s)
	ctx := context.Background()
	mkBucket(t, c, "bkt")
	for _, k := range []string{"d/1", "d/2", "d/e/3", "dx", "keep"} {
		put(t, s, "bkt", k, "x")
	}
	must(t, c.Rm(ctx, []string{"fs/bkt/d"}, client.RmOptions{Recursive: true}))
	if n := len(lines(c.take())); n != 3 {
		t.Fatalf("rm -r removed %d", n)
	}
	out, err := s.sdk.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	must(t, err)
	if len(out.Contents) != 2 { // dx and keep: a folder is not a prefix of names
		t.Fatalf("left: %d", len(out.Contents))
	}
	for _, o := range []client.RmOptions{{}, {Recursive: true}} {
		if err := c.Rm(ctx, []string{"fs/bkt"}, o); client.ExitCode(err) != client.ExitUsage {
			t.Errorf("rm %+v of a bucket: %v", o, err)
		}
	}
	if err := c.Rb(ctx, "fs/bkt", client.RbOptions{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("rb of a full bucket: %v", err)
	}
	must(t, c.Rb(ctx, "fs/bkt", client.RbOptions{Force: true}))
}

func TestShareURLWorksWithoutCredentials(t *testing.T) {
	s := newServer(t)
	c := newCLI(t, s, func(cfg *client.Config) { cfg.JSON = true })
	ctx := context.Background()
	mkBucket(t, c, "bkt")
	put(t, s, "bkt", "dir/a b.txt", "shared content")
	must(t, c.Share(ctx, "fs/bkt/dir/a b.txt", client.ShareOptions{Expire: time.Hour}))
	r := decode[client.ShareRecord](t, c.take())
	if len(r) != 1 || r[0].Method != http.MethodGet || r[0].Expires.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("share: %+v", r)
	}
	resp, err := http.Get(r[0].URL)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "shared content" {
		t.Fatalf("GET presigned: %d %q", resp.StatusCode, body)
	}
	// The signature covers the key: another key is refused.
	resp, err = http.Get(strings.Replace(r[0].URL, "a%20b.txt", "other", 1))
	must(t, err)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("tampered URL: %d", resp.StatusCode)
	}
	must(t, c.Share(ctx, "fs/bkt/up.txt", client.ShareOptions{Expire: time.Minute, Upload: true}))
	up := decode[client.ShareRecord](t, c.take())
	req, _ := http.NewRequest(http.MethodPut, up[0].URL, strings.NewReader("uploaded"))
	resp, err = http.DefaultClient.Do(req)
	must(t, err)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT presigned: %d", resp.StatusCode)
	}
	for _, d := range []time.Duration{0, 8 * 24 * time.Hour} {
		if err := c.Share(ctx, "fs/bkt/up.txt", client.ShareOptions{Expire: d}); client.ExitCode(err) != client.ExitUsage {
			t.Errorf("expiry %v: %v", d, err)
		}
	}
	if err := c.Share(ctx, "fs/bkt/missing", client.ShareOptions{Expire: time.Hour}); !client.IsNotFound(err) {
		t.Errorf("share of a missing object: %v", err)
	}
}

func TestFindAndDu(t *testing.T) {
	s := newServer(t)
	c := newCLI(t, s, func(cfg *client.Config) { cfg.JSON = true })
	ctx := context.Background()
	mkBucket(t, c, "bkt")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.jpg"), []byte("jpeg bytes"))
	writeFile(t, filepath.Join(dir, "sub", "b.jpg"), []byte("other jpeg"))
	writeFile(t, filepath.Join(dir, "sub", "c.txt"), make([]byte, 2000))
	must(t, c.Cp(ctx, []string{dir, "fs/bkt/p"}, client.CpOptions{Recursive: true}))
	put(t, s, "bkt", "p/sdk.jpg", "jpeg bytes") // same content, no SHA-256 checksum
	c.take()
	find := func(o client.FindOptions) []string {
		t.Helper()
		if o.Larger == 0 && o.Smaller == 0 {
			o.Larger, o.Smaller = -1, -1
		}
		must(t, c.Find(ctx, "fs/bkt/p", o))
		var keys []string
		for _, r := range decode[client.ObjectInfo](t, c.take()) {
			keys = append(keys, r.Key)
		}
		return keys
	}
	sum := sha256.Sum256([]byte("jpeg bytes"))
	tests := []struct {
		o    client.FindOptions
		want string
	}{
		{client.FindOptions{Name: "*.jpg"}, "p/a.jpg,p/sdk.jpg,p/sub/b.jpg"},
		{client.FindOptions{Name: "*.txt"}, "p/sub/c.txt"},
		{client.FindOptions{Larger: 100, Smaller: -1}, "p/sub/c.txt"},
		{client.FindOptions{Larger: -1, Smaller: 100}, "p/a.jpg,p/sdk.jpg,p/sub/b.jpg"},
		{client.FindOptions{Newer: time.Now().Add(-time.Hour)}, "p/a.jpg,p/sdk.jpg,p/sub/b.jpg,p/sub/c.txt"},
		{client.FindOptions{Newer: time.Now().Add(time.Hour)}, ""},
		{client.FindOptions{Older: time.Now().Add(time.Hour), Name: "c*"}, "p/sub/c.txt"},
		{client.FindOptions{SHA256: hex.EncodeToString(sum[:])}, "p/a.jpg"},
	}
	for _, tc := range tests {
		if got := strings.Join(find(tc.o), ","); got != tc.want {
			t.Errorf("find %+v: %s, want %s", tc.o, got, tc.want)
		}
	}
	if err := c.Find(ctx, "fs/bkt", client.FindOptions{SHA256: "abc", Larger: -1, Smaller: -1}); client.ExitCode(err) != client.ExitUsage {
		t.Errorf("bad --sha256: %v", err)
	}

	must(t, c.Du(ctx, "fs/bkt", client.DuOptions{Depth: 1}))
	du := decode[client.DuRecord](t, c.take())
	if len(du) != 2 || du[0].Path != "fs/bkt/p/" || du[1].Objects != 4 || du[1].Size != 2030 || !du[1].Total {
		t.Fatalf("du: %+v", du)
	}
}

func TestMirrorBothWays(t *testing.T) {
	s := newServer(t)
	c := newCLI(t, s, func(cfg *client.Config) { cfg.JSON = true })
	ctx := context.Background()
	mkBucket(t, c, "bkt")
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "same"), []byte("same"))
	writeFile(t, filepath.Join(src, "d/changed"), []byte("v1"))
	must(t, c.Mirror(ctx, src, "fs/bkt/m", client.MirrorOptions{}))
	if n := len(lines(c.take())); n != 2 {
		t.Fatalf("first mirror copied %d", n)
	}
	// Nothing changed: nothing to do.
	must(t, c.Mirror(ctx, src, "fs/bkt/m", client.MirrorOptions{}))
	if out := c.take(); out != "" {
		t.Fatalf("an unchanged mirror copied: %s", out)
	}
	// Changed, new and extraneous files; a touched but equal file.
	writeFile(t, filepath.Join(src, "d/changed"), []byte("v2 longer"))
	writeFile(t, filepath.Join(src, "new"), []byte("new"))
	future := time.Now().Add(time.Hour)
	must(t, os.Chtimes(filepath.Join(src, "same"), future, future))
	put(t, s, "bkt", "m/extra", "x")
	must(t, c.Mirror(ctx, src, "fs/bkt/m", client.MirrorOptions{Remove: true, DryRun: true}))
	plan := decode[client.PlanRecord](t, c.take())
	got := map[string]string{}
	for _, p := range plan {
		got[p.Target] = p.Action + ":" + p.Reason
		if !p.DryRun {
			t.Errorf("dry-run record without dry_run: %+v", p)
		}
	}
	want := map[string]string{"fs/bkt/m/d/changed": "copy:size", "fs/bkt/m/new": "copy:new", "fs/bkt/m/extra": "remove:"}
	if len(got) != len(want) {
		t.Fatalf("plan %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("plan %v, want %v", got, want)
		}
	}
	if _, err := s.sdk.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("m/new")}); err == nil {
		t.Fatal("the dry run copied")
	}
	must(t, c.Mirror(ctx, src, "fs/bkt/m", client.MirrorOptions{Remove: true}))
	c.take()

	// And back down, then remote to remote.
	down := t.TempDir()
	writeFile(t, filepath.Join(down, "stale"), []byte("old"))
	must(t, c.Mirror(ctx, "fs/bkt/m", down, client.MirrorOptions{Remove: true}))
	c.take()
	sameTree(t, "mirrored down", readTree(t, src), readTree(t, down))
	must(t, c.Mirror(ctx, "fs/bkt/m", down, client.MirrorOptions{}))
	if out := c.take(); out != "" {
		t.Fatalf("a second download mirror copied: %s", out)
	}
	must(t, c.Mirror(ctx, "fs/bkt/m", "fs/bkt/copy", client.MirrorOptions{}))
	if n := len(lines(c.take())); n != 3 {
		t.Fatalf("remote mirror copied %d", n)
	}
	must(t, c.Mirror(ctx, "fs/bkt/m", "fs/bkt/copy", client.MirrorOptions{}))
	if out := c.take(); out != "" {
		t.Fatalf("a second remote mirror copied: %s", out)
	}
}

func TestErrorsAreOneLineWithTheServersWords(t *testing.T) {
	s := newServer(t)
	c := newCLI(t, s)
	ctx := context.Background()
	bad := client.Alias{Name: "bad", URL: s.url, Credentials: client.CredentialRef{Kind: client.KindStatic, AccessKey: s.env.AccessKey, SecretKey: "wrong"}}
	must(t, c.Aliases().Set(bad))
	err := c.Ls(ctx, "bad", client.LsOptions{})
	if got := client.Describe(err); !strings.HasPrefix(got, "ls bad: SignatureDoesNotMatch: ") || strings.Contains(got, "\n") ||
		strings.Contains(got, "operation error") || !strings.Contains(got, "(request ") {
		t.Errorf("signature error: %q", got)
	}
	rec := client.NewErrorRecord(err)
	if rec.Error.Code != "SignatureDoesNotMatch" || rec.Error.Status != 403 || rec.Error.Op != "ls" || rec.Error.Target != "bad" || rec.Exit != 1 || rec.Error.RequestID == "" {
		t.Errorf("error record: %+v", rec)
	}
	down := client.Alias{Name: "down", URL: "http://127.0.0.1:1", Credentials: client.CredentialRef{Kind: client.KindStatic, AccessKey: "a", SecretKey: "b"}}
	must(t, c.Aliases().Set(down))
	err = c.Ls(ctx, "down/bkt", client.LsOptions{})
	if got := client.Describe(err); !strings.HasPrefix(got, "ls down/bkt: cannot reach http://127.0.0.1:1: ") || strings.Contains(got, "operation error") {
		t.Errorf("network error: %q", got)
	}
	mkBucket(t, c, "bkt")
	err = c.Stat(ctx, "fs/bkt/missing", "")
	if got := client.Describe(err); got != "stat fs/bkt/missing: NotFound: no such object or bucket" &&
		!strings.HasPrefix(got, "stat fs/bkt/missing: NotFound: no such object or bucket (request ") {
		t.Errorf("HEAD error: %q", got)
	}
	var ue *client.UsageError
	if err := c.Ls(ctx, "nosuchalias/bkt", client.LsOptions{}); !errors.As(err, &ue) || client.ExitCode(err) != 2 {
		t.Errorf("unknown alias: %v", err)
	}
}
