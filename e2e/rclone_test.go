package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/e2e/harness"
)

// testRclone copies, checks and syncs a tree of 400 small and 3 large files
// (uploaded as multipart) with rclone.
func testRclone(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	harness.RequireTool(t, harness.Rclone)
	b := harness.BucketName("rclone")
	remote := harness.RcloneRemote + ":" + b + "/tree"
	// No retries, so a flaky server shows up as a failure.
	flags := []string{"-q", "--retries", "1", "--low-level-retries", "1", "--transfers", "8",
		"--s3-upload-cutoff", "16M", "--s3-chunk-size", "5M"}
	rc := func(args ...string) string {
		t.Helper()
		return c.MustRclone(append(args, flags...)...)
	}

	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src, 400, 3, 20<<20, 7)
	rc("mkdir", harness.RcloneRemote+":"+b)
	rc("copy", src, remote)
	rc("check", src, remote, "--one-way=false")

	var size struct {
		Count int64 `json:"count"`
		Bytes int64 `json:"bytes"`
	}
	want := harness.TreeDigest(t, src)
	if err := json.Unmarshal([]byte(rc("size", "--json", remote)), &size); err != nil {
		t.Fatal(err)
	}
	if size.Count != int64(len(want)) || size.Bytes != treeBytes(t, src) {
		t.Errorf("rclone size = %+v, want %d objects, %d bytes", size, len(want), treeBytes(t, src))
	}

	// Delete, change (same and different size) and add files; sync again.
	rels := sortedKeys(want)
	for i, rel := range rels {
		p := filepath.Join(src, rel)
		switch {
		case strings.HasPrefix(rel, "large/"):
			if rel == "large/big-1.bin" {
				harness.WriteRandomFile(t, p, 21<<20+7, 4242)
			}
		case i%20 == 0:
			must(t, os.Remove(p))
		case i%37 == 0:
			harness.WriteRandomFile(t, p, int64(len(rel))+100, uint64(i)+77777)
		}
	}
	for i := range 5 {
		harness.WriteRandomFile(t, filepath.Join(src, "added", fmt.Sprintf("n%d.dat", i)), int64(100+i), uint64(9000+i))
	}
	want = harness.TreeDigest(t, src)
	rc("sync", src, remote)
	rc("check", src, remote)
	if err := json.Unmarshal([]byte(rc("size", "--json", remote)), &size); err != nil {
		t.Fatal(err)
	}
	if size.Count != int64(len(want)) {
		t.Errorf("after sync rclone size counts %d objects, want %d", size.Count, len(want))
	}

	// Sync down into an empty folder and compare byte for byte, then verify
	// by downloading (check --download compares content, not just hashes).
	dst := filepath.Join(t.TempDir(), "dst")
	rc("sync", remote, dst)
	if d := harness.DiffTrees(want, harness.TreeDigest(t, dst)); d != "" {
		t.Fatalf("tree synced down differs:\n%s", d)
	}
	rc("check", "--download", src, remote)

	// A check must notice a difference.
	harness.WriteRandomFile(t, filepath.Join(src, rels[1]), 333, 31337)
	if r := c.Rclone(append([]string{"check", src, remote}, flags...)...); r.Err == nil {
		t.Errorf("rclone check passed although a local file changed:\n%s", r)
	}
	rc("purge", harness.RcloneRemote+":"+b)
	if r := c.Rclone("lsd", harness.RcloneRemote+":"+b); r.Err == nil {
		t.Errorf("bucket still exists after purge:\n%s", r)
	}
}

func treeBytes(t *testing.T, root string) int64 {
	t.Helper()
	var total int64
	err := filepath.Walk(root, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}
		return err
	})
	must(t, err)
	return total
}
