package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// RmOptions are the flags of rm.
type RmOptions struct {
	// Recursive removes everything under a folder (prefix ending in "/").
	Recursive bool
	// Versions removes every version and delete marker, for good; without
	// it a versioned bucket keeps the data under a delete marker.
	Versions bool
	// VersionID removes one version.
	VersionID string
	// Force allows emptying a whole bucket (rm -r ALIAS/bucket).
	Force bool
}

// RemoveRecord is one removed object or version.
type RemoveRecord struct {
	Op        string `json:"op"`
	Path      string `json:"path"`
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
	// DeleteMarker is set when the removal left (or removed) a delete
	// marker.
	DeleteMarker bool `json:"delete_marker,omitempty"`
}

// Rm removes objects.
func (c *Client) Rm(ctx context.Context, paths []string, o RmOptions) error {
	if len(paths) == 0 {
		return usageErrorf("rm needs a path")
	}
	if o.VersionID != "" && (o.Recursive || o.Versions || len(paths) > 1) {
		return usageErrorf("rm --version-id removes one version of one object")
	}
	failed := 0
	for _, p := range paths {
		loc, err := c.remote(p, true)
		if err != nil {
			return err
		}
		switch {
		case loc.Key == "" && !o.Recursive:
			return usageErrorf("rm %s: that is a bucket; use rb, or rm -r --force to empty it", p)
		case loc.Key == "" && !o.Force:
			return usageErrorf("rm -r %s would empty the whole bucket; add --force to do so", p)
		}
		if err := c.rmOne(ctx, loc, o); err != nil {
			err = opErr("rm", p, err)
			if len(paths) == 1 {
				return err
			}
			fmt.Fprintln(c.cfg.Stderr, "filesphere: "+err.Error())
			failed++
		}
	}
	if failed > 0 {
		return &FailedError{Op: "rm", Failed: failed, Total: len(paths)}
	}
	return nil
}

func (c *Client) rmOne(ctx context.Context, loc Location, o RmOptions) error {
	k, err := c.conn(ctx, loc.Alias)
	if err != nil {
		return err
	}
	if !o.Recursive {
		switch {
		case o.VersionID != "":
			return c.deleteBatch(ctx, k, loc, []types.ObjectIdentifier{{Key: aws.String(loc.Key), VersionId: aws.String(o.VersionID)}}, true)
		case o.Versions:
			return c.rmVersions(ctx, k, loc, loc.Key, true)
		}
		if _, err := headObject(ctx, k, loc, ""); err != nil {
			return err
		}
		out, err := k.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)})
		if err != nil {
			return err
		}
		rec := RemoveRecord{Op: "rm", Path: loc.String(), Key: loc.Key, VersionID: aws.ToString(out.VersionId), DeleteMarker: aws.ToBool(out.DeleteMarker)}
		return c.out.emit(rec, func() string { return removedLine(rec) })
	}
	prefix := dirPrefix(loc.Key)
	if o.Versions {
		return c.rmVersions(ctx, k, loc, prefix, false)
	}
	var batch []types.ObjectIdentifier
	n := 0
	err = walkRemote(ctx, k, loc, prefix, true, func(it ObjectInfo) error {
		n++
		batch = append(batch, types.ObjectIdentifier{Key: aws.String(it.Key)})
		if len(batch) == 1000 {
			err := c.deleteBatch(ctx, k, loc, batch, true)
			batch = nil
			return err
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = c.deleteBatch(ctx, k, loc, batch, true)
	}
	if err == nil && n == 0 {
		return ErrNothingMatched
	}
	return err
}

// rmVersions removes every version and delete marker under prefix (of
// exactly one key when exact).
func (c *Client) rmVersions(ctx context.Context, k *conn, loc Location, prefix string, exact bool) error {
	var ids []types.ObjectIdentifier
	if err := walkVersions(ctx, k, loc, prefix, exact, func(it ObjectInfo) error {
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(it.Key), VersionId: aws.String(it.VersionID)})
		return nil
	}); err != nil {
		return err
	}
	if len(ids) == 0 {
		return ErrNothingMatched
	}
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		if err := c.deleteBatch(ctx, k, loc, ids[:n], true); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// deleteBatch removes up to 1000 objects or versions with DeleteObjects,
// or one by one where the endpoint does not implement it. Every key that
// was not removed is reported; the error counts them.
func (c *Client) deleteBatch(ctx context.Context, k *conn, loc Location, ids []types.ObjectIdentifier, emit bool) error {
	out, err := k.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(loc.Bucket),
		Delete: &types.Delete{Objects: ids}})
	base := Location{Alias: loc.Alias, Bucket: loc.Bucket}
	if s3Code(err) == "NotImplemented" {
		return c.deleteEach(ctx, k, base, ids, emit)
	}
	if err != nil {
		return err
	}
	for _, d := range out.Deleted {
		rec := RemoveRecord{Op: "rm", Path: base.child(aws.ToString(d.Key)).String(), Key: aws.ToString(d.Key),
			VersionID: aws.ToString(d.VersionId), DeleteMarker: aws.ToBool(d.DeleteMarker)}
		if rec.VersionID == "" {
			rec.VersionID = aws.ToString(d.DeleteMarkerVersionId)
		}
		if !emit {
			continue
		}
		if err := c.out.emit(rec, func() string { return removedLine(rec) }); err != nil {
			return err
		}
	}
	for _, e := range out.Errors {
		se := &S3Error{Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)}
		fmt.Fprintln(c.cfg.Stderr, "filesphere: "+opErr("rm", base.child(aws.ToString(e.Key)).String(), se).Error())
	}
	if len(out.Errors) > 0 {
		return &FailedError{Op: "rm", Failed: len(out.Errors), Total: len(ids)}
	}
	return nil
}

func (c *Client) deleteEach(ctx context.Context, k *conn, base Location, ids []types.ObjectIdentifier, emit bool) error {
	for _, id := range ids {
		out, err := k.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(base.Bucket), Key: id.Key, VersionId: id.VersionId})
		if err != nil {
			return opErr("rm", base.child(aws.ToString(id.Key)).String(), err)
		}
		rec := RemoveRecord{Op: "rm", Path: base.child(aws.ToString(id.Key)).String(), Key: aws.ToString(id.Key),
			VersionID: aws.ToString(out.VersionId), DeleteMarker: aws.ToBool(out.DeleteMarker)}
		if !emit {
			continue
		}
		if err := c.out.emit(rec, func() string { return removedLine(rec) }); err != nil {
			return err
		}
	}
	return nil
}

func removedLine(r RemoveRecord) string {
	var extra []string
	if r.VersionID != "" && r.VersionID != "null" {
		extra = append(extra, "version "+r.VersionID)
	}
	if r.DeleteMarker {
		extra = append(extra, "delete marker")
	}
	if len(extra) == 0 {
		return "removed " + r.Path
	}
	return "removed " + r.Path + " (" + strings.Join(extra, ", ") + ")"
}
