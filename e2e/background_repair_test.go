package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
)

// TestScrubHealsBitrotInBackground: with a short --scrub-period the
// server's background scrub reads every shard once per period; a flipped
// byte in a shard file nobody reads is found and healed, the file comes
// back byte-identical without any read or `admin heal`, and `heal status`
// shows the finished cycle as a full scan.
func TestScrubHealsBitrotInBackground(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "scrub", DriveCount: 4, ECData: 2, ECParity: 2,
		ExtraArgs: []string{"--scrub-period", "6s", "--repair-interval", "1s"}})
	s := n.Signer()
	b := harness.BucketName("scrub")
	expect(t, s, "PUT", n.URL("/"+b), nil, 200)
	var files map[int]string
	for i := range 3 {
		f := putAndFindShards(t, n, s, b, fmt.Sprintf("obj-%d", i), harness.RandomBytes(3*bitrotBlock, uint64(20+i)))
		if i == 0 {
			files = f
		}
	}
	orig, err := os.ReadFile(files[1])
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, files[1], bitrotFrame+32+4242) // block 1 of shard 1; same size, so only a hash check finds it
	flipped := time.Now()

	var st harness.HealStatus
	err = harness.Eventually(90*time.Second, 250*time.Millisecond, func() error {
		got, err := os.ReadFile(files[1])
		if err != nil {
			return err
		}
		if !bytes.Equal(got, orig) {
			return fmt.Errorf("shard file still damaged %v after the flip", time.Since(flipped).Round(time.Second))
		}
		r := runFilesphere(t, t.TempDir(), []string{"FILESPHERE_ROOT_USER=" + n.AccessKey(), "FILESPHERE_ROOT_PASSWORD=" + n.SecretKey()},
			"admin", "heal", "status", "--json", "--endpoint", n.Endpoint())
		if r.Err != nil {
			return fmt.Errorf("heal status: %s", r)
		}
		if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
			return err
		}
		if st.Scrub == nil || st.Scrub.Last == nil || st.Scrub.Last.Streams < 3 {
			return fmt.Errorf("no finished scrub cycle over the 3 objects yet: %+v", st.Scrub)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scrub healed the flipped shard within %v; scrub cycle %d, last cycle %+v", time.Since(flipped).Round(100*time.Millisecond), st.Scrub.Cycle, *st.Scrub.Last)
	if st.Last == nil || !st.Last.Incremental || st.LastFull != nil {
		t.Fatalf("heal status %+v: the healing was a background pass, no admin heal ran", st)
	}
	if rep := adminHeal(t, n, true); !rep.Settled() || rep.Streams != 3 || !rep.FullRedundancy(4) {
		t.Fatalf("deep heal after the scrub: %s, want every stream healthy", rep)
	}
}

// TestEmptiedDriveRebuiltInBackground: a drive folder emptied under the
// running server comes back as a new drive instance; the background drive
// check notices and a sweep rebuilds every shard it held, with no read
// and no `admin heal`.
func TestEmptiedDriveRebuiltInBackground(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "wiped", DriveCount: 4, ECData: 2, ECParity: 2,
		ExtraArgs: []string{"--repair-interval", "1s"}})
	s := n.Signer()
	b := harness.BucketName("wiped")
	expect(t, s, "PUT", n.URL("/"+b), nil, 200)
	for i := range 5 {
		putAndFindShards(t, n, s, b, fmt.Sprintf("obj-%d", i), harness.RandomBytes(1<<20+i, uint64(40+i)))
	}
	victim := n.Drives()[0]
	files, _, err := harness.ShardBytes(victim)
	if err != nil || files != 5 {
		t.Fatalf("%d shard files on %s before, %v; want one per object", files, victim, err)
	}
	if _, err := harness.EmptyDrive(victim); err != nil {
		t.Fatal(err)
	}
	emptied := time.Now()
	err = harness.Eventually(60*time.Second, 250*time.Millisecond, func() error {
		if got, _, err := harness.ShardBytes(victim); err != nil || got != files {
			return fmt.Errorf("%d of %d shard files back on the emptied drive (%v)", got, files, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the emptied drive's %d shards were rebuilt in the background %v after", files, time.Since(emptied).Round(100*time.Millisecond))
	if rep := adminHeal(t, n, true); !rep.Settled() || rep.Streams != 5 || !rep.FullRedundancy(4) {
		t.Fatalf("deep heal after the rebuild: %s, want every stream healthy", rep)
	}
}
