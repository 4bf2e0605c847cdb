package e2e

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/e2e/harness"
)

// testAWSCLI drives the aws cli v2 (high-level s3 and low-level s3api
// commands) against n.
func testAWSCLI(t *testing.T, n *harness.Node) {
	harness.RequireTool(t, harness.AWSCLI)
	t.Run("s3-large-cp", func(t *testing.T) { awsLargeCopy(t, n) })
	t.Run("s3-sync-ls-rm", func(t *testing.T) { awsSyncLsRm(t, n) })
	t.Run("s3api-objects", func(t *testing.T) { awsAPIObjects(t, n) })
	t.Run("s3api-multipart", func(t *testing.T) { awsAPIMultipart(t, n) })
	t.Run("s3api-versioning", func(t *testing.T) { awsAPIVersioning(t, n) })
}

// awsLargeCopy uploads and downloads 100 MiB with `s3 cp` (multipart).
func awsLargeCopy(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	b := harness.BucketName("awsbig")
	c.MustAWS("s3", "mb", "s3://"+b)
	dir := t.TempDir()
	src := filepath.Join(dir, "big.bin")
	want := harness.WriteRandomFile(t, src, 100<<20, 1)
	c.MustAWS("s3", "cp", src, "s3://"+b+"/dir/big.bin", "--only-show-errors", "--no-progress")
	head := jsonOut(t, c.MustAWS("s3api", "head-object", "--bucket", b, "--key", "dir/big.bin"))
	if got := head["ContentLength"]; got != float64(100<<20) {
		t.Errorf("head-object ContentLength = %v, want %d", got, 100<<20)
	}
	// The cli uploads 8 MiB parts: a multipart ETag "<md5>-13".
	if etag, _ := head["ETag"].(string); !strings.HasSuffix(strings.Trim(etag, `"`), "-13") {
		t.Errorf("multipart ETag = %s, want suffix -13", etag)
	}
	dst := filepath.Join(dir, "down.bin")
	c.MustAWS("s3", "cp", "s3://"+b+"/dir/big.bin", dst, "--only-show-errors", "--no-progress")
	if got := harness.SHA256File(t, dst); got != want {
		t.Fatalf("downloaded SHA-256 %s, uploaded %s", got, want)
	}
}

// awsSyncLsRm syncs a tree up and down, with changes and --delete, then removes it.
func awsSyncLsRm(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	b := harness.BucketName("awssync")
	c.MustAWS("s3", "mb", "s3://"+b)
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src, 40, 1, 0, 11)
	want := harness.TreeDigest(t, src)
	c.MustAWS("s3", "sync", src, "s3://"+b+"/tree", "--only-show-errors", "--no-progress")

	ls := c.MustAWS("s3", "ls", "--recursive", "s3://"+b+"/tree/")
	keys := lsKeys(ls)
	if len(keys) != len(want) {
		t.Fatalf("s3 ls --recursive shows %d keys, want %d:\n%s", len(keys), len(want), ls)
	}
	for rel := range want {
		if !keys["tree/"+rel] {
			t.Errorf("s3 ls --recursive lacks tree/%s", rel)
		}
	}

	dst := filepath.Join(t.TempDir(), "dst")
	c.MustAWS("s3", "sync", "s3://"+b+"/tree", dst, "--only-show-errors", "--no-progress")
	if d := harness.DiffTrees(want, harness.TreeDigest(t, dst)); d != "" {
		t.Fatalf("tree after sync down differs:\n%s", d)
	}
	// A second sync finds nothing to do.
	if out := c.MustAWS("s3", "sync", src, "s3://"+b+"/tree", "--no-progress"); strings.TrimSpace(out) != "" {
		t.Errorf("second sync up was not a no-op:\n%s", out)
	}

	// Change, add and delete files, sync with --delete both ways.
	rels := sortedKeys(want)
	removed := rels[0]
	must(t, os.Remove(filepath.Join(src, removed)))
	harness.WriteRandomFile(t, filepath.Join(src, rels[1]), 9876, 98) // changed size and content
	harness.WriteRandomFile(t, filepath.Join(src, "new", "added.txt"), 1234, 99)
	want = harness.TreeDigest(t, src)
	c.MustAWS("s3", "sync", src, "s3://"+b+"/tree", "--delete", "--only-show-errors", "--no-progress")
	c.MustAWS("s3", "sync", "s3://"+b+"/tree", dst, "--delete", "--only-show-errors", "--no-progress")
	if d := harness.DiffTrees(want, harness.TreeDigest(t, dst)); d != "" {
		t.Fatalf("tree after second sync round differs:\n%s", d)
	}
	if keys := lsKeys(c.MustAWS("s3", "ls", "--recursive", "s3://"+b+"/tree/")); keys["tree/"+removed] || len(keys) != len(want) {
		t.Errorf("after sync --delete: %d keys (want %d), deleted key present: %v", len(keys), len(want), keys["tree/"+removed])
	}

	c.MustAWS("s3", "rm", "--recursive", "s3://"+b+"/tree", "--only-show-errors")
	if ls := c.MustAWS("s3", "ls", "--recursive", "s3://"+b); strings.TrimSpace(ls) != "" {
		t.Fatalf("s3 ls after rm --recursive not empty:\n%s", ls)
	}
	c.MustAWS("s3", "rb", "s3://"+b)
}

// awsAPIObjects drives the object calls of `s3api`: put, head, get, copy, delete and their errors.
func awsAPIObjects(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	b := harness.BucketName("awsapi")
	c.MustAWS("s3api", "create-bucket", "--bucket", b)
	dir := t.TempDir()
	body := harness.RandomBytes(300_000, 5)
	src := filepath.Join(dir, "obj.bin")
	must(t, os.WriteFile(src, body, 0o644))
	md5sum := md5.Sum(body)

	put := jsonOut(t, c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "a/obj.bin", "--body", src,
		"--content-type", "application/x-test", "--metadata", "color=blue,shape=round"))
	if etag := put["ETag"]; etag != `"`+hex.EncodeToString(md5sum[:])+`"` {
		t.Errorf("put-object ETag = %v, want MD5 %x", etag, md5sum)
	}
	head := jsonOut(t, c.MustAWS("s3api", "head-object", "--bucket", b, "--key", "a/obj.bin"))
	if head["ContentLength"] != float64(len(body)) || head["ContentType"] != "application/x-test" {
		t.Errorf("head-object = %v", head)
	}
	if md, _ := head["Metadata"].(map[string]any); md["color"] != "blue" || md["shape"] != "round" {
		t.Errorf("head-object Metadata = %v, want color=blue shape=round", head["Metadata"])
	}

	// Ranged GET.
	out := filepath.Join(dir, "range.bin")
	got := jsonOut(t, c.MustAWS("s3api", "get-object", "--bucket", b, "--key", "a/obj.bin", "--range", "bytes=1000-1999", out))
	if got["ContentRange"] != fmt.Sprintf("bytes 1000-1999/%d", len(body)) || got["ContentLength"] != float64(1000) {
		t.Errorf("ranged get-object = %v", got)
	}
	if r := readFile(t, out); !bytes.Equal(r, body[1000:2000]) {
		t.Errorf("ranged get-object returned %d wrong bytes", len(r))
	}
	c.MustAWS("s3api", "get-object", "--bucket", b, "--key", "a/obj.bin", "--range", "bytes=-100", out)
	if r := readFile(t, out); !bytes.Equal(r, body[len(body)-100:]) {
		t.Errorf("suffix range returned %d wrong bytes", len(r))
	}

	// A flexible checksum computed by the cli is stored and returned.
	crc := crc32.ChecksumIEEE(body)
	wantCRC := base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	put = jsonOut(t, c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "a/crc.bin", "--body", src, "--checksum-algorithm", "CRC32"))
	if put["ChecksumCRC32"] != wantCRC {
		t.Errorf("put-object ChecksumCRC32 = %v, want %s", put["ChecksumCRC32"], wantCRC)
	}
	head = jsonOut(t, c.MustAWS("s3api", "head-object", "--bucket", b, "--key", "a/crc.bin", "--checksum-mode", "ENABLED"))
	if head["ChecksumCRC32"] != wantCRC {
		t.Errorf("head-object --checksum-mode ENABLED ChecksumCRC32 = %v, want %s", head["ChecksumCRC32"], wantCRC)
	}

	// copy-object, keeping and replacing metadata.
	c.MustAWS("s3api", "copy-object", "--bucket", b, "--key", "b/copy.bin", "--copy-source", b+"/a/obj.bin")
	head = jsonOut(t, c.MustAWS("s3api", "head-object", "--bucket", b, "--key", "b/copy.bin"))
	if md, _ := head["Metadata"].(map[string]any); md["color"] != "blue" || head["ContentLength"] != float64(len(body)) {
		t.Errorf("copied object head = %v", head)
	}
	c.MustAWS("s3api", "copy-object", "--bucket", b, "--key", "b/copy2.bin", "--copy-source", b+"/a/obj.bin",
		"--metadata-directive", "REPLACE", "--metadata", "color=red")
	head = jsonOut(t, c.MustAWS("s3api", "head-object", "--bucket", b, "--key", "b/copy2.bin"))
	if md, _ := head["Metadata"].(map[string]any); md["color"] != "red" || md["shape"] != nil {
		t.Errorf("copy with REPLACE metadata = %v, want only color=red", head["Metadata"])
	}
	c.MustAWS("s3api", "get-object", "--bucket", b, "--key", "b/copy2.bin", out)
	if !bytes.Equal(readFile(t, out), body) {
		t.Errorf("copied object content differs")
	}

	// Pagination: 25 keys, 7 per request, 10 per cli page.
	var all []string
	for i := range 25 {
		k := fmt.Sprintf("key-%02d", i)
		all = append(all, "p/"+k)
		must(t, os.MkdirAll(filepath.Join(dir, "p"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "p", k), []byte(k), 0o644))
	}
	c.MustAWS("s3", "cp", "--recursive", filepath.Join(dir, "p"), "s3://"+b+"/p/", "--only-show-errors", "--no-progress")
	var listed []string
	token := ""
	for page := 0; ; page++ {
		args := []string{"s3api", "list-objects-v2", "--bucket", b, "--prefix", "p/", "--max-items", "10", "--page-size", "7"}
		if token != "" {
			args = append(args, "--starting-token", token)
		}
		var res struct {
			Contents []struct {
				Key  string
				Size int64
			}
			NextToken string
		}
		jsonInto(t, c.MustAWS(args...), &res)
		if len(res.Contents) > 10 {
			t.Fatalf("page %d has %d items with --max-items 10", page, len(res.Contents))
		}
		for _, o := range res.Contents {
			listed = append(listed, o.Key)
		}
		token = res.NextToken
		if token == "" || page > 10 {
			break
		}
	}
	if strings.Join(listed, ",") != strings.Join(all, ",") {
		t.Errorf("paginated listing = %v\nwant %v", listed, all)
	}
	// Delimiter listing.
	var delim struct {
		CommonPrefixes []struct{ Prefix string }
	}
	jsonInto(t, c.MustAWS("s3api", "list-objects-v2", "--bucket", b, "--delimiter", "/"), &delim)
	var prefixes []string
	for _, p := range delim.CommonPrefixes {
		prefixes = append(prefixes, p.Prefix)
	}
	if strings.Join(prefixes, ",") != "a/,b/,p/" {
		t.Errorf("CommonPrefixes = %v, want [a/ b/ p/]", prefixes)
	}

	// delete-objects removes 20 of them, reporting each.
	var objs []map[string]string
	for _, k := range all[:20] {
		objs = append(objs, map[string]string{"Key": k})
	}
	del, _ := json.Marshal(map[string]any{"Objects": objs})
	var dres struct {
		Deleted []struct{ Key string }
		Errors  []any
	}
	jsonInto(t, c.MustAWS("s3api", "delete-objects", "--bucket", b, "--delete", string(del)), &dres)
	if len(dres.Deleted) != 20 || len(dres.Errors) != 0 {
		t.Errorf("delete-objects: %d deleted, errors %v", len(dres.Deleted), dres.Errors)
	}
	var rest struct{ Contents []struct{ Key string } }
	jsonInto(t, c.MustAWS("s3api", "list-objects-v2", "--bucket", b, "--prefix", "p/"), &rest)
	if len(rest.Contents) != 5 || rest.Contents[0].Key != "p/key-20" {
		t.Errorf("after delete-objects: %v", rest.Contents)
	}

	// Missing keys: head 404, get NoSuchKey.
	if r := c.AWS("s3api", "head-object", "--bucket", b, "--key", "p/key-00"); r.Err == nil || !strings.Contains(r.Output, "404") {
		t.Errorf("head-object of a deleted key: %s", r)
	}
	if r := c.AWS("s3api", "get-object", "--bucket", b, "--key", "nope", out); r.Err == nil || !strings.Contains(r.Output, "NoSuchKey") {
		t.Errorf("get-object of a missing key: %s", r)
	}
}

// awsAPIMultipart drives a multipart upload part by part, listing and aborting uploads.
func awsAPIMultipart(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	b := harness.BucketName("awsmpu")
	c.MustAWS("s3api", "create-bucket", "--bucket", b)
	dir := t.TempDir()
	parts := [][]byte{harness.RandomBytes(5<<20, 21), harness.RandomBytes(5<<20, 22), harness.RandomBytes(1<<20+17, 23)}
	var up struct{ UploadId string }
	jsonInto(t, c.MustAWS("s3api", "create-multipart-upload", "--bucket", b, "--key", "mp/obj", "--content-type", "text/x-mp"), &up)
	if up.UploadId == "" {
		t.Fatal("create-multipart-upload returned no UploadId")
	}
	var lm struct {
		Uploads []struct{ Key, UploadId string }
	}
	jsonInto(t, c.MustAWS("s3api", "list-multipart-uploads", "--bucket", b), &lm)
	if len(lm.Uploads) != 1 || lm.Uploads[0].UploadId != up.UploadId {
		t.Errorf("list-multipart-uploads = %+v", lm.Uploads)
	}
	type part struct {
		ETag       string
		PartNumber int
	}
	var done []part
	var whole []byte
	var md5s []byte
	for i, p := range parts {
		f := filepath.Join(dir, fmt.Sprintf("part%d", i+1))
		must(t, os.WriteFile(f, p, 0o644))
		var r struct{ ETag string }
		jsonInto(t, c.MustAWS("s3api", "upload-part", "--bucket", b, "--key", "mp/obj", "--upload-id", up.UploadId,
			"--part-number", fmt.Sprint(i+1), "--body", f), &r)
		sum := md5.Sum(p)
		if r.ETag != `"`+hex.EncodeToString(sum[:])+`"` {
			t.Errorf("upload-part %d ETag = %s, want %x", i+1, r.ETag, sum)
		}
		done = append(done, part{r.ETag, i + 1})
		whole = append(whole, p...)
		md5s = append(md5s, sum[:]...)
	}
	var lp struct{ Parts []struct{ PartNumber int } }
	jsonInto(t, c.MustAWS("s3api", "list-parts", "--bucket", b, "--key", "mp/obj", "--upload-id", up.UploadId), &lp)
	if len(lp.Parts) != 3 {
		t.Errorf("list-parts: %d parts, want 3", len(lp.Parts))
	}
	mpu, _ := json.Marshal(map[string]any{"Parts": done})
	var comp struct{ ETag, Key string }
	jsonInto(t, c.MustAWS("s3api", "complete-multipart-upload", "--bucket", b, "--key", "mp/obj", "--upload-id", up.UploadId,
		"--multipart-upload", string(mpu)), &comp)
	agg := md5.Sum(md5s)
	if want := fmt.Sprintf(`"%x-3"`, agg); comp.ETag != want {
		t.Errorf("complete-multipart-upload ETag = %s, want %s", comp.ETag, want)
	}
	out := filepath.Join(dir, "out")
	got := jsonOut(t, c.MustAWS("s3api", "get-object", "--bucket", b, "--key", "mp/obj", out))
	if got["ContentType"] != "text/x-mp" {
		t.Errorf("multipart object ContentType = %v", got["ContentType"])
	}
	if !bytes.Equal(readFile(t, out), whole) {
		t.Fatalf("multipart object content differs")
	}
	// Part-number GET returns just that part.
	if r := c.AWS("s3api", "get-object", "--bucket", b, "--key", "mp/obj", "--part-number", "2", out); r.Err != nil {
		t.Errorf("GET ?partNumber=2 of a 3-part object failed:\n%s", r)
	} else if !bytes.Equal(readFile(t, out), parts[1]) {
		t.Errorf("get-object --part-number 2 returned wrong bytes")
	}
	lm.Uploads = nil
	jsonInto(t, c.MustAWS("s3api", "list-multipart-uploads", "--bucket", b), &lm)
	if len(lm.Uploads) != 0 {
		t.Errorf("upload still listed after completion: %+v", lm.Uploads)
	}
	// An aborted upload leaves nothing behind.
	jsonInto(t, c.MustAWS("s3api", "create-multipart-upload", "--bucket", b, "--key", "mp/aborted"), &up)
	c.MustAWS("s3api", "upload-part", "--bucket", b, "--key", "mp/aborted", "--upload-id", up.UploadId,
		"--part-number", "1", "--body", filepath.Join(dir, "part1"))
	c.MustAWS("s3api", "abort-multipart-upload", "--bucket", b, "--key", "mp/aborted", "--upload-id", up.UploadId)
	if r := c.AWS("s3api", "head-object", "--bucket", b, "--key", "mp/aborted"); r.Err == nil {
		t.Errorf("aborted upload is visible: %s", r)
	}
}

// awsAPIVersioning drives versioning: versions, delete markers and permanent version deletes.
func awsAPIVersioning(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	b := harness.BucketName("awsver")
	c.MustAWS("s3api", "create-bucket", "--bucket", b)
	c.MustAWS("s3api", "put-bucket-versioning", "--bucket", b, "--versioning-configuration", "Status=Enabled")
	var vs struct{ Status string }
	jsonInto(t, c.MustAWS("s3api", "get-bucket-versioning", "--bucket", b), &vs)
	if vs.Status != "Enabled" {
		t.Fatalf("get-bucket-versioning Status = %q", vs.Status)
	}
	dir := t.TempDir()
	var ids []string
	for i, content := range []string{"version one", "version two, longer"} {
		f := filepath.Join(dir, fmt.Sprint(i))
		must(t, os.WriteFile(f, []byte(content), 0o644))
		var r struct{ VersionId string }
		jsonInto(t, c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "doc.txt", "--body", f), &r)
		if r.VersionId == "" {
			t.Fatalf("put-object in a versioned bucket returned no VersionId")
		}
		ids = append(ids, r.VersionId)
	}
	type version struct {
		Key, VersionId string
		IsLatest       bool
		Size           int64
	}
	var lv struct {
		Versions      []version
		DeleteMarkers []version
	}
	jsonInto(t, c.MustAWS("s3api", "list-object-versions", "--bucket", b), &lv)
	if len(lv.Versions) != 2 || lv.Versions[0].VersionId != ids[1] || !lv.Versions[0].IsLatest ||
		lv.Versions[1].VersionId != ids[0] || lv.Versions[1].IsLatest {
		t.Errorf("list-object-versions = %+v, want [%s (latest), %s]", lv.Versions, ids[1], ids[0])
	}
	out := filepath.Join(dir, "out")
	c.MustAWS("s3api", "get-object", "--bucket", b, "--key", "doc.txt", "--version-id", ids[0], out)
	if got := string(readFile(t, out)); got != "version one" {
		t.Errorf("get-object --version-id v1 = %q", got)
	}
	c.MustAWS("s3api", "get-object", "--bucket", b, "--key", "doc.txt", out)
	if got := string(readFile(t, out)); got != "version two, longer" {
		t.Errorf("get-object latest = %q", got)
	}

	// A plain delete adds a delete marker; the key is gone but its
	// versions remain.
	var dm struct {
		DeleteMarker bool
		VersionId    string
	}
	jsonInto(t, c.MustAWS("s3api", "delete-object", "--bucket", b, "--key", "doc.txt"), &dm)
	if !dm.DeleteMarker || dm.VersionId == "" {
		t.Errorf("delete-object in versioned bucket = %+v, want a delete marker", dm)
	}
	if r := c.AWS("s3api", "get-object", "--bucket", b, "--key", "doc.txt", out); r.Err == nil || !strings.Contains(r.Output, "NoSuchKey") {
		t.Errorf("get-object after delete marker: %s", r)
	}
	jsonInto(t, c.MustAWS("s3api", "list-object-versions", "--bucket", b), &lv)
	if len(lv.Versions) != 2 || len(lv.DeleteMarkers) != 1 || lv.DeleteMarkers[0].VersionId != dm.VersionId || !lv.DeleteMarkers[0].IsLatest {
		t.Errorf("versions after delete: %+v markers %+v", lv.Versions, lv.DeleteMarkers)
	}
	// Removing the marker brings version two back.
	c.MustAWS("s3api", "delete-object", "--bucket", b, "--key", "doc.txt", "--version-id", dm.VersionId)
	c.MustAWS("s3api", "get-object", "--bucket", b, "--key", "doc.txt", out)
	if got := string(readFile(t, out)); got != "version two, longer" {
		t.Errorf("get-object after removing the marker = %q", got)
	}
	// Deleting version one permanently.
	c.MustAWS("s3api", "delete-object", "--bucket", b, "--key", "doc.txt", "--version-id", ids[0])
	if r := c.AWS("s3api", "get-object", "--bucket", b, "--key", "doc.txt", "--version-id", ids[0], out); r.Err == nil {
		t.Errorf("get-object of a permanently deleted version succeeded: %s", r)
	}
	lv.Versions, lv.DeleteMarkers = nil, nil
	jsonInto(t, c.MustAWS("s3api", "list-object-versions", "--bucket", b), &lv)
	if len(lv.Versions) != 1 || lv.Versions[0].VersionId != ids[1] || len(lv.DeleteMarkers) != 0 {
		t.Errorf("versions at the end: %+v markers %+v", lv.Versions, lv.DeleteMarkers)
	}
}

// makeTree writes small files (spread over nested folders) and large ones
// under root, deterministically from seed.
func makeTree(t *testing.T, root string, small, large int, largeSize int64, seed uint64) {
	t.Helper()
	for i := range small {
		p := filepath.Join(root, fmt.Sprintf("d%d", i%7), fmt.Sprintf("s%d", i%3), fmt.Sprintf("file-%04d.txt", i))
		harness.WriteRandomFile(t, p, int64(1+(i*37)%9000), seed*1000+uint64(i))
	}
	// Names that need escaping in URLs, signatures and XML.
	for i, name := range []string{"spaces in name.txt", "ünïcödé/日本語.txt", "plus+and=equals.txt",
		"percent%20literal.txt", "tilde~and$dollar.txt", "amp&lt;xml>.txt", "quote'single.txt"} {
		harness.WriteRandomFile(t, filepath.Join(root, "special", name), int64(10+i), seed*1000+900+uint64(i))
	}
	for i := range large {
		size := largeSize + int64(i)*(3<<20) + 12345
		if largeSize == 0 {
			size = 2<<20 + int64(i)
		}
		harness.WriteRandomFile(t, filepath.Join(root, "large", fmt.Sprintf("big-%d.bin", i)), size, seed*1000+500+uint64(i))
	}
}

// lsKeys parses `aws s3 ls --recursive` output into a key set.
func lsKeys(out string) map[string]bool {
	keys := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 {
			keys[strings.Join(f[3:], " ")] = true
		}
	}
	return keys
}

func jsonOut(t *testing.T, s string) map[string]any {
	t.Helper()
	m := map[string]any{}
	jsonInto(t, s, &m)
	return m
}

func jsonInto(t *testing.T, s string, v any) {
	t.Helper()
	if strings.TrimSpace(s) == "" {
		return
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("parsing JSON output: %v\n%s", err, s)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
