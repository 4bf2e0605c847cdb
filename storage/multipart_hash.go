package storage

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/minio/sha256-simd"
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
