package storage

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/erasure"
	"github.com/filesphere/filesphere/storage/drive"
)

// HealOptions tunes a heal pass.
type HealOptions struct {
	// Deep reads every shard and verifies its block hashes; otherwise only
	// missing and wrongly sized shards are found.
	Deep bool
}

// HealReport says what a heal pass found and did.
type HealReport struct {
	Started       time.Time `json:"started"`
	Duration      string    `json:"duration"`
	Streams       int       `json:"streams"`        // data streams (objects and parts) checked
	Healthy       int       `json:"healthy"`        // streams with every shard good
	Healed        int       `json:"healed"`         // streams repaired
	ShardsHealed  int       `json:"shards_healed"`  // shards rewritten
	Failed        int       `json:"failed"`         // streams that could not be fully repaired
	Lost          int       `json:"lost"`           // streams below read quorum
	FailedObjects []string  `json:"failed_objects"` // what failed, by name where known
}

// healLocks serialises heals of the same data stream between the background
// worker and explicit passes.
var healLocks sync.Map

// Heal checks every stored data stream and rebuilds missing, short or
// (with Deep) corrupt shards onto their drives. A failure is reported and
// the pass goes on.
func (e *Engine) Heal(ctx context.Context, opts HealOptions) (HealReport, error) {
	rep := HealReport{Started: e.cfg.Now().UTC()}
	err := e.walkData(ctx, func(name string, d dataRecord) {
		rep.Streams++
		n, err := e.healData(ctx, d, opts.Deep)
		switch {
		case err != nil:
			rep.Failed++
			if errorsIsReadQuorum(err) {
				rep.Lost++
			}
			rep.FailedObjects = append(rep.FailedObjects, fmt.Sprintf("%s: %v", name, err))
		case n > 0:
			rep.Healed++
			rep.ShardsHealed += n
		default:
			rep.Healthy++
		}
	})
	rep.Duration = e.cfg.Now().Sub(rep.Started).String()
	return rep, err
}

func errorsIsReadQuorum(err error) bool {
	return err != nil && (isErr(err, ErrReadQuorum) || isErr(err, erasure.ErrReadQuorum))
}

// walkData visits the data of every committed version and every uploaded
// part, a page at a time.
func (e *Engine) walkData(ctx context.Context, fn func(name string, d dataRecord)) error {
	for _, prefix := range []string{meta.PrefixStorage + keyData, meta.PrefixStorage + keyPart} {
		start := prefix
		for {
			ents, err := e.kv.List(ctx, prefix, start, listBatch)
			if err != nil {
				return err
			}
			for _, ent := range ents {
				if err := ctx.Err(); err != nil {
					return err
				}
				var ds []dataRecord
				if prefix == meta.PrefixStorage+keyData {
					var pr partsRecord
					if decode(ent.Value, &pr) != nil {
						continue
					}
					ds = pr.Parts
				} else {
					var d dataRecord
					if decode(ent.Value, &d) != nil {
						continue
					}
					ds = []dataRecord{d}
				}
				for _, d := range ds {
					if d.DataID != "" {
						fn(d.DataID, d)
					}
				}
			}
			if len(ents) < listBatch {
				break
			}
			start = ents[len(ents)-1].Key + "\x00"
		}
	}
	return nil
}

// healData repairs one data stream and returns how many shards it rewrote.
func (e *Engine) healData(ctx context.Context, d dataRecord, deep bool) (int, error) {
	mu, _ := healLocks.LoadOrStore(d.DataID, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer func() {
		mu.(*sync.Mutex).Unlock()
		healLocks.Delete(d.DataID)
	}()
	codec, err := e.codecFor(d.EC)
	if err != nil {
		return 0, err
	}
	bad := e.findBadShards(ctx, codec, d, deep)
	nbad := 0
	for _, b := range bad {
		if b {
			nbad++
		}
	}
	if nbad == 0 {
		return 0, nil
	}
	if len(d.Drives)-nbad < d.EC.Data {
		return 0, fmt.Errorf("%w: %d of %d shards good", ErrReadQuorum, len(d.Drives)-nbad, len(d.Drives))
	}
	src := e.sources(d)
	dst := make([]io.Writer, len(d.Drives))
	writers := make([]drive.ShardWriter, len(d.Drives))
	for i := range d.Drives {
		if !bad[i] {
			continue
		}
		src[i] = nil
		st, err := e.drives.Drive(d.Drives[i])
		if err != nil {
			continue
		}
		w, err := st.Create(ctx, shardID(d.DataID, i))
		if err != nil {
			continue
		}
		writers[i], dst[i] = w, w
	}
	if _, err := codec.Heal(ctx, src, dst, d.Size); err != nil {
		abortAll(writers)
		return 0, err
	}
	healed := 0
	for _, w := range writers {
		if w != nil && w.Commit() == nil {
			healed++
		}
	}
	if healed < nbad {
		return healed, fmt.Errorf("storage: healed %d of %d bad shards (drives offline)", healed, nbad)
	}
	return healed, nil
}

// findBadShards marks shards that are missing, wrongly sized or, when deep,
// fail their hash checks.
func (e *Engine) findBadShards(ctx context.Context, codec *erasure.Codec, d dataRecord, deep bool) []bool {
	want := codec.ShardFileSize(d.Size)
	bad := make([]bool, len(d.Drives))
	for i, id := range d.Drives {
		st, err := e.drives.Drive(id)
		if err != nil {
			bad[i] = true
			continue
		}
		sid := shardID(d.DataID, i)
		fi, err := st.Stat(ctx, sid)
		if err != nil || fi.Size != want {
			bad[i] = true
			continue
		}
		if deep {
			rc, err := st.Open(ctx, sid, 0, -1)
			if err != nil {
				bad[i] = true
				continue
			}
			err = codec.VerifyShard(ctx, rc, d.Size)
			rc.Close()
			bad[i] = err != nil
		}
	}
	return bad
}

// RunBackground heals once at start and then serves the queue of objects
// that reads had to reconstruct, until ctx ends.
func (e *Engine) RunBackground(ctx context.Context) {
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		rep, err := e.Heal(ctx, HealOptions{})
		if err != nil && ctx.Err() == nil {
			e.log.WithError(err).Warn("start-up heal pass failed")
		} else if rep.Healed > 0 || rep.Failed > 0 {
			e.log.WithField("healed", rep.Healed).WithField("failed", rep.Failed).Info("start-up heal pass")
		}
		for {
			select {
			case <-ctx.Done():
				return
			case it := <-e.healQueue:
				e.healObject(ctx, it)
			}
		}
	}()
}

func (e *Engine) healObject(ctx context.Context, it healItem) {
	v, _, err := e.resolve(ctx, it.bucket, it.key, it.versionID)
	if err != nil {
		return
	}
	parts, err := e.loadParts(ctx, v)
	if err != nil {
		return
	}
	for _, p := range parts {
		if p.DataID == "" {
			continue
		}
		if n, err := e.healData(ctx, p, true); err != nil {
			e.log.WithError(err).WithField("bucket", it.bucket).WithField("key", it.key).Warn("heal on read failed")
		} else if n > 0 {
			e.log.WithField("bucket", it.bucket).WithField("key", it.key).WithField("shards", n).Info("healed on read")
		}
	}
}
