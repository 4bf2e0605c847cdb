package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"
)

// maxCopyObject is the largest object CopyObject copies; larger ones are
// copied in parts (UploadPartCopy).
const maxCopyObject = 5 << 30

// copySource is the x-amz-copy-source of bucket/key (and version):
// everything but unreserved characters and the slashes percent-encoded.
func copySource(bucket, key, versionID string) string {
	var b strings.Builder
	for _, c := range []byte(bucket + "/" + key) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-_.~/", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if versionID != "" {
		b.WriteString("?versionId=" + versionID)
	}
	return b.String()
}

// serverCopy copies an object within one endpoint without moving its
// bytes through this machine: CopyObject up to 5 GiB, parts copied in
// parallel beyond.
func (c *Client) serverCopy(ctx context.Context, k *conn, src, dst Location, versionID string, size int64, fm fileMeter) (TransferRecord, error) {
	if size <= maxCopyObject {
		out, err := k.s3.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket: aws.String(dst.Bucket), Key: aws.String(dst.Key), CopySource: aws.String(copySource(src.Bucket, src.Key, versionID)),
		})
		if err != nil {
			return TransferRecord{}, err
		}
		fm.add(size)
		rec := TransferRecord{Size: size, VersionID: aws.ToString(out.VersionId)}
		if out.CopyObjectResult != nil {
			rec.ETag = trimETag(aws.ToString(out.CopyObjectResult.ETag))
		}
		return rec, nil
	}
	ps := partSize(size, max(c.cfg.PartSize, 256<<20))
	head, err := headObject(ctx, k, src, versionID)
	if err != nil {
		return TransferRecord{}, err
	}
	out, err := k.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(dst.Bucket), Key: aws.String(dst.Key),
		ContentType: head.ContentType, Metadata: head.Metadata})
	if err != nil {
		return TransferRecord{}, err
	}
	id := aws.ToString(out.UploadId)
	n := int32((size + ps - 1) / ps)
	etags := make([]string, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.PartJobs)
	for i := int32(1); i <= n; i++ {
		off := int64(i-1) * ps
		end := min(off+ps, size) - 1
		g.Go(func() error {
			res, err := k.s3.UploadPartCopy(gctx, &s3.UploadPartCopyInput{
				Bucket: aws.String(dst.Bucket), Key: aws.String(dst.Key), UploadId: aws.String(id), PartNumber: aws.Int32(i),
				CopySource: aws.String(copySource(src.Bucket, src.Key, versionID)), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
				CopySourceIfMatch: head.ETag,
			})
			if err != nil {
				return fmt.Errorf("part %d: %w", i, err)
			}
			etags[i-1] = trimETag(aws.ToString(res.CopyPartResult.ETag))
			fm.add(end - off + 1)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		_ = c.abort(context.WithoutCancel(ctx), k, dst, id)
		return TransferRecord{}, err
	}
	parts := map[int32]partState{}
	for i, e := range etags {
		parts[int32(i+1)] = partState{ETag: e}
	}
	res, err := c.complete(ctx, k, dst, id, parts)
	if err != nil {
		_ = c.abort(context.WithoutCancel(ctx), k, dst, id)
		return TransferRecord{}, err
	}
	return TransferRecord{Size: size, Multipart: true, Parts: int(n), ETag: trimETag(aws.ToString(res.ETag)), VersionID: aws.ToString(res.VersionId)}, nil
}

// streamCopy copies between endpoints: a download fed into an upload.
func (c *Client) streamCopy(ctx context.Context, from, to *conn, j *job, fm fileMeter) (TransferRecord, error) {
	out, err := getObject(ctx, from, j.src, j.versionID)
	if err != nil {
		return TransferRecord{}, err
	}
	defer out.Body.Close()
	return c.uploadStream(ctx, to, j.dst, out.Body, aws.ToInt64(out.ContentLength), aws.ToString(out.ContentType), fm)
}

func headObject(ctx context.Context, k *conn, loc Location, versionID string) (*s3.HeadObjectOutput, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	return k.s3.HeadObject(ctx, in)
}
