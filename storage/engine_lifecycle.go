package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/google/uuid"
)

// The lifecycle index. Every key whose versions a rule will act on has one
// entry, keyed by the time of its earliest step, and every upload a rule
// will abort has one; the head (or upload record) names its entry and the
// two change in one transaction, so the index is exact. The worker reads
// entries in time order and stops at the first one not yet due, so a pass
// costs what is due, not what is stored. Rules are evaluated again when an
// entry falls due, so an entry planned under older rules never acts early;
// a configuration change re-plans every key once (see rescan in
// lifecycle_worker.go).

// storedLifecycle is the lifecycle document: the configuration and the
// generation of the bucket record it belongs to.
type storedLifecycle struct {
	Gen uint64 `json:"gen"`
	Lifecycle
}

// dueValue is an index entry's value, for people reading status.
type dueValue struct {
	Kind string `json:"k"`
	Rule string `json:"r,omitempty"`
}

// rescanRecord is a bucket's re-plan after a configuration change: keys
// first, then uploads, each in key order after After.
type rescanRecord struct {
	Gen     uint64    `json:"gen"`
	Uploads bool      `json:"uploads,omitempty"`
	After   string    `json:"after,omitempty"`
	Scanned int64     `json:"scanned,omitempty"`
	Changed int64     `json:"changed,omitempty"`
	Started time.Time `json:"started"`
}

func duePrefix() string { return meta.PrefixStorage + keyDue }

func duePrefixAt(t time.Time) string {
	return fmt.Sprintf("%s%016x/", duePrefix(), uint64(max(t.Unix(), 0)))
}

func keyDueKey(t time.Time, bucket, key string) string {
	return duePrefixAt(t) + "o/" + bucket + "\x00" + key
}

func uploadDueKey(t time.Time, bucket, key, id string) string {
	return duePrefixAt(t) + "u/" + bucket + "\x00" + key + "\x00" + id
}

// dueEntry is a parsed index key.
type dueEntry struct {
	metaKey  string
	at       time.Time
	upload   bool
	bucket   string
	key      string
	uploadID string
}

func parseDueKey(k string) (dueEntry, bool) {
	rest, ok := strings.CutPrefix(k, duePrefix())
	if !ok || len(rest) < 19 || rest[16] != '/' || rest[18] != '/' {
		return dueEntry{}, false
	}
	secs, err := strconv.ParseUint(rest[:16], 16, 64)
	if err != nil {
		return dueEntry{}, false
	}
	d := dueEntry{metaKey: k, at: time.Unix(int64(secs), 0).UTC(), upload: rest[17] == 'u'}
	bucket, name, ok := strings.Cut(rest[19:], "\x00")
	if !ok {
		return dueEntry{}, false
	}
	d.bucket, d.key = bucket, name
	if d.upload {
		if d.key, d.uploadID, ok = strings.Cut(name, "\x00"); !ok {
			return dueEntry{}, false
		}
	} else if rest[17] != 'o' {
		return dueEntry{}, false
	}
	return d, true
}

// dueOps moves an index entry from old to next.
func dueOps(old, next string, val []byte) []meta.Op {
	if old == next {
		return nil
	}
	var ops []meta.Op
	if old != "" {
		ops = append(ops, meta.Delete(old))
	}
	if next != "" {
		ops = append(ops, meta.Put(next, val))
	}
	return ops
}

func (e *Engine) days() LifecycleDays { return LifecycleDays(e.cfg.LifecycleDay) }

// keyDue is the index entry (and its value) of a key whose versions are
// vs, newest first; more says versions exist beyond vs.
func (e *Engine) keyDue(lc *Lifecycle, bucket, key string, vs []versionRecord, more bool) (string, []byte) {
	p := lc.plan(key, vs, more, time.Time{}, e.days())
	if p.next.IsZero() {
		return "", nil
	}
	kind, rule := e.stepAt(lc, key, vs, more, p.next)
	return keyDueKey(p.next, bucket, key), encode(dueValue{Kind: kind, Rule: rule})
}

// stepAt names the step due at t (for the entry's value).
func (e *Engine) stepAt(lc *Lifecycle, key string, vs []versionRecord, more bool, t time.Time) (string, string) {
	p := lc.plan(key, vs, more, t, e.days())
	if p.act == nil {
		return "", ""
	}
	return p.act.kind.String(), p.act.rule
}

// lcEntry caches one bucket's decoded rules.
type lcEntry struct {
	created time.Time
	gen     uint64
	lc      *Lifecycle
}

// errLifecycleMoved: the bucket record and the lifecycle document were
// read at different revisions (a replica applied a change in between).
var errLifecycleMoved = errors.New("storage: lifecycle configuration changed while read")

// lifecycleOf returns the rules of br (nil without a configuration), read
// through kv; decoded documents are cached per generation.
func (e *Engine) lifecycleOf(ctx context.Context, kv meta.KV, br bucketRecord) (*Lifecycle, error) {
	if !br.Lifecycle {
		return nil, nil
	}
	if c, ok := e.lcCache.Load(br.Name); ok {
		c := c.(lcEntry)
		if c.gen == br.LifecycleGen && c.created.Equal(br.Created) {
			return c.lc, nil
		}
	}
	ent, err := kv.Get(ctx, configKey(br.Name, ConfigLifecycle))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errLifecycleMoved
	}
	if err != nil {
		return nil, err
	}
	var doc storedLifecycle
	if err := decode(ent.Value, &doc); err != nil {
		return nil, err
	}
	if doc.Gen != br.LifecycleGen {
		return nil, errLifecycleMoved
	}
	lc := &doc.Lifecycle
	e.lcCache.Store(br.Name, lcEntry{created: br.Created, gen: doc.Gen, lc: lc})
	return lc, nil
}

// currentLifecycle reads a bucket and its rules linearizably.
func (e *Engine) currentLifecycle(ctx context.Context, bucket string) (bucketRecord, uint64, *Lifecycle, error) {
	for range retries {
		br, rev, err := e.getBucket(ctx, bucket)
		if err != nil {
			return br, 0, nil, err
		}
		lc, err := e.lifecycleOf(ctx, e.kv, br)
		if errors.Is(err, errLifecycleMoved) {
			continue
		}
		return br, rev, lc, err
	}
	return bucketRecord{}, 0, nil, ErrConflict
}

// PutBucketLifecycle implements BucketLifecycle. Rules without an id get
// a generated one, as in S3.
func (e *Engine) PutBucketLifecycle(ctx context.Context, bucket string, lc Lifecycle) error {
	lc.Rules = append([]LifecycleRule(nil), lc.Rules...)
	for i := range lc.Rules {
		if lc.Rules[i].ID == "" {
			lc.Rules[i].ID = strings.ReplaceAll(uuid.New().String(), "-", "")
		}
	}
	if err := lc.Validate(); err != nil {
		return err
	}
	if len(encode(lc)) > maxConfigBytes {
		return fmt.Errorf("%w: lifecycle configuration too large", ErrInvalidArgument)
	}
	return e.changeLifecycle(ctx, bucket, &lc)
}

// DeleteBucketLifecycle implements BucketLifecycle.
func (e *Engine) DeleteBucketLifecycle(ctx context.Context, bucket string) error {
	return e.changeLifecycle(ctx, bucket, nil)
}

// changeLifecycle writes (lc != nil) or removes the configuration, bumps
// the bucket's lifecycle generation and starts a rescan that re-plans the
// stored keys and uploads, all in one transaction.
func (e *Engine) changeLifecycle(ctx context.Context, bucket string, lc *Lifecycle) error {
	for range retries {
		br, rev, err := e.getBucket(ctx, bucket)
		if err != nil {
			return err
		}
		if lc == nil && !br.Lifecycle {
			return nil
		}
		br.LifecycleGen++
		br.Lifecycle = lc != nil
		ops := []meta.Op{meta.Put(bucketKey(bucket), encode(br)),
			meta.Put(rescanKey(bucket), encode(rescanRecord{Gen: br.LifecycleGen, Started: e.cfg.Now().UTC()}))}
		if lc != nil {
			ops = append(ops, meta.Put(configKey(bucket, ConfigLifecycle), encode(storedLifecycle{Gen: br.LifecycleGen, Lifecycle: *lc})))
		} else {
			ops = append(ops, meta.Delete(configKey(bucket, ConfigLifecycle)))
		}
		err = e.txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: bucketKey(bucket), Revision: rev}}, Ops: ops})
		if errors.Is(err, errRetry) {
			continue
		}
		if err == nil {
			e.kickLifecycle()
		}
		return err
	}
	return ErrConflict
}

// GetBucketLifecycle implements BucketLifecycle.
func (e *Engine) GetBucketLifecycle(ctx context.Context, bucket string) (Lifecycle, error) {
	_, _, lc, err := e.currentLifecycle(ctx, bucket)
	if err != nil {
		return Lifecycle{}, err
	}
	if lc == nil {
		return Lifecycle{}, ErrNoSuchLifecycle
	}
	return *lc, nil
}

// listVersionsFrom reads up to limit (0: all) versions of a key through kv.
func listVersionsFrom(ctx context.Context, kv meta.KV, bucket, key string, limit int) ([]versionEntry, error) {
	ents, err := kv.List(ctx, versionKeyPrefix(bucket, key), "", limit)
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

// commitDue plans the head of a key that commitVersion gives the new
// latest version v, replacing the version at replaced (or none): the
// key's other versions are read only when the rules need them. It returns
// the new entry and the ops that move the index to it.
func (e *Engine) commitDue(ctx context.Context, rd meta.KV, lc *Lifecycle, bucket, key string, v versionRecord, old headRecord, replaced string) (string, []meta.Op, error) {
	if lc == nil && old.Due == "" {
		return "", nil, nil
	}
	vs := []versionRecord{v}
	more := false
	if lc.schedulesKeys() {
		limit := 2 // enough to know whether a delete marker is alone
		if lc.needsHistory(key) {
			limit = 0
		}
		if limit == 0 || v.DeleteMarker {
			rest, err := listVersionsFrom(ctx, rd, bucket, key, limit)
			if err != nil {
				return "", nil, err
			}
			for _, ve := range rest {
				if ve.metaKey == replaced {
					continue
				}
				if limit == 0 {
					vs = append(vs, ve.rec)
				} else {
					more = true
				}
			}
		}
	}
	due, val := e.keyDue(lc, bucket, key, vs, more)
	return due, dueOps(old.Due, due, val), nil
}

// restDue plans a key whose versions are now rest (all of them).
func (e *Engine) restDue(lc *Lifecycle, bucket, key string, rest []versionEntry) (string, []byte) {
	vs := make([]versionRecord, len(rest))
	for i, ve := range rest {
		vs[i] = ve.rec
	}
	return e.keyDue(lc, bucket, key, vs, false)
}

// withExpiry sets v's expiry as the current version of key.
func (e *Engine) withExpiry(lc *Lifecycle, key string, v versionRecord) versionRecord {
	v.expiry = nil
	if x, ok := lc.expiry(key, v, e.days()); ok {
		v.expiry = &x
	}
	return v
}

// uploadDueOf plans an upload's abort.
func (e *Engine) uploadDueOf(lc *Lifecycle, bucket string, u uploadRecord) (string, []byte) {
	s, ok := lc.uploadDue(u.Key, u.Initiated, e.days())
	if !ok {
		return "", nil
	}
	return uploadDueKey(s.due, bucket, u.Key, u.UploadID), encode(dueValue{Kind: s.kind.String(), Rule: s.rule})
}
