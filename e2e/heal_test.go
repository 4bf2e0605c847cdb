package e2e

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
)

// TestDriveLossAndHeal uploads objects, deletes two of the four drive
// folders of the running server, reads everything back identical, runs
// `filesphere admin heal`, and checks that the shards are back.
func TestDriveLossAndHeal(t *testing.T) {
	n := harness.StartNode(t, harness.NodeOptions{Name: "heal"})
	c := n.Clients(t)
	dir := t.TempDir()
	c.MustAWS("s3", "mb", "s3://heal")
	want := map[string]string{}
	for i, size := range []int64{0, 1, 100 << 10, 3<<20 + 5, 20 << 20} {
		p := filepath.Join(dir, "f"+strconv.Itoa(i))
		sum := harness.WriteRandomFile(t, p, size, uint64(i+1))
		key := "obj" + strconv.Itoa(i)
		c.MustAWS("s3", "cp", "--only-show-errors", p, "s3://heal/"+key)
		want[key] = sum
	}
	drives := []string{filepath.Join(n.DataDir(), "drive1"), filepath.Join(n.DataDir(), "drive3")}
	before := countShards(t, drives[0]) + countShards(t, drives[1])
	if before == 0 {
		t.Fatal("no shards on the drives before the loss")
	}
	for _, d := range drives {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}
	for key, sum := range want {
		out := filepath.Join(dir, key+".back")
		c.MustAWS("s3", "cp", "--only-show-errors", "s3://heal/"+key, out)
		if got := harness.SHA256File(t, out); got != sum {
			t.Fatalf("%s read back with two drives gone: sha256 %s, want %s", key, got, sum)
		}
	}
	var rep struct {
		Streams, Healed, ShardsHealed, Failed int
		FailedObjects                         []string `json:"failed_objects"`
	}
	res := harness.RunCommand(defaultTimeout, append(os.Environ(),
		"FILESPHERE_ROOT_USER="+n.AccessKey(), "FILESPHERE_ROOT_PASSWORD="+n.SecretKey()),
		dir, harness.BinaryPath(t), "admin", "heal", "--endpoint", n.Endpoint())
	if res.Err != nil {
		t.Fatalf("admin heal: %v\n%s", res.Err, res.Output)
	}
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("heal output %q: %v", res.Output, err)
	}
	// Reads that had to reconstruct queue heals too, so some objects may
	// already be whole again; none may fail.
	if rep.Failed != 0 || rep.Streams == 0 {
		t.Fatalf("heal report %+v, want every damaged object healed", rep)
	}
	after := countShards(t, drives[0]) + countShards(t, drives[1])
	if after != before {
		t.Fatalf("%d shards on the lost drives after heal, want %d as before", after, before)
	}
	res = harness.RunCommand(defaultTimeout, append(os.Environ(),
		"FILESPHERE_ROOT_USER="+n.AccessKey(), "FILESPHERE_ROOT_PASSWORD="+n.SecretKey()),
		dir, harness.BinaryPath(t), "admin", "heal", "--deep", "--endpoint", n.Endpoint())
	var again struct{ Streams, Healthy, Failed int }
	if res.Err != nil || json.Unmarshal([]byte(res.Stdout), &again) != nil || again.Healthy != again.Streams || again.Failed != 0 {
		t.Fatalf("deep heal after healing: %+v %v\n%s", again, res.Err, res.Output)
	}
}

const defaultTimeout = 2 * time.Minute

func countShards(t *testing.T, driveDir string) int {
	n := 0
	_ = filepath.WalkDir(filepath.Join(driveDir, "data"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
