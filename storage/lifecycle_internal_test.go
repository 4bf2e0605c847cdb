package storage

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/storage/drive"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newLifecycleTestEngine(t testing.TB, clk *testClock) *Engine {
	t.Helper()
	kv, err := meta.OpenLocal(t.TempDir() + "/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	set := drive.Set{}
	var ms []ring.Member
	for i := range 3 {
		id := fmt.Sprintf("d%d", i)
		set[id] = drive.NewMemory(id)
		ms = append(ms, ring.Member{DriveID: id, NodeID: id})
	}
	rg, err := ring.New(1, ms)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultEngineConfig()
	cfg.DataShards, cfg.ParityShards, cfg.DeleteGrace, cfg.LifecycleRate = 2, 1, 0, 0
	if clk != nil {
		cfg.Now = clk.Now
	}
	e, err := NewEngine(cfg, kv, set, FixedPlacement(rg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// bruteDue evaluates the rules over all versions of a key (newest first)
// the plain way, independently of plan: the earliest time any enabled
// rule acts on any version.
func bruteDue(lc *Lifecycle, key string, vs []versionRecord, days LifecycleDays) time.Time {
	if lc == nil || len(vs) == 0 {
		return time.Time{}
	}
	match := func(f LifecycleFilter, size int64, tags []Tag) bool {
		if !strings.HasPrefix(key, f.Prefix) ||
			f.SizeGreaterThan != nil && !(size > *f.SizeGreaterThan) || f.SizeLessThan != nil && !(size < *f.SizeLessThan) {
			return false
		}
		for _, ft := range f.Tags {
			if !slices.Contains(tags, ft) {
				return false
			}
		}
		return true
	}
	endOfDay := func(t time.Time, n int) time.Time {
		d := time.Duration(days)
		x := t.Add(time.Duration(n) * d)
		if r := x.Sub(time.Unix(0, 0)) % d; r != 0 {
			x = x.Add(d - r)
		}
		return x
	}
	var best time.Time
	take := func(t time.Time) {
		if best.IsZero() || t.Before(best) {
			best = t
		}
	}
	latest := vs[0]
	for _, r := range lc.Rules {
		if !r.Enabled {
			continue
		}
		if x := r.Expiration; x != nil {
			switch {
			case !latest.DeleteMarker && !x.ExpiredObjectDeleteMarker && match(r.Filter, latest.Size, latest.Tags):
				if x.Days > 0 {
					take(endOfDay(latest.ModTime, x.Days))
				} else {
					take(x.Date)
				}
			case latest.DeleteMarker && len(vs) == 1 && match(r.Filter, 0, nil):
				switch {
				case x.ExpiredObjectDeleteMarker:
					take(endOfDay(latest.ModTime, 0))
				case x.Days > 0:
					take(endOfDay(latest.ModTime, x.Days))
				default:
					take(x.Date)
				}
			}
		}
		if nc := r.NoncurrentExpiration; nc != nil {
			for i := 1; i < len(vs); i++ {
				v := vs[i]
				size, tags := v.Size, v.Tags
				if v.DeleteMarker {
					size, tags = 0, nil
				}
				if v.Lock.LegalHold == LegalHoldOn || i-1 < nc.NewerVersions || !match(r.Filter, size, tags) {
					continue
				}
				due := endOfDay(vs[i-1].ModTime, nc.Days)
				if v.Lock.Mode != "" && ceilSecond(v.Lock.RetainUntil).After(due) {
					due = ceilSecond(v.Lock.RetainUntil)
				}
				take(due)
			}
		}
	}
	return best.Truncate(time.Second)
}

// checkIndex compares the index with a brute-force evaluation of the rules
// over every record: each head and upload names the entry its rules say,
// and the index holds exactly the entries named.
func checkIndex(t *testing.T, e *Engine, buckets ...string) {
	t.Helper()
	ctx := context.Background()
	named := map[string]bool{}
	for _, b := range buckets {
		_, _, lc, err := e.currentLifecycle(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		heads, err := e.kv.List(ctx, headPrefix(b), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, ent := range heads {
			var h headRecord
			if err := decode(ent.Value, &h); err != nil {
				t.Fatal(err)
			}
			key := ent.Key[len(headPrefix(b)):]
			vs, err := e.listKeyVersions(ctx, b, key)
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			if due := bruteDue(lc, key, records(vs), e.days()); !due.IsZero() {
				want = keyDueKey(due, b, key)
			}
			if h.Due != want {
				t.Fatalf("%s/%s: head names %q, rules say %q (versions %+v)", b, key, h.Due, want, records(vs))
			}
			if want != "" {
				named[want] = true
			}
		}
		ups, err := e.kv.List(ctx, uploadPrefix(b), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, ent := range ups {
			var u uploadRecord
			if err := decode(ent.Value, &u); err != nil {
				t.Fatal(err)
			}
			want := ""
			for _, r := range lc.rules() {
				if r.Enabled && r.AbortUpload != nil && strings.HasPrefix(u.Key, r.Filter.Prefix) {
					k := uploadDueKey(LifecycleDays(e.cfg.LifecycleDay).after(u.Initiated, r.AbortUpload.DaysAfterInitiation), b, u.Key, u.UploadID)
					if want == "" || k < want {
						want = k
					}
				}
			}
			if u.Due != want {
				t.Fatalf("upload %s: names %q, rules say %q", u.Key, u.Due, want)
			}
			if want != "" {
				named[want] = true
			}
		}
	}
	idx, err := e.kv.List(ctx, duePrefix(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range idx {
		if !named[ent.Key] {
			t.Fatalf("index entry %q named by no record", ent.Key)
		}
		delete(named, ent.Key)
	}
	for k := range named {
		t.Fatalf("named entry %q missing from the index", k)
	}
}

func (lc *Lifecycle) rules() []LifecycleRule {
	if lc == nil {
		return nil
	}
	return lc.Rules
}

// TestLifecycleIndexExact drives random writes, deletes, tag and lock
// changes, uploads, configuration changes and lifecycle passes over
// unversioned, versioned and suspended buckets, and checks after every
// step that the index is exactly what the rules say of all records.
func TestLifecycleIndexExact(t *testing.T) {
	ctx := context.Background()
	clk := &testClock{now: time.Date(2030, 1, 1, 7, 0, 0, 0, time.UTC)}
	e := newLifecycleTestEngine(t, clk)
	buckets := []string{"plain", "ver", "susp"}
	for _, b := range buckets {
		if err := e.CreateBucket(ctx, b, CreateBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.SetBucketVersioning(ctx, "ver", VersioningEnabled))
	must(e.SetBucketVersioning(ctx, "susp", VersioningEnabled))
	tag := Tag{Key: "t", Value: "1"}
	configs := []Lifecycle{
		{Rules: []LifecycleRule{
			{ID: "exp", Enabled: true, Filter: LifecycleFilter{Prefix: "a"}, Expiration: &LifecycleExpiration{Days: 3}},
			{ID: "tag", Enabled: true, Filter: LifecycleFilter{Tags: []Tag{tag}, SizeLessThan: ptr64(6), Shape: FilterAnd}, Expiration: &LifecycleExpiration{Days: 1}},
			{ID: "nc", Enabled: true, NoncurrentExpiration: &NoncurrentExpiration{Days: 1, NewerVersions: 1}},
			{ID: "eodm", Enabled: true, Filter: LifecycleFilter{Prefix: "b"}, Expiration: &LifecycleExpiration{ExpiredObjectDeleteMarker: true}},
			{ID: "mpu", Enabled: true, Filter: LifecycleFilter{Prefix: "a"}, AbortUpload: &AbortUpload{DaysAfterInitiation: 2}},
		}},
		{Rules: []LifecycleRule{
			{ID: "date", Enabled: true, Filter: LifecycleFilter{Prefix: "b"}, Expiration: &LifecycleExpiration{Date: time.Date(2030, 1, 9, 0, 0, 0, 0, time.UTC)}},
			{ID: "nc2", Enabled: true, Filter: LifecycleFilter{SizeGreaterThan: ptr64(2)}, NoncurrentExpiration: &NoncurrentExpiration{Days: 2}},
			{ID: "mpu", Enabled: true, AbortUpload: &AbortUpload{DaysAfterInitiation: 1}},
		}},
	}
	for _, b := range buckets {
		must(e.PutBucketLifecycle(ctx, b, configs[0]))
	}
	if _, err := e.RunLifecycle(ctx); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	keys := []string{"a1", "a2", "b1", "b2", "c1"}
	var uploads []struct{ b, k, id string }
	acted := map[string]int{}
	defer func() { t.Logf("lifecycle steps taken: %v", acted) }()
	for step := range 600 {
		b, k := buckets[rng.IntN(len(buckets))], keys[rng.IntN(len(keys))]
		switch op := rng.IntN(20); {
		case op < 6:
			var tags []Tag
			if rng.IntN(2) == 0 {
				tags = []Tag{tag}
			}
			size := rng.IntN(10)
			_, err := e.PutObject(ctx, b, k, bytes.NewReader(make([]byte, size)), PutOptions{Size: int64(size), Tags: tags})
			must(err)
		case op < 9:
			_, err := e.DeleteObject(ctx, b, k, DeleteOptions{})
			must(err)
		case op < 11:
			if vs, _ := e.listKeyVersions(ctx, b, k); len(vs) > 0 {
				_, err := e.DeleteObject(ctx, b, k, DeleteOptions{VersionID: vs[rng.IntN(len(vs))].rec.VersionID})
				must(err)
			}
		case op < 13:
			if vs, _ := e.listKeyVersions(ctx, b, k); len(vs) > 0 {
				v := vs[rng.IntN(len(vs))].rec
				if !v.DeleteMarker {
					var tags []Tag
					if rng.IntN(2) == 0 {
						tags = []Tag{tag}
					}
					_, err := e.PutObjectTags(ctx, b, k, v.VersionID, tags)
					must(err)
				}
			}
		case op < 14:
			id, err := e.CreateMultipartUpload(ctx, b, k, PutOptions{})
			must(err)
			uploads = append(uploads, struct{ b, k, id string }{b, k, id})
		case op < 15 && len(uploads) > 0:
			i := rng.IntN(len(uploads))
			u := uploads[i]
			uploads = slices.Delete(uploads, i, i+1)
			if rng.IntN(2) == 0 {
				if err := e.AbortMultipartUpload(ctx, u.b, u.k, u.id); err != nil && !strings.Contains(err.Error(), "not found") {
					t.Fatal(err)
				}
				break
			}
			p, err := e.UploadPart(ctx, u.b, u.k, u.id, 1, bytes.NewReader([]byte("part")), PartOptions{Size: 4})
			if err != nil {
				if strings.Contains(err.Error(), "not found") {
					break // the lifecycle aborted it
				}
				t.Fatal(err)
			}
			_, err = e.CompleteMultipartUpload(ctx, u.b, u.k, u.id, []CompletePart{{Number: 1, ETag: p.ETag}}, CompleteOptions{})
			must(err)
		case op < 16:
			st := VersioningSuspended
			if rng.IntN(2) == 0 {
				st = VersioningEnabled
			}
			must(e.SetBucketVersioning(ctx, "susp", st))
		case op < 17:
			if rng.IntN(3) == 0 {
				must(e.DeleteBucketLifecycle(ctx, b))
			} else {
				must(e.PutBucketLifecycle(ctx, b, configs[rng.IntN(len(configs))]))
			}
			// A configuration change is re-planned by the rescan.
			if _, err := e.RunLifecycle(ctx); err != nil {
				t.Fatal(err)
			}
		case op < 19:
			clk.advance(time.Duration(rng.IntN(30)) * time.Hour)
		default:
			rep, err := e.RunLifecycle(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for k, n := range rep.Actions {
				acted[k] += n
			}
		}
		t.Run(fmt.Sprint(step), func(t *testing.T) { checkIndex(t, e, buckets...) })
		if t.Failed() {
			return
		}
	}
}

func ptr64(n int64) *int64 { return &n }

// TestDueKeyRoundTrip: index keys sort by time and parse back.
func TestDueKeyRoundTrip(t *testing.T) {
	at := time.Date(2030, 5, 6, 0, 0, 0, 0, time.UTC)
	k := keyDueKey(at, "bkt", "dir/a b")
	d, ok := parseDueKey(k)
	if !ok || !d.at.Equal(at) || d.upload || d.bucket != "bkt" || d.key != "dir/a b" {
		t.Fatalf("%q → %+v", k, d)
	}
	u := uploadDueKey(at, "bkt", "k", "id-1")
	d, ok = parseDueKey(u)
	if !ok || !d.upload || d.key != "k" || d.uploadID != "id-1" {
		t.Fatalf("%q → %+v", u, d)
	}
	if !(keyDueKey(at, "zzz", "z") < keyDueKey(at.Add(time.Second), "aaa", "a")) {
		t.Fatal("index keys do not sort by time first")
	}
	days := LifecycleDays(24 * time.Hour)
	if got := days.after(time.Date(2014, 1, 15, 10, 30, 0, 0, time.UTC), 3); !got.Equal(time.Date(2014, 1, 19, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("15 Jan 10:30 + 3 days = %v, S3 says 19 Jan 00:00", got)
	}
	short := LifecycleDays(2 * time.Second)
	if got := short.after(time.Unix(101, 500), 1); !got.Equal(time.Unix(104, 0)) {
		t.Fatalf("2 s days: %v", got)
	}
}

// TestLifecycleRescanResumes: a rescan stopped after a batch (the leader
// died) is finished by another engine from its cursor, not from the
// start, and leaves the index exact.
func TestLifecycleRescanResumes(t *testing.T) {
	ctx := context.Background()
	clk := &testClock{now: time.Date(2030, 1, 1, 7, 0, 0, 0, time.UTC)}
	e := newLifecycleTestEngine(t, clk)
	if err := e.CreateBucket(ctx, "bkt", CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 2*lifecycleBatch + 50
	for i := range n {
		if _, err := e.PutObject(ctx, "bkt", fmt.Sprintf("k%04d", i), bytes.NewReader(nil), PutOptions{Size: 0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.PutBucketLifecycle(ctx, "bkt", Lifecycle{Rules: []LifecycleRule{{ID: "x", Enabled: true, Expiration: &LifecycleExpiration{Days: 1}}}}); err != nil {
		t.Fatal(err)
	}
	rep, _, busy, err := e.lifecyclePass(ctx)
	if err != nil || !busy || rep.Rescanned != lifecycleBatch {
		t.Fatalf("first pass: %+v busy %v, %v", rep, busy, err)
	}
	next, err := NewEngine(e.cfg, e.kv, e.drives, e.placement)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	rest, err := next.RunLifecycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rest.Rescanned != n-lifecycleBatch {
		t.Fatalf("the second engine re-planned %d keys, want the %d left", rest.Rescanned, n-lifecycleBatch)
	}
	checkIndex(t, next, "bkt")
	idx, err := e.kv.List(ctx, duePrefix(), "", 0)
	if err != nil || len(idx) != n {
		t.Fatalf("%d index entries, want %d (%v)", len(idx), n, err)
	}
}
