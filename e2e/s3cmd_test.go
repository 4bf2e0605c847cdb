package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/e2e/harness"
)

// testS3cmd drives s3cmd (path-style, SigV4) through mb, put, get, ls, del.
func testS3cmd(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	harness.RequireTool(t, harness.S3cmd)
	b := harness.BucketName("s3cmd")
	dir := t.TempDir()
	small := filepath.Join(dir, "small.txt")
	smallSum := harness.WriteRandomFile(t, small, 4096, 301)
	big := filepath.Join(dir, "big.bin")
	bigSum := harness.WriteRandomFile(t, big, 17<<20+3, 302)

	c.MustS3cmd("mb", "s3://"+b)
	if out := c.MustS3cmd("ls"); !strings.Contains(out, "s3://"+b) {
		t.Errorf("s3cmd ls does not list the new bucket:\n%s", out)
	}
	c.MustS3cmd("put", small, "s3://"+b+"/docs/small.txt")
	// 5 MiB chunks: a 4-part multipart upload.
	c.MustS3cmd("put", "--multipart-chunk-size-mb=5", big, "s3://"+b+"/bin/big.bin")
	c.MustS3cmd("put", "--recursive", filepath.Join(dir, "small.txt"), "s3://"+b+"/more/")

	out := c.MustS3cmd("ls", "--recursive", "s3://"+b)
	for _, k := range []string{"docs/small.txt", "bin/big.bin", "more/small.txt"} {
		if !strings.Contains(out, "s3://"+b+"/"+k) {
			t.Errorf("s3cmd ls --recursive lacks %s:\n%s", k, out)
		}
	}
	if out := c.MustS3cmd("ls", "s3://"+b+"/"); !strings.Contains(out, "DIR") || !strings.Contains(out, "s3://"+b+"/docs/") {
		t.Errorf("s3cmd ls of the bucket root shows no folders:\n%s", out)
	}

	gotSmall, gotBig := filepath.Join(dir, "small.out"), filepath.Join(dir, "big.out")
	c.MustS3cmd("get", "s3://"+b+"/docs/small.txt", gotSmall)
	c.MustS3cmd("get", "s3://"+b+"/bin/big.bin", gotBig)
	if harness.SHA256File(t, gotSmall) != smallSum || harness.SHA256File(t, gotBig) != bigSum {
		t.Fatalf("s3cmd get returned different content")
	}
	if out := c.MustS3cmd("info", "s3://"+b+"/docs/small.txt"); !strings.Contains(out, "4096") {
		t.Errorf("s3cmd info does not show the size:\n%s", out)
	}

	c.MustS3cmd("del", "s3://"+b+"/docs/small.txt")
	if out := c.MustS3cmd("ls", "--recursive", "s3://"+b); strings.Contains(out, "docs/small.txt") {
		t.Errorf("deleted object still listed:\n%s", out)
	}
	if r := c.S3cmd("get", "--force", "s3://"+b+"/docs/small.txt", gotSmall); r.Err == nil {
		t.Errorf("s3cmd get of a deleted object succeeded:\n%s", r)
	}
	c.MustS3cmd("del", "--recursive", "--force", "s3://"+b)
	c.MustS3cmd("rb", "s3://"+b)
	if out := c.MustS3cmd("ls"); strings.Contains(out, "s3://"+b) {
		t.Errorf("removed bucket still listed:\n%s", out)
	}
}
