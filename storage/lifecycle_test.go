package storage_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/storage"
)

// lcEngine is a clocked test engine for lifecycle tests: 24 h days, no
// rate limit (the limiter would wait on the real clock).
func lcEngine(t *testing.T, start time.Time) (*testEngine, *fakeClock) {
	t.Helper()
	te := newTestEngine(t, 2, 1, 1<<16)
	clk := &fakeClock{now: start}
	cfg := te.cfg
	cfg.Now, cfg.LifecycleRate = clk.Now, 0
	e, err := storage.NewEngine(cfg, te.kv, te.set, storage.FixedPlacement(te.rg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	te.Engine, te.cfg = e, cfg
	return te, clk
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func i64(n int64) *int64 { return &n }

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func lcPut(t *testing.T, e *testEngine, bucket, key string, size int, tags ...storage.Tag) storage.ObjectInfo {
	t.Helper()
	info, err := e.PutObject(context.Background(), bucket, key, bytes.NewReader(make([]byte, size)),
		storage.PutOptions{Size: int64(size), Tags: tags, Digested: true})
	if err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
	return info
}

// runLC runs the lifecycle to completion at the engine's clock.
func runLC(t *testing.T, e *testEngine) storage.LifecycleReport {
	t.Helper()
	rep, err := e.RunLifecycle(context.Background())
	if err != nil {
		t.Fatalf("RunLifecycle: %v", err)
	}
	return rep
}

// versionsOf lists every version of key (newest first), delete markers
// marked "dm".
func versionsOf(t *testing.T, e *testEngine, bucket, key string) []storage.ObjectInfo {
	t.Helper()
	res, err := e.ListObjectVersions(context.Background(), bucket, storage.ListVersionsOptions{Prefix: key, MaxKeys: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []storage.ObjectInfo
	for _, v := range res.Versions {
		if v.Key == key {
			out = append(out, v)
		}
	}
	return out
}

func exists(t *testing.T, e *testEngine, bucket, key string) bool {
	t.Helper()
	_, err := e.HeadObject(context.Background(), bucket, key, storage.GetOptions{})
	var onf *storage.ObjectNotFoundError
	if err != nil && !errors.As(err, &onf) {
		t.Fatal(err)
	}
	return err == nil
}

// TestLifecycleExpirationDays follows S3's example: an object created on
// 15 January at 10:30 UTC under a 3-day rule expires on 19 January at
// midnight UTC (creation plus the days, rounded up to the next midnight),
// not a second earlier; objects the filter does not select stay.
func TestLifecycleExpirationDays(t *testing.T) {
	ctx := context.Background()
	e, clk := lcEngine(t, time.Date(2030, 1, 15, 10, 30, 0, 0, time.UTC))
	mustOK(t, e.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}))
	mustOK(t, e.PutBucketLifecycle(ctx, "bkt", storage.Lifecycle{Rules: []storage.LifecycleRule{
		{ID: "logs", Enabled: true, Filter: storage.LifecycleFilter{Prefix: "logs/"}, Expiration: &storage.LifecycleExpiration{Days: 3}},
	}}))
	info := lcPut(t, e, "bkt", "logs/a", 10)
	lcPut(t, e, "bkt", "keep/a", 10)
	want := day(2030, 1, 19)
	if x := info.Expiration; x == nil || !x.Date.Equal(want) || x.RuleID != "logs" {
		t.Fatalf("PUT expiration %+v, want %v by rule logs", x, want)
	}
	head, err := e.HeadObject(ctx, "bkt", "logs/a", storage.GetOptions{})
	mustOK(t, err)
	if x := head.Expiration; x == nil || !x.Date.Equal(want) {
		t.Fatalf("HEAD expiration %+v", x)
	}
	if head, _ := e.HeadObject(ctx, "bkt", "keep/a", storage.GetOptions{}); head.Expiration != nil {
		t.Fatalf("unmatched object has expiration %+v", head.Expiration)
	}
	clk.set(want.Add(-time.Second))
	if rep := runLC(t, e); len(rep.Actions) != 0 || !exists(t, e, "bkt", "logs/a") {
		t.Fatalf("expired early: %+v", rep)
	}
	clk.set(want)
	rep := runLC(t, e)
	if rep.Actions["delete"] != 1 || exists(t, e, "bkt", "logs/a") || len(versionsOf(t, e, "bkt", "logs/a")) != 0 {
		t.Fatalf("not expired at %v: %+v", want, rep)
	}
	if !exists(t, e, "bkt", "keep/a") {
		t.Fatal("object outside the filter expired")
	}
	if rep := runLC(t, e); len(rep.Actions) != 0 {
		t.Fatalf("second run acted again: %+v", rep)
	}
}

// TestLifecycleExpirationDateVersioned: on its date, a rule expires the
// current versions of a versioning-enabled bucket by adding one delete
// marker each; the expired versions stay, noncurrent.
func TestLifecycleExpirationDateVersioned(t *testing.T) {
	ctx := context.Background()
	e, clk := lcEngine(t, time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC))
	mustOK(t, e.CreateBucket(ctx, "ver", storage.CreateBucketOptions{}))
	mustOK(t, e.SetBucketVersioning(ctx, "ver", storage.VersioningEnabled))
	mustOK(t, e.PutBucketLifecycle(ctx, "ver", storage.Lifecycle{Rules: []storage.LifecycleRule{
		{ID: "date", Enabled: true, Expiration: &storage.LifecycleExpiration{Date: day(2030, 2, 1)}},
	}}))
	for _, k := range []string{"a", "bkt", "c"} {
		lcPut(t, e, "ver", k, 5)
	}
	clk.set(day(2030, 1, 31).Add(23 * time.Hour))
	if rep := runLC(t, e); len(rep.Actions) != 0 {
		t.Fatalf("acted before the date: %+v", rep)
	}
	clk.set(day(2030, 2, 1))
	if rep := runLC(t, e); rep.Actions["delete_marker"] != 3 {
		t.Fatalf("want 3 delete markers, got %+v", rep)
	}
	clk.set(day(2030, 3, 1))
	runLC(t, e)
	for _, k := range []string{"a", "bkt", "c"} {
		vs := versionsOf(t, e, "ver", k)
		if len(vs) != 2 || !vs[0].DeleteMarker || vs[1].DeleteMarker {
			t.Fatalf("%s: versions %+v, want one marker over one version", k, vs)
		}
	}
}

// TestLifecycleExpiredDeleteMarker: ExpiredObjectDeleteMarker removes a
// delete marker once it is its key's only version, never one that still
// hides versions.
func TestLifecycleExpiredDeleteMarker(t *testing.T) {
	ctx := context.Background()
	e, clk := lcEngine(t, time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC))
	mustOK(t, e.CreateBucket(ctx, "ver", storage.CreateBucketOptions{}))
	mustOK(t, e.SetBucketVersioning(ctx, "ver", storage.VersioningEnabled))
	mustOK(t, e.PutBucketLifecycle(ctx, "ver", storage.Lifecycle{Rules: []storage.LifecycleRule{
		{ID: "eodm", Enabled: true, Expiration: &storage.LifecycleExpiration{ExpiredObjectDeleteMarker: true}},
	}}))
	alone := lcPut(t, e, "ver", "alone", 3)
	lcPut(t, e, "ver", "hidden", 3)
	for _, k := range []string{"alone", "hidden"} {
		if _, err := e.DeleteObject(ctx, "ver", k, storage.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.DeleteObject(ctx, "ver", "alone", storage.DeleteOptions{VersionID: alone.VersionID}); err != nil {
		t.Fatal(err)
	}
	clk.set(day(2030, 1, 3))
	if rep := runLC(t, e); rep.Actions["expired_marker"] != 1 {
		t.Fatalf("want one expired marker removed: %+v", rep)
	}
	if vs := versionsOf(t, e, "ver", "alone"); len(vs) != 0 {
		t.Fatalf("alone: %+v", vs)
	}
	if vs := versionsOf(t, e, "ver", "hidden"); len(vs) != 2 || !vs[0].DeleteMarker {
		t.Fatalf("hidden: %+v", vs)
	}
}

// TestLifecycleNoncurrent: NoncurrentDays counts from when a version
// became noncurrent (its successor's creation); NewerNoncurrentVersions
// keeps the newest noncurrent versions, and a new version pushes the
// oldest kept one out.
func TestLifecycleNoncurrent(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	e, clk := lcEngine(t, start)
	mustOK(t, e.CreateBucket(ctx, "ver", storage.CreateBucketOptions{}))
	mustOK(t, e.SetBucketVersioning(ctx, "ver", storage.VersioningEnabled))
	mustOK(t, e.PutBucketLifecycle(ctx, "ver", storage.Lifecycle{Rules: []storage.LifecycleRule{
		{ID: "nc", Enabled: true, Filter: storage.LifecycleFilter{Prefix: "days/"}, NoncurrentExpiration: &storage.NoncurrentExpiration{Days: 2}},
		{ID: "keep2", Enabled: true, Filter: storage.LifecycleFilter{Prefix: "keep/"},
			NoncurrentExpiration: &storage.NoncurrentExpiration{Days: 1, NewerVersions: 2}},
	}}))
	v1 := lcPut(t, e, "ver", "days/x", 1)
	var keep []storage.ObjectInfo
	for i := range 5 {
		clk.set(start.Add(time.Duration(i) * 24 * time.Hour))
		keep = append(keep, lcPut(t, e, "ver", "keep/x", i+1))
	}
	clk.set(start.Add(24 * time.Hour))
	lcPut(t, e, "ver", "days/x", 2) // v1 noncurrent since 2 January 09:00: due 5 January
	clk.set(day(2030, 1, 4).Add(23 * time.Hour))
	runLC(t, e)
	if vs := versionsOf(t, e, "ver", "days/x"); len(vs) != 2 {
		t.Fatalf("days/x before its noncurrent days: %+v", vs)
	}
	clk.set(day(2030, 1, 5))
	runLC(t, e)
	vs := versionsOf(t, e, "ver", "days/x")
	if len(vs) != 1 || vs[0].VersionID == v1.VersionID {
		t.Fatalf("days/x after: %+v", vs)
	}
	// keep/x: v5 current, v4 and v3 kept, v2 and v1 removed.
	got := func() []string {
		var ids []string
		for _, v := range versionsOf(t, e, "ver", "keep/x") {
			ids = append(ids, v.VersionID)
		}
		return ids
	}
	want := []string{keep[4].VersionID, keep[3].VersionID, keep[2].VersionID}
	if ids := got(); !slices.Equal(ids, want) {
		t.Fatalf("keep/x: %v, want %v", ids, want)
	}
	lcPut(t, e, "ver", "keep/x", 9) // v3 is now the third noncurrent version,
	clk.set(day(2030, 1, 6))        // noncurrent since v4 (4 January 09:00)
	runLC(t, e)
	if ids := got(); len(ids) != 3 || slices.Contains(ids, keep[2].VersionID) {
		t.Fatalf("keep/x after a new version: %v", ids)
	}
}

// TestLifecycleAbortUploads aborts uploads DaysAfterInitiation after they
// began, by prefix.
func TestLifecycleAbortUploads(t *testing.T) {
	ctx := context.Background()
	e, clk := lcEngine(t, time.Date(2030, 1, 1, 22, 0, 0, 0, time.UTC))
	mustOK(t, e.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}))
	mustOK(t, e.PutBucketLifecycle(ctx, "bkt", storage.Lifecycle{Rules: []storage.LifecycleRule{
		{ID: "mpu", Enabled: true, Filter: storage.LifecycleFilter{Prefix: "tmp/"}, AbortUpload: &storage.AbortUpload{DaysAfterInitiation: 1}},
	}}))
	doomed, err := e.CreateMultipartUpload(ctx, "bkt", "tmp/big", storage.PutOptions{})
	mustOK(t, err)
	kept, err := e.CreateMultipartUpload(ctx, "bkt", "data/big", storage.PutOptions{})
	mustOK(t, err)
	_, err = e.UploadPart(ctx, "bkt", "tmp/big", doomed, 1, bytes.NewReader([]byte("part")), storage.PartOptions{Size: 4})
	mustOK(t, err)
	clk.set(day(2030, 1, 2).Add(23 * time.Hour))
	runLC(t, e)
	clk.set(day(2030, 1, 3))
	if rep := runLC(t, e); rep.Actions["abort_upload"] != 1 {
		t.Fatalf("want one abort: %+v", rep)
	}
	res, err := e.ListMultipartUploads(ctx, "bkt", storage.ListUploadsOptions{MaxUploads: 10})
	mustOK(t, err)
	if len(res.Uploads) != 1 || res.Uploads[0].UploadID != kept {
		t.Fatalf("uploads left: %+v", res.Uploads)
	}
}

// TestLifecycleFilters: tag, size and And filters select exactly the
// versions they describe; a tag change that makes an object match
// schedules it.
func TestLifecycleFilters(t *testing.T) {
	ctx := context.Background()
	e, clk := lcEngine(t, time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC))
	mustOK(t, e.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}))
	tag := storage.Tag{Key: "class", Value: "tmp"}
	mustOK(t, e.PutBucketLifecycle(ctx, "bkt", storage.Lifecycle{Rules: []storage.LifecycleRule{
		{ID: "and", Enabled: true, Filter: storage.LifecycleFilter{Prefix: "a/", Tags: []storage.Tag{tag},
			SizeGreaterThan: i64(10), SizeLessThan: i64(100), Shape: storage.FilterAnd}, Expiration: &storage.LifecycleExpiration{Days: 1}},
		{ID: "big", Enabled: true, Filter: storage.LifecycleFilter{Prefix: "s/", SizeGreaterThan: i64(50), Shape: storage.FilterAnd},
			Expiration: &storage.LifecycleExpiration{Days: 1}},
		{ID: "off", Enabled: false, Expiration: &storage.LifecycleExpiration{Days: 1}},
	}}))
	lcPut(t, e, "bkt", "a/match", 50, tag)
	lcPut(t, e, "bkt", "a/othertag", 50, storage.Tag{Key: "class", Value: "keep"})
	lcPut(t, e, "bkt", "a/small", 10, tag)
	lcPut(t, e, "bkt", "a/large", 100, tag)
	lcPut(t, e, "bkt", "a/untagged", 50)
	lcPut(t, e, "bkt", "s/big", 51)
	lcPut(t, e, "bkt", "s/small", 50)
	lcPut(t, e, "bkt", "z/none", 50, tag)
	_, err := e.PutObjectTags(ctx, "bkt", "a/untagged", "", []storage.Tag{tag})
	mustOK(t, err)
	clk.set(day(2030, 1, 3))
	runLC(t, e)
	for key, want := range map[string]bool{"a/match": false, "a/othertag": true, "a/small": true, "a/large": true,
		"a/untagged": false, "s/big": false, "s/small": true, "z/none": true} {
		if got := exists(t, e, "bkt", key); got != want {
			t.Errorf("%s exists %v, want %v", key, got, want)
		}
	}
}

// TestLifecycleLockedVersions: lifecycle never removes a locked version.
// A locked current version still gets a delete marker (as in S3); a
// noncurrent one under retention goes when the retention ends, one under
// legal hold when the hold is lifted.
func TestLifecycleLockedVersions(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC)
	e, clk := lcEngine(t, start)
	lockBucket(t, e, "worm")
	mustOK(t, e.PutBucketLifecycle(ctx, "worm", storage.Lifecycle{Rules: []storage.LifecycleRule{
		{ID: "all", Enabled: true, Expiration: &storage.LifecycleExpiration{Days: 1}, NoncurrentExpiration: &storage.NoncurrentExpiration{Days: 1}},
	}}))
	until := start.Add(10 * 24 * time.Hour)
	ret := putLocked(t, e, "worm", "ret", storage.ObjectLock{Mode: storage.RetentionCompliance, RetainUntil: until})
	held := putLocked(t, e, "worm", "held", storage.ObjectLock{LegalHold: storage.LegalHoldOn})
	clk.set(day(2030, 1, 3))
	if rep := runLC(t, e); rep.Actions["delete_marker"] != 2 {
		t.Fatalf("locked current versions must get delete markers: %+v", rep)
	}
	clk.set(day(2030, 1, 6))
	runLC(t, e)
	for key, id := range map[string]string{"ret": ret.VersionID, "held": held.VersionID} {
		vs := versionsOf(t, e, "worm", key)
		if len(vs) != 2 || vs[1].VersionID != id {
			t.Fatalf("%s: locked version removed: %+v", key, vs)
		}
	}
	clk.set(until.Add(-time.Second))
	runLC(t, e)
	if len(versionsOf(t, e, "worm", "ret")) != 2 {
		t.Fatal("removed before its retention ended")
	}
	clk.set(until)
	// The version goes, then its delete marker, alone and older than
	// the rule's days (S3 cleans such markers with a Days rule).
	if rep := runLC(t, e); rep.Actions["noncurrent"] != 1 || rep.Actions["expired_marker"] != 1 {
		t.Fatalf("retention ended: %+v", rep)
	}
	if vs := versionsOf(t, e, "worm", "ret"); len(vs) != 0 {
		t.Fatalf("ret: %+v", vs)
	}
	if len(versionsOf(t, e, "worm", "held")) != 2 {
		t.Fatal("version under legal hold removed")
	}
	_, err := e.PutObjectLegalHold(ctx, "worm", "held", held.VersionID, storage.LegalHoldOff)
	mustOK(t, err)
	if rep := runLC(t, e); rep.Actions["noncurrent"] != 1 {
		t.Fatalf("hold lifted: %+v", rep)
	}
}

// TestLifecycleRulesChange: a configuration applies to the objects stored
// before it, a longer one delays them, none leaves them alone.
func TestLifecycleRulesChange(t *testing.T) {
	ctx := context.Background()
	e, clk := lcEngine(t, time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC))
	mustOK(t, e.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}))
	for _, k := range []string{"x1", "x2", "y1"} {
		lcPut(t, e, "bkt", k, 1)
	}
	rule := func(days int) storage.Lifecycle {
		return storage.Lifecycle{Rules: []storage.LifecycleRule{{ID: "x", Enabled: true, Filter: storage.LifecycleFilter{Prefix: "x"},
			Expiration: &storage.LifecycleExpiration{Days: days}}}}
	}
	mustOK(t, e.PutBucketLifecycle(ctx, "bkt", rule(1)))
	if rep := runLC(t, e); rep.Rescanned != 3 {
		t.Fatalf("rescan visited %d keys, want 3", rep.Rescanned)
	}
	mustOK(t, e.PutBucketLifecycle(ctx, "bkt", rule(5)))
	runLC(t, e)
	clk.set(day(2030, 1, 3))
	if rep := runLC(t, e); len(rep.Actions) != 0 {
		t.Fatalf("a longer rule must not expire early: %+v", rep)
	}
	mustOK(t, e.DeleteBucketLifecycle(ctx, "bkt"))
	runLC(t, e)
	clk.set(day(2030, 2, 1))
	if rep := runLC(t, e); len(rep.Actions) != 0 || !exists(t, e, "bkt", "x1") {
		t.Fatalf("deleted rules acted: %+v", rep)
	}
	if _, err := e.GetBucketLifecycle(ctx, "bkt"); !errors.Is(err, storage.ErrNoSuchLifecycle) {
		t.Fatalf("GetBucketLifecycle after delete: %v", err)
	}
	mustOK(t, e.PutBucketLifecycle(ctx, "bkt", rule(1)))
	runLC(t, e)
	for key, want := range map[string]bool{"x1": false, "x2": false, "y1": true} {
		if exists(t, e, "bkt", key) != want {
			t.Errorf("%s exists %v", key, !want)
		}
	}
}

// TestLifecycleExactlyOnce: two engines over one metadata store (an old
// leader still running while a new one starts) take each step once.
func TestLifecycleExactlyOnce(t *testing.T) {
	ctx := context.Background()
	e, clk := lcEngine(t, time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC))
	other, err := storage.NewEngine(e.cfg, e.kv, e.set, storage.FixedPlacement(e.rg))
	mustOK(t, err)
	t.Cleanup(func() { other.Close() })
	mustOK(t, e.CreateBucket(ctx, "ver", storage.CreateBucketOptions{}))
	mustOK(t, e.SetBucketVersioning(ctx, "ver", storage.VersioningEnabled))
	mustOK(t, e.PutBucketLifecycle(ctx, "ver", storage.Lifecycle{Rules: []storage.LifecycleRule{
		{ID: "d", Enabled: true, Expiration: &storage.LifecycleExpiration{Days: 1}},
	}}))
	const n = 40
	for i := range n {
		lcPut(t, e, "ver", "k"+string(rune('a'+i%26))+string(rune('a'+i/26)), 1)
	}
	clk.set(day(2030, 1, 3))
	var wg sync.WaitGroup
	reps := make([]storage.LifecycleReport, 2)
	for i, eng := range []*storage.Engine{e.Engine, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := eng.RunLifecycle(ctx)
			if err != nil {
				t.Error(err)
			}
			reps[i] = rep
		}()
	}
	wg.Wait()
	if got := reps[0].Actions["delete_marker"] + reps[1].Actions["delete_marker"]; got != n {
		t.Fatalf("delete markers reported %d, want %d", got, n)
	}
	res, err := e.ListObjectVersions(ctx, "ver", storage.ListVersionsOptions{MaxKeys: 1000})
	mustOK(t, err)
	markers := 0
	for _, v := range res.Versions {
		if v.DeleteMarker {
			markers++
		}
	}
	if markers != n || len(res.Versions) != 2*n {
		t.Fatalf("%d markers in %d versions, want %d in %d", markers, len(res.Versions), n, 2*n)
	}
}

// TestLifecycleValidate: the configuration checks, each with its error.
func TestLifecycleValidate(t *testing.T) {
	exp := &storage.LifecycleExpiration{Days: 1}
	long := string(bytes.Repeat([]byte("i"), 256))
	tests := []struct {
		name string
		rule storage.LifecycleRule
		want error
	}{
		{"ok", storage.LifecycleRule{ID: "a", Expiration: exp}, nil},
		{"id 256", storage.LifecycleRule{ID: long, Expiration: exp}, storage.ErrLifecycleIDTooLong},
		{"no action", storage.LifecycleRule{ID: "a"}, storage.ErrLifecycleNoAction},
		{"days 0 and date", storage.LifecycleRule{ID: "a", Expiration: &storage.LifecycleExpiration{Days: 1, Date: day(2030, 1, 1)}}, storage.ErrLifecycleExpiration},
		{"negative days", storage.LifecycleRule{ID: "a", Expiration: &storage.LifecycleExpiration{Days: -1}}, storage.ErrLifecycleDays},
		{"date not midnight", storage.LifecycleRule{ID: "a", Expiration: &storage.LifecycleExpiration{Date: day(2030, 1, 1).Add(time.Hour)}}, storage.ErrLifecycleDate},
		{"eodm with tag", storage.LifecycleRule{ID: "a", Filter: storage.LifecycleFilter{Tags: []storage.Tag{{Key: "k", Value: "v"}}},
			Expiration: &storage.LifecycleExpiration{ExpiredObjectDeleteMarker: true}}, storage.ErrLifecycleMarkerFilter},
		{"noncurrent 0", storage.LifecycleRule{ID: "a", NoncurrentExpiration: &storage.NoncurrentExpiration{}}, storage.ErrLifecycleNoncurrentDays},
		{"newer 101", storage.LifecycleRule{ID: "a", NoncurrentExpiration: &storage.NoncurrentExpiration{Days: 1, NewerVersions: 101}}, storage.ErrLifecycleNewerVersions},
		{"abort 0", storage.LifecycleRule{ID: "a", AbortUpload: &storage.AbortUpload{}}, storage.ErrLifecycleAbortDays},
		{"abort tags", storage.LifecycleRule{ID: "a", Filter: storage.LifecycleFilter{Tags: []storage.Tag{{Key: "k"}}},
			AbortUpload: &storage.AbortUpload{DaysAfterInitiation: 1}}, storage.ErrLifecycleAbortTags},
		{"abort size", storage.LifecycleRule{ID: "a", Filter: storage.LifecycleFilter{SizeLessThan: i64(5)},
			AbortUpload: &storage.AbortUpload{DaysAfterInitiation: 1}}, storage.ErrLifecycleAbortSize},
		{"size order", storage.LifecycleRule{ID: "a", Filter: storage.LifecycleFilter{SizeGreaterThan: i64(5), SizeLessThan: i64(5)}, Expiration: exp}, storage.ErrLifecycleSizeOrder},
		{"size 0", storage.LifecycleRule{ID: "a", Filter: storage.LifecycleFilter{SizeLessThan: i64(0)}, Expiration: exp}, storage.ErrLifecycleSizeLess},
		{"dup tag", storage.LifecycleRule{ID: "a", Filter: storage.LifecycleFilter{Tags: []storage.Tag{{Key: "k"}, {Key: "k", Value: "x"}}}, Expiration: exp}, storage.ErrLifecycleDuplicateTagKey},
	}
	for _, tc := range tests {
		err := storage.Lifecycle{Rules: []storage.LifecycleRule{tc.rule}}.Validate()
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	dup := storage.Lifecycle{Rules: []storage.LifecycleRule{{ID: "a", Expiration: exp}, {ID: "a", Expiration: exp}}}
	if err := dup.Validate(); !errors.Is(err, storage.ErrLifecycleDuplicateID) {
		t.Errorf("duplicate ids: %v", err)
	}
	many := storage.Lifecycle{Rules: make([]storage.LifecycleRule, 1001)}
	if err := many.Validate(); !errors.Is(err, storage.ErrLifecycleTooManyRules) {
		t.Errorf("1001 rules: %v", err)
	}
}

// TestLifecycleGoesWithBucket: deleting a bucket removes its lifecycle
// configuration and rescan; a bucket of the same name starts without one.
func TestLifecycleGoesWithBucket(t *testing.T) {
	ctx := context.Background()
	e, _ := lcEngine(t, time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC))
	mustOK(t, e.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}))
	mustOK(t, e.PutBucketLifecycle(ctx, "bkt", storage.Lifecycle{Rules: []storage.LifecycleRule{
		{ID: "mpu", Enabled: true, AbortUpload: &storage.AbortUpload{DaysAfterInitiation: 1}}}}))
	_, err := e.CreateMultipartUpload(ctx, "bkt", "k", storage.PutOptions{})
	mustOK(t, err)
	mustOK(t, e.DeleteBucket(ctx, "bkt"))
	mustOK(t, e.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}))
	if _, err := e.GetBucketLifecycle(ctx, "bkt"); !errors.Is(err, storage.ErrNoSuchLifecycle) {
		t.Fatalf("recreated bucket: %v", err)
	}
	st := e.LifecycleStatus(ctx)
	if st.NextDue != nil || len(st.Rescans) != 0 {
		t.Fatalf("lifecycle state left by the deleted bucket: %+v", st)
	}
}
