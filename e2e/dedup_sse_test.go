package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
	"github.com/filesphere/filesphere/storage"
)

// TestDedupSSEWithAWSCLI: the real binary and the aws cli. Six versions
// with small edits of a 6 MiB file (below the cli's multipart threshold, so
// single PUTs) are uploaded with --sse AES256 and --sse aws:kms into a
// deduplicating bucket: `admin dedup status` shows each encrypted series
// stored about once, the SSE-KMS copy of the same files in chunks of its
// own, every version reads back identical, a range across chunks too;
// disabling the KMS key makes the SSE-KMS versions unreadable; and after
// a stop, no file of the data folder or the drives holds the marker.
func TestDedupSSEWithAWSCLI(t *testing.T) {
	master := harness.RandomString(64, "0123456789abcdef")
	n := harness.StartNode(t, harness.NodeOptions{Name: "dedup-sse", DriveCount: 4, ECData: 2, ECParity: 2,
		ExtraEnv: []string{"FILESPHERE_KMS_MASTER_KEY=" + master}})
	c := n.Clients(t)
	mustKMS(t, n, "key", "add", "testkey-1")
	admin := func(args ...string) harness.Result {
		return harness.RunCommand(2*time.Minute, []string{"PATH=" + harness.SafePath, "HOME=" + t.TempDir(),
			"FILESPHERE_ROOT_USER=" + n.AccessKey(), "FILESPHERE_ROOT_PASSWORD=" + n.SecretKey()}, t.TempDir(),
			harness.BinaryPath(t), append(append([]string{"admin"}, args...), n.AdminArgs()...)...)
	}
	b := harness.BucketName("dedup-sse")
	c.MustAWS("s3", "mb", "s3://"+b)
	c.MustAWS("s3api", "put-bucket-versioning", "--bucket", b, "--versioning-configuration", "Status=Enabled")
	if r := admin("dedup", "enable", b); r.Err != nil {
		t.Fatalf("%s", r)
	}
	status := func() storage.DedupStatus {
		t.Helper()
		r := admin("dedup", "status", b, "--json")
		var st storage.DedupStatus
		if r.Err != nil || json.Unmarshal([]byte(r.Stdout), &st) != nil {
			t.Fatalf("dedup status: %s", r)
		}
		return st
	}

	// A random file with the marker every 4 KiB, and 6 versions of it
	// with small edits.
	marker := "FSDEDUP-" + harness.RandomString(12, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
	rng := rand.New(rand.NewPCG(11, 12))
	body := make([]byte, 6<<20)
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	for off := 0; off+len(marker) <= len(body); off += 4 << 10 {
		copy(body[off:], marker)
	}
	dir := t.TempDir()
	var files [][]byte
	for i := range 6 {
		files = append(files, bytes.Clone(body))
		at := rng.IntN(len(body) - 64)
		body = append(body[:at:at], append([]byte(fmt.Sprintf("edit %d", i)), body[at+3:]...)...)
	}
	type version struct {
		key, vid, sha string
		data          []byte
	}
	var versions []version
	put := func(key string, i int, sse ...string) {
		t.Helper()
		p := filepath.Join(dir, fmt.Sprintf("v%d", i))
		must(t, os.WriteFile(p, files[i], 0o600))
		args := append([]string{"s3api", "put-object", "--bucket", b, "--key", key, "--body", p}, sse...)
		var out struct{ VersionId, ServerSideEncryption string }
		if err := json.Unmarshal([]byte(c.MustAWS(args...)), &out); err != nil || out.VersionId == "" {
			t.Fatalf("put-object %s: %v", key, err)
		}
		versions = append(versions, version{key, out.VersionId, harness.SHA256(files[i]), files[i]})
	}
	var logical int64
	for i := range files {
		logical += int64(len(files[i]))
	}
	step := func(key string, sse ...string) storage.DedupStatus {
		t.Helper()
		before := status()
		for i := range files {
			put(key, i, sse...)
		}
		st := status()
		grown := st.StoredBytes - before.StoredBytes
		t.Logf("%s (%v): %d versions, %d logical bytes, %d stored (%.2f)", key, sse, len(files), logical, grown, float64(logical)/float64(grown))
		// The first version whole, then about a chunk or two (1 MiB on
		// average, 4 MiB at most) per edit.
		if grown < int64(len(files[0])) || grown*3 > logical*2 {
			t.Errorf("%s: %d versions with small edits stored %d new bytes of %d", key, len(files), grown, logical)
		}
		return st
	}
	step("s3.bin", "--server-side-encryption", "AES256")
	step("kms.bin", "--server-side-encryption", "aws:kms", "--ssekms-key-id", "testkey-1")
	// The same files under the same key again: nothing new is stored.
	before := status()
	for i := range files {
		put("kms-again.bin", i, "--server-side-encryption", "aws:kms", "--ssekms-key-id", "testkey-1")
	}
	st := status()
	if st.StoredBytes != before.StoredBytes {
		t.Errorf("the same SSE-KMS content again stored %d bytes", st.StoredBytes-before.StoredBytes)
	}
	t.Logf("bucket: logical %d, stored %d, ratio %.2f, %d chunks", st.LogicalBytes, st.StoredBytes, st.Ratio, st.Chunks)

	// Every version reads back identical, and says how it is encrypted.
	for _, v := range versions {
		out := filepath.Join(t.TempDir(), "back")
		var h struct{ ServerSideEncryption string }
		must(t, json.Unmarshal([]byte(c.MustAWS("s3api", "get-object", "--bucket", b, "--key", v.key, "--version-id", v.vid, out)), &h))
		if got := harness.SHA256File(t, out); got != v.sha {
			t.Errorf("%s %s reads back other bytes", v.key, v.vid)
		}
		if want := map[bool]string{true: "AES256", false: "aws:kms"}[v.key == "s3.bin"]; h.ServerSideEncryption != want {
			t.Errorf("%s: encryption %q", v.key, h.ServerSideEncryption)
		}
	}
	last := versions[len(versions)-1]
	rg := filepath.Join(t.TempDir(), "range")
	c.MustAWS("s3api", "get-object", "--bucket", b, "--key", last.key, "--version-id", last.vid, "--range", "bytes=500000-3500000", rg)
	if got := harness.SHA256File(t, rg); got != harness.SHA256(last.data[500000:3500001]) {
		t.Error("a range across chunks reads back other bytes")
	}

	// A disabled key: the SSE-KMS versions cannot be read; enabled again,
	// they can.
	mustKMS(t, n, "key", "disable", "testkey-1")
	if r := c.AWS("s3api", "get-object", "--bucket", b, "--key", "kms.bin", filepath.Join(t.TempDir(), "x")); r.Err == nil {
		t.Error("an SSE-KMS object read with its key disabled")
	}
	mustKMS(t, n, "key", "enable", "testkey-1")
	c.MustAWS("s3api", "get-object", "--bucket", b, "--key", "kms.bin", filepath.Join(t.TempDir(), "y"))

	// Stop the server so everything is on disk, then scan.
	must(t, n.Stop())
	if files := scanTree(t, secretForms([]byte(marker)), append([]string{n.DataDir()}, n.Drives()...)...); files < 30 {
		t.Fatalf("scanned only %d files", files)
	}
}
