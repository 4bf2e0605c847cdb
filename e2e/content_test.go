package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/client"
	"github.com/filesphere/filesphere/e2e/harness"
	"github.com/filesphere/filesphere/storage"
)

// userCLI is the filesphere client with alias fs signing as another key.
func userCLI(t *testing.T, n *harness.Node, ak, sk string) *fsCLI {
	c := &fsCLI{t: t, n: n, cfg: t.TempDir(), home: t.TempDir()}
	c.must("alias", "set", "fs", n.Endpoint(), ak, sk)
	return c
}

// headWith sends a HEAD signed by sg with extra headers.
func headWith(t *testing.T, n *harness.Node, sg harness.Signer, path string, h map[string]string) *http.Response {
	t.Helper()
	req, err := sg.Request(context.Background(), http.MethodHead, n.URL(path), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	if err := sg.Sign(req, ""); err != nil {
		t.Fatal(err)
	}
	resp, err := n.HTTPClient(30 * time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestContentFindAndPrecondition: the real binary with the aws cli and
// the filesphere client. A file uploaded into two buckets (and a
// multipart upload by the aws cli) is found by its SHA-256 with
// `filesphere find`, across buckets for root and only where a user may
// read; the lookup is refused without its action; HEAD with the hash as a
// precondition answers 200 or 412 (403 for who may not read); the aws cli
// reads a multipart object's whole-content SHA-256 as a FULL_OBJECT
// checksum and downloads it validated.
func TestContentFindAndPrecondition(t *testing.T) {
	harness.RequireTool(t, harness.AWSCLI)
	n := harness.StartNode(t, harness.NodeOptions{Name: "content"})
	root := n.Clients(t)
	docs, private := harness.BucketName("docs"), harness.BucketName("private")
	root.MustAWS("s3", "mb", "s3://"+docs)
	root.MustAWS("s3", "mb", "s3://"+private)
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small.bin"), filepath.Join(dir, "big.bin")
	harness.WriteRandomFile(t, small, 3<<20, 1)
	harness.WriteRandomFile(t, big, 20<<20, 2) // the aws cli uploads it in 8 MiB parts
	root.MustAWS("s3", "cp", small, "s3://"+docs+"/a/small.bin")
	root.MustAWS("s3", "cp", small, "s3://"+private+"/copy.bin")
	root.MustAWS("s3", "cp", big, "s3://"+docs+"/big.bin")
	smallSum, bigSum := harness.SHA256File(t, small), harness.SHA256File(t, big)

	fs := newFSCLI(t, n)
	paths := func(c *fsCLI, args ...string) []string {
		var out []string
		for _, r := range records[client.ObjectInfo](c, args...) {
			out = append(out, r.Path)
		}
		return out
	}
	if got := paths(fs, "find", "fs", "--sha256", smallSum); !slices.Equal(got, []string{"fs/" + docs + "/a/small.bin", "fs/" + private + "/copy.bin"}) &&
		!slices.Equal(got, []string{"fs/" + private + "/copy.bin", "fs/" + docs + "/a/small.bin"}) {
		t.Fatalf("find the small file: %v", got)
	}
	if got := paths(fs, "find", "fs/"+docs, "--sha256", bigSum); !slices.Equal(got, []string{"fs/" + docs + "/big.bin"}) {
		t.Fatalf("find the multipart upload by its whole content: %v", got)
	}
	if got := paths(fs, "find", "fs/"+docs+"/a", "--sha256", bigSum); len(got) != 0 {
		t.Fatalf("find under a/: %v", got)
	}

	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"filesphere:FindObjectsBySHA256","Resource":"*"},
		{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + docs + `/*"}]}`
	_, rk := newCLIUser(t, root, "reader", policy)
	reader := userCLI(t, n, rk.AccessKey.AccessKeyId, rk.AccessKey.SecretAccessKey)
	if got := paths(reader, "find", "fs", "--sha256", smallSum); !slices.Equal(got, []string{"fs/" + docs + "/a/small.bin"}) {
		t.Fatalf("reader finds %v", got)
	}
	_, nk := newCLIUser(t, root, "nofind", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	nofind := userCLI(t, n, nk.AccessKey.AccessKeyId, nk.AccessKey.SecretAccessKey)
	if r := nofind.run("find", "fs", "--sha256", smallSum); r.Err == nil || !strings.Contains(r.Output, "AccessDenied") {
		t.Fatalf("find without the lookup action: %s", r)
	}

	raw, _ := hex.DecodeString(bigSum)
	b64 := base64.StdEncoding.EncodeToString(raw)
	rootSg := n.Signer()
	readerSg := harness.Signer{AccessKey: rk.AccessKey.AccessKeyId, SecretKey: rk.AccessKey.SecretAccessKey, Region: "us-east-1"}
	for _, tc := range []struct {
		name   string
		sg     harness.Signer
		path   string
		header map[string]string
		status int
	}{
		{"stored: skip the upload", rootSg, "/" + docs + "/big.bin", map[string]string{"x-filesphere-if-sha256": bigSum}, 200},
		{"stored (x-amz-checksum-sha256)", rootSg, "/" + docs + "/big.bin", map[string]string{"x-amz-checksum-sha256": b64}, 200},
		{"other content: upload", rootSg, "/" + docs + "/a/small.bin", map[string]string{"x-filesphere-if-sha256": bigSum}, 412},
		{"a reader of docs", readerSg, "/" + docs + "/big.bin", map[string]string{"x-filesphere-if-sha256": bigSum}, 200},
		{"refused where the caller may not read", readerSg, "/" + private + "/copy.bin", map[string]string{"x-filesphere-if-sha256": smallSum}, 403},
	} {
		if resp := headWith(t, n, tc.sg, tc.path, tc.header); resp.StatusCode != tc.status {
			t.Errorf("%s: HEAD %s answered %d, want %d", tc.name, tc.path, resp.StatusCode, tc.status)
		} else if tc.status == 200 && resp.Header.Get("X-Filesphere-Sha256") == "" {
			t.Errorf("%s: no x-filesphere-sha256", tc.name)
		}
	}

	// (Debian's aws cli does not show x-amz-checksum-type; the SDK tests
	// check it is FULL_OBJECT.)
	var head struct{ ChecksumSHA256 string }
	if err := json.Unmarshal([]byte(root.MustAWS("s3api", "head-object", "--bucket", docs, "--key", "big.bin", "--checksum-mode", "ENABLED")), &head); err != nil ||
		head.ChecksumSHA256 != b64 {
		t.Fatalf("head-object in checksum mode: %+v %v", head, err)
	}
	got := filepath.Join(dir, "got.bin")
	root.MustAWS("s3api", "get-object", "--bucket", docs, "--key", "big.bin", "--checksum-mode", "ENABLED", got)
	if harness.SHA256File(t, got) != bigSum {
		t.Fatal("the aws cli downloaded other bytes")
	}
}

// TestDedupKillDuringWrites: a deduplicating bucket under PUTs of
// near-duplicate versions and deletes, its server killed with SIGKILL
// twice mid-operation. After the restarts every acknowledged version reads
// back identical, every acknowledged delete stays deleted, admin verify
// reads every version through its chunks (so no record references a
// missing chunk and nothing reads back wrong), stored bytes are a fraction
// of the logical ones; deleting everything lets garbage collection free
// exactly the chunks, after their grace and only then.
func TestDedupKillDuringWrites(t *testing.T) {
	n := harness.StartNode(t, harness.NodeOptions{Name: "dedup-kill",
		ExtraArgs: []string{"--chunk-grace", "3s", "--repair-interval", "1s"}})
	cl := n.SDKClient()
	ctx := context.Background()
	b := harness.BucketName("dedup")
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	admin := func(args ...string) harness.Result {
		return harness.RunCommand(2*time.Minute, []string{"PATH=" + harness.SafePath, "HOME=" + t.TempDir(),
			"FILESPHERE_ROOT_USER=" + n.AccessKey(), "FILESPHERE_ROOT_PASSWORD=" + n.SecretKey()}, t.TempDir(),
			harness.BinaryPath(t), append(append([]string{"admin"}, args...), n.AdminArgs()...)...)
	}
	if r := admin("dedup", "enable", b); r.Err != nil {
		t.Fatalf("%s", r)
	}
	base := make([]byte, 6<<20)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range base {
		base[i] = byte(rng.Uint32())
	}
	type ack struct{ key, vid, sha string }
	var mu sync.Mutex
	var acked []ack
	deleted := map[string]bool{} // acknowledged deletes
	tried := map[string]bool{}   // deletes sent (a kill may take the answer, not the delete)
	var logical int64
	work := func(d time.Duration) {
		var wg sync.WaitGroup
		stop := time.Now().Add(d)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				c := n.SDKClient()
				for time.Now().Before(stop) {
					key := fmt.Sprintf("file-%d", r.IntN(6))
					if r.IntN(5) == 0 {
						mu.Lock()
						if len(acked) == 0 {
							mu.Unlock()
							continue
						}
						a := acked[r.IntN(len(acked))]
						tried[a.vid] = true
						mu.Unlock()
						cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
						_, err := c.DeleteObject(cctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(a.key), VersionId: aws.String(a.vid)})
						cancel()
						if err == nil {
							mu.Lock()
							deleted[a.vid] = true
							mu.Unlock()
						}
						continue
					}
					body := bytes.Clone(base)
					for range 1 { // a small edit of the shared base
						i := r.IntN(len(body) - 64)
						copy(body[i:], fmt.Sprintf("edit %d of worker %d", r.Uint32(), w))
					}
					cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					out, err := c.PutObject(cctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: bytes.NewReader(body)})
					cancel()
					if err == nil {
						mu.Lock()
						acked = append(acked, ack{key, aws.ToString(out.VersionId), harness.SHA256(body)})
						logical += int64(len(body))
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
	}
	for round := range 2 {
		done := make(chan struct{})
		go func() { work(6 * time.Second); close(done) }()
		time.Sleep(time.Duration(3000+rng.IntN(2000)) * time.Millisecond)
		n.Kill()
		<-done
		t.Logf("round %d: killed mid-workload; %d versions acknowledged so far", round+1, len(acked))
		n.MustStart()
	}
	work(2 * time.Second)
	if len(acked) < 10 {
		t.Fatalf("only %d PUTs acknowledged", len(acked))
	}

	// Every acknowledged version reads back identical; deletes stay.
	for _, a := range acked {
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(a.key), VersionId: aws.String(a.vid)})
		if deleted[a.vid] {
			if err == nil {
				out.Body.Close()
				t.Errorf("%s %s: deleted (acknowledged), but reads back", a.key, a.vid)
			}
			continue
		}
		if err != nil && tried[a.vid] && strings.Contains(err.Error(), "NoSuchVersion") {
			continue // its delete was sent when the server was killed
		}
		if err != nil {
			t.Errorf("%s %s: acknowledged, now %v", a.key, a.vid, err)
			continue
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || harness.SHA256(got) != a.sha {
			t.Errorf("%s %s: reads back other bytes (%v)", a.key, a.vid, err)
		}
	}
	verify := func() storage.VerifyReport {
		t.Helper()
		r := admin("verify", b, "--json")
		var rep storage.VerifyReport
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("verify: %v\n%s", err, r)
		}
		if r.Err != nil || rep.Mismatched+rep.Unreadable > 0 {
			t.Fatalf("verify: %+v\n%s", rep, r)
		}
		return rep
	}
	rep := verify()
	status := func() storage.DedupStatus {
		t.Helper()
		r := admin("dedup", "status", b, "--json")
		var st storage.DedupStatus
		if r.Err != nil || json.Unmarshal([]byte(r.Stdout), &st) != nil {
			t.Fatalf("dedup status: %s", r)
		}
		return st
	}
	st := status()
	t.Logf("after the kills: %d versions verified (%d MiB); logical %d MiB, stored %.1f MiB in %d chunks, ratio %.2f, %d pending collection",
		rep.Checked, rep.Bytes>>20, st.LogicalBytes>>20, float64(st.StoredBytes)/(1<<20), st.Chunks, st.Ratio, st.PendingGC)
	if st.Ratio < 2 {
		t.Errorf("near-duplicate versions deduplicated %.2f to 1 only", st.Ratio)
	}

	// Delete everything in random order; collection waits for the grace.
	var versions []types.ObjectVersion
	p := s3.NewListObjectVersionsPaginator(cl, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, page.Versions...)
	}
	rng.Shuffle(len(versions), func(i, j int) { versions[i], versions[j] = versions[j], versions[i] })
	half := versions[:len(versions)/2]
	for _, v := range half {
		if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: v.Key, VersionId: v.VersionId}); err != nil {
			t.Fatal(err)
		}
	}
	// Past the grace and a repair pass, only unreferenced chunks went.
	if err := harness.Eventually(30*time.Second, 500*time.Millisecond, func() error {
		if st := status(); st.PendingGC > 0 {
			return fmt.Errorf("%d chunks pending collection", st.PendingGC)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if rep := verify(); rep.Checked != len(versions)-len(half) {
		t.Fatalf("after collecting half: %d versions verified, %d left", rep.Checked, len(versions)-len(half))
	}
	for _, v := range versions[len(half):] {
		if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: v.Key, VersionId: v.VersionId}); err != nil {
			t.Fatal(err)
		}
	}
	if st := status(); st.Chunks == 0 || st.PendingGC != st.Chunks || st.StoredBytes != 0 {
		t.Fatalf("right after deleting all (within the grace): %+v", st)
	}
	if err := harness.Eventually(30*time.Second, 500*time.Millisecond, func() error {
		if st := status(); st.Chunks > 0 {
			return fmt.Errorf("%d chunks left", st.Chunks)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(n.DataDir()); err != nil {
		t.Fatal(err)
	}
}
