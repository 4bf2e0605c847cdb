package storage

import (
	"context"
	"encoding/hex"
	"fmt"

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

// partsSHA256 hashes the concatenated content of parts.
func (e *Engine) partsSHA256(ctx context.Context, parts []dataRecord) (string, error) {
	h := sha256.New()
	var size int64
	for _, p := range parts {
		size += p.Size
	}
	if _, err := e.streamParts(ctx, parts, h, 0, size); err != nil {
		return "", fmt.Errorf("storage: hashing the parts: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
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
