package client

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// MbOptions are the flags of mb.
type MbOptions struct {
	// Region is the bucket's location (default: the alias's region).
	Region string
	// Versioning turns versioning on right after creation.
	Versioning bool
	// IgnoreExisting makes an existing bucket of one's own no error.
	IgnoreExisting bool
}

// BucketRecord is the result of mb, rb and versions --enable/--suspend.
type BucketRecord struct {
	Op         string `json:"op"`
	Path       string `json:"path"`
	Bucket     string `json:"bucket"`
	Region     string `json:"region,omitempty"`
	Versioning string `json:"versioning,omitempty"`
	// Existed is set by mb --ignore-existing for a bucket already there.
	Existed bool `json:"existed,omitempty"`
	// Removed counts the versions and markers rb --force removed first.
	Removed int `json:"removed,omitempty"`
}

// Mb creates a bucket.
func (c *Client) Mb(ctx context.Context, path string, o MbOptions) error {
	loc, err := c.remote(path, true)
	if err != nil {
		return err
	}
	if loc.Key != "" {
		return usageErrorf("mb %s: name only ALIAS/bucket", path)
	}
	k, err := c.conn(ctx, loc.Alias)
	if err != nil {
		return err
	}
	region := o.Region
	if region == "" {
		region = k.s3.Options().Region
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(loc.Bucket)}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
	}
	rec := BucketRecord{Op: "mb", Path: loc.String(), Bucket: loc.Bucket, Region: region}
	_, err = k.s3.CreateBucket(ctx, in, func(opt *s3.Options) { opt.Region = region })
	if o.IgnoreExisting && s3Code(err) == "BucketAlreadyOwnedByYou" {
		err, rec.Existed = nil, true
	}
	if err != nil {
		return opErr("mb", path, err)
	}
	if o.Versioning {
		if err := setVersioning(ctx, k, loc.Bucket, types.BucketVersioningStatusEnabled); err != nil {
			return opErr("mb", path, err)
		}
		rec.Versioning = string(types.BucketVersioningStatusEnabled)
	}
	return c.out.emit(rec, func() string {
		s := "created bucket " + rec.Path
		if rec.Existed {
			s = "bucket " + rec.Path + " exists"
		}
		if rec.Versioning != "" {
			s += " (versioning enabled)"
		}
		return s
	})
}

func setVersioning(ctx context.Context, k *conn, bucket string, st types.BucketVersioningStatus) error {
	_, err := k.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: st}})
	return err
}

// RbOptions are the flags of rb.
type RbOptions struct {
	// Force removes every version, delete marker and unfinished upload
	// first.
	Force bool
}

// Rb removes a bucket (it must be empty unless Force).
func (c *Client) Rb(ctx context.Context, path string, o RbOptions) error {
	loc, err := c.remote(path, true)
	if err != nil {
		return err
	}
	if loc.Key != "" {
		return usageErrorf("rb %s: name only ALIAS/bucket", path)
	}
	k, err := c.conn(ctx, loc.Alias)
	if err != nil {
		return err
	}
	rec := BucketRecord{Op: "rb", Path: loc.String(), Bucket: loc.Bucket}
	if o.Force {
		if rec.Removed, err = c.empty(ctx, k, loc); err != nil {
			return opErr("rb", path, err)
		}
	}
	if _, err := k.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(loc.Bucket)}); err != nil {
		if s3Code(err) == "BucketNotEmpty" && !o.Force {
			err = errors.New("the bucket is not empty (rb --force removes everything in it, every version included)")
		}
		return opErr("rb", path, err)
	}
	return c.out.emit(rec, func() string { return "removed bucket " + rec.Path })
}

// empty removes every version, marker and multipart upload of a bucket,
// quietly, and returns how many versions and markers it removed.
func (c *Client) empty(ctx context.Context, k *conn, loc Location) (int, error) {
	mp := s3.NewListMultipartUploadsPaginator(k.s3, &s3.ListMultipartUploadsInput{Bucket: aws.String(loc.Bucket)})
	for mp.HasMorePages() {
		page, err := mp.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		for _, u := range page.Uploads {
			if err := c.abort(ctx, k, Location{Bucket: loc.Bucket, Key: aws.ToString(u.Key)}, aws.ToString(u.UploadId)); err != nil && !IsNotFound(err) {
				return 0, err
			}
		}
	}
	var ids []types.ObjectIdentifier
	err := walkVersions(ctx, k, loc, "", false, func(it ObjectInfo) error {
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(it.Key), VersionId: aws.String(it.VersionID)})
		return nil
	})
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(ids); i += 1000 {
		if err := c.deleteBatch(ctx, k, loc, ids[i:min(i+1000, len(ids))], false); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}
