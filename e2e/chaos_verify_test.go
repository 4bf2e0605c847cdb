package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/e2e/harness"
)

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
