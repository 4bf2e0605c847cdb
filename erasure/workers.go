package erasure

import (
	"context"
	"io"
	"sync"
)

// workers runs one goroutine per shard for the duration of a call, so that
// slow or remote shards are read, hashed and written in parallel. Goroutines
// live for the whole call (not per block) to keep per-block cost at a channel
// hand-off with no allocation. Each slot starts lazily on its first job, so a
// Decode that never needs parity never starts parity goroutines.
type workers struct {
	fns     []func(*blockSet) error
	jobs    []chan *blockSet
	results chan result
	wg      sync.WaitGroup
}

type result struct {
	slot int
	err  error
}

func newWorkers(n int) *workers {
	return &workers{
		fns:     make([]func(*blockSet) error, n),
		jobs:    make([]chan *blockSet, n),
		results: make(chan result, n),
	}
}

// send hands set to slot i. The caller must later collect exactly one
// result per send, and must not touch the slot's part of set until then.
func (ws *workers) send(i int, set *blockSet) {
	if ws.jobs[i] == nil {
		ws.jobs[i] = make(chan *blockSet, 1)
		ws.wg.Add(1)
		go func(fn func(*blockSet) error, jobs <-chan *blockSet) {
			defer ws.wg.Done()
			for s := range jobs {
				ws.results <- result{slot: i, err: fn(s)}
			}
		}(ws.fns[i], ws.jobs[i])
	}
	ws.jobs[i] <- set
}

// recv waits for the next result of any slot.
func (ws *workers) recv() result { return <-ws.results }

// stop ends all goroutines. Every sent job must have been collected first,
// which guarantees no goroutine still touches a buffer the caller is about
// to reuse or return to the pool.
func (ws *workers) stop() {
	for _, ch := range ws.jobs {
		if ch != nil {
			close(ch)
		}
	}
	ws.wg.Wait()
}

// shardWriter frames and writes one shard's chunk per block.
type shardWriter struct {
	c    *Codec
	slot int
	w    io.Writer
}

// write hashes the chunk into the frame's header and writes the frame with a
// single Write, so each block costs one call (one syscall for a file).
func (sw *shardWriter) write(s *blockSet) error {
	frame := s.frame(sw.slot)
	sw.c.sealFrame(frame)
	n, err := sw.w.Write(frame)
	if err == nil && n != len(frame) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return &BlockError{Block: s.block, Op: "write", Err: err}
	}
	return nil
}

// shardReader reads and verifies one shard's frames. It opens its source on
// the first block it is asked for, so the open happens in the worker
// goroutine (opens of remote shards overlap) and at exactly the block where
// the caller first needed this shard. Its stream stays positioned for the
// next block; asked for another block (the caller skipped some, or a read
// failed mid-frame) it reopens there.
type shardReader struct {
	ctx     context.Context
	c       *Codec
	slot    int
	src     ShardSource
	rc      io.ReadCloser
	next    int64 // block the open stream is positioned at
	end     int64 // shard-file offset just past the last frame needed
	readErr int   // consecutive read errors
	gone    bool  // unusable for the rest of the call; set with the error
}

func (sr *shardReader) read(s *blockSet) error {
	if sr.rc != nil && sr.next != s.block {
		sr.close()
	}
	if sr.rc == nil {
		off := sr.c.ShardOffset(s.block)
		rc, err := sr.src(sr.ctx, off, sr.end-off)
		if err == nil && rc == nil {
			err = ErrShardMissing
		}
		if err != nil {
			sr.gone = true
			return &BlockError{Block: s.block, Op: "open", Err: err}
		}
		sr.rc, sr.next = rc, s.block
	}
	frame := s.frame(sr.slot)
	if _, err := io.ReadFull(sr.rc, frame); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			sr.gone = true // a short file has no later frames either
			err = ErrShortShard
		} else {
			sr.close() // position unknown: reopen at the next block wanted
			sr.readErr++
			sr.gone = sr.readErr >= maxReadErrors
		}
		return &BlockError{Block: s.block, Op: "read", Err: err}
	}
	sr.next++
	sr.readErr = 0
	return sr.c.verifyFrame(frame, s.block)
}

func (sr *shardReader) close() {
	if sr.rc != nil {
		_ = sr.rc.Close() // read-only; a close error cannot affect the bytes we verified
		sr.rc = nil
	}
}
