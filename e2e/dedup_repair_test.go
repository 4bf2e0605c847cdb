package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
	"github.com/filesphere/filesphere/storage"
)

// TestDedupChunksRepairedInBackground: the real binary's background
// repair covers deduplicated chunks, streams of their own: a byte flipped
// in a chunk's shard file that nobody reads is found and healed by the
// scrub (--scrub-period 6s), and a drive folder emptied under the running
// server gets every chunk shard it held rebuilt by the sweep, with no read
// and no `admin heal`. Afterwards a deep heal finds every chunk at full
// redundancy and admin verify reads every version back through its chunks.
func TestDedupChunksRepairedInBackground(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "dedup-repair", DriveCount: 4, ECData: 2, ECParity: 2,
		ExtraArgs: []string{"--scrub-period", "6s", "--repair-interval", "1s"}})
	s := n.Signer()
	b := harness.BucketName("dedup-repair")
	expect(t, s, "PUT", n.URL("/"+b), nil, 200)
	env := []string{"FILESPHERE_ROOT_USER=" + n.AccessKey(), "FILESPHERE_ROOT_PASSWORD=" + n.SecretKey()}
	admin := func(args ...string) harness.Result {
		t.Helper()
		r := runFilesphere(t, t.TempDir(), env, append(append([]string{"admin"}, args...), "--endpoint", n.Endpoint())...)
		if r.Err != nil {
			t.Fatalf("admin %v: %s", args, r)
		}
		return r
	}
	admin("dedup", "enable", b)
	objs := map[string][]byte{}
	for i := range 3 {
		key := fmt.Sprintf("obj-%d", i)
		objs[key] = harness.RandomBytes(3<<20, uint64(60+i))
		expect(t, s, "PUT", n.URL("/"+b+"/"+key), objs[key], 200)
	}
	// EC 2+2 on four drives: every chunk has one shard file on each.
	files, err := harness.ShardFiles(n.Drives()[1])
	if err != nil || len(files) < 3 {
		t.Fatalf("%d shard files on a drive, %v; want one per chunk, several", len(files), err)
	}
	chunks := len(files)

	// Bitrot in a chunk shard nobody reads: the scrub heals it.
	victim := files[0].Path
	orig, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, victim, 32+4242) // inside the first frame's data: same size, only a hash check finds it
	flipped := time.Now()
	err = harness.Eventually(90*time.Second, 250*time.Millisecond, func() error {
		got, err := os.ReadFile(victim)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, orig) {
			return fmt.Errorf("chunk shard still damaged %v after the flip", time.Since(flipped).Round(time.Second))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the scrub healed the flipped chunk shard within %v", time.Since(flipped).Round(100*time.Millisecond))

	// An emptied drive: the sweep rebuilds its chunk shards.
	wiped := n.Drives()[0]
	if _, err := harness.EmptyDrive(wiped); err != nil {
		t.Fatal(err)
	}
	emptied := time.Now()
	err = harness.Eventually(60*time.Second, 250*time.Millisecond, func() error {
		if got, _, err := harness.ShardBytes(wiped); err != nil || got != chunks {
			return fmt.Errorf("%d of %d chunk shard files back on the emptied drive (%v)", got, chunks, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the emptied drive's %d chunk shards were rebuilt in the background %v after", chunks, time.Since(emptied).Round(100*time.Millisecond))

	if rep := adminHeal(t, n, true); !rep.Settled() || rep.Streams != chunks || !rep.FullRedundancy(4) {
		t.Fatalf("deep heal after the background repairs: %s, want the %d chunk streams healthy", rep, chunks)
	}
	var vr storage.VerifyReport
	if r := admin("verify", b, "--json"); json.Unmarshal([]byte(r.Stdout), &vr) != nil || vr.Checked != len(objs) || vr.OK != len(objs) {
		t.Fatalf("verify: %+v\n%s", vr, r)
	}
	for key, want := range objs {
		if got := expect(t, s, "GET", n.URL("/"+b+"/"+key), nil, 200); got != string(want) {
			t.Fatalf("%s reads back %d other bytes", key, len(got))
		}
	}
}
