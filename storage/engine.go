package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"sync"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/erasure"
	"github.com/filesphere/filesphere/storage/drive"
	"github.com/filesphere/filesphere/storage/sse"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

// Placement is one immutable placement, a ring version and the drives it
// picks for a key; *ring.Ring satisfies it.
type Placement interface {
	// Version identifies the placement; it is recorded with each version.
	Version() uint64
	// Locate returns n drive ids for key, in a stable order.
	Locate(key string, n int) ([]string, error)
}

// PlacementSource hands out the current placement. A write takes one
// snapshot and records its version with the drives it picked, so a ring
// change in between can never pair a version with drives it did not choose.
type PlacementSource interface {
	Placement() Placement
}

// PlacementFunc adapts a function (a cluster node's current ring) to a
// PlacementSource.
type PlacementFunc func() Placement

// Placement implements PlacementSource.
func (f PlacementFunc) Placement() Placement { return f() }

// FixedPlacement is a PlacementSource that never changes: a single ring in
// one process.
func FixedPlacement(p Placement) PlacementSource {
	return PlacementFunc(func() Placement { return p })
}

// Drives resolves a drive id to a store (local or remote) and lists every
// drive, which garbage collection walks; drive.Set is the in-process one.
type Drives interface {
	Drive(id string) (drive.ShardStore, error)
	DriveIDs() []string
}

// EngineConfig configures an Engine.
type EngineConfig struct {
	DataShards   int
	ParityShards int
	BlockSize    int
	// Bitrot is the frame hash of new writes. Each stream records its own,
	// so reads, heals and scrubs of older streams keep theirs.
	Bitrot erasure.Bitrot
	// InlineThreshold: objects up to this size are kept in the version
	// record instead of on drives.
	InlineThreshold int64
	// MinPartSize is S3's minimum size of every part but the last.
	MinPartSize int64
	// Registry receives repair metrics; nil disables them.
	Registry prometheus.Registerer
	// IsLeader says whether this node runs the cluster-wide background
	// passes (repair, rebalance, scrub, garbage collection); nil = always.
	IsLeader func() bool
	// RepairInterval is the time between background repair passes when
	// no work is left over (see repair.go).
	RepairInterval time.Duration
	// RepairBandwidth throttles background repair writes (bytes/s, 0 = no limit).
	RepairBandwidth int64
	// RepairBatch bounds what one background pass reads of each kind of
	// work: dirty entries, records of a placement sweep, records of the
	// scrub. A pass that leaves work over is followed by the next at once
	// (or as RepairRate allows).
	RepairBatch int
	// RepairRate bounds the metadata records a placement sweep reads per
	// second (0 = no limit), so a sweep after a ring change does not take
	// the leader's CPU from requests.
	RepairRate float64
	// ScrubPeriod is how long one scrub cycle (every shard read and its
	// hashes verified) is spread over.
	ScrubPeriod time.Duration
	// ScrubBandwidth throttles scrub reads (bytes/s, 0 = no limit); a
	// scrub that cannot keep up with ScrubPeriod shows as behind.
	ScrubBandwidth int64
	// GCInterval is the time between collections of orphaned shards, a
	// walk of every record and every drive.
	GCInterval time.Duration
	// PassDone, when set, runs on the leader after each background repair
	// pass that left no placement work pending (no sweep under way, no
	// dirty stream left): the cluster finishes drains from it.
	PassDone func(ctx context.Context, rep HealReport)
	// ChunkGrace is how long a deduplicated chunk stays after its last
	// reference went, before garbage collection removes it: longer than
	// any upload, so one that chose to reference it commits first.
	ChunkGrace time.Duration
	// DedupBuffers bounds the deduplicating writes in flight: each holds
	// one buffer of the largest chunk (4 MiB).
	DedupBuffers int
	// OrphanGrace is how old an unreferenced shard must be before garbage
	// collection removes it (uploads in flight write shards before commit).
	OrphanGrace time.Duration
	// DeleteGrace delays removing the shards of replaced or deleted
	// versions so that reads already under way finish.
	DeleteGrace time.Duration
	// CacheBytes bounds the cache of decoded small objects (0 = no cache);
	// objects up to CacheMaxObject bytes in one part are cached.
	CacheBytes     int64
	CacheMaxObject int64
	// LifecycleDay is how long a lifecycle day lasts: 24 h, as in S3;
	// shorter makes rules of days act in seconds, for tests (as RGW's
	// debug interval does). Whole seconds.
	LifecycleDay time.Duration
	// LifecycleInterval is the longest the leader's lifecycle worker
	// sleeps before looking for due entries (0: LifecycleDay/2, at most a
	// minute); it also wakes at the earliest entry it knows of.
	LifecycleInterval time.Duration
	// LifecycleRate bounds lifecycle actions plus keys re-planned per
	// second (0 = no limit).
	LifecycleRate float64
	// Now and After are the clock; background passes wait on After, so
	// tests drive them with a fake one.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	Log   *logrus.Entry
	// Keys makes SSE-S3 and SSE-KMS data keys; nil refuses both (SSE-C
	// needs no key service).
	Keys KeyService
}

// DefaultEngineConfig is EC 2+2 with 1 MiB blocks and the codec's default
// bitrot hash.
func DefaultEngineConfig() EngineConfig {
	return EngineConfig{DataShards: 2, ParityShards: 2, BlockSize: 1 << 20, Bitrot: erasure.DefaultBitrot, InlineThreshold: 16 << 10,
		MinPartSize: 5 << 20, DeleteGrace: 10 * time.Second, Now: time.Now, After: time.After,
		RepairInterval: time.Minute, RepairBatch: 10_000, RepairRate: 20_000, OrphanGrace: 24 * time.Hour,
		ScrubPeriod: 30 * 24 * time.Hour, ScrubBandwidth: 64 << 20, GCInterval: 24 * time.Hour,
		ChunkGrace: 24 * time.Hour, DedupBuffers: 16,
		CacheBytes: 64 << 20, CacheMaxObject: 1 << 20,
		LifecycleDay: 24 * time.Hour, LifecycleRate: 1000}
}

// Validate checks an EngineConfig.
func (c EngineConfig) Validate() error {
	if _, err := erasure.ParseBitrot(string(c.Bitrot)); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	switch {
	case c.DataShards < 1:
		return errors.New("storage: need at least one data shard")
	case c.ParityShards < 1:
		return errors.New("storage: need at least one parity shard")
	case c.ParityShards > c.DataShards:
		return errors.New("storage: parity shards must not exceed data shards")
	case c.BlockSize < 4<<10:
		return errors.New("storage: block size below 4 KiB")
	case c.InlineThreshold < 0:
		return errors.New("storage: negative inline threshold")
	case c.Now == nil || c.After == nil:
		return errors.New("storage: clock (Now, After) required")
	case c.ChunkGrace < 0 || c.DedupBuffers < 1:
		return errors.New("storage: negative chunk grace or no dedup buffers")
	case c.RepairInterval <= 0 || c.RepairBatch <= 0 || c.ScrubPeriod <= 0 || c.GCInterval <= 0:
		return errors.New("storage: repair interval, batch, scrub period and GC interval must be positive")
	case c.OrphanGrace < 0 || c.RepairBandwidth < 0 || c.RepairRate < 0 || c.ScrubBandwidth < 0:
		return errors.New("storage: negative repair setting")
	case c.DeleteGrace < 0:
		return errors.New("storage: negative delete grace")
	case c.CacheBytes < 0 || c.CacheMaxObject < 0 || c.CacheMaxObject > math.MaxUint32:
		return errors.New("storage: cache sizes must be >= 0 and objects below 4 GiB")
	case c.LifecycleDay < time.Second || c.LifecycleDay%time.Second != 0:
		return errors.New("storage: the lifecycle day must be a whole number of seconds")
	case c.LifecycleInterval < 0 || c.LifecycleRate < 0:
		return errors.New("storage: negative lifecycle interval or rate")
	}
	return nil
}

// WriteQuorum is k, plus one when k == m so two disjoint halves can never
// both accept a write.
func (c EngineConfig) WriteQuorum() int {
	if c.DataShards == c.ParityShards {
		return c.DataShards + 1
	}
	return c.DataShards
}

// Engine is the erasure-coded, versioned object store.
type Engine struct {
	cfg EngineConfig
	kv  meta.KV
	// casKV serves reads whose result a compare-and-swap validates: the
	// local replica when kv offers one, sparing followers a leader round
	// trip per read on the write path.
	casKV     meta.KV
	drives    Drives
	placement PlacementSource
	codec     *erasure.Codec
	log       *logrus.Entry
	// bg tracks background shard deletions so Close can wait for them.
	bg sync.WaitGroup
	// healQueue receives objects a read had to reconstruct.
	healQueue chan healItem
	// markQueue takes the heals the heal queue had no room for: they are
	// recorded as dirty streams instead (dirty.go).
	markQueue chan healItem
	// rs is the leader's in-memory repair state; what must survive a
	// restart or a leader change lives in the KV (repair.go).
	rs repairState
	// passNow asks the repair loop for a pass at once (ring changed, node
	// lost, leadership gained); one pending request covers any number.
	passNow chan struct{}
	refs    readRefs
	// codecs caches one codec per geometry, so records written under an
	// older geometry stay readable after the configuration changes.
	codecs    sync.Map // ECInfo → *erasure.Codec
	healLocks [256]sync.Mutex
	status    healStatus
	lin       linearizer   // nil when kv has no cheaper linearizable view
	cache     *objectCache // nil when off
	// lcCache holds decoded lifecycle configurations (bucket → lcEntry);
	// lcNow wakes the lifecycle worker; lc is its state for status.
	lcCache   sync.Map
	lcNow     chan struct{}
	lc        lifecycleState
	closing   chan struct{}
	closeOnce sync.Once
	// suite seals new encrypted streams (AES-GCM where the CPU has AES
	// instructions); each stream records its own.
	suite sse.Suite
	// dedup is the deduplication state (dedup.go).
	dedup dedupState
}

// healItem is a version a read had to reconstruct; chunks, for a
// deduplicated version, are the chunks it reconstructed (the others need
// no heal).
type healItem struct {
	bucket, key, versionID string
	chunks                 []chunkRef
}

// NewEngine builds an Engine.
func NewEngine(cfg EngineConfig, kv meta.KV, drives Drives, placement PlacementSource) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	codec, err := newCodec(cfg.newECInfo())
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = logrus.NewEntry(l)
	}
	e := &Engine{cfg: cfg, kv: kv, drives: drives, placement: placement, codec: codec,
		log: cfg.Log.WithField("component", "storage"), healQueue: make(chan healItem, 1024), markQueue: make(chan healItem, 4096), passNow: make(chan struct{}, 1), closing: make(chan struct{}),
		lcNow: make(chan struct{}, 1), suite: sse.DefaultSuite()}
	e.status.metrics = newHealMetrics(cfg.Registry)
	e.cache = newObjectCache(cfg)
	e.rs.lastGC = cfg.Now()
	e.rs.repairTh, e.rs.scrubTh = newThrottle(cfg.RepairBandwidth), newThrottle(cfg.ScrubBandwidth)
	e.lc.metrics = newLifecycleMetrics(cfg.Registry)
	e.dedup.init(cfg)
	e.casKV = kv
	if s, ok := kv.(interface{ Stale() meta.KV }); ok {
		e.casKV = s.Stale()
	}
	if l, ok := kv.(linearizer); ok {
		e.lin = l
	}
	return e, nil
}

// linearizer is a KV whose local replica can be brought up to date with one
// leadership check, after which its Stale reads are linearizable
// (meta.RaftKV).
type linearizer interface {
	Linearize(ctx context.Context) error
	Stale() meta.KV
}

// readView returns the KV a read-only request reads all its records through:
// with a linearizer, one read-index round and then local reads (a GET reads
// the bucket, the head, the version and the parts: one round, not four);
// otherwise the KV itself.
func (e *Engine) readView(ctx context.Context) (meta.KV, error) {
	if e.lin == nil {
		return e.kv, nil
	}
	if err := e.lin.Linearize(ctx); err != nil {
		return nil, err
	}
	return e.lin.Stale(), nil
}

// Close waits for background work to finish.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() { close(e.closing) })
	e.bg.Wait()
	return nil
}

var _ Backend = (*Engine)(nil)

func newID() string { return uuid.New().String() }

// newVersionID returns a time-ordered version id.
func newVersionID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New().String()
	}
	return id.String()
}

// shardID names shard i of a data stream; user input never reaches it.
func shardID(dataID string, i int) string {
	return fmt.Sprintf("%s/%s/%d", dataID[:2], dataID, i)
}

// hashKey spreads placement by object.
func hashKey(bucket, key string) string {
	h := fnv.New64a()
	h.Write([]byte(bucket))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return fmt.Sprintf("%s/%x", bucket, h.Sum64())
}

// retries bounds compare-and-swap retry loops under contention.
const retries = 64

// txn commits t, translating a failed compare into errRetry.
func (e *Engine) txn(ctx context.Context, t meta.Txn) error {
	_, err := e.kv.Txn(ctx, t)
	var cf *meta.CompareFailedError
	switch {
	case errors.As(err, &cf):
		return errRetry
	case errors.Is(err, meta.ErrOutcomeUnknown):
		// Leadership changed mid-commit: the entry may or may not have
		// committed. A linearizable read settles it, since a new leader
		// resolves earlier entries before it serves reads.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		applied, cerr := e.applied(cctx, t)
		switch {
		case cerr != nil:
			return fmt.Errorf("%w: %v (checking: %v)", ErrCommitUnknown, err, cerr)
		case applied:
			return nil
		}
		return errRetry
	}
	return err
}

// applied reports whether every write of t is visible now.
func (e *Engine) applied(ctx context.Context, t meta.Txn) (bool, error) {
	for _, op := range t.Ops {
		ent, err := e.kv.Get(ctx, op.Key)
		switch {
		case errors.Is(err, meta.ErrNotFound):
			if op.Kind == meta.OpPut {
				return false, nil
			}
		case err != nil:
			return false, err
		case op.Kind == meta.OpDelete || !bytes.Equal(ent.Value, op.Value):
			return false, nil
		}
	}
	return true, nil
}

var errRetry = errors.New("storage: retry")

// getBucket reads a bucket record and its revision.
func (e *Engine) getBucket(ctx context.Context, name string) (bucketRecord, uint64, error) {
	return e.getBucketFrom(ctx, e.kv, name)
}

// getBucketFrom reads a bucket record through kv (linearizable or, for
// reads a compare-and-swap validates, the local replica).
func (e *Engine) getBucketFrom(ctx context.Context, kv meta.KV, name string) (bucketRecord, uint64, error) {
	if !ValidBucketName(name) {
		return bucketRecord{}, 0, &BucketNotFoundError{Bucket: name}
	}
	ent, err := kv.Get(ctx, bucketKey(name))
	if errors.Is(err, meta.ErrNotFound) {
		ent, err = meta.Entry{}, nil
	}
	if err != nil {
		return bucketRecord{}, 0, err
	}
	return bucketFromEntry(name, ent)
}

// bucketFromEntry is the bucket record read as ent (Revision 0: none).
func bucketFromEntry(name string, ent meta.Entry) (bucketRecord, uint64, error) {
	var br bucketRecord
	rev, err := bucketInto(name, ent, &br)
	return br, rev, err
}

// bucketInto is bucketFromEntry decoding into br.
func bucketInto(name string, ent meta.Entry, br *bucketRecord) (uint64, error) {
	if ent.Revision == 0 {
		return 0, &BucketNotFoundError{Bucket: name}
	}
	if err := decode(ent.Value, br); err != nil {
		return 0, err
	}
	if br.Deleting {
		return 0, &BucketNotFoundError{Bucket: name}
	}
	return ent.Revision, nil
}

// getHead reads a key's head; rev 0 when the key has no versions.
func (e *Engine) getHead(ctx context.Context, bucket, key string) (headRecord, uint64, error) {
	return getHeadFrom(ctx, e.kv, bucket, key)
}

func getHeadFrom(ctx context.Context, kv meta.KV, bucket, key string) (headRecord, uint64, error) {
	ent, err := kv.Get(ctx, headKey(bucket, key))
	if errors.Is(err, meta.ErrNotFound) {
		return headRecord{}, 0, nil
	}
	if err != nil {
		return headRecord{}, 0, err
	}
	return headFromEntry(ent)
}

// headFromEntry is the head read as ent (Revision 0: none).
func headFromEntry(ent meta.Entry) (headRecord, uint64, error) {
	var h headRecord
	rev, err := headInto(ent, &h)
	return h, rev, err
}

// headInto is headFromEntry decoding into h.
func headInto(ent meta.Entry, h *headRecord) (uint64, error) {
	if ent.Revision == 0 {
		return 0, nil
	}
	return ent.Revision, decode(ent.Value, h)
}

// versionEntry is a version record with its meta key.
type versionEntry struct {
	metaKey string
	rev     uint64
	rec     versionRecord
}

// listKeyVersions returns all versions of one key, newest first.
func (e *Engine) listKeyVersions(ctx context.Context, bucket, key string) ([]versionEntry, error) {
	return listKeyVersionsFrom(ctx, e.kv, bucket, key)
}

func listKeyVersionsFrom(ctx context.Context, kv meta.KV, bucket, key string) ([]versionEntry, error) {
	ents, err := kv.List(ctx, versionKeyPrefix(bucket, key), "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]versionEntry, 0, len(ents))
	for _, ent := range ents {
		var v versionRecord
		if err := decode(ent.Value, &v); err != nil {
			return nil, err
		}
		out = append(out, versionEntry{ent.Key, ent.Revision, v})
	}
	return out, nil
}

// resolve finds the version a read addresses.
func (e *Engine) resolve(ctx context.Context, bucket, key, versionID string) (versionRecord, bool, error) {
	v, latest, _, err := e.resolveIn(ctx, e.kv, bucket, key, versionID, false)
	return v, latest, err
}

// resolveIn is resolve reading through kv (see readView), also returning
// the bucket record it read. A read of the latest version reads the bucket
// record and the head together where kv can: in one local read
// transaction, of one point in time, with the parts record too when
// withData and kv is a meta.Viewer (a GET: one transaction, not two), else
// with meta.MultiGetter.
func (e *Engine) resolveIn(ctx context.Context, kv meta.KV, bucket, key, versionID string, withData bool) (versionRecord, bool, bucketRecord, error) {
	latest := versionID == "" && ValidBucketName(bucket) && ValidObjectKey(key)
	if vw, ok := kv.(meta.Viewer); ok && latest {
		return resolveLatestView(ctx, vw, bucket, key, withData)
	}
	if mg, ok := kv.(meta.MultiGetter); ok && latest {
		ents, err := mg.GetMany(ctx, bucketKey(bucket), headKey(bucket, key))
		if err != nil {
			return versionRecord{}, false, bucketRecord{}, err
		}
		br, _, err := bucketFromEntry(bucket, ents[0])
		if err != nil {
			return versionRecord{}, false, br, err
		}
		h, rev, err := headFromEntry(ents[1])
		if err != nil {
			return versionRecord{}, false, br, err
		}
		v, err := latestVersion(bucket, key, h, rev)
		return v, err == nil, br, err
	}
	br, _, err := e.getBucketFrom(ctx, kv, bucket)
	if err != nil {
		return versionRecord{}, false, br, err
	}
	v, latest, err := e.resolveVersion(ctx, kv, bucket, key, versionID)
	return v, latest, br, err
}

// resolveLatestView reads the bucket record and the head in one read
// transaction and, withData, the parts record the latest version names
// (kept in the version for loadDataFrom). A missing parts record is left
// for the open to find (the version was replaced: GetObject retries).
func resolveLatestView(ctx context.Context, vw meta.Viewer, bucket, key string, withData bool) (versionRecord, bool, bucketRecord, error) {
	// One value holds what the read decodes: fn captures only it.
	st := &struct {
		br  bucketRecord
		h   headRecord
		rev uint64
	}{}
	err := vw.View(ctx, func(r meta.Reader) error {
		ent, err := getIn(r, bucketKey(bucket))
		if err != nil {
			return err
		}
		if _, err := bucketInto(bucket, ent, &st.br); err != nil {
			return err
		}
		if ent, err = getIn(r, headKey(bucket, key)); err != nil {
			return err
		}
		if st.rev, err = headInto(ent, &st.h); err != nil || st.rev == 0 {
			return err
		}
		if v := &st.h.Latest; withData && !v.DeleteMarker && v.DataKey != "" && v.Size > 0 {
			ent, err := getIn(r, dataKey(v.DataKey))
			v.data, v.dataOf = ent.Value, v.DataKey
			return err
		}
		return nil
	})
	if err != nil {
		return versionRecord{}, false, st.br, err
	}
	v, err := latestVersion(bucket, key, st.h, st.rev)
	return v, err == nil, st.br, err
}

// getIn reads key in r as GetMany does: a missing key's entry has only
// its Key (Revision 0).
func getIn(r meta.Reader, key string) (meta.Entry, error) {
	ent, err := r.Get(key)
	if errors.Is(err, meta.ErrNotFound) {
		return meta.Entry{Key: key}, nil
	}
	return ent, err
}

// latestVersion is the latest version as head h (at revision rev) says.
func latestVersion(bucket, key string, h headRecord, rev uint64) (versionRecord, error) {
	if rev == 0 {
		return versionRecord{}, &ObjectNotFoundError{Bucket: bucket, Key: key}
	}
	if h.Latest.DeleteMarker {
		return versionRecord{}, &ObjectNotFoundError{Bucket: bucket, Key: key, DeleteMarker: true, MarkerVersionID: h.Latest.shownID()}
	}
	return h.Latest, nil
}

func (e *Engine) resolveVersion(ctx context.Context, kv meta.KV, bucket, key, versionID string) (versionRecord, bool, error) {
	if !ValidObjectKey(key) {
		return versionRecord{}, false, &ObjectNotFoundError{Bucket: bucket, Key: key}
	}
	if versionID == "" {
		h, rev, err := getHeadFrom(ctx, kv, bucket, key)
		if err != nil {
			return versionRecord{}, false, err
		}
		v, err := latestVersion(bucket, key, h, rev)
		return v, err == nil, err
	}
	if err := validVersionID(versionID); err != nil {
		return versionRecord{}, false, err
	}
	vs, err := listKeyVersionsFrom(ctx, kv, bucket, key)
	if err != nil {
		return versionRecord{}, false, err
	}
	for i, v := range vs {
		if v.rec.VersionID == versionID {
			if v.rec.DeleteMarker {
				return versionRecord{}, false, &ObjectNotFoundError{Bucket: bucket, Key: key, VersionID: versionID, DeleteMarker: true, MarkerVersionID: versionID}
			}
			return v.rec, i == 0, nil
		}
	}
	return versionRecord{}, false, &VersionNotFoundError{Bucket: bucket, Key: key, VersionID: versionID}
}

// shownID is the version id clients see ("" for never-versioned objects).
func (v *versionRecord) shownID() string {
	if v.Null && !v.Versioned {
		return ""
	}
	return v.VersionID
}

// validVersionID accepts "null" and the ids the engine generates.
func validVersionID(id string) error {
	if id == NullVersionID {
		return nil
	}
	if _, err := uuid.Parse(id); err != nil {
		return fmt.Errorf("%w: %q", ErrInvalidVersionID, id)
	}
	return nil
}
