package storage

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/minio/sha256-simd"
	"github.com/restic/chunker"
)

// The whole-content SHA-256 of a multipart object. SHA-256 cannot be
// combined from the parts' hashes, and parts arrive in any order (clients
// upload them in parallel), so CompleteMultipartUpload streams the chosen
// parts through one SHA-256, in order, before it commits: one sequential
// read of the object (verified erasure decode of the data shards, no
// parity), never held in memory. Its cost is measured by
// BenchmarkCompleteMultipart.

// partsSHA256 hashes the concatenated content of the parts of upload u.
// An SSE-S3 upload's plaintext is hashed (decrypted with its object key;
// S3 too shows SSE-S3 ETags of the plaintext). SSE-KMS and SSE-C uploads
// get no content hash, as their streams record none: a plaintext hash in
// the metadata would reveal what the encryption hides.
func (e *Engine) partsSHA256(ctx context.Context, bucket, key string, u uploadRecord, parts []dataRecord) (string, error) {
	if u.SSE != nil && u.SSE.Type != SSES3 {
		return "", nil
	}
	h := sha256.New()
	var size int64
	for _, p := range parts {
		size += p.Size
	}
	var err error
	if u.SSE == nil {
		_, err = e.streamParts(ctx, parts, h, 0, size)
	} else {
		err = e.hashSealed(ctx, bucket, key, u, parts, size, h)
	}
	if err != nil {
		return "", fmt.Errorf("storage: hashing the parts: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashSealed writes the plaintext of encrypted parts to w.
func (e *Engine) hashSealed(ctx context.Context, bucket, key string, u uploadRecord, parts []dataRecord, size int64, w io.Writer) error {
	if size == 0 {
		return nil
	}
	ok, err := e.openKey(ctx, bucket, key, u.SSE, nil, true)
	if err != nil {
		return err
	}
	rc, err := e.openSealed(ctx, bucket, key, "", parts, ok, 0, size)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}

// partCompares pins the part records a completion chose: their current
// revisions, compared at commit, so a part re-uploaded while the
// completion reads it fails the completion instead of leaving the new
// version pointing at replaced data. A part that already changed is
// ErrInvalidPart.
func (e *Engine) partCompares(ctx context.Context, uploadID string, chosen []dataRecord) ([]meta.Compare, error) {
	ents, err := e.kv.List(ctx, partPrefix(uploadID), "", 0)
	if err != nil {
		return nil, err
	}
	type seen struct {
		rev  uint64
		d    dataRecord
		have bool
	}
	byKey := make(map[string]seen, len(ents))
	for _, ent := range ents {
		var d dataRecord
		if err := decode(ent.Value, &d); err != nil {
			return nil, err
		}
		byKey[ent.Key] = seen{ent.Revision, d, true}
	}
	cmps := make([]meta.Compare, 0, len(chosen))
	for _, p := range chosen {
		k := partKey(uploadID, p.Number)
		s := byKey[k]
		if !s.have || s.d.DataID != p.DataID || s.d.ETag != p.ETag {
			return nil, fmt.Errorf("%w: part %d changed during the completion", ErrInvalidPart, p.Number)
		}
		cmps = append(cmps, meta.Compare{Key: k, Revision: s.rev})
	}
	return cmps, nil
}

// completeContent sets what a completion stores of the content: in a
// deduplicating bucket (unencrypted uploads), the chunks of the parts
// streamed in order, cut across part boundaries so that the chunks of a
// file do not depend on how a client split it, with the content hash of
// the same pass; elsewhere the content hash.
func (e *Engine) completeContent(ctx context.Context, bucket, key string, u uploadRecord, chosen []dataRecord, v *versionRecord) error {
	if u.SSE == nil && v.Size > e.cfg.InlineThreshold {
		pol, on, err := e.dedupPolicy(ctx, bucket)
		if err != nil {
			return err
		}
		if on {
			return e.chunkParts(ctx, bucket, chosen, v, pol)
		}
	}
	sum, err := e.partsSHA256(ctx, bucket, key, u, chosen)
	v.SHA256 = sum
	return err
}

// chunkParts re-reads an upload's parts into chunks. The parts' streams
// are garbage once the version commits; its Parts keep their sizes, ETags
// and checksums (part numbers in GET, attributes).
func (e *Engine) chunkParts(ctx context.Context, bucket string, parts []dataRecord, v *versionRecord, pol chunker.Pol) error {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := e.streamParts(ctx, parts, pw, 0, v.Size)
		pw.CloseWithError(err)
	}()
	w, err := e.writeChunks(ctx, bucket, pr, v.Size, nil, pol, nil)
	pr.CloseWithError(io.ErrClosedPipe)
	<-done
	if err != nil {
		return err
	}
	info := make([]dataRecord, len(parts))
	for i, p := range parts {
		info[i] = dataRecord{Number: p.Number, Size: p.Size, ETag: p.ETag, Checksums: p.Checksums, SHA256: p.SHA256, ModTime: p.ModTime, Name: p.Name}
	}
	v.SHA256, v.Parts = w.info.SHA256, info
	v.Dedup, v.Chunks, v.fresh = true, w.chunks, w.fresh
	return nil
}
