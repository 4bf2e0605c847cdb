package client

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // Content-MD5 and part ETags are MD5 by S3's definition
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// partSize is the part size for an object of size bytes: the configured
// one, grown (to whole MiB) so the upload fits in 10,000 parts.
func partSize(size, configured int64) int64 {
	ps := configured
	if need := (size + MaxParts - 1) / MaxParts; need > ps {
		ps = (need + (1 << 20) - 1) &^ ((1 << 20) - 1)
	}
	return ps
}

func contentType(name string) string {
	if t := mime.TypeByExtension(filepath.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// uploadFile sends a local file: one PUT below the multipart threshold,
// else a resumable multipart upload.
func (c *Client) uploadFile(ctx context.Context, k *conn, j *job, fm fileMeter) (TransferRecord, error) {
	f, err := os.Open(j.src.Local)
	if err != nil {
		return TransferRecord{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return TransferRecord{}, err
	}
	if st.Size() < c.cfg.MultipartThreshold {
		return c.putObject(ctx, k, j.dst, io.NewSectionReader(f, 0, st.Size()), st.Size(), contentType(j.src.Local), fm)
	}
	return c.uploadMultipartFile(ctx, k, j, f, st, fm)
}

// putObject sends one PUT. The body is read twice: once for its SHA-256
// (sent as x-amz-checksum-sha256, which the server verifies and keeps as
// the object's full-object checksum, see find --sha256) and once as it is
// sent with UNSIGNED-PAYLOAD.
func (c *Client) putObject(ctx context.Context, k *conn, dst Location, body io.ReadSeeker, size int64, ctype string, fm fileMeter) (TransferRecord, error) {
	h := sha256.New()
	if _, err := io.Copy(h, body); err != nil {
		return TransferRecord{}, err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return TransferRecord{}, err
	}
	out, err := k.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(dst.Bucket), Key: aws.String(dst.Key),
		Body:           &countingReader{ctx: ctx, r: body, m: fm, lim: c.limiter},
		ContentLength:  aws.Int64(size),
		ContentType:    aws.String(ctype),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(h.Sum(nil))),
	}, unsignedPayload)
	if err != nil {
		return TransferRecord{}, err
	}
	return TransferRecord{Size: size, ETag: trimETag(aws.ToString(out.ETag)), VersionID: aws.ToString(out.VersionId),
		SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// uploadMultipartFile runs (or resumes) a multipart upload of f. The state
// file records the upload and each finished part; a re-run with the same
// source (size and mtime unchanged) asks the server which parts it has
// (ListParts) and sends only the others. A changed source aborts the stale
// upload and starts over.
func (c *Client) uploadMultipartFile(ctx context.Context, k *conn, j *job, f *os.File, fi os.FileInfo, fm fileMeter) (TransferRecord, error) {
	abs, err := filepath.Abs(j.src.Local)
	if err != nil {
		return TransferRecord{}, err
	}
	size, ps := fi.Size(), partSize(fi.Size(), c.cfg.PartSize)
	sf := c.stateFile(abs, k, j.dst)
	rec := TransferRecord{Size: size, Multipart: true}
	done := map[int32]partState{}
	prev, ok := sf.load()
	if ok && (prev.Size != size || prev.MtimeNS != fi.ModTime().UnixNano() || prev.PartSize != ps) {
		// The source changed: its parts on the server are of no use.
		if err := c.abort(ctx, k, j.dst, prev.UploadID); err != nil && !IsNotFound(err) {
			return rec, fmt.Errorf("abort the stale upload %s: %w", prev.UploadID, err)
		}
		_ = sf.remove()
		ok, rec.Restarted = false, true
	}
	if ok {
		done, err = c.partsOnServer(ctx, k, j.dst, prev, f)
		switch {
		case IsNotFound(err): // completed or aborted meanwhile
			_ = sf.remove()
			ok, rec.Restarted = false, true
		case err != nil:
			return rec, err
		}
	}
	st := prev
	if ok {
		st.Parts = done
		if err := sf.start(st); err != nil {
			return rec, err
		}
		rec.ResumedParts = len(done)
	} else {
		out, err := k.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
			Bucket: aws.String(j.dst.Bucket), Key: aws.String(j.dst.Key), ContentType: aws.String(contentType(j.src.Local)),
		})
		if err != nil {
			return rec, err
		}
		st = uploadState{Version: stateVersion, Source: abs, Size: size, MtimeNS: fi.ModTime().UnixNano(),
			Alias: k.alias.Name, Endpoint: k.alias.URL, Bucket: j.dst.Bucket, Key: j.dst.Key,
			UploadID: aws.ToString(out.UploadId), PartSize: ps, Parts: map[int32]partState{}, Started: c.cfg.Now().UTC()}
		if err := sf.start(st); err != nil {
			_ = c.abort(context.WithoutCancel(ctx), k, j.dst, st.UploadID)
			return rec, err
		}
	}
	for _, p := range done {
		fm.add(p.Size)
	}
	n := int32((size + ps - 1) / ps)
	rec.Parts = int(n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.PartJobs)
	for i := int32(1); i <= n; i++ {
		if _, have := done[i]; have {
			continue
		}
		off := int64(i-1) * ps
		sec := io.NewSectionReader(f, off, min(ps, size-off))
		g.Go(func() error {
			etag, err := c.uploadPart(gctx, k, j.dst, st.UploadID, i, sec, fm)
			if err != nil {
				return fmt.Errorf("part %d: %w", i, err)
			}
			return sf.part(i, partState{ETag: etag, Size: sec.Size()})
		})
	}
	if err := g.Wait(); err != nil {
		return rec, &ResumableError{Err: err}
	}
	out, err := c.complete(ctx, k, j.dst, st.UploadID, sf.st.Parts)
	if err != nil {
		return rec, &ResumableError{Err: err}
	}
	_ = sf.remove()
	rec.ETag, rec.VersionID = trimETag(aws.ToString(out.ETag)), aws.ToString(out.VersionId)
	return rec, nil
}

// ResumableError is a multipart upload that failed part way; its state is
// kept, and the same command resumes it.
type ResumableError struct{ Err error }

func (e *ResumableError) Error() string {
	return Describe(e.Err) + " (the upload is kept: run the same command again to resume it)"
}

func (e *ResumableError) Unwrap() error { return e.Err }

// partsOnServer lists the upload's parts and keeps those that are whole:
// the expected size, and the ETag recorded for it (or, for a part the
// state did not record before the process died, the ETag of the local
// bytes).
func (c *Client) partsOnServer(ctx context.Context, k *conn, dst Location, st uploadState, f *os.File) (map[int32]partState, error) {
	have := map[int32]partState{}
	p := s3.NewListPartsPaginator(k.s3, &s3.ListPartsInput{Bucket: aws.String(dst.Bucket), Key: aws.String(dst.Key), UploadId: aws.String(st.UploadID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, part := range page.Parts {
			num, etag, sz := aws.ToInt32(part.PartNumber), trimETag(aws.ToString(part.ETag)), aws.ToInt64(part.Size)
			off := int64(num-1) * st.PartSize
			if num < 1 || off >= st.Size || sz != min(st.PartSize, st.Size-off) {
				continue
			}
			if rec, ok := st.Parts[num]; ok && rec.ETag == etag {
				have[num] = partState{ETag: etag, Size: sz}
				continue
			}
			sum, err := md5Hex(io.NewSectionReader(f, off, sz))
			if err != nil {
				return nil, err
			}
			if sum == etag {
				have[num] = partState{ETag: etag, Size: sz}
			}
		}
	}
	return have, nil
}

func md5Hex(r io.Reader) (string, error) {
	h := md5.New() //nolint:gosec // S3's part ETag
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// uploadPart sends one part with its Content-MD5 (checked by the server)
// and checks the returned ETag against it where the ETag is an MD5.
func (c *Client) uploadPart(ctx context.Context, k *conn, dst Location, uploadID string, n int32, body io.ReadSeeker, fm fileMeter) (string, error) {
	h := md5.New() //nolint:gosec // Content-MD5
	size, err := io.Copy(h, body)
	if err != nil {
		return "", err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	sum := h.Sum(nil)
	out, err := k.s3.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String(dst.Bucket), Key: aws.String(dst.Key), UploadId: aws.String(uploadID), PartNumber: aws.Int32(n),
		Body: &countingReader{ctx: ctx, r: body, m: fm, lim: c.limiter}, ContentLength: aws.Int64(size),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum)),
	}, unsignedPayload)
	if err != nil {
		return "", err
	}
	etag := trimETag(aws.ToString(out.ETag))
	if len(etag) == 32 && etag != hex.EncodeToString(sum) {
		return "", fmt.Errorf("the server's ETag %s is not the part's MD5 %x", etag, sum)
	}
	return etag, nil
}

func (c *Client) complete(ctx context.Context, k *conn, dst Location, uploadID string, parts map[int32]partState) (*s3.CompleteMultipartUploadOutput, error) {
	nums := make([]int32, 0, len(parts))
	for n := range parts {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	cp := make([]types.CompletedPart, len(nums))
	for i, n := range nums {
		cp[i] = types.CompletedPart{PartNumber: aws.Int32(n), ETag: aws.String(`"` + parts[n].ETag + `"`)}
	}
	return k.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(dst.Bucket), Key: aws.String(dst.Key), UploadId: aws.String(uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: cp},
	})
}

func (c *Client) abort(ctx context.Context, k *conn, dst Location, uploadID string) error {
	_, err := k.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(dst.Bucket), Key: aws.String(dst.Key), UploadId: aws.String(uploadID)})
	return err
}

// uploadStream sends size bytes read from r (a download from another
// endpoint) as one PUT or, from the multipart threshold on, as parts
// uploaded in parallel. At most PartJobs+1 parts are held in memory.
func (c *Client) uploadStream(ctx context.Context, k *conn, dst Location, r io.Reader, size int64, ctype string, fm fileMeter) (TransferRecord, error) {
	if size < c.cfg.MultipartThreshold {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return TransferRecord{}, err
		}
		return c.putObject(ctx, k, dst, bytes.NewReader(buf), size, ctype, fm)
	}
	ps := partSize(size, c.cfg.PartSize)
	out, err := k.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(dst.Bucket), Key: aws.String(dst.Key), ContentType: aws.String(ctype)})
	if err != nil {
		return TransferRecord{}, err
	}
	id := aws.ToString(out.UploadId)
	parts := map[int32]partState{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.PartJobs)
	n := int32((size + ps - 1) / ps)
	for i := int32(1); i <= n; i++ {
		buf := make([]byte, min(ps, size-int64(i-1)*ps))
		if _, err := io.ReadFull(r, buf); err != nil {
			_ = g.Wait()
			_ = c.abort(context.WithoutCancel(ctx), k, dst, id)
			return TransferRecord{}, err
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			etag, err := c.uploadPart(gctx, k, dst, id, i, bytes.NewReader(buf), fm)
			if err != nil {
				return fmt.Errorf("part %d: %w", i, err)
			}
			mu.Lock()
			parts[i] = partState{ETag: etag, Size: int64(len(buf))}
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		_ = c.abort(context.WithoutCancel(ctx), k, dst, id)
		return TransferRecord{}, err
	}
	if err := ctx.Err(); err != nil {
		_ = c.abort(context.WithoutCancel(ctx), k, dst, id)
		return TransferRecord{}, err
	}
	res, err := c.complete(ctx, k, dst, id, parts)
	if err != nil {
		_ = c.abort(context.WithoutCancel(ctx), k, dst, id)
		return TransferRecord{}, err
	}
	return TransferRecord{Size: size, Multipart: true, Parts: int(n), ETag: trimETag(aws.ToString(res.ETag)), VersionID: aws.ToString(res.VersionId)}, nil
}
