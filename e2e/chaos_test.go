package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/e2e/harness"
)

// ChaosLongEnv selects the long chaos run (more operations, larger
// objects, three rounds of faults); CI runs the short one.
const ChaosLongEnv = "FILESPHERE_CHAOS_LONG"

// ChaosSeedEnv fixes the chaos test's random choices (nodes, operations,
// damaged files) to reproduce a run; the seed is logged.
const ChaosSeedEnv = "FILESPHERE_CHAOS_SEED"

// chaosProfile sizes a chaos run.
type chaosProfile struct {
	name     string
	workers  int           // concurrent clients
	keys     int           // keys per worker and bucket
	pace     time.Duration // pause between one worker's operations
	maxSize  int           // largest ordinary object
	budget   int64         // bytes of ordinary PUTs; after it they are mostly inline
	spread   time.Duration // the budget is released evenly over this time
	big      []int         // the few large objects, one per fault step
	rounds   int           // rounds of the fault schedule
	down     time.Duration // how long a killed node stays down (< --lost-after)
	flips    int           // shard files damaged by a bit-flip fault
	recovery time.Duration // deadline for full redundancy after a fault
	settle   time.Duration // deadline for the final settling
}

var (
	chaosShort = chaosProfile{name: "short", workers: 4, keys: 20, pace: 20 * time.Millisecond,
		maxSize: 2 << 20, budget: 64 << 20, spread: 25 * time.Second, big: []int{16 << 20, 24<<20 + 7}, rounds: 1,
		down: 5 * time.Second, flips: 8, recovery: 60 * time.Second, settle: 90 * time.Second}
	chaosLong = chaosProfile{name: "long", workers: 5, keys: 50, pace: 25 * time.Millisecond,
		maxSize: 8 << 20, budget: 150 << 20, spread: 150 * time.Second, big: []int{64 << 20, 33<<20 + 5, 64<<20 - 1, 16 << 20}, rounds: 3,
		down: 8 * time.Second, flips: 25, recovery: 120 * time.Second, settle: 4 * time.Minute}
)

// TestChaos runs a 6-node cluster (2 drives per node, EC 3+2) under a mixed
// workload of aws-sdk-go-v2 clients spread over the live nodes (PUTs of 0 B
// to tens of MiB, GETs, DELETEs, versioned overwrites, permanent version
// deletes, in a versioned and a plain bucket) while a schedule kills -9
// and restarts a node, empties a running node's drive folders, flips bytes
// in shard files, adds a node and drains another. The clients record every
// acknowledged write (key, version id, SHA-256) and delete. After the
// cluster settles (a deep heal finds every stream healthy), every
// acknowledged write must read back identical, every acknowledged delete
// must stay deleted, and no read may ever have returned wrong bytes.
// FILESPHERE_CHAOS_LONG=1 runs more operations, larger objects and three
// rounds of faults.
func TestChaos(t *testing.T) {
	p := chaosShort
	if os.Getenv(ChaosLongEnv) == "1" {
		p = chaosLong
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(ChaosSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", ChaosSeedEnv, s, err)
		}
		seed = v
	}
	const k, m = 3, 2
	t.Logf("chaos %s: seed %d (%s=%d reproduces the choices)", p.name, seed, ChaosSeedEnv, seed)
	start := time.Now()
	c := harness.StartCluster(t, harness.ClusterOptions{Nodes: 6, DrivesPerNode: 2, ECData: k, ECParity: m,
		ExtraArgs: []string{"--repair-interval", "2s", "--lost-after", "20s"}})
	t.Logf("6-node cluster (2 drives each, EC %d+%d) healthy after %v", k, m, time.Since(start).Round(time.Millisecond))

	e := &chaosEnv{t: t, c: c, p: p, width: k + m, rng: rand.New(rand.NewPCG(seed, 1)), seed: seed,
		led: newLedger(), live: map[int]*s3.Client{}, stop: make(chan struct{}), bigCh: make(chan int, len(p.big))}
	for _, i := range c.Members() {
		e.live[i] = c.Node(i).SDKClient()
	}
	ctx := context.Background()
	e.ver, e.plain = harness.BucketName("chaos-ver"), harness.BucketName("chaos-plain")
	for _, b := range []string{e.ver, e.plain} {
		if _, err := e.live[1].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.live[1].PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(e.ver),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}

	// The workload runs until the fault schedule ends.
	e.started = time.Now()
	var wg sync.WaitGroup
	for w := range p.workers {
		wg.Add(1)
		go func() { defer wg.Done(); e.worker(w) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); e.bigWriter() }()
	stopped := false
	stopWorkload := func() {
		if !stopped {
			stopped = true
			close(e.stop)
			wg.Wait()
		}
	}
	defer stopWorkload()

	if err := harness.Eventually(60*time.Second, 50*time.Millisecond, func() error {
		if n := e.led.putAcks(); n < 40 {
			return fmt.Errorf("only %d PUTs acknowledged", n)
		}
		return nil
	}); err != nil {
		t.Fatalf("workload before the faults: %v\n%s", err, e.led.errorSample())
	}
	chaosStart := time.Now()
	for round := 1; round <= p.rounds; round++ {
		e.runRound(round)
	}
	chaosTime := time.Since(chaosStart)
	stopWorkload()
	for _, i := range c.Members() {
		if !c.Node(i).Running() {
			t.Errorf("%s is not running after the fault schedule (crash?): %v", c.ID(i), c.Node(i).ExitErr())
		}
	}
	// Even after a failed step, settle and verify: what was lost matters
	// most.
	// Settle: a background pass at full redundancy, then a deep heal that
	// finds every stream healthy.
	settleStart := time.Now()
	if _, err := e.waitRepaired(settleStart, false, p.settle); err != nil {
		t.Errorf("after the workload stopped: %v", err)
	}
	final, err := e.deepHealUntilSettled(p.settle)
	settleTime := time.Since(settleStart)
	if err != nil {
		t.Errorf("cluster never settled at full redundancy: %v", err)
	}
	e.verify()
	e.summary(chaosTime, settleTime, final)
	for i := 1; i <= c.Len(); i++ {
		if lines := c.ProcessFailures(i); len(lines) > 0 {
			t.Errorf("%s crashed: %s", c.ID(i), strings.Join(lines, "\n"))
		}
	}
}

// chaosEnv is one chaos run: the cluster, the live clients, the ledger of
// acknowledged operations and the fault results.
type chaosEnv struct {
	t          *testing.T
	c          *harness.Cluster
	p          chaosProfile
	width      int
	rng        *rand.Rand // the schedule's choices (test goroutine only)
	seed       uint64
	ver, plain string
	led        *ledger
	stop       chan struct{}
	bigCh      chan int
	bigNext    int
	bodySeq    atomic.Uint64
	started    time.Time // when the workload started
	putBytes   atomic.Int64

	mu   sync.Mutex
	live map[int]*s3.Client // nodes the workload uses

	faults []string // one line per fault for the summary
	// known lists streams a failed recovery wait already reported as not
	// repairable; later waits excuse them so the schedule can go on.
	known map[string]bool
}

// streamName is the object name of a heal report's failed_objects entry.
func streamName(failed string) string {
	name, _, _ := strings.Cut(failed, ": ")
	return name
}

// healthy reports whether a pass shows full redundancy (and, with placed,
// every shard in place), excusing the streams already reported. A
// background pass is incremental: it must also have left nothing
// outstanding (queued streams, a sweep, offline drives).
func (e *chaosEnv) healthy(r *harness.HealReport, placed bool) bool {
	if r.Outstanding() {
		return false
	}
	degraded := 0
	for good, n := range r.Redundancy {
		if good != e.width {
			degraded += n
		}
	}
	for _, f := range r.FailedObjects {
		if !e.known[streamName(f)] {
			return false
		}
	}
	if r.Failed != len(r.FailedObjects) || degraded > r.Failed {
		return false
	}
	return !placed || (r.ShardsMoved == 0 && r.Healthy+r.Failed == r.Streams)
}

// remember records the streams a failed wait left unrepaired.
func (e *chaosEnv) remember(r *harness.HealReport) {
	if r == nil {
		return
	}
	for _, f := range r.FailedObjects {
		if e.known == nil {
			e.known = map[string]bool{}
		}
		e.known[streamName(f)] = true
	}
}

// client picks a live node at random.
func (e *chaosEnv) client(rng *rand.Rand) (int, *s3.Client) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]int, 0, len(e.live))
	for i := range e.live {
		ids = append(ids, i)
	}
	sort.Ints(ids)
	i := ids[rng.IntN(len(ids))]
	return i, e.live[i]
}

func (e *chaosEnv) setLive(i int, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if on {
		e.live[i] = e.c.Node(i).SDKClient()
	} else {
		delete(e.live, i)
	}
}

func (e *chaosEnv) liveIDs() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []int
	for i := range e.live {
		ids = append(ids, i)
	}
	sort.Ints(ids)
	return ids
}

func (e *chaosEnv) stopped() bool {
	select {
	case <-e.stop:
		return true
	default:
		return false
	}
}

// size draws an ordinary object size: mostly small (inline up to 16 KiB),
// some erasure-coded up to maxSize; once the data budget is spent, mostly
// inline.
func (e *chaosEnv) size(rng *rand.Rand) int {
	r := rng.IntN(100)
	var n int
	switch {
	case r < 8:
		n = 0
	case r < 40:
		n = 1 + rng.IntN(16<<10)
	case r < 82:
		n = 16<<10 + 1 + rng.IntN(496<<10)
	case r < 97:
		n = 512<<10 + rng.IntN(max(e.p.maxSize/4-512<<10, 1))
	default:
		n = e.p.maxSize/4 + rng.IntN(e.p.maxSize-e.p.maxSize/4)
	}
	if n > 16<<10 && e.putBytes.Load() > e.budgetNow() {
		// Budget spent: mostly inline objects (no shards), a few small
		// erasure-coded ones, so streams and repair passes stay bounded.
		n = rng.IntN(16 << 10)
		if rng.IntN(10) == 0 {
			n = 16<<10 + 1 + rng.IntN(48<<10)
		}
	}
	return n
}
