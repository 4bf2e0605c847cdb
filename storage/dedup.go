package storage

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/erasure"
	"github.com/filesphere/filesphere/storage/sse"
	"github.com/minio/sha256-simd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/restic/chunker"
	"github.com/sirupsen/logrus"
)

// Deduplication, opt-in per bucket. A new object in a deduplicating bucket
// (unencrypted, SSE-S3 or SSE-KMS; see Encryption below) is cut into
// content-defined chunks (restic's Rabin chunker, with a polynomial of the
// bucket's own, or of the encrypted namespace's, about 1 MiB on average)
// and each chunk is stored once per bucket and namespace, as an
// erasure-coded stream of its own (inline in its record when small),
// under k/<bucket>\0<name>: the chunk's hex SHA-256 for plaintext, a keyed
// hash of it and ".<namespace id>" for an encrypted chunk (dedup_sse.go).
// The version lists its chunks in order. A chunk record counts the
// references to it; every transaction that adds or drops a version (PUT,
// copy, completion, overwrite of the null version, delete, lifecycle)
// changes the counts of its chunks in that same transaction, comparing
// each chunk record's revision, so a count is always exactly the number of
// references the namespace holds. A chunk whose count reached zero is
// removed by garbage collection only once ChunkGrace has passed since:
// longer than any upload, so a write that found the chunk stored and chose
// to reference it instead of writing it commits (making the count
// positive again, or failing its compare) before the chunk can go. A crash
// at any point leaves at most unreferenced streams (chunks written by an
// upload that never committed), which orphan collection removes; a record
// never points at a chunk that is not there.
//
// Chunks are streams like any other (k/ is one of dataPrefixes): a chunk
// written with fewer than k+m shards is queued for repair in the
// transaction that creates its record (chunkOps), the placement sweep and
// the scrub read chunk records after the versions' and parts' (the scrub
// in rounds per bucket, scrub.go), a read heals the chunks it had to
// reconstruct (healChunks), and orphan collection and drains walk them
// (walkData).
//
// Encryption: SSE-C objects are never deduplicated. SSE-S3 and SSE-KMS
// objects (single PUTs and copies) are, within the bucket and their key,
// in encrypted chunk namespaces of their own (dedup_sse.go); encrypted
// multipart completions are not (their parts stay as uploaded).

// The chunker's bounds: chunks are 512 KiB to 4 MiB, cut where the Rabin
// fingerprint of the last 64 bytes has its low chunkAvgBits bits zero, so
// about 512 KiB past the minimum: 1 MiB on average.
const (
	chunkMin     = 512 << 10
	chunkMax     = 4 << 20
	chunkAvgBits = 19
)

// chunkRef is one chunk of a version's content.
type chunkRef struct {
	// Hash names the chunk: its hex SHA-256, or for an encrypted chunk
	// a keyed hash of it and its namespace (dedup_sse.go).
	Hash string `json:"h"`
	Size int64  `json:"n"`
}

// chunkRecord is one stored chunk: its stream and how many references the
// bucket's versions hold to it.
type chunkRecord struct {
	Refs int64 `json:"refs"`
	// Zero is when Refs last fell to zero (zero time while referenced).
	Zero time.Time  `json:"zero,omitzero"`
	Data dataRecord `json:"data"`
}

func chunkPrefix(bucket string) string   { return meta.PrefixStorage + keyChunk + bucket + "\x00" }
func chunkKey(bucket, sum string) string { return chunkPrefix(bucket) + sum }

// errChunkMissing: a version references a chunk that has no record (read
// from a lagging replica, or collected after its grace).
var errChunkMissing = errors.New("storage: chunk not stored")

// ErrChunkCollected: a write that chose to reference a stored chunk found
// it collected at commit (it waited longer than ChunkGrace); nothing was
// stored, the write may be retried.
var ErrChunkCollected = fmt.Errorf("%w: a chunk the write referenced was collected meanwhile", ErrConflict)

// dedupState is the engine's deduplication state.
type dedupState struct {
	grace time.Duration
	// slots bounds the chunking writes in flight; bufs recycles their
	// chunk buffers.
	slots   chan struct{}
	bufs    sync.Pool
	metrics *dedupMetrics
}

func (d *dedupState) init(cfg EngineConfig) {
	d.grace = cfg.ChunkGrace
	d.slots = make(chan struct{}, cfg.DedupBuffers)
	d.bufs.New = func() any { b := make([]byte, chunkMax); return &b }
	d.metrics = newDedupMetrics(cfg.Registry)
}

// buffer takes a chunk buffer, waiting while every slot is in use.
func (d *dedupState) buffer(ctx context.Context) ([]byte, func(), error) {
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	b := d.bufs.Get().(*[]byte)
	return *b, func() { d.bufs.Put(b); <-d.slots }, nil
}

// dedupPolicy returns the chunker polynomial of a deduplicating bucket.
func (e *Engine) dedupPolicy(ctx context.Context, bucket string) (chunker.Pol, bool, error) {
	br, _, err := e.getBucketFrom(ctx, e.casKV, bucket)
	if err != nil || !br.Dedup {
		return 0, false, err
	}
	return chunker.Pol(br.ChunkPol), true, nil
}

// chunkedWrite is what writeChunks stored.
type chunkedWrite struct {
	info   dataRecord // size, ETag and content hash; no data
	chunks []chunkRef
	fresh  map[string]dataRecord // streams written by this write, by hash
}

// freshStreams lists the streams of fresh chunks.
func freshStreams(fresh map[string]dataRecord) []dataRecord {
	out := make([]dataRecord, 0, len(fresh))
	for _, d := range fresh {
		out = append(out, d)
	}
	return out
}

// chunkDigest is the Digest of a chunk whose SHA-256 is known: writeData
// takes it without hashing the chunk again (its ETag is not used).
func chunkDigest(sum []byte) *Digest {
	return &Digest{spec: DigestSpec{MD5: true, SHA256: true, SignedSHA256: sum}, md5: md5.New()}
}

// writeChunks cuts r (size bytes, or until EOF when size < 0) into chunks,
// writes the ones the bucket does not hold and returns the list; with ns,
// the chunks are named, cut and sealed in that encrypted namespace (pol
// is not used). dg, when it computes MD5 and SHA-256, is fed by the
// caller with the bytes r yields. On error the chunks it wrote are
// deleted.
func (e *Engine) writeChunks(ctx context.Context, bucket string, r io.Reader, size int64, dg *Digest, pol chunker.Pol, ns *chunkNS) (chunkedWrite, error) {
	out := chunkedWrite{fresh: map[string]dataRecord{}}
	tee := r
	if !dg.content() {
		dg = newContentDigest()
		tee = io.TeeReader(r, dg)
	}
	src := tee
	if size >= 0 {
		src = io.LimitReader(tee, size)
	}
	buf, release, err := e.dedup.buffer(ctx)
	if err != nil {
		return out, err
	}
	defer release()
	wr := chunkWriter{e: e, bucket: bucket, ns: ns, out: &out}
	defer wr.wait()
	fail := func(err error) (chunkedWrite, error) {
		wr.wait() // no chunk stream is being written when they are deleted
		e.deleteData(freshStreams(out.fresh)...)
		return chunkedWrite{}, err
	}
	if ns != nil {
		pol = ns.pol
	}
	ch := chunker.NewWithBoundaries(src, pol, chunkMin, chunkMax)
	ch.SetAverageBits(chunkAvgBits)
	known := map[string]bool{}
	var total int64
	for {
		if err := wr.failed(); err != nil {
			return fail(err)
		}
		c, err := ch.Next(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(bodyError(err))
		}
		sum := sha256.Sum256(c.Data)
		h := hex.EncodeToString(sum[:])
		if ns != nil {
			h = ns.name(sum[:])
		}
		out.chunks = append(out.chunks, chunkRef{Hash: h, Size: int64(c.Length)})
		total += int64(c.Length)
		if known[h] {
			continue
		}
		known[h] = true
		stored, err := e.chunkStored(ctx, bucket, h)
		if err != nil {
			return fail(err)
		}
		if stored {
			if ns == nil {
				e.dedup.metrics.reused()
			}
			continue
		}
		wr.write(ctx, h, sum[:], c.Data)
	}
	if err := wr.wait(); err != nil {
		return fail(err)
	}
	if size >= 0 {
		if total != size {
			return fail(fmt.Errorf("%w: %d of %d bytes", ErrIncompleteBody, total, size))
		}
		if err := expectEOF(r); err != nil {
			return fail(bodyError(err))
		}
	}
	out.info = dataRecord{Size: total, ModTime: e.cfg.Now().UTC()}
	out.info.setDigest(dg)
	return out, nil
}

// chunkWriter stores the new chunks of one write: in the background, up
// to chunkWriters at a time, while buffer slots are free (each holds a
// copy of its chunk), else in the caller's goroutine.
type chunkWriter struct {
	e       *Engine
	bucket  string
	ns      *chunkNS // encrypted namespace, or nil
	out     *chunkedWrite
	jobs    chan chunkJob
	wg      sync.WaitGroup
	workers int
	mu      sync.Mutex // guards out.fresh and err
	err     error
	done    bool
}

type chunkJob struct {
	h       string
	sum     []byte
	data    []byte
	release func()
}

// chunkWriters bounds the chunk streams one write stores at once.
const chunkWriters = 3

// write stores chunk h (data is the caller's buffer, reused after).
func (w *chunkWriter) write(ctx context.Context, h string, sum, data []byte) {
	select {
	case w.e.dedup.slots <- struct{}{}:
	default:
		w.store(ctx, chunkJob{h: h, sum: sum, data: data})
		return
	}
	b := w.e.dedup.bufs.Get().(*[]byte)
	job := chunkJob{h: h, sum: sum, data: append((*b)[:0], data...), release: func() { w.e.dedup.bufs.Put(b); <-w.e.dedup.slots }}
	if w.jobs == nil {
		w.jobs = make(chan chunkJob)
	}
	if w.workers < chunkWriters {
		w.workers++
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for j := range w.jobs {
				w.store(ctx, j)
				j.release()
			}
		}()
	}
	w.jobs <- job
}

func (w *chunkWriter) store(ctx context.Context, j chunkJob) {
	if w.failed() != nil {
		return
	}
	var enc *streamEnc
	var err error
	if w.ns != nil {
		enc, err = w.ns.seal(w.e.suite, j.h)
	}
	var d dataRecord
	if err == nil {
		d, err = w.e.writeData(ctx, hashKey(w.bucket, "\x00chunk/"+j.h), bytes.NewReader(j.data), int64(len(j.data)), chunkDigest(j.sum), enc)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return
	}
	d.ETag, d.Name = "", fmt.Sprintf("%s (chunk %s)", w.bucket, j.h[:16])
	if w.ns != nil {
		d.SHA256 = "" // the name is all an encrypted chunk's record tells
	}
	w.out.fresh[j.h] = d
	if w.ns == nil {
		w.e.dedup.metrics.written(d.Size)
	}
}

func (w *chunkWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// wait waits for the background writes and returns the first error.
func (w *chunkWriter) wait() error {
	if !w.done {
		w.done = true
		if w.jobs != nil {
			close(w.jobs)
		}
		w.wg.Wait()
	}
	return w.failed()
}

// chunkStored reports whether the bucket holds chunk h in a state a write
// may reference rather than store again: referenced, or unreferenced for
// less than half the grace (a write that takes longer than that half
// meets the compare at commit). A lagging local replica may miss a
// chunk, which only costs writing it again.
func (e *Engine) chunkStored(ctx context.Context, bucket, h string) (bool, error) {
	ent, err := e.casKV.Get(ctx, chunkKey(bucket, h))
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var c chunkRecord
	if err := decode(ent.Value, &c); err != nil {
		return false, err
	}
	return c.Refs > 0 || e.cfg.Now().Sub(c.Zero) < e.dedup.grace/2, nil
}

// chunkOps are the chunk record changes of a transaction whose versions
// add the references add (with fresh, the streams the write stored) and
// drop the references remove, read through rd and guarded by compares on
// each record's revision. unused lists the fresh streams the records
// already had a chunk for: garbage once the transaction commits.
func (e *Engine) chunkOps(ctx context.Context, rd meta.KV, bucket string, add []chunkRef, fresh map[string]dataRecord, remove []chunkRef) ([]meta.Compare, []meta.Op, []dataRecord, error) {
	if len(add) == 0 && len(remove) == 0 {
		return nil, nil, nil, nil
	}
	delta := map[string]int64{}
	for _, c := range add {
		delta[c.Hash]++
	}
	for _, c := range remove {
		delta[c.Hash]--
	}
	hashes := make([]string, 0, len(delta))
	for h := range delta {
		hashes = append(hashes, h)
	}
	slices.Sort(hashes)
	var cmps []meta.Compare
	var ops []meta.Op
	var unused []dataRecord
	now := e.cfg.Now().UTC()
	for _, h := range hashes {
		n := delta[h]
		k := chunkKey(bucket, h)
		ent, err := rd.Get(ctx, k)
		switch {
		case errors.Is(err, meta.ErrNotFound):
			if d, ok := fresh[h]; ok && n > 0 {
				cmps = append(cmps, meta.Compare{Key: k, Revision: 0})
				ops = append(ops, meta.Put(k, encode(chunkRecord{Refs: n, Data: d})))
				// A chunk written with fewer than k+m shards is queued
				// for repair with its record, like a version's stream.
				if op, ok := e.dirtyOp(k, []dataRecord{d}, dirtyWrite); ok {
					ops = append(ops, op)
				}
				continue
			}
			if n > 0 || (n == 0 && len(add) > 0) {
				return nil, nil, nil, fmt.Errorf("%w: %s/%s", errChunkMissing, bucket, h)
			}
			// A reference dropped to a chunk that is not there: never
			// written so, but a removal must not fail on it.
			e.log.WithField("bucket", bucket).WithField("chunk", h).Error("dropping a reference to a missing chunk")
			continue
		case err != nil:
			return nil, nil, nil, err
		}
		if d, ok := fresh[h]; ok {
			unused = append(unused, d)
		}
		if n == 0 {
			// Added and dropped alike: the record must stay as it is.
			cmps = append(cmps, meta.Compare{Key: k, Revision: ent.Revision})
			continue
		}
		var c chunkRecord
		if err := decode(ent.Value, &c); err != nil {
			return nil, nil, nil, err
		}
		c.Refs += n
		switch {
		case c.Refs < 0:
			return nil, nil, nil, fmt.Errorf("storage: chunk %s/%s would have %d references", bucket, h, c.Refs)
		case c.Refs == 0:
			c.Zero = now
		default:
			c.Zero = time.Time{}
		}
		cmps = append(cmps, meta.Compare{Key: k, Revision: ent.Revision})
		ops = append(ops, meta.Put(k, encode(c)))
	}
	return cmps, ops, unused, nil
}

// putChunked is put for a deduplicating bucket.
// An SSE-S3 or SSE-KMS object (rec) goes to its encrypted namespace; its
// record keeps rec (its own data key: reads open it as for any SSE
// object). As for other SSE-KMS objects its ETag is not the plaintext's
// MD5 (an opaque random one) and no content hash is kept.
func (e *Engine) putChunked(ctx context.Context, bucket, key string, r io.Reader, size int64, dg *Digest, nv newVersion, sums func() []Checksum, pre precondition, pol chunker.Pol, rec *sseRecord) (ObjectInfo, error) {
	var ns *chunkNS
	if rec != nil {
		var err error
		if ns, err = e.writeNamespace(ctx, bucket, rec); err != nil {
			return ObjectInfo{}, err
		}
	}
	w, err := e.writeChunks(ctx, bucket, r, size, dg, pol, ns)
	if err != nil {
		return ObjectInfo{}, err
	}
	d := w.info
	if rec != nil && rec.Type != SSES3 {
		if d.ETag, err = opaqueETag(); err != nil {
			e.deleteData(freshStreams(w.fresh)...)
			return ObjectInfo{}, err
		}
		d.SHA256 = ""
	}
	d.Checksums, d.Name = sums(), bucket+"/"+key
	v := versionRecord{Size: d.Size, ETag: d.ETag, SHA256: d.SHA256, Meta: nv.meta, Checksums: d.Checksums, Parts: []dataRecord{d}, PartsCount: 1,
		Tags: nv.tags, Lock: nv.lock, Dedup: true, Chunks: w.chunks, fresh: w.fresh, SSE: rec}
	v, err = e.commitVersion(ctx, bucket, key, v, pre, meta.Txn{})
	if err != nil {
		if !errors.Is(err, ErrCommitUnknown) {
			e.deleteData(freshStreams(w.fresh)...)
		}
		return ObjectInfo{}, err
	}
	return v.info(bucket, key, true), nil
}

// opaqueETag is a random ETag-shaped value.
func opaqueETag() (string, error) {
	var b [md5.Size]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return quotedMD5(b[:]), nil
}

// chunkData reads the stream of a stored chunk.
func (e *Engine) chunkData(ctx context.Context, bucket string, c chunkRef) (dataRecord, error) {
	ent, err := e.kv.Get(ctx, chunkKey(bucket, c.Hash))
	if errors.Is(err, meta.ErrNotFound) {
		return dataRecord{}, fmt.Errorf("%w: %s/%s", errChunkMissing, bucket, c.Hash)
	}
	if err != nil {
		return dataRecord{}, err
	}
	var rec chunkRecord
	if err := decode(ent.Value, &rec); err != nil {
		return dataRecord{}, err
	}
	if rec.Data.Size != c.Size {
		return dataRecord{}, fmt.Errorf("storage: chunk %s/%s is %d bytes, referenced as %d", bucket, c.Hash, rec.Data.Size, c.Size)
	}
	if _, enc := chunkSpace(c.Hash); enc != (rec.Data.SSE != nil) {
		return dataRecord{}, fmt.Errorf("storage: chunk %s/%s is not stored as its name says (encrypted or not)", bucket, c.Hash)
	}
	return rec.Data, nil
}

// openChunks streams [start, start+length) of a deduplicated version: each
// chunk's record is read as the stream reaches it; keys, for an encrypted
// version, opens its chunks.
func (e *Engine) openChunks(ctx context.Context, bucket, key, versionID string, chunks []chunkRef, keys *chunkKeys, start, length int64) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := erasure.Pipe()
	go func() {
		heal, err := e.streamChunks(ctx, bucket, chunks, keys, pw, start, length)
		if len(heal) > 0 {
			e.queueHealItem(healItem{bucket: bucket, key: key, versionID: versionID, chunks: heal})
		}
		pw.CloseWithError(err)
	}()
	if err := pr.Ready(); err != nil && err != io.EOF {
		cancel()
		pr.Close()
		return nil, err
	}
	return &pipeReader{PipeReader: pr, cancel: cancel}, nil
}

// streamChunks writes the bytes [start, start+length) of the concatenated
// chunks to w, and returns the chunks it had to reconstruct. keys is set
// exactly for an encrypted version, whose chunks must all be encrypted.
func (e *Engine) streamChunks(ctx context.Context, bucket string, chunks []chunkRef, keys *chunkKeys, w io.Writer, start, length int64) ([]chunkRef, error) {
	var heal []chunkRef
	for _, c := range chunks {
		if length == 0 {
			break
		}
		if start >= c.Size {
			start -= c.Size
			continue
		}
		d, err := e.chunkData(ctx, bucket, c)
		if err != nil {
			return heal, err
		}
		n := min(c.Size-start, length)
		if (keys != nil) != (d.SSE != nil) {
			return heal, fmt.Errorf("storage: chunk %s/%s is not encrypted as its version", bucket, c.Hash)
		}
		var h bool
		release := e.refs.acquire([]dataRecord{d})
		if keys != nil {
			var ck sse.Key
			if ck, err = keys.key(ctx, c.Hash); err == nil {
				h, err = e.readSealedChunk(ctx, d, ck, w, start, n)
			}
		} else {
			h, err = e.readData(ctx, d, w, start, n)
		}
		release()
		if h && !slices.Contains(heal, c) {
			heal = append(heal, c)
		}
		if err != nil {
			return heal, err
		}
		start, length = 0, length-n
	}
	return heal, nil
}

// healChunks repairs, in place, the chunks of a deduplicated version that
// a read had to reconstruct. What it cannot finish is queued for the
// leader under the chunk's record, unless offline drives are all that
// stop it (as healObject does for a version's streams).
func (e *Engine) healChunks(ctx context.Context, log *logrus.Entry, bucket string, chunks []chunkRef) {
	seen := map[string]bool{}
	for _, c := range chunks {
		if seen[c.Hash] || ctx.Err() != nil {
			continue
		}
		seen[c.Hash] = true
		d, err := e.chunkData(ctx, bucket, c)
		if err != nil || d.DataID == "" {
			continue // collected meanwhile, or inline: nothing on drives
		}
		clog := log.WithField("chunk", c.Hash)
		res := e.repairData(ctx, d, HealOptions{Deep: true}, nil)
		switch {
		case res.waitsOnly():
			clog.WithError(res.err).Debug("heal on read deferred: drives offline")
		case res.err != nil:
			clog.WithError(res.err).Warn("heal on read failed; queued for the leader")
			if err := e.markDirty(ctx, chunkKey(bucket, c.Hash), []string{d.DataID}, true, dirtyRead, nil, res.err); err != nil {
				clog.WithError(err).Warn("queueing an unfinished heal on read")
			}
		case res.healed > 0:
			clog.WithField("shards", res.healed).Info("healed on read")
		}
	}
}

// markChunks queues the chunks a read had to reconstruct when the heal
// queue had no room for them.
func (e *Engine) markChunks(ctx context.Context, bucket string, chunks []chunkRef) {
	seen := map[string]bool{}
	for _, c := range chunks {
		if seen[c.Hash] || ctx.Err() != nil {
			continue
		}
		seen[c.Hash] = true
		if err := e.markDirty(ctx, chunkKey(bucket, c.Hash), nil, true, dirtyRead, nil, nil); err != nil {
			e.log.WithError(err).WithField("bucket", bucket).WithField("chunk", c.Hash).Warn("queueing a heal asked for by a read")
		}
	}
}

// DedupStatus is a bucket's deduplication setting and what its chunks
// hold.
type DedupStatus struct {
	Bucket  string `json:"bucket"`
	Enabled bool   `json:"enabled"`
	// Chunks stored, and of them PendingGC, unreferenced and waiting for
	// their grace to pass.
	Chunks         int   `json:"chunks"`
	PendingGC      int   `json:"pending_gc"`
	PendingGCBytes int64 `json:"pending_gc_bytes"`
	// LogicalBytes is the content of the bucket's deduplicated versions
	// (every reference counted); StoredBytes the referenced chunks' bytes,
	// once each (before erasure coding).
	LogicalBytes int64 `json:"logical_bytes"`
	StoredBytes  int64 `json:"stored_bytes"`
	// Ratio is LogicalBytes / StoredBytes (0 when nothing is stored).
	Ratio float64 `json:"ratio"`
}

// SetBucketDedup turns deduplication of a bucket's new objects on or off;
// stored objects keep how they were stored. The bucket's chunker
// polynomial is chosen on first use and kept.
func (e *Engine) SetBucketDedup(ctx context.Context, bucket string, on bool) error {
	for range retries {
		br, rev, err := e.getBucket(ctx, bucket)
		if err != nil {
			return err
		}
		if br.Dedup == on {
			return nil
		}
		if on && br.ChunkPol == 0 {
			pol, err := chunker.RandomPolynomial()
			if err != nil {
				return fmt.Errorf("storage: chunker polynomial: %w", err)
			}
			br.ChunkPol = uint64(pol)
		}
		br.Dedup = on
		err = e.txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: bucketKey(bucket), Revision: rev}}, Ops: []meta.Op{meta.Put(bucketKey(bucket), encode(br))}})
		if !errors.Is(err, errRetry) {
			return err
		}
	}
	return ErrConflict
}

// BucketDedup reports a bucket's deduplication (one pass over its chunk
// records) and sets its metrics.
func (e *Engine) BucketDedup(ctx context.Context, bucket string) (DedupStatus, error) {
	br, _, err := e.getBucket(ctx, bucket)
	if err != nil {
		return DedupStatus{}, err
	}
	st := DedupStatus{Bucket: bucket, Enabled: br.Dedup}
	err = e.scanChunks(ctx, chunkPrefix(bucket), func(_, _ string, _ uint64, c chunkRecord) error {
		st.add(c)
		return nil
	})
	if err != nil {
		return st, err
	}
	st.finish()
	e.dedup.metrics.set(st)
	return st, nil
}

func (s *DedupStatus) add(c chunkRecord) {
	s.Chunks++
	if c.Refs == 0 {
		s.PendingGC++
		s.PendingGCBytes += c.Data.Size
		return
	}
	s.StoredBytes += c.Data.Size
	s.LogicalBytes += c.Refs * c.Data.Size
}

func (s *DedupStatus) finish() {
	if s.StoredBytes > 0 {
		s.Ratio = float64(s.LogicalBytes) / float64(s.StoredBytes)
	}
}

// scanChunks visits the chunk records under prefix a page at a time.
func (e *Engine) scanChunks(ctx context.Context, prefix string, fn func(bucket, hash string, rev uint64, c chunkRecord) error) error {
	start := prefix
	for {
		ents, err := e.kv.List(ctx, prefix, start, listBatch)
		if err != nil {
			return err
		}
		for _, ent := range ents {
			bucket, h, ok := strings.Cut(strings.TrimPrefix(ent.Key, meta.PrefixStorage+keyChunk), "\x00")
			if !ok {
				continue
			}
			var c chunkRecord
			if err := decode(ent.Value, &c); err != nil {
				return err
			}
			if err := fn(bucket, h, ent.Revision, c); err != nil {
				return err
			}
		}
		if len(ents) < listBatch {
			return nil
		}
		start = ents[len(ents)-1].Key + "\x00"
	}
}

// CollectChunks removes the chunks that have had no reference for longer
// than grace: each record by compare-and-swap on the revision it was read
// at (a reference added meanwhile keeps it), then its shards. It returns
// how many chunks it removed, and refreshes every bucket's metrics.
func (e *Engine) CollectChunks(ctx context.Context, grace time.Duration) (int, error) {
	cutoff := e.cfg.Now().Add(-grace)
	stats := map[string]*DedupStatus{}
	removed := 0
	err := e.scanChunks(ctx, meta.PrefixStorage+keyChunk, func(bucket, h string, rev uint64, c chunkRecord) error {
		if c.Refs != 0 || c.Zero.After(cutoff) {
			st := stats[bucket]
			if st == nil {
				st = &DedupStatus{Bucket: bucket}
				stats[bucket] = st
			}
			st.add(c)
			return nil
		}
		_, err := e.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: chunkKey(bucket, h), Revision: rev}},
			Ops: []meta.Op{meta.Delete(chunkKey(bucket, h))}})
		var cf *meta.CompareFailedError
		switch {
		case errors.As(err, &cf):
			return nil // referenced again meanwhile
		case err != nil:
			return err
		}
		removed++
		e.dedup.metrics.collected()
		e.deleteData(c.Data)
		return nil
	})
	if err == nil {
		e.dedup.metrics.reset() // buckets with no chunk left (or deleted) drop out
	}
	for _, st := range stats {
		st.finish()
		e.dedup.metrics.set(*st)
	}
	return removed, err
}

// dedupMetrics are the filesphere_dedup_* metrics. The written and
// reused counters count plaintext chunks only: they move with each PUT, so
// for an encrypted namespace they would tell anyone reading the metrics
// whether another writer's upload was already stored, and its chunk
// lengths.
type dedupMetrics struct {
	logical, stored, ratio, pending *prometheus.GaugeVec
	chunksWritten, bytesWritten     prometheus.Counter
	chunksReused, chunksCollected   prometheus.Counter
}

func newDedupMetrics(reg prometheus.Registerer) *dedupMetrics {
	if reg == nil {
		return nil
	}
	g := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"bucket"})
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &dedupMetrics{
		logical:         g("filesphere_dedup_logical_bytes", "Content of a bucket's deduplicated versions, every reference counted (at the last count)."),
		stored:          g("filesphere_dedup_stored_bytes", "Bytes of a bucket's referenced chunks, each once, before erasure coding (at the last count)."),
		ratio:           g("filesphere_dedup_ratio", "Logical over stored bytes of a bucket's deduplicated versions (at the last count)."),
		pending:         g("filesphere_dedup_chunks_pending_gc", "A bucket's unreferenced chunks waiting for their grace (at the last count)."),
		chunksWritten:   c("filesphere_dedup_chunks_written_total", "Plaintext chunks stored by deduplicating writes (encrypted ones are not counted)."),
		bytesWritten:    c("filesphere_dedup_chunk_written_bytes_total", "Bytes of the plaintext chunks stored by deduplicating writes (encrypted ones are not counted)."),
		chunksReused:    c("filesphere_dedup_chunks_reused_total", "Plaintext chunks a deduplicating write found stored and did not write (encrypted ones are not counted)."),
		chunksCollected: c("filesphere_dedup_chunks_collected_total", "Unreferenced chunks removed after their grace."),
	}
	reg.MustRegister(m.logical, m.stored, m.ratio, m.pending, m.chunksWritten, m.bytesWritten, m.chunksReused, m.chunksCollected)
	return m
}

func (m *dedupMetrics) set(st DedupStatus) {
	if m == nil {
		return
	}
	m.logical.WithLabelValues(st.Bucket).Set(float64(st.LogicalBytes))
	m.stored.WithLabelValues(st.Bucket).Set(float64(st.StoredBytes))
	m.ratio.WithLabelValues(st.Bucket).Set(st.Ratio)
	m.pending.WithLabelValues(st.Bucket).Set(float64(st.PendingGC))
}

func (m *dedupMetrics) reset() {
	if m != nil {
		m.logical.Reset()
		m.stored.Reset()
		m.ratio.Reset()
		m.pending.Reset()
	}
}

func (m *dedupMetrics) written(n int64) {
	if m != nil {
		m.chunksWritten.Inc()
		m.bytesWritten.Add(float64(n))
	}
}

func (m *dedupMetrics) reused() {
	if m != nil {
		m.chunksReused.Inc()
	}
}

func (m *dedupMetrics) collected() {
	if m != nil {
		m.chunksCollected.Inc()
	}
}
