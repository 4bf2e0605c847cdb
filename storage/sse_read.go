package storage

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/filesphere/filesphere/storage/sse"
)

// openSealed streams the plaintext [start, start+length) of an encrypted
// version. Only the packages the range touches are fetched, part by part
// as the read reaches them, each through the erasure decoder; every
// package is authenticated before any of its bytes is returned, so a
// flipped bit that got past the bitrot hashes (or inline data tampered
// with in the metadata) ends the read instead of being served.
func (e *Engine) openSealed(ctx context.Context, bucket, key, versionID string, parts []dataRecord, ok sse.Key, start, length int64) (io.ReadCloser, error) {
	sp := make([]sse.Part, len(parts))
	for i, p := range parts {
		if p.SSE == nil {
			return nil, fmt.Errorf("storage: version %s of %s/%s is encrypted but part %d is not", versionID, bucket, key, p.Number)
		}
		sp[i] = sse.Part{Params: *p.SSE, Size: p.Size}
	}
	release := e.refs.acquire(parts)
	ctx, cancel := context.WithCancel(ctx)
	sr := &sealedReader{cancel: cancel, release: release}
	open := func(i int, cr sse.CipherRange) (io.ReadCloser, error) {
		d := parts[i]
		if d.DataID == "" {
			if cr.Offset+cr.Length > int64(len(d.Inline)) {
				return nil, fmt.Errorf("%w: inline data of %s/%s is %d bytes", sse.ErrTruncated, bucket, key, len(d.Inline))
			}
			return io.NopCloser(bytes.NewReader(d.Inline[cr.Offset : cr.Offset+cr.Length])), nil
		}
		pr, pw := io.Pipe()
		sr.wg.Add(1)
		go func() {
			defer sr.wg.Done()
			heal, err := e.readData(ctx, d, pw, cr.Offset, cr.Length)
			if heal {
				sr.heal.Store(true)
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	}
	mr, err := sse.NewMultipartReader(ok, sp, start, length, open)
	if err != nil {
		sr.finish()
		return nil, err
	}
	sr.mr = mr
	sr.onClose = func() {
		if sr.heal.Load() {
			e.queueHeal(bucket, key, versionID)
		}
	}
	sr.Reader = bufio.NewReaderSize(mr, 64<<10)
	if _, err := sr.Peek(1); err != nil && err != io.EOF {
		sr.Close()
		return nil, err
	}
	return sr, nil
}

// sealedReader is the plaintext of an encrypted version. Close stops the
// part being fetched, waits for its decoder and releases the data.
type sealedReader struct {
	*bufio.Reader
	mr      io.ReadCloser
	cancel  context.CancelFunc
	release func()
	onClose func()
	wg      sync.WaitGroup
	heal    atomic.Bool
	once    sync.Once
}

func (r *sealedReader) Close() error {
	var err error
	r.once.Do(func() {
		if r.mr != nil {
			err = r.mr.Close()
		}
		r.finish()
		if r.onClose != nil {
			r.onClose()
		}
	})
	return err
}

func (r *sealedReader) finish() {
	r.cancel()
	r.wg.Wait()
	r.release()
}
