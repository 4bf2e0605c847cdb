package storage

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/erasure"
	"github.com/filesphere/filesphere/storage/drive"
)

// HealOptions tunes a repair pass.
type HealOptions struct {
	// Deep reads every shard and verifies its block hashes (scrub);
	// otherwise only missing and wrongly sized shards are found.
	Deep bool
	// Rebalance moves shards whose drive the current ring no longer picks
	// (a node joined, drains, or was removed) to the drives it picks now.
	Rebalance bool
	// BytesPerSecond throttles rebuilt and moved shard writes and scrub
	// reads; 0 = no limit.
	BytesPerSecond int64
	// place is the one ring snapshot a Rebalance pass moves shards to and
	// records; nil = no rebalancing.
	place Placement
}

// HealReport says what a repair pass found and did.
type HealReport struct {
	Started      time.Time `json:"started"`
	Duration     string    `json:"duration"`
	Deep         bool      `json:"deep"`
	Streams      int       `json:"streams"`       // data streams (objects and parts) checked
	Healthy      int       `json:"healthy"`       // streams with every shard good and in place
	Healed       int       `json:"healed"`        // streams repaired or moved
	ShardsHealed int       `json:"shards_healed"` // shards rebuilt in place
	ShardsMoved  int       `json:"shards_moved"`  // shards moved to their new drive
	BytesWritten int64     `json:"bytes_written"` // shard bytes written by repairs
	Failed       int       `json:"failed"`        // streams that could not be fully repaired (retried next pass)
	// Waiting counts streams whose repair waits for an offline drive: it
	// comes back, or its node is declared lost and the ring moves on.
	Waiting int `json:"waiting"`
	Lost    int `json:"lost"` // streams below read quorum
	// Redundancy counts streams by how many of their shards were good
	// when checked: k+m is full redundancy, below k is lost. A deep pass
	// counts per block (bitrot spoils frames, not shards) and files a
	// stream under the fewest verified chunks of any of its blocks.
	Redundancy map[int]int `json:"redundancy"`
	// RedundancyBytes is the same in object bytes.
	RedundancyBytes map[int]int64 `json:"redundancy_bytes"`
	FailedObjects   []string      `json:"failed_objects,omitempty"`

	// Incremental is set on the background passes (RepairPass), which
	// check only what is known to need it: queued streams, the records a
	// placement sweep finds moved or on a wiped drive, and the scrub's
	// share of the records. Their counts above cover the streams checked
	// on drives, not the namespace; HealStatus keeps the last full scan.
	Incremental bool `json:"incremental,omitempty"`
	// Visited counts metadata records the pass read: one per queue entry,
	// per record a sweep looked at and per record scrubbed.
	Visited int `json:"visited"`
	// Dirty is the queue entries worked on, DirtyLeft those still queued
	// after the pass; DirtyAll says the pass saw the whole queue (a large
	// queue takes several passes).
	Dirty     int  `json:"dirty"`
	DirtyLeft int  `json:"dirty_left"`
	DirtyAll  bool `json:"dirty_all"`
	// Swept counts records the placement sweep looked at; SweepActive
	// says a sweep is still under way after the pass.
	Swept       int  `json:"swept"`
	SweepActive bool `json:"sweep_active"`
	// Scrubbed counts records the scrub read and verified.
	Scrubbed int `json:"scrubbed"`
	// DrivesOffline are drives the pass found offline: streams with a
	// shard there are not at full redundancy until they are back.
	DrivesOffline []string `json:"drives_offline,omitempty"`
	// DrivesWiped are drives found to have come back empty (a new
	// instance): a sweep rebuilds their shards.
	DrivesWiped []string `json:"drives_wiped,omitempty"`
}

// Outstanding reports whether an incremental pass left known work: queued
// streams, a sweep under way, offline drives, or a queue it did not see
// whole. A full pass never has any.
func (r HealReport) Outstanding() bool {
	return r.Incremental && (r.DirtyLeft > 0 || !r.DirtyAll || r.SweepActive || len(r.DrivesOffline) > 0)
}

// errTargetsOffline means a repair could not write to a drive that is
// offline; the next pass retries once it is back or declared lost.
var errTargetsOffline = errors.New("storage: repair target drives offline")

// maxFailedListed bounds the failed-object list in a report.
const maxFailedListed = 100

// healLock serialises repairs of the same data stream between the
// background worker and explicit passes; striped so memory stays bounded.
func (e *Engine) healLock(dataID string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(dataID))
	return &e.healLocks[h.Sum32()%uint32(len(e.healLocks))]
}

// dataEntry is one stored record holding data streams: the parts record of
// a version (d/) or one uploaded part (p/).
type dataEntry struct {
	key   string
	rev   uint64
	parts []dataRecord
	multi bool // a partsRecord (d/) rather than a single dataRecord (p/)
}

// Heal runs one repair pass over every data stream: missing, short or
// (Deep) corrupt shards are rebuilt and, with Rebalance, shards are moved
// to where the current ring places them. Records change by compare-and-swap
// on their revision. Failures are reported by name and retried next pass.
func (e *Engine) Heal(ctx context.Context, opts HealOptions) (HealReport, error) {
	rep := newHealReport(e.cfg.Now().UTC(), opts.Deep)
	e.status.begin(rep.Started, false)
	th := newThrottle(opts.BytesPerSecond)
	if opts.Rebalance {
		opts.place = e.placement.Placement()
	}
	err := e.walkData(ctx, func(ent dataEntry) {
		rep.Visited++
		e.repairRecord(ctx, ent, nil, opts, th, &rep)
	})
	rep.Duration = e.cfg.Now().Sub(rep.Started).String()
	e.status.end(rep)
	return rep, err
}

func newHealReport(started time.Time, deep bool) HealReport {
	return HealReport{Started: started, Deep: deep, Redundancy: map[int]int{}, RedundancyBytes: map[int]int64{}}
}

// recordOutcome is what repairing streams of one record left undone.
type recordOutcome struct {
	unfinished []string // data ids not fully repaired
	// wait: the offline drives the unfinished streams wait for, when that
	// is all that keeps them from finishing; otherwise nil.
	wait []string
	err  error // the last failure
}

// repairRecord repairs the streams of one record that sel picks (nil:
// all), adds them to rep and records moves by compare-and-swap.
func (e *Engine) repairRecord(ctx context.Context, ent dataEntry, sel func(dataRecord) bool, opts HealOptions, th *throttle, rep *HealReport) recordOutcome {
	var moves []*moveSet
	var out recordOutcome
	onlyWaiting := true
	for i, d := range ent.parts {
		if d.DataID == "" || sel != nil && !sel(d) {
			continue
		}
		res := e.repairData(ctx, d, opts, th)
		rep.add(d.streamName(), d.Size, res)
		e.status.progress(res)
		if res.moved != nil {
			ent.parts[i].Drives, ent.parts[i].RingVersion = res.moved.drives, opts.place.Version()
			moves = append(moves, res.moved)
		}
		if res.err != nil {
			out.unfinished, out.err = append(out.unfinished, d.DataID), res.err
			if res.waitsOnly() {
				out.wait = union(out.wait, res.wait)
			} else {
				onlyWaiting = false
			}
		}
	}
	if len(moves) > 0 {
		recorded, known := e.commitMoves(ctx, ent)
		if known {
			e.finishMoves(moves, recorded)
		}
		if !recorded {
			onlyWaiting = false
			for _, m := range moves {
				out.unfinished = union(out.unfinished, []string{m.dataID})
			}
		}
	}
	if !onlyWaiting {
		out.wait = nil
	}
	return out
}

// streamName is how reports name a stream: its object, and part number.
func (d dataRecord) streamName() string {
	name := d.Name
	if name == "" {
		name = d.DataID
	}
	if d.Number > 0 {
		name += fmt.Sprintf(" (part %d)", d.Number)
	}
	return name
}

// merge adds the counts of o to r.
func (r *HealReport) merge(o HealReport) {
	r.Streams += o.Streams
	r.Healthy += o.Healthy
	r.Healed += o.Healed
	r.ShardsHealed += o.ShardsHealed
	r.ShardsMoved += o.ShardsMoved
	r.BytesWritten += o.BytesWritten
	r.Failed += o.Failed
	r.Waiting += o.Waiting
	r.Lost += o.Lost
	for k, v := range o.Redundancy {
		r.Redundancy[k] += v
	}
	for k, v := range o.RedundancyBytes {
		r.RedundancyBytes[k] += v
	}
	for _, f := range o.FailedObjects {
		if len(r.FailedObjects) < maxFailedListed {
			r.FailedObjects = append(r.FailedObjects, f)
		}
	}
}

func (r *HealReport) add(name string, size int64, res repairResult) {
	r.Streams++
	r.Redundancy[res.good]++
	r.RedundancyBytes[res.good] += size
	r.ShardsHealed += res.healed
	r.BytesWritten += res.bytes
	if res.moved != nil {
		r.ShardsMoved += len(res.moved.indices)
	}
	switch {
	case errors.Is(res.err, errTargetsOffline):
		r.Waiting++
	case res.err != nil:
		r.Failed++
		if errors.Is(res.err, ErrReadQuorum) {
			r.Lost++
		}
		if len(r.FailedObjects) < maxFailedListed {
			r.FailedObjects = append(r.FailedObjects, fmt.Sprintf("%s: %v", name, res.err))
		}
	case res.healed > 0 || res.moved != nil:
		r.Healed++
	default:
		r.Healthy++
	}
}

// walkData visits every record holding data streams, a page at a time.
func (e *Engine) walkData(ctx context.Context, fn func(dataEntry)) error {
	for i, prefix := range dataPrefixes {
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
				if de, ok := decodeDataEntry(ent, i == 0); ok {
					fn(de)
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

// decodeDataEntry decodes a d/ record (multi) or a p/ record.
func decodeDataEntry(ent meta.Entry, multi bool) (dataEntry, bool) {
	de := dataEntry{key: ent.Key, rev: ent.Revision, multi: multi}
	if multi {
		var pr partsRecord
		if decode(ent.Value, &pr) != nil {
			return de, false
		}
		de.parts = pr.Parts
		return de, true
	}
	var d dataRecord
	if decode(ent.Value, &d) != nil {
		return de, false
	}
	de.parts = []dataRecord{d}
	return de, true
}

// repairResult is what repairing one data stream did.
type repairResult struct {
	good   int // shards good before the repair (deep: of the worst block)
	healed int // shards rebuilt in place
	bytes  int64
	moved  *moveSet
	err    error
	// wait lists the offline drives shards could not be written to, and
	// unwritten counts the shards left unwritten for any other reason.
	wait      []string
	unwritten int
}

// waitsOnly reports whether offline drives are all that kept the repair
// from finishing.
func (r repairResult) waitsOnly() bool {
	return errors.Is(r.err, errTargetsOffline) && r.unwritten == 0 && len(r.wait) > 0
}

// moveSet is a committed-but-unrecorded move: shards at indices were
// written to drives (the full new list); the old copies await the record.
type moveSet struct {
	indices []int
	drives  []string
	old     []string
	dataID  string
}

// repairData checks one data stream and rebuilds what is missing, damaged or
// misplaced. A shard with rotten frames is rewritten whole (drives publish
// shards atomically), but only its bad frames are reconstructed; the rest
// is copied from the shard itself after verification. It never lets the
// sources fall below k: moves that would are left for a later pass.
func (e *Engine) repairData(ctx context.Context, d dataRecord, opts HealOptions, th *throttle) repairResult {
	mu := e.healLock(d.DataID)
	mu.Lock()
	defer mu.Unlock()
	var res repairResult
	codec, err := e.codecFor(d.EC)
	if err != nil {
		res.err = err
		return res
	}
	n := len(d.Drives)
	chk, err := e.checkShards(ctx, codec, d, opts.Deep, th)
	if err != nil {
		res.err = err
		return res
	}
	res.good = chk.good
	target := e.targetDrives(d, opts.place)
	rebuild := append([]bool(nil), chk.bad...)
	sources := chk.good
	for i := range n {
		if !chk.bad[i] && target[i] != d.Drives[i] && sources-1 >= d.EC.Data {
			rebuild[i] = true
			sources--
		}
	}
	if err := chk.lost(d.EC.Data); err != nil {
		res.err = err
		return res
	}
	var idx []int
	for i, r := range rebuild {
		if r {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return res
	}
	written, err := e.rebuild(ctx, codec, d, target, rebuild, chk.usable, th)
	res.bytes = written.bytes
	var ms moveSet
	for _, i := range idx {
		if !written.ok[i] {
			if written.offline[i] {
				res.wait = union(res.wait, []string{target[i]})
			} else {
				res.unwritten++
			}
			continue
		}
		if target[i] == d.Drives[i] {
			res.healed++
			continue
		}
		ms.indices = append(ms.indices, i)
	}
	if len(ms.indices) > 0 {
		ms.drives, ms.old, ms.dataID = append([]string(nil), d.Drives...), d.Drives, d.DataID
		for _, i := range ms.indices {
			ms.drives[i] = target[i]
		}
		res.moved = &ms
	}
	switch done := res.healed + len(ms.indices); {
	case err != nil || done == len(idx):
	case res.unwritten == 0:
		err = fmt.Errorf("%w: repaired %d of %d shards", errTargetsOffline, done, len(idx))
	default: // a drive that is online refused the write (full, failing)
		err = fmt.Errorf("storage: repaired %d of %d shards: %d could not be written", done, len(idx), res.unwritten)
	}
	res.err = err
	return res
}

// targetDrives is where each shard should be: the current drive unless
// rebalancing to place and it picks another. Shards whose drive the ring
// still picks stay; the others take the newly picked drives in order, so
// only about 1/(N+1) of shards move when a node joins.
func (e *Engine) targetDrives(d dataRecord, place Placement) []string {
	return targetOf(d.PlaceKey, d.Drives, place)
}

// targetOf is targetDrives of a stream placed from placeKey on drives.
func targetOf(placeKey string, drives []string, place Placement) []string {
	target := append([]string(nil), drives...)
	if place == nil || placeKey == "" {
		return target
	}
	want, err := place.Locate(placeKey, len(drives))
	if err != nil {
		return target
	}
	inWant := map[string]bool{}
	for _, id := range want {
		inWant[id] = true
	}
	have := map[string]bool{}
	for _, id := range drives {
		have[id] = true
	}
	var free []string
	for _, id := range want {
		if !have[id] {
			free = append(free, id)
		}
	}
	for i, id := range drives {
		if !inWant[id] && len(free) > 0 {
			target[i], free = free[0], free[1:]
		}
	}
	return target
}

type rebuildResult struct {
	ok      []bool
	offline []bool // not written: the target drive was offline
	bytes   int64
}

// rebuild reconstructs the shards marked in which onto their target drives.
// Usable shards stay sources even when rebuilt: their frames that verify
// are copied and only their bad frames are rebuilt from the others. Their
// old files are read while the new ones are written, which ShardStore
// allows (a new shard is published on Commit, after the codec is done).
func (e *Engine) rebuild(ctx context.Context, codec *erasure.Codec, d dataRecord, target []string, which, usable []bool, th *throttle) (rebuildResult, error) {
	n := len(d.Drives)
	res := rebuildResult{ok: make([]bool, n), offline: make([]bool, n)}
	src := e.sources(d)
	for i := range src {
		if !usable[i] {
			src[i] = nil
		}
	}
	dst := make([]io.Writer, n)
	writers := make([]drive.ShardWriter, n)
	counters := make([]*countingWriter, n)
	for i := range n {
		if !which[i] {
			continue
		}
		st, err := e.drives.Drive(target[i])
		if err != nil {
			res.offline[i] = errors.Is(err, drive.ErrOffline)
			continue
		}
		w, err := st.Create(ctx, shardID(d.DataID, i))
		if err != nil {
			res.offline[i] = errors.Is(err, drive.ErrOffline)
			continue
		}
		counters[i] = &countingWriter{ctx: ctx, w: w, th: th}
		writers[i], dst[i] = w, counters[i]
	}
	if _, err := codec.Heal(ctx, src, dst, d.storedSize()); err != nil {
		abortAll(writers)
		if errors.Is(err, erasure.ErrReadQuorum) {
			err = fmt.Errorf("%w: %v", ErrReadQuorum, err)
		}
		return res, err
	}
	for i, w := range writers {
		if w == nil {
			continue
		}
		if err := w.Commit(); err != nil {
			res.offline[i] = errors.Is(err, drive.ErrOffline)
			continue
		}
		res.ok[i] = true
		res.bytes += counters[i].n
	}
	return res, nil
}

// finishMoves deletes the old copies of recorded moves, or the new copies
// of moves whose record changed meanwhile (the next pass tries again).
func (e *Engine) finishMoves(moves []*moveSet, recorded bool) {
	for _, m := range moves {
		for _, i := range m.indices {
			id := m.drives[i]
			if recorded {
				id = m.old[i]
			}
			if st, err := e.drives.Drive(id); err == nil {
				if err := st.Delete(context.Background(), shardID(m.dataID, i)); err != nil {
					e.log.WithError(err).WithField("drive", id).Debug("deleting moved shard copy")
				}
			}
		}
	}
}

// commitMoves records moved shards by compare-and-swap on the record; known
// is false when the outcome is unknown, and then both copies are kept for
// the next pass and garbage collection to sort out.
func (e *Engine) commitMoves(ctx context.Context, ent dataEntry) (recorded, known bool) {
	var val []byte
	if ent.multi {
		val = encode(partsRecord{Parts: ent.parts})
	} else {
		val = encode(ent.parts[0])
	}
	err := e.txn(ctx, meta.Txn{
		Compares: []meta.Compare{{Key: ent.key, Revision: ent.rev}},
		Ops:      []meta.Op{meta.Put(ent.key, val)},
	})
	if err != nil {
		e.log.WithError(err).WithField("record", ent.key).Info("move not recorded; will retry")
	}
	return err == nil, !errors.Is(err, ErrCommitUnknown)
}

// shardCheck is what a scan found in the shards of one data stream.
type shardCheck struct {
	bad    []bool // to rewrite: missing, wrongly sized or (deep) with a frame that fails its hash
	usable []bool // present, so its frames that verify can still be read
	good   int    // redundancy: deep, the fewest verified chunks of any block; else shards present and sized right
	deep   bool
	worst  int64 // deep: a block with only good verified chunks
}

// lost returns ErrReadQuorum when the stream cannot be rebuilt: a deep scan
// found a block with fewer than k verified chunks, or fewer than k shards
// exist at all. Bitrot spread over many shards is not loss while every
// block keeps k good chunks.
func (c shardCheck) lost(k int) error {
	if c.deep && c.good < k {
		return fmt.Errorf("%w: block %d has %d good chunks of %d, need %d", ErrReadQuorum, c.worst, c.good, len(c.bad), k)
	}
	usable := 0
	for _, u := range c.usable {
		if u {
			usable++
		}
	}
	if usable < k {
		return fmt.Errorf("%w: %d of %d shards present, need %d", ErrReadQuorum, usable, len(c.bad), k)
	}
	return nil
}

// checkShards finds shards that are missing or wrongly sized and, when
// deep, scrubs every frame of every shard, counting failures per block.
func (e *Engine) checkShards(ctx context.Context, codec *erasure.Codec, d dataRecord, deep bool, th *throttle) (shardCheck, error) {
	n := len(d.Drives)
	want := codec.ShardFileSize(d.storedSize())
	chk := shardCheck{bad: make([]bool, n), usable: make([]bool, n), deep: deep}
	src := e.sources(d)
	for i, id := range d.Drives {
		st, err := e.drives.Drive(id)
		if err != nil {
			chk.bad[i] = true
			continue
		}
		fi, err := st.Stat(ctx, shardID(d.DataID, i))
		chk.usable[i] = err == nil
		chk.bad[i] = err != nil || fi.Size != want
		if !chk.usable[i] {
			src[i] = nil
		} else if deep {
			src[i] = throttledSource(src[i], th)
		}
		if !chk.bad[i] {
			chk.good++
		}
	}
	if !deep {
		return chk, nil
	}
	rep, err := codec.Scrub(ctx, src, d.storedSize())
	if err != nil {
		return chk, fmt.Errorf("storage: scrub: %w", err) // a canceled pass: judge nothing
	}
	for i, serr := range rep.Shards {
		chk.bad[i] = chk.bad[i] || serr != nil
	}
	chk.good, chk.worst = rep.MinGood, rep.WorstBlock
	return chk, nil
}

// countingWriter counts and throttles shard bytes written by repairs.
type countingWriter struct {
	ctx context.Context
	w   io.Writer
	th  *throttle
	n   int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if err := c.th.wait(c.ctx, len(p)); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// throttledSource paces scrub reads with the pass's throttle.
func throttledSource(src erasure.ShardSource, th *throttle) erasure.ShardSource {
	return func(ctx context.Context, off, length int64) (io.ReadCloser, error) {
		rc, err := src(ctx, off, length)
		if err != nil {
			return nil, err
		}
		return throttledReader{ctx, rc, th}, nil
	}
}

type throttledReader struct {
	ctx context.Context
	io.ReadCloser
	th *throttle
}

func (t throttledReader) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if werr := t.th.wait(t.ctx, n); werr != nil && err == nil {
		err = werr
	}
	return n, err
}

// throttleBurst is the most one wait admits at once; larger writes wait in
// steps, so the rate holds for any write size.
const throttleBurst = 64 << 10

// throttle paces repair I/O to a byte rate shared by all streams of a pass;
// a nil throttle does not limit. Waits end early when their context does.
type throttle struct{ lim *rate.Limiter }

func newThrottle(bytesPerSecond int64) *throttle {
	if bytesPerSecond <= 0 {
		return nil
	}
	return &throttle{rate.NewLimiter(rate.Limit(bytesPerSecond), throttleBurst)}
}

func (t *throttle) wait(ctx context.Context, n int) error {
	if t == nil {
		return nil
	}
	for n > 0 {
		step := min(n, throttleBurst)
		if err := t.lim.WaitN(ctx, step); err != nil {
			return err
		}
		n -= step
	}
	return nil
}
