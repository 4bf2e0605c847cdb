package storage

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/minio/sha256-simd"
)

// Verify re-reads object versions end to end (the same path as a GET:
// erasure decode with bitrot checks, decryption of SSE-S3 data, the chunks
// of a deduplicated object) and compares the SHA-256 of the bytes with the
// one recorded at write time. Bitrot frames catch damage below the codec;
// this catches anything else that would make a read return other bytes
// than were written (a wrong part list, a chunk of other content, a bug).

// ContentAdmin is what the admin API needs of content verification and
// deduplication.
type ContentAdmin interface {
	Verify(ctx context.Context, opts VerifyOptions, progress func(VerifyProgress)) (VerifyReport, error)
	SetBucketDedup(ctx context.Context, bucket string, on bool) error
	BucketDedup(ctx context.Context, bucket string) (DedupStatus, error)
}

// VerifyOptions selects what Verify reads.
type VerifyOptions struct {
	// Bucket ("" = every bucket) and, with it, Prefix restrict the keys.
	Bucket, Prefix string
	// BytesPerSecond throttles the reads (0 = no limit).
	BytesPerSecond int64
}

// VerifyProgress is where a verification stands.
type VerifyProgress struct {
	Bucket  string `json:"bucket"`
	Checked int    `json:"checked"`
	Bytes   int64  `json:"bytes"`
	// Failed counts mismatched and unreadable versions so far.
	Failed int `json:"failed"`
}

// VerifyReport is what a verification found.
type VerifyReport struct {
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	// Checked versions were read and hashed; OK matched their record.
	Checked int   `json:"checked"`
	OK      int   `json:"ok"`
	Bytes   int64 `json:"bytes"`
	// Unhashed versions have no recorded hash to compare with (SSE-KMS,
	// SSE-C, or stored before hashes were recorded); they are not read.
	Unhashed int `json:"unhashed"`
	// Mismatched read back as other bytes than were written; Unreadable
	// could not be read (below read quorum, a missing chunk, ...). Both
	// list "bucket/key (version id): why", the first maxFailedListed.
	Mismatched      int      `json:"mismatched"`
	Unreadable      int      `json:"unreadable"`
	MismatchedNames []string `json:"mismatched_names,omitempty"`
	UnreadableNames []string `json:"unreadable_names,omitempty"`
}

// Verify implements the admin verification over the versions opts selects.
// progress, when set, is called after each version (the caller decides how
// often to pass it on).
func (e *Engine) Verify(ctx context.Context, opts VerifyOptions, progress func(VerifyProgress)) (VerifyReport, error) {
	rep := VerifyReport{Started: e.cfg.Now().UTC()}
	buckets := []string{opts.Bucket}
	if opts.Bucket == "" {
		if opts.Prefix != "" {
			return rep, fmt.Errorf("%w: a prefix needs a bucket", ErrInvalidArgument)
		}
		bs, err := e.ListBuckets(ctx)
		if err != nil {
			return rep, err
		}
		buckets = buckets[:0]
		for _, b := range bs {
			buckets = append(buckets, b.Name)
		}
	} else if _, _, err := e.getBucket(ctx, opts.Bucket); err != nil {
		return rep, err
	}
	th := newThrottle(opts.BytesPerSecond)
	for _, b := range buckets {
		if err := e.verifyBucket(ctx, b, opts.Prefix, th, &rep, progress); err != nil {
			return rep, err
		}
	}
	rep.Duration = e.cfg.Now().Sub(rep.Started).String()
	return rep, nil
}

func (e *Engine) verifyBucket(ctx context.Context, bucket, prefix string, th *throttle, rep *VerifyReport, progress func(VerifyProgress)) error {
	sc := newScanner(e.kv, versionPrefix(bucket), prefix, "", "", false)
	var buf []meta.Entry
	for {
		it, ok, err := sc.next(ctx, &buf)
		if err != nil || !ok {
			return err
		}
		var v versionRecord
		if err := decode(it.ent.Value, &v); err != nil {
			return err
		}
		if v.DeleteMarker {
			continue
		}
		key := it.key
		if v.SHA256 == "" {
			rep.Unhashed++
			continue
		}
		name := fmt.Sprintf("%s/%s (version %s)", bucket, key, v.VersionID)
		n, got, err := e.hashVersion(ctx, bucket, key, v, th)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if _, gerr := e.kv.Get(ctx, it.ent.Key); errors.Is(gerr, meta.ErrNotFound) {
				continue // deleted while being read: nothing to verify
			}
		}
		rep.Checked++
		rep.Bytes += n
		switch {
		case err != nil:
			rep.Unreadable++
			if len(rep.UnreadableNames) < maxFailedListed {
				rep.UnreadableNames = append(rep.UnreadableNames, name+": "+err.Error())
			}
		case got != v.SHA256:
			rep.Mismatched++
			if len(rep.MismatchedNames) < maxFailedListed {
				rep.MismatchedNames = append(rep.MismatchedNames, fmt.Sprintf("%s: reads as sha256 %s, recorded %s", name, got, v.SHA256))
			}
		default:
			rep.OK++
		}
		if progress != nil {
			progress(VerifyProgress{Bucket: bucket, Checked: rep.Checked, Bytes: rep.Bytes, Failed: rep.Mismatched + rep.Unreadable})
		}
	}
}

// hashVersion reads a whole version from the drives (never from the
// object cache) and returns its size and SHA-256.
func (e *Engine) hashVersion(ctx context.Context, bucket, key string, v versionRecord, th *throttle) (int64, string, error) {
	pd, err := loadDataFrom(ctx, e.kv, v)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	cw := &countingWriter{ctx: ctx, w: h, th: th}
	switch {
	case v.Size == 0:
	case v.Dedup && v.SSE != nil:
		if _, err = e.openKey(ctx, bucket, key, v.SSE, nil, true); err == nil {
			_, err = e.streamChunks(ctx, bucket, pd.Chunks, e.newChunkKeys(e.kv, bucket, v.SSE), cw, 0, v.Size)
		}
	case v.SSE != nil:
		ok, err := e.openKey(ctx, bucket, key, v.SSE, nil, true)
		if err != nil {
			return 0, "", err
		}
		rc, err := e.openSealed(ctx, bucket, key, v.VersionID, pd.Parts, ok, 0, v.Size)
		if err != nil {
			return 0, "", err
		}
		_, err = io.Copy(cw, rc)
		rc.Close()
	case v.Dedup:
		_, err = e.streamChunks(ctx, bucket, pd.Chunks, nil, cw, 0, v.Size)
	default:
		release := e.refs.acquire(pd.Parts)
		_, err = e.streamParts(ctx, pd.Parts, cw, 0, v.Size)
		release()
	}
	n := cw.n
	if err == nil && n != v.Size {
		err = fmt.Errorf("%w: read %d bytes of %d", ErrIncompleteBody, n, v.Size)
	}
	if err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
