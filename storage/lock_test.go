package storage_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/drive"
)

// fakeClock is a settable clock for retention expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newClockedEngine is a test engine whose clock the test moves.
func newClockedEngine(t *testing.T) (*testEngine, *fakeClock) {
	t.Helper()
	te := newTestEngine(t, 2, 1, 1<<16)
	clk := &fakeClock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	cfg := te.cfg
	cfg.Now = clk.Now
	e, err := storage.NewEngine(cfg, te.kv, te.set, storage.FixedPlacement(te.rg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	te.Engine, te.cfg = e, cfg
	return te, clk
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func lockBucket(t *testing.T, e *testEngine, name string) {
	t.Helper()
	mustOK(t, e.CreateBucket(context.Background(), name, storage.CreateBucketOptions{ObjectLock: true}))
}

func putLocked(t *testing.T, e *testEngine, bucket, key string, lock storage.ObjectLock) storage.ObjectInfo {
	t.Helper()
	body := []byte("worm data of " + key)
	info, err := e.PutObject(context.Background(), bucket, key, bytes.NewReader(body),
		storage.PutOptions{Size: int64(len(body)), Lock: lock, Digested: true})
	if err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
	return info
}

// TestLockedVersionDeletes walks the delete rules against the engine's
// clock: each lock refuses a permanent delete of its version until it
// ends (or is bypassed or lifted), while a delete without a version id
// still adds a delete marker.
func TestLockedVersionDeletes(t *testing.T) {
	ctx := context.Background()
	e, clk := newClockedEngine(t)
	lockBucket(t, e, "worm")
	hour := clk.Now().Add(time.Hour)
	cases := []struct {
		name        string
		lock        storage.ObjectLock
		bypass      bool
		then        func(key, id string) // makes the version deletable
		deletableAt time.Duration        // clock advance after which the delete succeeds
	}{
		{name: "compliance", lock: storage.ObjectLock{Mode: storage.RetentionCompliance, RetainUntil: hour}},
		{name: "compliance-bypass", lock: storage.ObjectLock{Mode: storage.RetentionCompliance, RetainUntil: hour}, bypass: true},
		{name: "governance", lock: storage.ObjectLock{Mode: storage.RetentionGovernance, RetainUntil: hour}},
		{name: "legal-hold", lock: storage.ObjectLock{LegalHold: storage.LegalHoldOn}, then: func(key, id string) {
			if _, err := e.PutObjectLegalHold(ctx, "worm", key, id, storage.LegalHoldOff); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info := putLocked(t, e, "worm", tc.name, tc.lock)
			if !info.Locked(clk.Now()) || info.Lock != tc.lock {
				t.Fatalf("put returned lock %+v, want %+v", info.Lock, tc.lock)
			}
			_, err := e.DeleteObject(ctx, "worm", tc.name, storage.DeleteOptions{VersionID: info.VersionID, BypassGovernance: tc.bypass})
			if !errors.Is(err, storage.ErrObjectLocked) {
				t.Fatalf("delete of a locked version: %v", err)
			}
			dm, err := e.DeleteObject(ctx, "worm", tc.name, storage.DeleteOptions{})
			if err != nil || !dm.DeleteMarker {
				t.Fatalf("delete without version id: %+v %v", dm, err)
			}
			if _, err := e.HeadObject(ctx, "worm", tc.name, storage.GetOptions{VersionID: info.VersionID}); err != nil {
				t.Fatalf("locked version gone: %v", err)
			}
			if tc.then != nil {
				tc.then(tc.name, info.VersionID)
			}
		})
	}
	// GOVERNANCE yields to a bypass; COMPLIANCE does not.
	g := putLocked(t, e, "worm", "gov-bypassed", storage.ObjectLock{Mode: storage.RetentionGovernance, RetainUntil: hour})
	if _, err := e.DeleteObject(ctx, "worm", "gov-bypassed", storage.DeleteOptions{VersionID: g.VersionID, BypassGovernance: true}); err != nil {
		t.Fatalf("bypassed governance delete: %v", err)
	}
	// The legal hold was lifted: its version goes now.
	deleteAllVersions(t, e, "legal-hold", nil)
	// Past the retain-until date every version goes.
	clk.advance(time.Hour + time.Second)
	for _, k := range []string{"compliance", "compliance-bypass", "governance"} {
		deleteAllVersions(t, e, k, nil)
	}
	if err := e.DeleteBucket(ctx, "worm"); err != nil {
		t.Fatalf("DeleteBucket after every lock ended: %v", err)
	}
}

// deleteAllVersions removes every version of key; want is the error each
// version delete must answer (nil: success).
func deleteAllVersions(t *testing.T, e *testEngine, key string, want error) {
	t.Helper()
	ctx := context.Background()
	res, err := e.ListObjectVersions(ctx, "worm", storage.ListVersionsOptions{Prefix: key, MaxKeys: 100})
	mustOK(t, err)
	for _, v := range res.Versions {
		if v.Key != key {
			continue
		}
		_, err := e.DeleteObject(ctx, "worm", key, storage.DeleteOptions{VersionID: v.VersionID})
		if !errors.Is(err, want) {
			t.Fatalf("delete %s version %s: %v, want %v", key, v.VersionID, err, want)
		}
	}
}

// TestDeleteBucketWithLockedVersions: a bucket holding a locked version is
// never deleted, even once its key shows only a delete marker.
func TestDeleteBucketWithLockedVersions(t *testing.T) {
	ctx := context.Background()
	e, clk := newClockedEngine(t)
	lockBucket(t, e, "worm")
	v := putLocked(t, e, "worm", "k", storage.ObjectLock{Mode: storage.RetentionCompliance, RetainUntil: clk.Now().Add(24 * time.Hour)})
	dm, err := e.DeleteObject(ctx, "worm", "k", storage.DeleteOptions{})
	mustOK(t, err)
	_, err = e.DeleteObject(ctx, "worm", "k", storage.DeleteOptions{VersionID: dm.VersionID})
	mustOK(t, err) // delete markers carry no lock
	if err := e.DeleteBucket(ctx, "worm"); !errors.Is(err, storage.ErrBucketNotEmpty) {
		t.Fatalf("DeleteBucket: %v", err)
	}
	if _, err := e.HeadObject(ctx, "worm", "k", storage.GetOptions{VersionID: v.VersionID}); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionChanges checks which retention changes are allowed while a
// retention runs, and that any is once it is over.
func TestRetentionChanges(t *testing.T) {
	ctx := context.Background()
	e, clk := newClockedEngine(t)
	lockBucket(t, e, "worm")
	now := clk.Now()
	in := func(d time.Duration) time.Time { return now.Add(d) }
	comp := func(d time.Duration) storage.Retention {
		return storage.Retention{Mode: storage.RetentionCompliance, RetainUntil: in(d)}
	}
	gov := func(d time.Duration) storage.Retention {
		return storage.Retention{Mode: storage.RetentionGovernance, RetainUntil: in(d)}
	}
	cases := []struct {
		name   string
		from   storage.Retention
		to     storage.Retention
		bypass bool
		want   error
	}{
		{"compliance extended", comp(time.Hour), comp(2 * time.Hour), false, nil},
		{"compliance kept", comp(time.Hour), comp(time.Hour), false, nil},
		{"compliance shortened", comp(2 * time.Hour), comp(time.Hour), false, storage.ErrObjectLocked},
		{"compliance shortened with bypass", comp(2 * time.Hour), comp(time.Hour), true, storage.ErrObjectLocked},
		{"compliance to governance", comp(time.Hour), gov(2 * time.Hour), true, storage.ErrObjectLocked},
		{"compliance removed", comp(time.Hour), storage.Retention{}, true, storage.ErrObjectLocked},
		{"governance extended", gov(time.Hour), gov(2 * time.Hour), false, nil},
		{"governance to compliance", gov(time.Hour), comp(time.Hour), false, nil},
		{"governance shortened", gov(2 * time.Hour), gov(time.Hour), false, storage.ErrObjectLocked},
		{"governance shortened with bypass", gov(2 * time.Hour), gov(time.Hour), true, nil},
		{"governance removed", gov(time.Hour), storage.Retention{}, false, storage.ErrObjectLocked},
		{"governance removed with bypass", gov(time.Hour), storage.Retention{}, true, nil},
		{"in the past", gov(time.Hour), gov(-time.Minute), true, storage.ErrRetainUntilPast},
		{"mode without date", gov(time.Hour), storage.Retention{Mode: storage.RetentionGovernance}, true, storage.ErrInvalidArgument},
		{"unknown mode", gov(time.Hour), storage.Retention{Mode: "FOREVER", RetainUntil: in(time.Hour)}, true, storage.ErrInvalidRetentionMode},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "r" + string(rune('a'+i))
			v := putLocked(t, e, "worm", key, storage.ObjectLock{})
			_, err := e.PutObjectRetention(ctx, "worm", key, storage.RetentionOptions{VersionID: v.VersionID, Retention: tc.from})
			mustOK(t, err)
			_, err = e.PutObjectRetention(ctx, "worm", key, storage.RetentionOptions{VersionID: v.VersionID, Retention: tc.to, BypassGovernance: tc.bypass})
			if !errors.Is(err, tc.want) {
				t.Fatalf("change: %v, want %v", err, tc.want)
			}
			got, err := e.GetObjectRetention(ctx, "worm", key, v.VersionID)
			want := tc.from
			if tc.want == nil {
				want = tc.to
			}
			if want == (storage.Retention{}) {
				if !errors.Is(err, storage.ErrNoObjectRetention) {
					t.Fatalf("removed retention reads %+v, %v", got, err)
				}
				return
			}
			if err != nil || got.Mode != want.Mode || !got.RetainUntil.Equal(want.RetainUntil) {
				t.Fatalf("retention now %+v (%v), want %+v", got, err, want)
			}
		})
	}
	// Once over, a COMPLIANCE retention may be replaced by anything.
	v := putLocked(t, e, "worm", "over", storage.ObjectLock{Mode: storage.RetentionCompliance, RetainUntil: in(time.Minute)})
	clk.advance(2 * time.Minute)
	_, err := e.PutObjectRetention(ctx, "worm", "over", storage.RetentionOptions{VersionID: v.VersionID,
		Retention: storage.Retention{Mode: storage.RetentionGovernance, RetainUntil: in(time.Hour)}})
	mustOK(t, err)
}

// TestDefaultRetention: a lock-enabled bucket's default retention runs
// from each new version's creation on the engine's clock; versions with
// their own retention and delete markers keep theirs.
func TestDefaultRetention(t *testing.T) {
	ctx := context.Background()
	e, clk := newClockedEngine(t)
	lockBucket(t, e, "worm")
	if cfg, err := e.GetObjectLockConfig(ctx, "worm"); err != nil || cfg.Default != nil {
		t.Fatalf("new lock bucket config %+v, %v", cfg, err)
	}
	for _, tc := range []struct {
		def                storage.DefaultRetention
		years, months, day int
	}{
		{storage.DefaultRetention{Mode: storage.RetentionGovernance, Days: 3}, 0, 0, 3},
		{storage.DefaultRetention{Mode: storage.RetentionCompliance, Years: 2}, 2, 0, 0},
	} {
		mustOK(t, e.PutObjectLockConfig(ctx, "worm", storage.ObjectLockConfig{Default: &tc.def}))
		clk.advance(time.Second)
		want := clk.Now().AddDate(tc.years, tc.months, tc.day)
		info := putLocked(t, e, "worm", "d", storage.ObjectLock{})
		if info.Lock.Mode != tc.def.Mode || !info.Lock.RetainUntil.Equal(want) || !info.ModTime.Equal(clk.Now()) {
			t.Fatalf("default %+v gave %+v at %v, want until %v", tc.def, info.Lock, info.ModTime, want)
		}
		own := clk.Now().Add(time.Hour)
		info = putLocked(t, e, "worm", "own", storage.ObjectLock{Mode: storage.RetentionGovernance, RetainUntil: own})
		if !info.Lock.RetainUntil.Equal(own) {
			t.Fatalf("own retention replaced by the default: %+v", info.Lock)
		}
	}
	dm, err := e.DeleteObject(ctx, "worm", "d", storage.DeleteOptions{})
	mustOK(t, err)
	if _, err := e.DeleteObject(ctx, "worm", "d", storage.DeleteOptions{VersionID: dm.VersionID}); err != nil {
		t.Fatalf("delete marker got the default retention: %v", err)
	}
	// Without a digest, locked data is refused before anything is stored.
	_, err = e.PutObject(ctx, "worm", "nodigest", bytes.NewReader([]byte("x")), storage.PutOptions{Size: 1})
	if !errors.Is(err, storage.ErrLockNeedsDigest) {
		t.Fatalf("undigested put under default retention: %v", err)
	}
	// Clearing the rule stops the default.
	mustOK(t, e.PutObjectLockConfig(ctx, "worm", storage.ObjectLockConfig{}))
	if info := putLocked(t, e, "worm", "plain", storage.ObjectLock{}); info.Lock != (storage.ObjectLock{}) {
		t.Fatalf("no default, got %+v", info.Lock)
	}
}

func TestDefaultRetentionValidate(t *testing.T) {
	g := storage.RetentionGovernance
	for _, tc := range []struct {
		d    storage.DefaultRetention
		want error
	}{
		{storage.DefaultRetention{Mode: g, Days: 1}, nil},
		{storage.DefaultRetention{Mode: storage.RetentionCompliance, Years: 100}, nil},
		{storage.DefaultRetention{Mode: "", Days: 1}, storage.ErrInvalidRetentionMode},
		{storage.DefaultRetention{Mode: "governance", Days: 1}, storage.ErrInvalidRetentionMode},
		{storage.DefaultRetention{Mode: g}, storage.ErrInvalidRetentionPeriod},
		{storage.DefaultRetention{Mode: g, Days: 1, Years: 1}, storage.ErrInvalidRetentionPeriod},
		{storage.DefaultRetention{Mode: g, Days: -1}, storage.ErrInvalidRetentionPeriod},
		{storage.DefaultRetention{Mode: g, Days: 36501}, storage.ErrRetentionPeriodTooLong},
		{storage.DefaultRetention{Mode: g, Years: 101}, storage.ErrRetentionPeriodTooLong},
	} {
		if err := tc.d.Validate(); !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.d, err, tc.want)
		}
	}
}

// TestObjectLockBucketState: lock needs versioning, keeps it enabled and
// can never be turned off; buckets without it refuse every lock setting.
func TestObjectLockBucketState(t *testing.T) {
	ctx := context.Background()
	e, clk := newClockedEngine(t)
	mustOK(t, e.CreateBucket(ctx, "plain", storage.CreateBucketOptions{}))
	future := clk.Now().Add(time.Hour)
	steps := []struct {
		name string
		run  func() error
		want error
	}{
		{"get config", func() error { _, err := e.GetObjectLockConfig(ctx, "plain"); return err }, storage.ErrNoObjectLockConfig},
		{"put with retention", func() error {
			_, err := e.PutObject(ctx, "plain", "k", bytes.NewReader(nil), storage.PutOptions{Size: 0, Digested: true,
				Lock: storage.ObjectLock{Mode: storage.RetentionGovernance, RetainUntil: future}})
			return err
		}, storage.ErrObjectLockNotEnabled},
		{"multipart with legal hold", func() error {
			_, err := e.CreateMultipartUpload(ctx, "plain", "k", storage.PutOptions{Lock: storage.ObjectLock{LegalHold: storage.LegalHoldOn}})
			return err
		}, storage.ErrObjectLockNotEnabled},
		{"plain put", func() error {
			_, err := e.PutObject(ctx, "plain", "k", bytes.NewReader(nil), storage.PutOptions{})
			return err
		}, nil},
		{"retention", func() error {
			_, err := e.PutObjectRetention(ctx, "plain", "k", storage.RetentionOptions{Retention: storage.Retention{Mode: storage.RetentionGovernance, RetainUntil: future}})
			return err
		}, storage.ErrObjectLockNotEnabled},
		{"get retention", func() error { _, err := e.GetObjectRetention(ctx, "plain", "k", ""); return err }, storage.ErrObjectLockNotEnabled},
		{"legal hold", func() error {
			_, err := e.PutObjectLegalHold(ctx, "plain", "k", "", storage.LegalHoldOn)
			return err
		}, storage.ErrObjectLockNotEnabled},
		{"enable unversioned", func() error { return e.PutObjectLockConfig(ctx, "plain", storage.ObjectLockConfig{}) }, storage.ErrLockNeedsVersioning},
		{"engine-owned document", func() error { return e.PutBucketConfig(ctx, "plain", storage.ConfigObjectLock, []byte("{}")) }, storage.ErrInvalidArgument},
		{"enable versioning", func() error { return e.SetBucketVersioning(ctx, "plain", storage.VersioningEnabled) }, nil},
		{"enable lock", func() error { return e.PutObjectLockConfig(ctx, "plain", storage.ObjectLockConfig{}) }, nil},
		{"suspend versioning", func() error { return e.SetBucketVersioning(ctx, "plain", storage.VersioningSuspended) }, storage.ErrVersioningLocked},
		{"bad default", func() error {
			return e.PutObjectLockConfig(ctx, "plain", storage.ObjectLockConfig{Default: &storage.DefaultRetention{Mode: storage.RetentionGovernance}})
		}, storage.ErrInvalidRetentionPeriod},
		{"no retention yet", func() error { _, err := e.GetObjectRetention(ctx, "plain", "k", ""); return err }, storage.ErrNoObjectRetention},
		{"no legal hold yet", func() error { _, err := e.GetObjectLegalHold(ctx, "plain", "k", ""); return err }, storage.ErrNoObjectRetention},
		{"retention on the null version", func() error {
			_, err := e.PutObjectRetention(ctx, "plain", "k", storage.RetentionOptions{VersionID: "null", Retention: storage.Retention{Mode: storage.RetentionCompliance, RetainUntil: future}})
			return err
		}, nil},
		{"remove locked null version", func() error {
			_, err := e.DeleteObject(ctx, "plain", "k", storage.DeleteOptions{VersionID: "null", BypassGovernance: true})
			return err
		}, storage.ErrObjectLocked},
		{"retain in the past", func() error {
			_, err := e.PutObject(ctx, "plain", "k2", bytes.NewReader(nil), storage.PutOptions{Digested: true,
				Lock: storage.ObjectLock{Mode: storage.RetentionGovernance, RetainUntil: clk.Now()}})
			return err
		}, storage.ErrRetainUntilPast},
	}
	for _, s := range steps {
		if err := s.run(); !errors.Is(err, s.want) {
			t.Fatalf("%s: %v, want %v", s.name, err, s.want)
		}
	}
	info, err := e.HeadBucket(ctx, "plain")
	if err != nil || !info.ObjectLock || info.Versioning != storage.VersioningEnabled {
		t.Fatalf("bucket after enabling lock: %+v %v", info, err)
	}
}

// TestMultipartLock: the lock and tags named at CreateMultipartUpload go
// to the completed version; the bucket default applies otherwise.
func TestMultipartLock(t *testing.T) {
	ctx := context.Background()
	e, clk := newClockedEngine(t)
	lockBucket(t, e, "worm")
	until := clk.Now().Add(time.Hour)
	id, err := e.CreateMultipartUpload(ctx, "worm", "mp", storage.PutOptions{
		Lock: storage.ObjectLock{Mode: storage.RetentionCompliance, RetainUntil: until, LegalHold: storage.LegalHoldOn},
		Tags: []storage.Tag{{Key: "a", Value: "b"}}})
	mustOK(t, err)
	p, err := e.UploadPart(ctx, "worm", "mp", id, 1, bytes.NewReader([]byte("part")), storage.PartOptions{Size: 4})
	mustOK(t, err)
	info, err := e.CompleteMultipartUpload(ctx, "worm", "mp", id, []storage.CompletePart{{Number: 1, ETag: p.ETag}}, storage.CompleteOptions{})
	mustOK(t, err)
	if info.Lock.Mode != storage.RetentionCompliance || !info.Lock.RetainUntil.Equal(until) || info.Lock.LegalHold != storage.LegalHoldOn ||
		len(info.Tags) != 1 || info.Tags[0].Key != "a" {
		t.Fatalf("completed version: lock %+v tags %+v", info.Lock, info.Tags)
	}
	if _, err := e.DeleteObject(ctx, "worm", "mp", storage.DeleteOptions{VersionID: info.VersionID}); !errors.Is(err, storage.ErrObjectLocked) {
		t.Fatalf("delete: %v", err)
	}
}

// TestObjectTags: tags per version, changed in place without touching the
// data; the latest version's head shows them at once.
func TestObjectTags(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, 2, 1, 1<<16)
	mustOK(t, e.CreateBucket(ctx, "tags", storage.CreateBucketOptions{}))
	mustOK(t, e.SetBucketVersioning(ctx, "tags", storage.VersioningEnabled))
	body := bytes.Repeat([]byte("t"), 100<<10) // on drives, not inline
	put := func(tags []storage.Tag) storage.ObjectInfo {
		info, err := e.PutObject(ctx, "tags", "k", bytes.NewReader(body), storage.PutOptions{Size: int64(len(body)), Tags: tags})
		mustOK(t, err)
		return info
	}
	old := put([]storage.Tag{{Key: "gen", Value: "1"}})
	cur := put(nil)
	shards := countShards(t, e)
	one := []storage.Tag{{Key: "colour", Value: "blue"}, {Key: "empty", Value: ""}}
	id, err := e.PutObjectTags(ctx, "tags", "k", "", one)
	if err != nil || id != cur.VersionID {
		t.Fatalf("PutObjectTags latest: %q %v", id, err)
	}
	check := func(version string, want []storage.Tag) {
		t.Helper()
		got, _, err := e.GetObjectTags(ctx, "tags", "k", version)
		mustOK(t, err)
		if len(got) != len(want) {
			t.Fatalf("version %q tags %+v, want %+v", version, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("version %q tags %+v, want %+v", version, got, want)
			}
		}
	}
	check("", one)
	check(old.VersionID, []storage.Tag{{Key: "gen", Value: "1"}})
	if h, err := e.HeadObject(ctx, "tags", "k", storage.GetOptions{}); err != nil || len(h.Tags) != 2 {
		t.Fatalf("head after tagging: %+v %v", h.Tags, err)
	}
	_, err = e.DeleteObjectTags(ctx, "tags", "k", old.VersionID)
	mustOK(t, err)
	check(old.VersionID, nil)
	check("", one)
	if n := countShards(t, e); n != shards {
		t.Fatalf("tagging changed the shards: %d, was %d", n, shards)
	}
	rc, err := e.GetObject(ctx, "tags", "k", storage.GetOptions{})
	mustOK(t, err)
	var got bytes.Buffer
	_, err = got.ReadFrom(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got.Bytes(), body) {
		t.Fatalf("data after tagging: %d bytes, %v", got.Len(), err)
	}
	tooMany := make([]storage.Tag, storage.MaxObjectTags+1)
	for i := range tooMany {
		tooMany[i] = storage.Tag{Key: string(rune('a' + i))}
	}
	if _, err := e.PutObjectTags(ctx, "tags", "k", "", tooMany); !errors.Is(err, storage.ErrInvalidArgument) {
		t.Fatalf("11 tags: %v", err)
	}
	// Copies take the source's tags unless told otherwise.
	c, err := e.CopyObject(ctx, storage.CopySource{Bucket: "tags", Key: "k"}, "tags", "copy", storage.CopyOptions{})
	mustOK(t, err)
	if len(c.Tags) != 2 {
		t.Fatalf("copied tags %+v", c.Tags)
	}
	c, err = e.CopyObject(ctx, storage.CopySource{Bucket: "tags", Key: "k"}, "tags", "copy2", storage.CopyOptions{ReplaceTags: true})
	mustOK(t, err)
	if len(c.Tags) != 0 {
		t.Fatalf("replaced tags %+v", c.Tags)
	}
	// A delete marker has no tags to change.
	_, err = e.DeleteObject(ctx, "tags", "k", storage.DeleteOptions{})
	mustOK(t, err)
	var nf *storage.ObjectNotFoundError
	if _, err := e.PutObjectTags(ctx, "tags", "k", "", one); !errors.As(err, &nf) || !nf.DeleteMarker {
		t.Fatalf("tagging a delete marker: %v", err)
	}
	var vnf *storage.VersionNotFoundError
	if _, err := e.PutObjectTags(ctx, "tags", "k", "0190a6f4-0000-7000-8000-000000000000", one); !errors.As(err, &vnf) {
		t.Fatalf("tagging a missing version: %v", err)
	}
}

func countShards(t *testing.T, e *testEngine) int {
	t.Helper()
	n := 0
	for _, id := range e.set.DriveIDs() {
		d, err := e.set.Drive(id)
		mustOK(t, err)
		mustOK(t, d.Walk(context.Background(), "", func(drive.ShardInfo) error { n++; return nil }))
	}
	return n
}

// TestRetentionRacesDelete races a permanent delete of a version whose
// retention just ended against a new retention of that version: the
// version record's revision decides, so never both succeed.
func TestRetentionRacesDelete(t *testing.T) {
	ctx := context.Background()
	e, clk := newClockedEngine(t)
	lockBucket(t, e, "worm")
	for i := range 20 {
		key := "race" + string(rune('a'+i))
		v := putLocked(t, e, "worm", key, storage.ObjectLock{Mode: storage.RetentionGovernance, RetainUntil: clk.Now().Add(time.Minute)})
		if i%2 == 0 {
			putLocked(t, e, "worm", key, storage.ObjectLock{}) // v is then not the latest: the head is not rewritten
		}
		clk.advance(2 * time.Minute) // the retention is over
		var delErr, retErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, delErr = e.DeleteObject(ctx, "worm", key, storage.DeleteOptions{VersionID: v.VersionID})
		}()
		go func() {
			defer wg.Done()
			_, retErr = e.PutObjectRetention(ctx, "worm", key, storage.RetentionOptions{VersionID: v.VersionID,
				Retention: storage.Retention{Mode: storage.RetentionCompliance, RetainUntil: clk.Now().Add(time.Hour)}})
		}()
		wg.Wait()
		_, headErr := e.HeadObject(ctx, "worm", key, storage.GetOptions{VersionID: v.VersionID})
		switch {
		case delErr == nil && retErr == nil:
			t.Fatalf("%s: both the delete and the new retention succeeded", key)
		case delErr == nil && headErr == nil, retErr == nil && headErr != nil:
			t.Fatalf("%s: delete %v, retention %v, version now %v", key, delErr, retErr, headErr)
		case retErr == nil && !errors.Is(delErr, storage.ErrObjectLocked):
			t.Fatalf("%s: retention won but the delete answered %v", key, delErr)
		}
	}
}

// TestConcurrentTagUpdates: concurrent tag changes of the latest version
// leave one writer's tags in both the version and the head.
func TestConcurrentTagUpdates(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, 2, 1, 1<<16)
	mustOK(t, e.CreateBucket(ctx, "tags", storage.CreateBucketOptions{}))
	mustOK(t, e.SetBucketVersioning(ctx, "tags", storage.VersioningEnabled))
	v, err := e.PutObject(ctx, "tags", "k", bytes.NewReader([]byte("x")), storage.PutOptions{Size: 1})
	mustOK(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.PutObjectTags(ctx, "tags", "k", "", []storage.Tag{{Key: "writer", Value: string(rune('0' + i))}})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	byVersion, _, err := e.GetObjectTags(ctx, "tags", "k", v.VersionID)
	mustOK(t, err)
	byHead, _, err := e.GetObjectTags(ctx, "tags", "k", "")
	mustOK(t, err)
	if len(byVersion) != 1 || len(byHead) != 1 || byVersion[0] != byHead[0] {
		t.Fatalf("version tags %v, head tags %v", byVersion, byHead)
	}
}

// BenchmarkPutObjectTags measures a tag update (one compare-and-swap of
// the version record and the head; no data is touched).
func BenchmarkPutObjectTags(b *testing.B) {
	ctx := context.Background()
	e := newTestEngine(b, 2, 1, 1<<16)
	if err := e.CreateBucket(ctx, "tags", storage.CreateBucketOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.PutObject(ctx, "tags", "k", bytes.NewReader([]byte("x")), storage.PutOptions{Size: 1}); err != nil {
		b.Fatal(err)
	}
	tags := []storage.Tag{{Key: "project", Value: "worm"}, {Key: "tier", Value: "gold"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.PutObjectTags(ctx, "tags", "k", "", tags); err != nil {
			b.Fatal(err)
		}
	}
}
