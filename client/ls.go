package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// LsOptions are the flags of ls.
type LsOptions struct {
	Recursive bool
	Versions  bool
}

// ErrNothingMatched is a listing of a key or prefix that found nothing.
var ErrNothingMatched = errors.New("no object or folder by that name")

// Ls lists buckets (ALIAS), or the objects and folders under a bucket or
// prefix: one level, or every key with Recursive; every version and delete
// marker with Versions. Names are shown relative to the listed folder.
func (c *Client) Ls(ctx context.Context, path string, o LsOptions) error {
	loc, err := c.remote(path, false)
	if err != nil {
		return err
	}
	k, err := c.conn(ctx, loc.Alias)
	if err != nil {
		return err
	}
	if loc.Bucket == "" {
		return opErr("ls", path, c.listBuckets(ctx, k, loc))
	}
	dir := loc.Key[:strings.LastIndex(loc.Key, "/")+1]
	n := 0
	show := func(it ObjectInfo) error {
		n++
		return c.out.emit(it, func() string { return lsLine(it, strings.TrimPrefix(it.Key, dir)) })
	}
	switch {
	case o.Versions:
		err = walkVersions(ctx, k, loc, loc.Key, false, func(it ObjectInfo) error {
			if !o.Recursive && strings.Contains(strings.TrimPrefix(it.Key, dir), "/") {
				return nil // deeper than one level
			}
			return show(it)
		})
	case o.Recursive:
		err = walkRemote(ctx, k, loc, loc.Key, true, show)
	default:
		err = c.lsLevel(ctx, k, loc, show, &dir)
	}
	if err == nil && n == 0 && loc.Key != "" {
		err = ErrNothingMatched
	}
	return opErr("ls", path, err)
}

// lsLevel lists one level; "ALIAS/b/photos" lists inside photos/ when
// that is all the name matches.
func (c *Client) lsLevel(ctx context.Context, k *conn, loc Location, show func(ObjectInfo) error, dir *string) error {
	var items []ObjectInfo
	if err := walkRemote(ctx, k, loc, loc.Key, false, func(it ObjectInfo) error {
		items = append(items, it)
		return nil
	}); err != nil {
		return err
	}
	if loc.Key != "" && !strings.HasSuffix(loc.Key, "/") && len(items) == 1 &&
		items[0].Type == TypePrefix && items[0].Key == loc.Key+"/" {
		*dir = loc.Key + "/"
		return walkRemote(ctx, k, loc, *dir, false, show)
	}
	for _, it := range items {
		if err := show(it); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) listBuckets(ctx context.Context, k *conn, loc Location) error {
	p := s3.NewListBucketsPaginator(k.s3, &s3.ListBucketsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, b := range page.Buckets {
			name := aws.ToString(b.Name)
			it := ObjectInfo{Type: TypeBucket, Path: loc.Alias + "/" + name, Bucket: name, LastModified: aws.ToTime(b.CreationDate)}
			if err := c.out.emit(it, func() string { return lsLine(it, name+"/") }); err != nil {
				return err
			}
		}
	}
	return nil
}

// lsLine is the text form of a listing entry.
func lsLine(it ObjectInfo, name string) string {
	switch it.Type {
	case TypePrefix:
		return fmt.Sprintf("%s  %10s  %s", timeText(it.LastModified), "DIR", name)
	case TypeBucket:
		return fmt.Sprintf("%s  %10s  %s", timeText(it.LastModified), "BUCKET", name)
	case TypeVersion, TypeDeleteMarker:
		size, flag := FormatSize(it.Size), " "
		if it.Type == TypeDeleteMarker {
			size = "DELETED"
		}
		if it.IsLatest != nil && *it.IsLatest {
			flag = "*"
		}
		return fmt.Sprintf("%s  %10s  %s %-36s  %s", timeText(it.LastModified), size, flag, it.VersionID, name)
	}
	return fmt.Sprintf("%s  %10s  %s", timeText(it.LastModified), FormatSize(it.Size), name)
}
