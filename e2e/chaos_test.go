package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
// every shard in place), excusing the streams already reported.
func (e *chaosEnv) healthy(r *harness.HealReport, placed bool) bool {
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

// worker runs random operations on its own keys (so that each key's
// history is sequential and the ledger knows what each key must hold).
func (e *chaosEnv) worker(w int) {
	rng := rand.New(rand.NewPCG(e.seed, uint64(100+w)))
	for !e.stopped() {
		bucket := e.plain
		if rng.IntN(2) == 0 {
			bucket = e.ver
		}
		key := fmt.Sprintf("w%d/k%03d", w, rng.IntN(e.p.keys))
		r := rng.IntN(100)
		switch {
		case r < 45:
			e.put(rng, bucket, key, e.size(rng))
		case r < 75:
			e.get(rng, bucket, key)
		case r < 87:
			e.del(rng, bucket, key)
		case bucket == e.ver && r < 93:
			e.delVersion(rng, key)
		case bucket == e.ver:
			e.getVersion(rng, key)
		default:
			e.get(rng, bucket, key)
		}
		time.Sleep(e.p.pace)
	}
}

// bigWriter PUTs one large object (versioned bucket) per size the
// schedule sends, then reads it back.
func (e *chaosEnv) bigWriter() {
	rng := rand.New(rand.NewPCG(e.seed, 99))
	n := 0
	for {
		select {
		case <-e.stop:
			return
		case size := <-e.bigCh:
			key := fmt.Sprintf("big/%d", n%2) // every other one overwrites: versions
			n++
			e.put(rng, e.ver, key, size)
			e.get(rng, e.ver, key)
		}
	}
}

// budgetNow is the part of the data budget released so far.
func (e *chaosEnv) budgetNow() int64 {
	f := float64(time.Since(e.started)) / float64(e.p.spread)
	return int64(min(f, 1) * float64(e.p.budget))
}

func opTimeout(size int) time.Duration {
	return 30*time.Second + time.Duration(size>>20)*2*time.Second
}

func (e *chaosEnv) put(rng *rand.Rand, bucket, key string, size int) {
	body := harness.RandomBytes(size, e.seed^(e.bodySeq.Add(1)<<20))
	st := objState{exists: true, sha: harness.SHA256(body), size: size}
	e.led.written(bucket, key, st.sha)
	node, cl := e.client(rng)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout(size))
	defer cancel()
	out, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		e.led.fail(&e.led.putFail, fmt.Sprintf("PUT %s/%s (%d B) via %s: %v", bucket, key, size, e.c.ID(node), err))
		e.led.unacked(bucket, key, st)
		return
	}
	st.vid = aws.ToString(out.VersionId)
	if bucket == e.ver && st.vid == "" {
		e.led.problem("PUT %s/%s via %s acknowledged without a version id in a versioned bucket", bucket, key, e.c.ID(node))
	}
	e.putBytes.Add(int64(size))
	e.led.mu.Lock()
	e.led.putAck++
	e.led.putAckBytes += int64(size)
	e.led.mu.Unlock()
	e.led.acked(bucket, key, st)
}

// readBody GETs (a version of) an object and returns its SHA-256 and
// size; notFound is set for 404 NoSuchKey/NoSuchVersion.
func readBody(ctx context.Context, cl *s3.Client, bucket, key, vid string) (sum string, size int, notFound bool, err error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	out, err := cl.GetObject(ctx, in)
	if err != nil {
		st, code := apiStatus(err)
		return "", 0, st == 404 && (code == "NoSuchKey" || code == "NoSuchVersion"), err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return "", 0, false, fmt.Errorf("reading the body: %w", err)
	}
	return harness.SHA256(b), len(b), false, nil
}

func (e *chaosEnv) get(rng *rand.Rand, bucket, key string) {
	node, cl := e.client(rng)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout(64<<20))
	defer cancel()
	sum, size, notFound, err := readBody(ctx, cl, bucket, key, "")
	switch {
	case err == nil:
		e.led.count(&e.led.getOK)
		e.led.checkLatest(bucket, key, objState{exists: true, sha: sum, size: size}, e.c.ID(node), false)
	case notFound:
		e.led.count(&e.led.getNotFound)
		e.led.checkLatest(bucket, key, objState{}, e.c.ID(node), false)
	default:
		e.led.fail(&e.led.getFail, fmt.Sprintf("GET %s/%s via %s: %v", bucket, key, e.c.ID(node), err))
	}
}

func (e *chaosEnv) del(rng *rand.Rand, bucket, key string) {
	node, cl := e.client(rng)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		e.led.fail(&e.led.delFail, fmt.Sprintf("DELETE %s/%s via %s: %v", bucket, key, e.c.ID(node), err))
		e.led.unacked(bucket, key, objState{})
		return
	}
	e.led.count(&e.led.delAck)
	e.led.acked(bucket, key, objState{vid: aws.ToString(out.VersionId)})
}

// delVersion permanently deletes an acknowledged version that is not the
// key's latest one.
func (e *chaosEnv) delVersion(rng *rand.Rand, key string) {
	vid, ok := e.led.olderVersion(rng, e.ver, key)
	if !ok {
		return
	}
	node, cl := e.client(rng)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(e.ver), Key: aws.String(key), VersionId: aws.String(vid)})
	if err != nil {
		e.led.fail(&e.led.vdelFail, fmt.Sprintf("DELETE %s/%s?versionId=%s via %s: %v", e.ver, key, vid, e.c.ID(node), err))
		e.led.versionDeleted(e.ver, key, vid, false)
		return
	}
	e.led.count(&e.led.vdelAck)
	e.led.versionDeleted(e.ver, key, vid, true)
}

// getVersion reads an acknowledged version (or one deleted for good) by id.
func (e *chaosEnv) getVersion(rng *rand.Rand, key string) {
	vid, want, gone, ok := e.led.anyVersion(rng, e.ver, key)
	if !ok {
		return
	}
	node, cl := e.client(rng)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout(64<<20))
	defer cancel()
	sum, _, notFound, err := readBody(ctx, cl, e.ver, key, vid)
	where := fmt.Sprintf("%s/%s?versionId=%s via %s", e.ver, key, vid, e.c.ID(node))
	switch {
	case err == nil && gone:
		e.led.problem("GET %s: a version whose deletion was acknowledged is back", where)
	case err == nil && sum != want.sha:
		e.led.badRead(e.ver, key, sum, "GET "+where)
	case err == nil:
		e.led.count(&e.led.vgetOK)
	case notFound && gone:
		e.led.count(&e.led.vgetOK)
	case notFound:
		e.led.lostVersion("GET %s: 404 for an acknowledged version: %v", where, err)
	default:
		e.led.fail(&e.led.vgetFail, fmt.Sprintf("GET %s: %v", where, err))
	}
}

// objState is what a key (or a version) holds: exists=false is deleted (a
// delete marker in the versioned bucket).
type objState struct {
	exists bool
	sha    string
	size   int
	vid    string
}

func (s objState) same(o objState) bool { return s.exists == o.exists && (!s.exists || s.sha == o.sha) }

func (s objState) String() string {
	if !s.exists {
		return "deleted"
	}
	return fmt.Sprintf("%d B sha256 %.12s", s.size, s.sha)
}

// keyRecord is the client's knowledge of one key.
type keyRecord struct {
	acked    objState   // the latest acknowledged state
	pending  []objState // outcomes of unacknowledged operations since then
	zombies  []objState // unacknowledged outcomes before it (could only land late)
	written  map[string]bool
	versions map[string]objState // acknowledged data versions (versioned bucket)
	gone     map[string]bool     // versions whose permanent deletion was acknowledged
	maybe    map[string]objState // versions whose deletion was not acknowledged
}

// ledger records every acknowledged write and delete and checks reads.
type ledger struct {
	mu   sync.Mutex
	keys map[string]*keyRecord

	putAck, putFail, getOK, getNotFound, getFail   int
	delAck, delFail, vdelAck, vdelFail             int
	vgetOK, vgetFail                               int
	putAckBytes                                    int64
	corrupt, stale, lost, late, spurious404        int
	problems, errSample                            []string
	failByKind                                     map[string]int
	verifiedLatest, verifiedVersions, verifiedGone int
	unknownOK, unreadable                          int // listed versions the clients never saw acknowledged
}

func newLedger() *ledger {
	return &ledger{keys: map[string]*keyRecord{}, failByKind: map[string]int{}}
}

func (l *ledger) rec(bucket, key string) *keyRecord {
	r := l.keys[bucket+"/"+key]
	if r == nil {
		r = &keyRecord{written: map[string]bool{}, versions: map[string]objState{}, gone: map[string]bool{}, maybe: map[string]objState{}}
		l.keys[bucket+"/"+key] = r
	}
	return r
}

func (l *ledger) count(n *int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*n++
}

func (l *ledger) putAcks() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.putAck
}

func (l *ledger) fail(n *int, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*n++
	if len(l.errSample) < 12 {
		l.errSample = append(l.errSample, time.Now().Format("15:04:05.000")+" "+msg)
	}
	kind := "other"
	for _, k := range []string{"connection refused", "connection reset", "EOF", "timeout", "deadline", "StatusCode: 500", "StatusCode: 503", "StatusCode: 404"} {
		if strings.Contains(msg, k) {
			kind = k
			break
		}
	}
	l.failByKind[kind]++
}

func (l *ledger) problem(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.problemLocked(format, args...)
}

func (l *ledger) problemLocked(format string, args ...any) {
	if len(l.problems) < 50 {
		l.problems = append(l.problems, time.Now().Format("15:04:05.000")+" "+fmt.Sprintf(format, args...))
	}
}

func (l *ledger) lostVersion(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lost++
	l.problemLocked("LOST: "+format, args...)
}

func (l *ledger) written(bucket, key, sha string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec(bucket, key).written[sha] = true
}

func (l *ledger) acked(bucket, key string, st objState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rec(bucket, key)
	r.zombies = append(r.zombies, r.pending...)
	r.pending = nil
	r.acked = st
	if st.exists && st.vid != "" {
		r.versions[st.vid] = st
	}
}

func (l *ledger) unacked(bucket, key string, st objState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rec(bucket, key)
	r.pending = append(r.pending, st)
}

// olderVersion picks an acknowledged version that is not the latest
// acknowledged state.
func (l *ledger) olderVersion(rng *rand.Rand, bucket, key string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rec(bucket, key)
	var ids []string
	for vid := range r.versions {
		if vid != r.acked.vid {
			ids = append(ids, vid)
		}
	}
	if len(ids) == 0 {
		return "", false
	}
	sort.Strings(ids)
	return ids[rng.IntN(len(ids))], true
}

func (l *ledger) anyVersion(rng *rand.Rand, bucket, key string) (string, objState, bool, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rec(bucket, key)
	var ids []string
	for vid := range r.versions {
		ids = append(ids, vid)
	}
	for vid := range r.gone {
		ids = append(ids, vid)
	}
	if len(ids) == 0 {
		return "", objState{}, false, false
	}
	sort.Strings(ids)
	vid := ids[rng.IntN(len(ids))]
	return vid, r.versions[vid], r.gone[vid], true
}

func (l *ledger) versionDeleted(bucket, key, vid string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rec(bucket, key)
	if ok {
		r.gone[vid] = true
	} else {
		r.maybe[vid] = r.versions[vid]
	}
	delete(r.versions, vid)
}

// badRead classifies a read whose bytes are not what the key must hold:
// bytes never written are corrupt, an older body is a stale read (a lost
// write).
func (l *ledger) badRead(bucket, key, sum, what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rec(bucket, key).written[sum] {
		l.stale++
		l.problemLocked("STALE: %s returned an older body (sha256 %.12s)", what, sum)
		return
	}
	l.corrupt++
	l.problemLocked("CORRUPT: %s returned bytes never written (sha256 %.12s)", what, sum)
}

// checkLatest checks what a GET of the latest version returned against
// the acknowledged state and the possible outcomes of unacknowledged
// operations since. final marks the verification after settling.
func (l *ledger) checkLatest(bucket, key string, got objState, via string, final bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rec(bucket, key)
	if got.same(r.acked) {
		return true
	}
	for _, p := range r.pending {
		if got.same(p) {
			return true
		}
	}
	for _, z := range r.zombies {
		if got.same(z) {
			l.late++
			l.problemLocked("late: GET %s/%s via %s saw the outcome of an unacknowledged operation issued before the last acknowledged one (%s, acknowledged %s)", bucket, key, via, got, r.acked)
			return true
		}
	}
	what := fmt.Sprintf("GET %s/%s via %s (final %v; acknowledged %s, %d unacknowledged since)", bucket, key, via, final, r.acked, len(r.pending))
	switch {
	case got.exists && r.written[got.sha]:
		l.stale++
		l.problemLocked("STALE: %s returned an older body %s", what, got)
	case got.exists:
		l.corrupt++
		l.problemLocked("CORRUPT: %s returned bytes never written: %s", what, got)
	default:
		l.spurious404++
		l.lost++
		l.problemLocked("LOST: %s answered 404", what)
	}
	return false
}

func (l *ledger) errorSample() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.errSample, "\n")
}

// runRound runs one round of the fault schedule; each fault is followed
// by a wait for full redundancy, which is timed.
func (e *chaosEnv) runRound(round int) {
	e.sendBig()
	// 1. kill -9 a node (the leader in odd rounds) and restart it; in
	// later rounds also empty another node's drives while it is down.
	victim := e.pickNode(round%2 == 1, 0)
	e.killRestart(round, victim)
	// 2. Empty a running node's drive folders.
	e.emptyDrives(round, e.pickNode(false, 0))
	e.sendBig()
	// 3. Flip bytes in shard files of one node.
	e.flipShards(round, e.pickNode(false, 0))
	// 4. Add a node; 5. drain another one.
	e.sendBig()
	added := e.join(round)
	e.drain(round, e.pickNode(false, added))
}

// sendBig hands the next large object (if any is left) to the big
// writer.
func (e *chaosEnv) sendBig() {
	if e.bigNext < len(e.p.big) {
		e.bigCh <- e.p.big[e.bigNext]
		e.bigNext++
	}
}

// pickNode returns the leader when leader is set, otherwise a random live
// node that is not the leader nor avoid.
func (e *chaosEnv) pickNode(leader bool, avoid int) int {
	l := e.currentLeader()
	if leader && l != 0 {
		return l
	}
	var cand []int
	for _, i := range e.liveIDs() {
		if i != l && i != avoid {
			cand = append(cand, i)
		}
	}
	return cand[e.rng.IntN(len(cand))]
}

// currentLeader asks the cluster for its leader (not cached: leadership
// also moves without faults when the machine is loaded).
func (e *chaosEnv) currentLeader() int {
	l, err := e.c.WaitLeader(30 * time.Second)
	if err != nil {
		e.t.Logf("no leader: %v", err)
		return 0
	}
	return l
}

// passMeter sums the leader's background repair passes that end after it
// was created (by the pass counter of `admin heal status`).
type passMeter struct {
	since          time.Time
	leader, passes int
	n              int // passes counted
	missed         int // passes that ended between two polls (not summed)
	moved, healed  int
	bytes          int64
	leaderChanges  int
}

func (e *chaosEnv) newMeter() *passMeter {
	pm := &passMeter{since: time.Now()}
	l := e.currentLeader()
	if st, err := e.c.HealStatus(l); err == nil {
		pm.leader, pm.passes = l, st.Passes
	}
	return pm
}

// poll reads the leader's heal status, adds the passes ended since the
// last poll, and returns the last pass.
func (e *chaosEnv) poll(pm *passMeter) (*harness.HealReport, error) {
	l := e.currentLeader()
	if l == 0 {
		return nil, errors.New("no leader")
	}
	st, err := e.c.HealStatus(l)
	if err != nil {
		return nil, err
	}
	if l != pm.leader {
		// A new leader: count its last pass only if it began after the
		// meter started.
		if pm.leader != 0 {
			pm.leaderChanges++
		}
		pm.leader, pm.passes = l, st.Passes
		if st.Last != nil && st.Last.Started.After(pm.since) {
			pm.passes--
		}
	}
	if st.Passes > pm.passes && st.Last != nil {
		pm.missed += st.Passes - pm.passes - 1
		pm.n++
		pm.moved += st.Last.ShardsMoved
		pm.healed += st.Last.ShardsHealed
		pm.bytes += st.Last.BytesWritten
		pm.passes = st.Passes
	}
	return st.Last, nil
}

func (pm *passMeter) String() string {
	s := fmt.Sprintf("%d passes: %d shards moved, %d rebuilt, %.1f MiB written", pm.n, pm.moved, pm.healed, float64(pm.bytes)/(1<<20))
	if pm.missed > 0 {
		s += fmt.Sprintf(" (%d passes not seen)", pm.missed)
	}
	if pm.leaderChanges > 0 {
		s += fmt.Sprintf(" (leader changed %d times)", pm.leaderChanges)
	}
	return s
}

// waitRepaired polls the leader's heal status until a background pass
// that started after since reports failed=0 and every stream at full
// redundancy (and, with placed, no shard moved: all where the ring wants
// them). It returns the meter of the passes seen.
func (e *chaosEnv) waitRepaired(since time.Time, placed bool, timeout time.Duration) (*passMeter, error) {
	pm := e.newMeter()
	var seen *harness.HealReport
	err := harness.Eventually(timeout, 200*time.Millisecond, func() error {
		last, err := e.poll(pm)
		if err != nil {
			return err
		}
		switch {
		case last == nil || !last.Started.After(since):
			return errors.New("no repair pass started since the fault has ended")
		case !e.healthy(last, placed):
			seen = last
			return fmt.Errorf("last pass on %s not at full redundancy (or still moving): %s", e.c.ID(pm.leader), last)
		}
		return nil
	})
	if err != nil {
		e.remember(seen)
	}
	return pm, err
}

// deepHealUntilSettled runs `admin heal --deep` on the leader until a
// pass finds every stream healthy.
func (e *chaosEnv) deepHealUntilSettled(timeout time.Duration) (harness.HealReport, error) {
	var rep harness.HealReport
	n := 0
	err := harness.Eventually(timeout, time.Second, func() error {
		l := e.currentLeader()
		if l == 0 {
			return errors.New("no leader")
		}
		var err error
		n++
		rep, err = e.c.RunHeal(l, true, timeout)
		if err != nil {
			return err
		}
		e.t.Logf("  deep heal #%d via %s: %s", n, e.c.ID(l), rep)
		if !e.healthy(&rep, true) {
			return fmt.Errorf("deep heal via %s: %s", e.c.ID(l), rep)
		}
		return nil
	})
	if err != nil {
		e.remember(&rep)
	}
	return rep, err
}

func (e *chaosEnv) fault(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	e.t.Log("FAULT " + s)
	e.faults = append(e.faults, s)
}

func (e *chaosEnv) killRestart(round, victim int) {
	t, c := e.t, e.c
	wasLeader := victim == e.currentLeader()
	role := "follower"
	if wasLeader {
		role = "leader"
	}
	other := 0
	t0 := time.Now()
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	// Requests issued meanwhile met the dead node; from now on the
	// clients use the others.
	e.setLive(victim, false)
	if wasLeader {
	}
	t.Logf("round %d: killed %s (%s) with SIGKILL", round, c.ID(victim), role)
	extra := ""
	if round > 1 {
		// Two faults at once (still within m=2 per stream): empty the
		// drives of another node while the victim is down.
		time.Sleep(e.p.down / 2)
		other = e.pickNode(false, victim)
		n := 0
		for _, d := range c.Node(other).Drives() {
			k, err := harness.EmptyDrive(d)
			if err != nil {
				t.Fatalf("emptying %s: %v", d, err)
			}
			n += k
		}
		extra = fmt.Sprintf(" + emptied %s's drives (%d shard files) while it was down", c.ID(other), n)
	}
	time.Sleep(time.Until(t0.Add(e.p.down)))
	if err := c.Restart(victim); err != nil {
		t.Fatalf("restarting %s: %v", c.ID(victim), err)
	}
	restarted := time.Now()
	e.setLive(victim, true)
	pm, err := e.waitRepaired(restarted, false, e.p.recovery)
	if err != nil {
		t.Errorf("round %d: after kill -9 of %s: %v", round, c.ID(victim), err)
		return
	}
	e.fault("round %d: kill -9 %s (%s), down %v%s: full redundancy %v after the kill, %v after the restart (%s)",
		round, c.ID(victim), role, restarted.Sub(t0).Round(100*time.Millisecond), extra,
		time.Since(t0).Round(100*time.Millisecond), time.Since(restarted).Round(100*time.Millisecond), pm)
}

func (e *chaosEnv) emptyDrives(round, victim int) {
	t, c := e.t, e.c
	files, bytes, _ := harness.ShardBytes(c.Node(victim).Drives()...)
	t0 := time.Now()
	for _, d := range c.Node(victim).Drives() {
		if _, err := harness.EmptyDrive(d); err != nil {
			t.Fatalf("emptying %s: %v", d, err)
		}
	}
	done := time.Now()
	t.Logf("round %d: emptied both drive folders of running %s (%d shard files, %.1f MiB)", round, c.ID(victim), files, float64(bytes)/(1<<20))
	pm, err := e.waitRepaired(done, false, e.p.recovery)
	if err != nil {
		t.Errorf("round %d: after emptying %s's drives: %v", round, c.ID(victim), err)
		return
	}
	refilled, rbytes, _ := harness.ShardBytes(c.Node(victim).Drives()...)
	e.fault("round %d: emptied %s's 2 drives (%d shard files, %.1f MiB): full redundancy after %v (%s); %d shard files (%.1f MiB) there now",
		round, c.ID(victim), files, float64(bytes)/(1<<20), time.Since(t0).Round(100*time.Millisecond), pm, refilled, float64(rbytes)/(1<<20))
}

func (e *chaosEnv) flipShards(round, victim int) {
	t, c := e.t, e.c
	var all []harness.ShardFile
	for _, d := range c.Node(victim).Drives() {
		fs, err := harness.ShardFiles(d)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fs...)
	}
	e.rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	flipped := 0
	t0 := time.Now()
	for _, f := range all {
		if flipped == e.p.flips {
			break
		}
		if f.Size == 0 {
			continue
		}
		if err := harness.FlipBytes(f.Path, 3, e.rng); err != nil {
			continue // deleted or replaced meanwhile
		}
		flipped++
	}
	t.Logf("round %d: flipped 3 bytes in each of %d shard files on %s", round, flipped, c.ID(victim))
	// Only a deep pass (scrub) finds flipped bytes; the background scrub
	// runs every 60th pass, so heal explicitly.
	rep, err := e.deepHealUntilSettled(e.p.recovery)
	if err != nil {
		t.Errorf("round %d: after flipping bytes on %s: %v", round, c.ID(victim), err)
		return
	}
	e.fault("round %d: flipped bytes in %d shard files on %s: deep heal settled (%d streams healthy) %v after the damage",
		round, flipped, c.ID(victim), rep.Streams, time.Since(t0).Round(100*time.Millisecond))
}

// join adds a node and measures what the rebalance writes against the
// ideal: the stored shard bytes divided by the new number of nodes.
func (e *chaosEnv) join(round int) int {
	t, c := e.t, e.c
	var drives []string
	for _, i := range c.Members() {
		drives = append(drives, c.Node(i).Drives()...)
	}
	files, stored, _ := harness.ShardBytes(drives...)
	nodes := len(c.Members()) + 1
	pm := e.newMeter()
	t0 := time.Now()
	idx, err := c.AddNode()
	if err != nil {
		t.Fatalf("round %d: adding a node: %v", round, err)
	}
	e.setLive(idx, true)
	ready := time.Now()
	err = harness.Eventually(e.p.recovery, 200*time.Millisecond, func() error {
		last, err := e.poll(pm)
		if err != nil {
			return err
		}
		if last == nil || !last.Started.After(ready) || pm.moved == 0 || !e.healthy(last, true) {
			return fmt.Errorf("rebalance not finished: %s; last pass %v", pm, last)
		}
		return nil
	})
	if err != nil {
		t.Errorf("round %d: after adding %s: %v", round, c.ID(idx), err)
		return idx
	}
	ideal := float64(stored) / float64(nodes)
	e.fault("round %d: join of %s (%d nodes): rebalanced in %v: %s; ideal ≈ %.1f MiB (%d shard files, %.1f MiB stored / %d nodes) → %.2f× ideal bytes, %d/%d shards moved (%.2f× ideal count)",
		round, c.ID(idx), nodes, time.Since(t0).Round(100*time.Millisecond), pm, ideal/(1<<20), files, float64(stored)/(1<<20), nodes,
		float64(pm.bytes)/ideal, pm.moved, (files+nodes-1)/nodes, float64(pm.moved*nodes)/float64(files))
	return idx
}

func (e *chaosEnv) drain(round, victim int) {
	t, c := e.t, e.c
	files, stored, _ := harness.ShardBytes(c.Node(victim).Drives()...)
	pm := e.newMeter()
	t0 := time.Now()
	via := e.currentLeader()
	done := make(chan harness.Result, 1)
	go func() { done <- c.DrainNode(via, victim, e.p.recovery) }()
	var r harness.Result
	for waiting := true; waiting; {
		select {
		case r = <-done:
			waiting = false
		case <-time.After(200 * time.Millisecond):
			_, _ = e.poll(pm)
		}
	}
	if r.Err != nil {
		t.Errorf("round %d: draining %s via %s: %s", round, c.ID(victim), c.ID(via), r)
		return
	}
	drained := time.Now()
	e.setLive(victim, false)
	if err := c.Stop(victim); err != nil {
		t.Logf("stopping drained %s: %v", c.ID(victim), err)
	}
	if victim == e.currentLeader() {
	}
	pm2, err := e.waitRepaired(drained, true, e.p.recovery)
	if err != nil {
		t.Errorf("round %d: after draining %s: %v", round, c.ID(victim), err)
		return
	}
	e.fault("round %d: drain of %s (%d shard files, %.1f MiB on it): safe to turn off after %v (%s), full redundancy and all in place %v after the drain started (then %s)",
		round, c.ID(victim), files, float64(stored)/(1<<20), drained.Sub(t0).Round(100*time.Millisecond), pm, time.Since(t0).Round(100*time.Millisecond), pm2)
}

// verify reads back every acknowledged write and checks every
// acknowledged delete, through the live nodes, after the cluster settled.
func (e *chaosEnv) verify() {
	t := e.t
	type job struct {
		bucket, key string
	}
	e.led.mu.Lock()
	var jobs []job
	for bk := range e.led.keys {
		b, k, _ := strings.Cut(bk, "/")
		jobs = append(jobs, job{b, k})
	}
	e.led.mu.Unlock()
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].bucket+jobs[i].key < jobs[j].bucket+jobs[j].key })
	next := make(chan job)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(e.seed, uint64(900+w)))
			for j := range next {
				e.verifyKey(rng, j.bucket, j.key)
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	e.verifyListings()
	t.Logf("verified %d keys: %d latest states, %d acknowledged versions by id, %d deletes",
		len(jobs), e.led.verifiedLatest, e.led.verifiedVersions, e.led.verifiedGone)
}

// settledRead retries a read on transport errors and 5xx (none are
// expected once settled, and each is reported).
func (e *chaosEnv) settledRead(rng *rand.Rand, bucket, key, vid string) (string, int, bool, string, error) {
	var err error
	for attempt := range 3 {
		node, cl := e.client(rng)
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout(64<<20))
		sum, size, notFound, rerr := readBody(ctx, cl, bucket, key, vid)
		cancel()
		if rerr == nil || notFound {
			return sum, size, notFound, e.c.ID(node), nil
		}
		err = rerr
		e.led.problem("settled read %d of %s/%s?versionId=%s via %s failed: %v", attempt+1, bucket, key, vid, e.c.ID(node), rerr)
		time.Sleep(time.Second)
	}
	return "", 0, false, "", err
}

func (e *chaosEnv) verifyKey(rng *rand.Rand, bucket, key string) {
	sum, size, notFound, via, err := e.settledRead(rng, bucket, key, "")
	if err != nil {
		e.led.lostVersion("GET %s/%s after settling: %v", bucket, key, err)
	} else {
		got := objState{}
		if !notFound {
			got = objState{exists: true, sha: sum, size: size}
		}
		e.led.checkLatest(bucket, key, got, via, true)
	}
	e.led.mu.Lock()
	e.led.verifiedLatest++
	r := e.led.rec(bucket, key)
	versions := make(map[string]objState, len(r.versions))
	for v, s := range r.versions {
		versions[v] = s
	}
	var gone []string
	for v := range r.gone {
		gone = append(gone, v)
	}
	e.led.mu.Unlock()
	for vid, want := range versions {
		sum, _, notFound, via, err := e.settledRead(rng, bucket, key, vid)
		switch {
		case err != nil:
			e.led.lostVersion("GET %s/%s?versionId=%s after settling: %v", bucket, key, vid, err)
		case notFound:
			e.led.lostVersion("GET %s/%s?versionId=%s via %s after settling: 404 for an acknowledged version (%s)", bucket, key, vid, via, want)
		case sum != want.sha:
			e.led.badRead(bucket, key, sum, fmt.Sprintf("settled GET %s/%s?versionId=%s via %s", bucket, key, vid, via))
		}
		e.led.count(&e.led.verifiedVersions)
	}
	for _, vid := range gone {
		_, _, notFound, via, err := e.settledRead(rng, bucket, key, vid)
		if err != nil || !notFound {
			e.led.problem("DELETED VERSION BACK: GET %s/%s?versionId=%s via %s after its deletion was acknowledged: %v", bucket, key, vid, via, err)
			e.led.mu.Lock()
			e.led.lost++ // an acknowledged delete lost
			e.led.mu.Unlock()
		}
		e.led.count(&e.led.verifiedGone)
	}
}

// verifyListings checks the plain bucket's listing and the versioned
// bucket's version listing against the ledger.
func (e *chaosEnv) verifyListings() {
	t := e.t
	ctx := context.Background()
	_, cl := e.client(e.rng)
	keys, err := listAll(ctx, cl, e.plain, "")
	if err != nil {
		t.Errorf("listing %s: %v", e.plain, err)
		return
	}
	listed := map[string]bool{}
	for _, k := range keys {
		listed[k] = true
	}
	listedVersions := map[string]bool{}
	var all [][2]string // key, version id
	p := s3.NewListObjectVersionsPaginator(cl, &s3.ListObjectVersionsInput{Bucket: aws.String(e.ver)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Errorf("listing versions of %s: %v", e.ver, err)
			return
		}
		for _, v := range page.Versions {
			listedVersions[aws.ToString(v.Key)+"?"+aws.ToString(v.VersionId)] = true
			all = append(all, [2]string{aws.ToString(v.Key), aws.ToString(v.VersionId)})
		}
	}
	defer e.verifyUnknownVersions(all)
	e.led.mu.Lock()
	defer e.led.mu.Unlock()
	for bk, r := range e.led.keys {
		b, k, _ := strings.Cut(bk, "/")
		if b == e.plain {
			canExist, canBeGone := r.acked.exists, !r.acked.exists
			for _, s := range append(append([]objState(nil), r.pending...), r.zombies...) {
				canExist = canExist || s.exists
				canBeGone = canBeGone || !s.exists
			}
			switch {
			case listed[k] && !canExist:
				e.led.problemLocked("LISTING: %s/%s listed, but its deletion was acknowledged", b, k)
				e.led.lost++
			case !listed[k] && !canBeGone:
				e.led.problemLocked("LISTING: %s/%s not listed, but its write was acknowledged (%s)", b, k, r.acked)
				e.led.lost++
			}
			continue
		}
		for vid := range r.versions {
			if !listedVersions[k+"?"+vid] {
				e.led.problemLocked("LISTING: version %s/%s?versionId=%s missing from ListObjectVersions", b, k, vid)
				e.led.lost++
			}
		}
		for vid := range r.gone {
			if listedVersions[k+"?"+vid] {
				e.led.problemLocked("LISTING: deleted version %s/%s?versionId=%s still listed", b, k, vid)
				e.led.lost++
			}
		}
	}
}

// verifyUnknownVersions reads every listed version the clients do not
// know (written by a PUT that was not acknowledged but committed): it must
// read back as one of the bodies written to its key, never fail.
func (e *chaosEnv) verifyUnknownVersions(listed [][2]string) {
	var unknown [][2]string
	e.led.mu.Lock()
	for _, kv := range listed {
		r := e.led.rec(e.ver, kv[0])
		if _, ok := r.versions[kv[1]]; !ok && !r.gone[kv[1]] {
			unknown = append(unknown, kv)
		}
	}
	e.led.mu.Unlock()
	for _, kv := range unknown {
		sum, _, notFound, via, err := e.settledRead(e.rng, e.ver, kv[0], kv[1])
		e.led.mu.Lock()
		switch {
		case err != nil:
			e.led.unreadable++
			e.led.problemLocked("UNREADABLE: listed version %s/%s?versionId=%s (not acknowledged, but committed): %v", e.ver, kv[0], kv[1], err)
		case notFound:
			e.led.unreadable++
			e.led.problemLocked("UNREADABLE: listed version %s/%s?versionId=%s answers 404 via %s", e.ver, kv[0], kv[1], via)
		case !e.led.rec(e.ver, kv[0]).written[sum]:
			e.led.corrupt++
			e.led.problemLocked("CORRUPT: listed version %s/%s?versionId=%s via %s returned bytes never written", e.ver, kv[0], kv[1], via)
		default:
			e.led.unknownOK++
		}
		e.led.mu.Unlock()
	}
}

func (e *chaosEnv) summary(chaos, settle time.Duration, final harness.HealReport) {
	t, l := e.t, e.led
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "CHAOS SUMMARY (%s, seed %d): 6 nodes × 2 drives, EC 3+2, %d workers; faults took %v, settling %v\n",
		e.p.name, e.seed, e.p.workers, chaos.Round(time.Second), settle.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "  acknowledged: %d PUTs (%.1f MiB), %d DELETEs, %d permanent version deletes = %d writes/deletes; %d GETs ok (+%d 404, %d by version id)\n",
		l.putAck, float64(l.putAckBytes)/(1<<20), l.delAck, l.vdelAck, l.putAck+l.delAck+l.vdelAck, l.getOK, l.getNotFound, l.vgetOK)
	fmt.Fprintf(&b, "  not acknowledged (allowed during faults): %d PUTs, %d DELETEs, %d version deletes, %d GETs, %d version GETs; by kind %v\n",
		l.putFail, l.delFail, l.vdelFail, l.getFail, l.vgetFail, l.failByKind)
	fmt.Fprintf(&b, "  lost = %d, corrupt reads = %d, stale reads = %d (404s for existing objects: %d); late-landing unacknowledged writes seen: %d\n",
		l.lost, l.corrupt, l.stale, l.spurious404, l.late)
	fmt.Fprintf(&b, "  committed but unacknowledged versions: %d readable, %d unreadable\n", l.unknownOK, l.unreadable)
	for _, f := range e.faults {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	if final.Streams > 0 {
		fmt.Fprintf(&b, "  final deep heal: %s\n", final)
	}
	t.Log(b.String())
	if len(l.errSample) > 0 {
		t.Logf("sample of unacknowledged operations:\n  %s", strings.Join(l.errSample, "\n  "))
	}
	if len(l.problems) > 0 {
		t.Logf("problems:\n  %s", strings.Join(l.problems, "\n  "))
	}
	if l.lost > 0 || l.corrupt > 0 || l.stale > 0 || l.unreadable > 0 {
		t.Errorf("lost = %d, corrupt reads = %d, stale reads = %d, unreadable committed versions = %d: see the problems above", l.lost, l.corrupt, l.stale, l.unreadable)
	}
}
