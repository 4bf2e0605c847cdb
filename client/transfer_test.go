package client_test

import (
	"bytes"
	"context"
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

// tree is a folder of files with names that need escaping, and one file
// large enough to be sent in parts.
func tree(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	root := t.TempDir()
	files := map[string][]byte{
		"a.txt":                   []byte("alpha"),
		"empty":                   {},
		"sub/ü ñ.txt":             []byte("unicode"),
		"we ird/b+c%d?e#f&g=h.md": []byte("weird"),
		"deep/er/big.bin":         randomBytes(3*client.MinPartSize + 12345),
	}
	for rel, b := range files {
		writeFile(t, filepath.Join(root, filepath.FromSlash(rel)), b)
	}
	return root, files
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	must(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = b
		return err
	}))
	return got
}

func sameTree(t *testing.T, what string, want, got map[string][]byte) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d files, want %d (%v)", what, len(got), len(want), keys(got))
	}
	for k, v := range want {
		if !bytes.Equal(got[k], v) {
			t.Fatalf("%s: %s differs (%d bytes, want %d)", what, k, len(got[k]), len(v))
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCopyTreeUpDownAndAcross(t *testing.T) {
	s := newServer(t)
	c := newCLI(t, s, func(cfg *client.Config) { cfg.JSON = true })
	ctx := context.Background()
	mkBucket(t, c, "src")
	mkBucket(t, c, "dst")
	root, files := tree(t)

	must(t, c.Cp(ctx, []string{root, "fs/src/up"}, client.CpOptions{Recursive: true}))
	recs := map[string]client.TransferRecord{}
	for _, l := range lines(c.take()) {
		var r client.TransferRecord
		must(t, json.Unmarshal([]byte(l), &r))
		recs[r.Target] = r
	}
	big := recs["fs/src/up/deep/er/big.bin"]
	if len(recs) != len(files) || !big.Multipart || big.Parts != 4 || !strings.HasSuffix(big.ETag, "-4") {
		t.Fatalf("upload records: %+v", recs)
	}
	if small := recs["fs/src/up/a.txt"]; small.Multipart || small.SHA256 == "" || small.Size != 5 {
		t.Fatalf("single PUT record %+v", small)
	}
	if s.count("UploadPart") != 4 || s.count("CompleteMultipartUpload") != 1 {
		t.Fatalf("multipart requests: %v", s.counts)
	}

	// Within one endpoint the server copies.
	s.reset()
	must(t, c.Cp(ctx, []string{"fs/src/up", "fs/dst/copy"}, client.CpOptions{Recursive: true}))
	if s.count("CopyObject") != len(files) || s.count("GET") != 1 { // one listing, no object GET
		t.Fatalf("remote copy requests: %v", s.counts)
	}
	c.take()

	// Down again, from the copy.
	out := filepath.Join(t.TempDir(), "down")
	must(t, c.Cp(ctx, []string{"fs/dst/copy/", out}, client.CpOptions{Recursive: true}))
	sameTree(t, "downloaded tree", files, readTree(t, out))

	// One file to a folder keeps its name; to a name takes that name.
	must(t, c.Cp(ctx, []string{"fs/dst/copy/sub/ü ñ.txt", out + "/"}, client.CpOptions{}))
	must(t, c.Cp(ctx, []string{filepath.Join(root, "a.txt"), "fs/dst/renamed"}, client.CpOptions{}))
	if b, err := os.ReadFile(filepath.Join(out, "ü ñ.txt")); err != nil || string(b) != "unicode" {
		t.Fatalf("single download: %q %v", b, err)
	}
	h, err := s.sdk.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("renamed")})
	if err != nil || aws.ToInt64(h.ContentLength) != 5 {
		t.Fatalf("single upload: %v", err)
	}

	// A folder without -r, and a missing object, are errors.
	var errs []error
	errs = append(errs, c.Cp(ctx, []string{root, "fs/dst/x"}, client.CpOptions{}))
	errs = append(errs, c.Cp(ctx, []string{"fs/dst/copy", t.TempDir()}, client.CpOptions{}))
	errs = append(errs, c.Cp(ctx, []string{"fs/dst/nothing-here", t.TempDir()}, client.CpOptions{}))
	for i, want := range []string{"is a folder (use -r)", "is a folder (use -r)", "NotFound"} {
		if errs[i] == nil || !strings.Contains(client.Describe(errs[i]), want) {
			t.Errorf("error %d: %v, want %q", i, errs[i], want)
		}
	}
	var ue *client.UsageError
	if err := c.Cp(ctx, []string{root, t.TempDir()}, client.CpOptions{Recursive: true}); !errors.As(err, &ue) {
		t.Errorf("local to local: %v", err)
	}
}

// Between two endpoints the bytes stream through the client, in parts
// for a large object.
func TestCopyBetweenEndpoints(t *testing.T) {
	a, b := newServer(t), newServer(t)
	c := newCLI(t, a)
	other := client.Alias{Name: "other", URL: b.url, Credentials: client.CredentialRef{Kind: client.KindStatic,
		AccessKey: b.env.AccessKey, SecretKey: b.env.SecretKey}}
	must(t, c.Aliases().Set(other))
	ctx := context.Background()
	mkBucket(t, c, "one")
	must(t, c.Mb(ctx, "other/two", client.MbOptions{}))
	data := randomBytes(2*client.MinPartSize + 7)
	writeFile(t, filepath.Join(t.TempDir(), "x"), nil)
	src := filepath.Join(t.TempDir(), "big")
	writeFile(t, src, data)
	must(t, c.Cp(ctx, []string{src, "fs/one/big"}, client.CpOptions{}))
	must(t, c.Cp(ctx, []string{"fs/one/big", "other/two/big"}, client.CpOptions{}))
	if b.count("UploadPart") != 3 {
		t.Fatalf("stream copy parts: %v", b.counts)
	}
	got, err := b.sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("two"), Key: aws.String("big")})
	must(t, err)
	body, _ := io.ReadAll(got.Body)
	if !bytes.Equal(body, data) {
		t.Fatal("the copied object differs")
	}
}

// An upload cut off after two parts resumes with only the missing ones;
// a changed source starts over and aborts the stale upload.
func TestResumeSendsOnlyMissingParts(t *testing.T) {
	s := newServer(t)
	c := newCLI(t, s, func(cfg *client.Config) { cfg.PartJobs = 1 })
	ctx := context.Background()
	mkBucket(t, c, "bkt")
	src := filepath.Join(t.TempDir(), "big")
	data := randomBytes(5*client.MinPartSize + 100)
	writeFile(t, src, data)

	// Parts 3 and later fail (the SDK's retries included).
	s.fail = func(r *http.Request) bool {
		return op(r) == "UploadPart" && r.URL.Query().Get("partNumber") >= "3"
	}
	err := c.Cp(ctx, []string{src, "fs/bkt/big"}, client.CpOptions{})
	var re *client.ResumableError
	if !errors.As(err, &re) || !strings.Contains(client.Describe(err), "run the same command again to resume") {
		t.Fatalf("interrupted upload: %v", err)
	}
	states, _ := filepath.Glob(filepath.Join(c.dir, "uploads", "*.json"))
	if len(states) != 1 {
		t.Fatalf("upload state files: %v", states)
	}

	s.reset()
	c.take()
	must(t, c.Cp(ctx, []string{src, "fs/bkt/big"}, client.CpOptions{}))
	if s.count("UploadPart") != 4 || s.count("ListParts") != 1 || s.count("CreateMultipartUpload") != 0 {
		t.Fatalf("resume requests: %v", s.counts)
	}
	if out := c.take(); !strings.Contains(out, "resumed: 2 of 6 parts were already uploaded") {
		t.Fatalf("resume report: %q", out)
	}
	if states, _ := filepath.Glob(filepath.Join(c.dir, "uploads", "*.json")); len(states) != 0 {
		t.Fatalf("state left after completion: %v", states)
	}
	got, err := s.sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big")})
	must(t, err)
	body, _ := io.ReadAll(got.Body)
	if !bytes.Equal(body, data) {
		t.Fatal("the resumed object differs from the source")
	}

	// Interrupted again, then the source changes: start over.
	s.fail = func(r *http.Request) bool { return op(r) == "UploadPart" && r.URL.Query().Get("partNumber") >= "2" }
	if err := c.Cp(ctx, []string{src, "fs/bkt/big2"}, client.CpOptions{}); err == nil {
		t.Fatal("the injected failure did not fail the upload")
	}
	s.reset()
	data[0] ^= 1
	writeFile(t, src, data)
	must(t, os.Chtimes(src, time.Now().Add(time.Minute), time.Now().Add(time.Minute)))
	c.take()
	must(t, c.Cp(ctx, []string{src, "fs/bkt/big2"}, client.CpOptions{}))
	if s.count("AbortMultipartUpload") != 1 || s.count("UploadPart") != 6 || s.count("CreateMultipartUpload") != 1 {
		t.Fatalf("restart requests: %v", s.counts)
	}
	if out := c.take(); !strings.Contains(out, "started over") {
		t.Fatalf("restart report: %q", out)
	}
	ups, err := s.sdk.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("bkt")})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("uploads left on the server: %v %v", ups, err)
	}
}
