package e2e

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

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
