package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/e2e/harness"
)

// On-disk shard layout of the server's default 1 MiB blocks under EC 2+2:
// every shard file is one frame per block, [hash (32 bytes)][chunk of
// 512 KiB]. The test uses it only to aim a flipped byte at a given block.
const (
	bitrotBlock = 1 << 20
	bitrotFrame = 32 + bitrotBlock/2
)

// TestBitrotSpreadAcrossBlocks reproduces the hardening report: with EC 2+2,
// three of the four shard files of a 3 MiB object each have one flipped byte
// in a different 1 MiB block, so every block still has three good chunks.
// A full GET must return the whole identical body, and `admin heal --deep`
// must heal the object (shard files back byte-identical) and then find it
// healthy. It also checks the two ways a GET that cannot be served must
// fail: before the status line when too few shards exist, and by cutting
// the connection (never a silently short 200) when the damage is found
// mid-stream.
func TestBitrotSpreadAcrossBlocks(t *testing.T) {
	n := harness.StartNode(t, harness.NodeOptions{Name: "bitrot", DriveCount: 4, ECData: 2, ECParity: 2})
	s := n.Signer()
	c := n.Clients(t)
	b := harness.BucketName("bitrot")
	expect(t, s, "PUT", n.URL("/"+b), nil, 200)

	const size = 3 * bitrotBlock
	// "read" is read while damaged (which also queues a heal on read);
	// "unread" is only healed by the admin pass, so that pass must heal it.
	objs := map[string][]byte{"read": harness.RandomBytes(size, 11), "unread": harness.RandomBytes(size, 12)}
	shards := map[string]map[int]string{}
	for _, key := range []string{"read", "unread"} {
		shards[key] = putAndFindShards(t, n, s, b, key, objs[key])
	}
	originals := map[string][]byte{}
	for _, files := range shards {
		for i, p := range files {
			orig, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			originals[p] = orig
			if i < 3 { // shard i is damaged in block i; shard 3 stays clean
				flipByte(t, p, int64(i)*bitrotFrame+32+1000+int64(i))
			}
		}
	}

	// Raw HTTP: the status, the length and every byte, and no body error.
	resp, body, err := s.DoResponse(nil, "GET", n.URL("/"+b+"/read"), nil, 0)
	if err != nil {
		t.Fatalf("GET of the damaged object: %v (status %v, %d of %d bytes received)", err, statusOf(resp), len(body), size)
	}
	if resp.StatusCode != 200 || resp.ContentLength != size || !bytes.Equal(body, objs["read"]) {
		t.Fatalf("GET of the damaged object: status %d, Content-Length %d, %d bytes, identical %v",
			resp.StatusCode, resp.ContentLength, len(body), bytes.Equal(body, objs["read"]))
	}
	// A real client too.
	out := filepath.Join(t.TempDir(), "read.back")
	c.MustAWS("s3", "cp", "--only-show-errors", "s3://"+b+"/read", out)
	if got := harness.SHA256File(t, out); got != harness.SHA256(objs["read"]) {
		t.Fatalf("aws s3 cp of the damaged object: sha256 %s, want %s", got, harness.SHA256(objs["read"]))
	}

	rep := adminHeal(t, n, true)
	t.Logf("deep heal of the damaged objects: %s", rep)
	if rep.Failed != 0 || rep.Lost != 0 || rep.Streams != 2 || rep.Healed < 1 || rep.Healed+rep.Healthy != 2 {
		t.Fatalf("deep heal of the damaged objects: %s; want both healed (the read one may have healed on read)", rep)
	}
	for p, orig := range originals {
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, orig) {
			t.Fatalf("shard file %s not restored byte-identical by the heal (err %v)", p, err)
		}
	}
	if rep := adminHeal(t, n, true); !rep.Settled() || rep.Streams != 2 || !rep.FullRedundancy(4) {
		t.Fatalf("deep heal after healing: %s, want every stream healthy with 4 good shards", rep)
	}
	for key, want := range objs {
		if st, got := do(t, s, "GET", n.URL("/"+b+"/"+key), nil); st != 200 || got != string(want) {
			t.Fatalf("GET %s after heal: status %d, identical %v", key, st, got == string(want))
		}
	}

	t.Run("too-few-shards-fails-before-status", func(t *testing.T) {
		key := "gone"
		files := putAndFindShards(t, n, s, b, key, harness.RandomBytes(size, 13))
		for i := range 3 {
			if err := os.Remove(files[i]); err != nil {
				t.Fatal(err)
			}
		}
		st, got := do(t, s, "GET", n.URL("/"+b+"/"+key), nil)
		if st != http.StatusServiceUnavailable || !strings.Contains(got, "<Code>ServiceUnavailable</Code>") || !strings.Contains(got, "<RequestId>") {
			t.Fatalf("GET with 3 of 4 shards gone: status %d body %q, want 503 ServiceUnavailable before any byte of the object", st, got)
		}
	})

	t.Run("mid-stream-loss-cuts-connection", func(t *testing.T) {
		key := "rotten"
		want := harness.RandomBytes(size, 14)
		files := putAndFindShards(t, n, s, b, key, want)
		for i := range 3 { // three of four chunks of block 1 bad: unreadable
			flipByte(t, files[i], bitrotFrame+32+77)
		}
		resp, body, err := s.DoResponse(nil, "GET", n.URL("/"+b+"/"+key), nil, 0)
		if err == nil {
			t.Fatalf("GET of an object with an unreadable middle block ended cleanly: status %d, %d of %d bytes", resp.StatusCode, len(body), size)
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("GET of an unreadable middle block: %v, want the connection cut (unexpected EOF)", err)
		}
		if resp.StatusCode != 200 || resp.ContentLength != size || len(body) >= size || !bytes.Equal(body, want[:len(body)]) {
			t.Fatalf("GET cut short: status %d, Content-Length %d, received %d bytes (prefix identical %v)",
				resp.StatusCode, resp.ContentLength, len(body), bytes.Equal(body, want[:min(len(body), size)]))
		}
	})
}

// putAndFindShards uploads one object and returns its shard files by shard
// index: the files that appeared on the drives with the upload.
func putAndFindShards(t *testing.T, n *harness.Node, s harness.Signer, bucket, key string, data []byte) map[int]string {
	t.Helper()
	before := map[string]bool{}
	for _, d := range n.Drives() {
		fs, err := harness.ShardFiles(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			before[f.Path] = true
		}
	}
	expect(t, s, "PUT", n.URL("/"+bucket+"/"+key), data, 200)
	files := map[int]string{}
	for _, d := range n.Drives() {
		fs, err := harness.ShardFiles(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if before[f.Path] {
				continue
			}
			base := filepath.Base(f.Path) // <drive>/data/<fan>/<xx>+<data id>+<index>
			i, err := strconv.Atoi(base[strings.LastIndexByte(base, '+')+1:])
			if err != nil {
				t.Fatalf("unexpected shard file name %s", f.Path)
			}
			files[i] = f.Path
		}
	}
	if len(files) != 4 {
		t.Fatalf("%s: found shard files %v, want 4", key, files)
	}
	return files
}

// flipByte inverts the byte at off of a shard file in place.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var one [1]byte
	if _, err := f.ReadAt(one[:], off); err != nil {
		t.Fatal(err)
	}
	one[0] ^= 0xff
	if _, err := f.WriteAt(one[:], off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// adminHeal runs `filesphere admin heal [--deep]` against n.
func adminHeal(t *testing.T, n *harness.Node, deep bool) harness.HealReport {
	t.Helper()
	args := []string{"admin", "heal", "--endpoint", n.Endpoint()}
	if deep {
		args = append(args, "--deep")
	}
	res := harness.RunCommand(defaultTimeout, append(os.Environ(),
		"FILESPHERE_ROOT_USER="+n.AccessKey(), "FILESPHERE_ROOT_PASSWORD="+n.SecretKey()),
		t.TempDir(), harness.BinaryPath(t), args...)
	if res.Err != nil {
		t.Fatalf("admin heal: %v\n%s", res.Err, res.Output)
	}
	var rep harness.HealReport
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("heal output %q: %v", res.Output, err)
	}
	return rep
}

func statusOf(resp *http.Response) any {
	if resp == nil {
		return "none"
	}
	return resp.StatusCode
}
