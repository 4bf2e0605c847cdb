package storage

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/erasure"
	"github.com/filesphere/filesphere/storage/drive"
	"github.com/filesphere/filesphere/storage/sse"
)

// codecFor returns the codec a stream was written with: its geometry and
// its own bitrot hash, whatever new writes use now.
func (e *Engine) codecFor(ec ECInfo) (*erasure.Codec, error) {
	ec.Bitrot = ec.bitrot()
	if ec == e.cfg.newECInfo() {
		return e.codec, nil
	}
	if c, ok := e.codecs.Load(ec); ok {
		return c.(*erasure.Codec), nil
	}
	c, err := newCodec(ec)
	if err != nil {
		return nil, fmt.Errorf("storage: record geometry %+v: %w", ec, err)
	}
	e.codecs.Store(ec, c)
	return c, nil
}

// expectEOF confirms a reader is exhausted, which also lets verifying
// readers above us check digests and trailers before anything commits.
func expectEOF(r io.Reader) error {
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n > 0 {
			return fmt.Errorf("%w: body longer than its declared length", ErrInvalidArgument)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// quotedMD5 formats an MD5 as an S3 ETag.
func quotedMD5(sum []byte) string { return `"` + hex.EncodeToString(sum) + `"` }

// WriteMemory implements Backend: an inline object is buffered whole, any
// other write holds the encoder's block sets.
func (e *Engine) WriteMemory(size int64) int64 {
	if size >= 0 && size <= e.cfg.InlineThreshold {
		return size
	}
	return e.codec.EncodeMemory()
}

// writeData streams r into a new data stream: inline when small, else
// erasure-coded onto the drives placement picks; sealed first when enc is
// set (the stream's Size stays the plaintext's). On error nothing is left
// committed. dg, when it computes MD5 and SHA-256, is fed by the caller
// with exactly the bytes r yields, so they are not hashed again here.
func (e *Engine) writeData(ctx context.Context, placeKey string, r io.Reader, size int64, dg *Digest, enc *streamEnc) (dataRecord, error) {
	tee := r
	if !dg.content() {
		dg = newContentDigest()
		tee = io.TeeReader(r, dg)
	}
	ec := e.cfg.newECInfo()
	d := dataRecord{EC: ec, ModTime: e.cfg.Now().UTC()}
	var cipherMD5 hash.Hash // the ETag, when it must not be the plaintext's
	if enc != nil {
		p := enc.params
		d.SSE = &p
		if !enc.plainETag {
			cipherMD5 = md5.New()
		}
	}
	var src io.Reader = tee
	if size < 0 {
		// Unknown length (a chunked request): a body that ends within the
		// inline threshold is still kept inline.
		buf := make([]byte, e.cfg.InlineThreshold+1)
		n, err := io.ReadFull(tee, buf)
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return e.inlineData(d, buf[:n:n], enc, dg, cipherMD5)
		case err != nil:
			return d, bodyError(err)
		}
		src = io.MultiReader(bytes.NewReader(buf), tee)
	}
	if size >= 0 && size <= e.cfg.InlineThreshold {
		buf := make([]byte, size)
		if _, err := io.ReadFull(tee, buf); err != nil {
			return d, bodyError(err)
		}
		if err := expectEOF(r); err != nil {
			return d, bodyError(err)
		}
		return e.inlineData(d, buf, enc, dg, cipherMD5)
	}
	streamSize := size
	var sealer *sse.Reader
	if enc != nil {
		if size >= 0 {
			// The sealer marks its last package at EOF: it must see the
			// declared end, never bytes beyond it (expectEOF finds those).
			src = io.LimitReader(src, size)
		}
		var err error
		if sealer, err = sse.NewReader(src, enc.key, enc.params, size); err != nil {
			return d, err
		}
		src = sealer
		if cipherMD5 != nil {
			src = io.TeeReader(sealer, cipherMD5)
		}
		if size >= 0 {
			streamSize = sse.EncryptedSize(size)
		}
	}
	n := ec.Data + ec.Parity
	place := e.placement.Placement() // one snapshot: version and drives agree
	ids, err := place.Locate(placeKey, n)
	if err != nil {
		return d, err
	}
	d.DataID, d.Drives, d.RingVersion, d.PlaceKey = newID(), ids, place.Version(), placeKey
	writers := e.createShards(ctx, d)
	dst := make([]io.Writer, n)
	for i, w := range writers {
		if w != nil {
			dst[i] = w
		}
	}
	written, serrs, err := e.codec.Encode(ctx, src, dst, streamSize, e.cfg.WriteQuorum())
	if err == nil {
		err = expectEOF(r)
	}
	if err != nil {
		abortAll(writers)
		return d, bodyError(err)
	}
	good, err := e.commitShards(d, writers, serrs)
	if err != nil {
		return d, err
	}
	// Write quorum, but not every shard: the record's transaction queues
	// the stream for repair, so the missing shards can never be forgotten.
	d.repair.need = good < n
	d.Size = written
	if sealer != nil {
		d.Size = sealer.Size()
	}
	d.setHashes(dg, cipherMD5)
	return d, nil
}

// inlineData keeps a small stream in the record, sealed when enc is set.
func (e *Engine) inlineData(d dataRecord, plain []byte, enc *streamEnc, dg *Digest, cipherMD5 hash.Hash) (dataRecord, error) {
	d.Size, d.Inline = int64(len(plain)), plain
	if enc != nil {
		sealed := make([]byte, 0, sse.EncryptedSize(d.Size))
		r, err := sse.NewReader(bytes.NewReader(plain), enc.key, enc.params, d.Size)
		if err != nil {
			return d, err
		}
		w := bytes.NewBuffer(sealed)
		if _, err := io.Copy(w, r); err != nil {
			return d, err
		}
		d.Inline = w.Bytes()
		clear(plain)
		if cipherMD5 != nil {
			cipherMD5.Write(d.Inline)
		}
	}
	d.setHashes(dg, cipherMD5)
	return d, nil
}

// setHashes sets the stream's ETag and content hash from the plaintext's
// digest; for SSE-KMS and SSE-C (cipherMD5 set) the ETag is the
// ciphertext's MD5 and no plaintext hash is kept, since either would tell
// the content apart (as in S3, whose ETags of those objects are not MD5s
// of the data).
func (d *dataRecord) setHashes(dg *Digest, cipherMD5 hash.Hash) {
	if cipherMD5 == nil {
		d.setDigest(dg)
		return
	}
	d.ETag = quotedMD5(cipherMD5.Sum(nil))
}

// bodyError maps codec and body failures to storage errors, keeping the
// caller's own errors (digest checks) intact for errors.As.
func bodyError(err error) error {
	switch {
	case errors.Is(err, erasure.ErrWriteQuorum):
		return fmt.Errorf("%w: %v", ErrWriteQuorum, err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: %v", ErrIncompleteBody, err)
	}
	return err
}

func (e *Engine) createShards(ctx context.Context, d dataRecord) []drive.ShardWriter {
	writers := make([]drive.ShardWriter, len(d.Drives))
	var wg sync.WaitGroup
	for i, id := range d.Drives {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := e.drives.Drive(id)
			if err != nil {
				return
			}
			w, err := st.Create(ctx, shardID(d.DataID, i))
			if err != nil {
				e.log.WithError(err).WithField("drive", id).Debug("shard create failed")
				return
			}
			writers[i] = w
		}()
	}
	wg.Wait()
	return writers
}

func abortAll(ws []drive.ShardWriter) {
	for _, w := range ws {
		if w != nil {
			_ = w.Abort()
		}
	}
}

// commitShards makes the shards durable in parallel and requires a write
// quorum of them; below quorum it removes what did commit. Writers the
// encoder gave up on (serrs) are aborted, never published. It returns how
// many shards committed.
func (e *Engine) commitShards(d dataRecord, ws []drive.ShardWriter, serrs erasure.ShardErrors) (int, error) {
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		if w == nil {
			errs[i] = drive.ErrOffline
			continue
		}
		if i < len(serrs) && serrs[i] != nil {
			errs[i] = serrs[i]
			_ = w.Abort()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.Commit()
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok < e.cfg.WriteQuorum() {
		e.deleteData(d)
		return ok, fmt.Errorf("%w: %d of %d shards committed", ErrWriteQuorum, ok, len(ws))
	}
	return ok, nil
}

// retireData deletes the data of versions that were replaced or deleted,
// after a grace period and once no local reader still streams it, so a GET
// that resolved the old version just before the commit still completes.
func (e *Engine) retireData(ds ...dataRecord) {
	if len(ds) == 0 {
		return
	}
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		select {
		case <-e.cfg.After(e.cfg.DeleteGrace):
		case <-e.closing:
		}
		e.refs.wait(ds, e.closing)
		e.deleteData(ds...)
	}()
}

// deleteData removes a data stream's shards in the background; it is
// idempotent and failures only leave orphans for garbage collection.
func (e *Engine) deleteData(ds ...dataRecord) {
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		ctx := context.Background()
		for _, d := range ds {
			if d.DataID == "" {
				continue
			}
			for i, id := range d.Drives {
				st, err := e.drives.Drive(id)
				if err != nil {
					continue
				}
				if err := st.Delete(ctx, shardID(d.DataID, i)); err != nil {
					e.log.WithError(err).WithField("drive", id).Debug("shard delete failed")
				}
			}
		}
	}()
}

// sources returns the shard readers of a data stream; nil where the drive
// cannot be resolved.
func (e *Engine) sources(d dataRecord) []erasure.ShardSource {
	src := make([]erasure.ShardSource, len(d.Drives))
	for i, id := range d.Drives {
		st, err := e.drives.Drive(id)
		if err != nil {
			continue
		}
		sid := shardID(d.DataID, i)
		src[i] = func(ctx context.Context, off, length int64) (io.ReadCloser, error) {
			return st.Open(ctx, sid, off, length)
		}
	}
	return src
}

// readData writes bytes [off, off+length) of one data stream to w.
func (e *Engine) readData(ctx context.Context, d dataRecord, w io.Writer, off, length int64) (healNeeded bool, err error) {
	if d.DataID == "" {
		_, err := w.Write(d.Inline[off : off+length])
		return false, err
	}
	codec, err := e.codecFor(d.EC)
	if err != nil {
		return false, err
	}
	serrs, err := codec.Decode(ctx, w, e.sources(d), off, length, d.storedSize())
	if errors.Is(err, erasure.ErrReadQuorum) {
		return true, fmt.Errorf("%w: %v", ErrReadQuorum, err)
	}
	return serrs.Count() > 0, err
}

// openVersion streams rr (nil = whole) of a version; ok is the object key
// of an encrypted one (see openKey). The first bytes are fetched before
// returning so that a read that cannot start (read quorum) is reported as
// an error rather than as a truncated body.
func (e *Engine) openVersion(ctx context.Context, bucket, key string, v versionRecord, rr *ResolvedRange, ok sse.Key) (io.ReadCloser, error) {
	return e.openVersionFrom(ctx, e.kv, bucket, key, v, rr, ok)
}

// openVersionFrom is openVersion reading the parts record through kv.
func (e *Engine) openVersionFrom(ctx context.Context, kv meta.KV, bucket, key string, v versionRecord, rr *ResolvedRange, ok sse.Key) (io.ReadCloser, error) {
	start, length := int64(0), v.Size
	if rr != nil {
		start, length = rr.Start, rr.Length
	}
	if length == 0 {
		return io.NopCloser(eofReader{}), nil
	}
	pd, err := loadDataFrom(ctx, kv, v)
	if err != nil {
		return nil, err
	}
	parts := pd.Parts
	if v.Dedup {
		var keys *chunkKeys
		if v.SSE != nil {
			keys = e.newChunkKeys(kv, bucket, v.SSE)
		}
		return e.openChunks(ctx, bucket, key, v.VersionID, pd.Chunks, keys, start, length)
	}
	if v.SSE != nil {
		return e.openSealed(ctx, bucket, key, v.VersionID, parts, ok, start, length)
	}
	// Plaintext only: a sealed stream is decrypted on its own path.
	if rc, small, err := e.smallRead(ctx, parts, bucket, key, v.VersionID, start, length); small {
		return rc, err
	}
	release := e.refs.acquire(parts)
	ctx, cancel := context.WithCancel(ctx)
	// The codec's verified chunks go to the reader's consumer as they are
	// (erasure.Pipe: WriteTo writes them out with no copy).
	pr, pw := erasure.Pipe()
	go func() {
		defer release()
		heal, err := e.streamParts(ctx, parts, pw, start, length)
		if heal {
			e.queueHeal(bucket, key, v.VersionID)
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

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

type pipeReader struct {
	*erasure.PipeReader
	cancel context.CancelFunc
}

func (p *pipeReader) Close() error {
	p.cancel()
	return p.PipeReader.Close()
}

// streamParts writes the bytes [start, start+length) of the concatenated
// parts to w.
func (e *Engine) streamParts(ctx context.Context, parts []dataRecord, w io.Writer, start, length int64) (bool, error) {
	heal := false
	for _, p := range parts {
		if length == 0 {
			break
		}
		if start >= p.Size {
			start -= p.Size
			continue
		}
		n := min(p.Size-start, length)
		h, err := e.readData(ctx, p, w, start, n)
		heal = heal || h
		if err != nil {
			return heal, err
		}
		start, length = 0, length-n
	}
	return heal, nil
}

// queueHeal asks for a heal of a version a read had to reconstruct; when
// the heal queue is full the version goes to the repair queue instead.
func (e *Engine) queueHeal(bucket, key, versionID string) {
	e.queueHealItem(healItem{bucket: bucket, key: key, versionID: versionID})
}

func (e *Engine) queueHealItem(it healItem) {
	select {
	case e.healQueue <- it:
	default:
		select {
		case e.markQueue <- it:
		default: // both full: the scrub finds the stream in its cycle
			e.status.droppedReadHeal()
		}
	}
}

// readRefs counts local readers per data stream.
type readRefs struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *readRefs) acquire(ds []dataRecord) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	for _, d := range ds {
		r.n[d.DataID]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, d := range ds {
				if r.n[d.DataID]--; r.n[d.DataID] <= 0 {
					delete(r.n, d.DataID)
				}
			}
		})
	}
}

// wait returns once no reader holds any of ds (or stop closes).
func (r *readRefs) wait(ds []dataRecord, stop <-chan struct{}) {
	for {
		r.mu.Lock()
		busy := false
		for _, d := range ds {
			busy = busy || r.n[d.DataID] > 0
		}
		r.mu.Unlock()
		if !busy {
			return
		}
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
