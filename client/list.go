package client

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Entry types of listings.
const (
	TypeBucket       = "bucket"
	TypePrefix       = "prefix"
	TypeObject       = "object"
	TypeVersion      = "version"
	TypeDeleteMarker = "delete-marker"
	TypeFile         = "file"
)

// ObjectInfo is one listed item: a bucket, a common prefix, an object, a
// version or delete marker, or a local file. Its JSON is the record of
// ls, find, versions and stat (see the package documentation).
type ObjectInfo struct {
	Type string `json:"type"`
	// Path is the full path as the user writes it (ALIAS/bucket/key, or
	// the local path).
	Path         string    `json:"path"`
	Bucket       string    `json:"bucket,omitempty"`
	Key          string    `json:"key,omitempty"`
	Size         int64     `json:"size"`
	LastModified time.Time `json:"last_modified,omitzero"`
	ETag         string    `json:"etag,omitempty"`
	StorageClass string    `json:"storage_class,omitempty"`
	VersionID    string    `json:"version_id,omitempty"`
	// IsLatest is set for versions and delete markers only.
	IsLatest *bool `json:"is_latest,omitempty"`

	// rel is the path below the walked root (transfers).
	rel string
	// algs are the checksum algorithms a listing names (find --sha256).
	algs []string
}

// walkRemote lists the objects under prefix: with recursive, every key;
// otherwise one level, folders as TypePrefix entries.
func walkRemote(ctx context.Context, k *conn, loc Location, prefix string, recursive bool, fn func(ObjectInfo) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(loc.Bucket), Prefix: aws.String(prefix)}
	if !recursive {
		in.Delimiter = aws.String("/")
	}
	base := Location{Alias: loc.Alias, Bucket: loc.Bucket}
	p := s3.NewListObjectsV2Paginator(k.s3, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, cp := range page.CommonPrefixes {
			key := aws.ToString(cp.Prefix)
			if err := fn(ObjectInfo{Type: TypePrefix, Path: base.child(key).String(), Bucket: loc.Bucket, Key: key,
				rel: strings.TrimPrefix(key, prefix)}); err != nil {
				return err
			}
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			it := ObjectInfo{Type: TypeObject, Path: base.child(key).String(), Bucket: loc.Bucket, Key: key,
				Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified), ETag: trimETag(aws.ToString(o.ETag)),
				StorageClass: string(o.StorageClass), rel: strings.TrimPrefix(key, prefix)}
			for _, a := range o.ChecksumAlgorithm {
				it.algs = append(it.algs, string(a))
			}
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// walkVersions lists every version and delete marker under prefix (one
// key only when exact), newest first per key.
func walkVersions(ctx context.Context, k *conn, loc Location, prefix string, exact bool, fn func(ObjectInfo) error) error {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(loc.Bucket), Prefix: aws.String(prefix)}
	base := Location{Alias: loc.Alias, Bucket: loc.Bucket}
	p := s3.NewListObjectVersionsPaginator(k.s3, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		// S3 returns versions and markers in two lists; merge them back
		// into key order, newest first.
		var items []ObjectInfo
		for _, v := range page.Versions {
			items = append(items, ObjectInfo{Type: TypeVersion, Key: aws.ToString(v.Key), Size: aws.ToInt64(v.Size),
				LastModified: aws.ToTime(v.LastModified), ETag: trimETag(aws.ToString(v.ETag)), StorageClass: string(v.StorageClass),
				VersionID: aws.ToString(v.VersionId), IsLatest: aws.Bool(aws.ToBool(v.IsLatest))})
		}
		for _, m := range page.DeleteMarkers {
			items = append(items, ObjectInfo{Type: TypeDeleteMarker, Key: aws.ToString(m.Key),
				LastModified: aws.ToTime(m.LastModified), VersionID: aws.ToString(m.VersionId), IsLatest: aws.Bool(aws.ToBool(m.IsLatest))})
		}
		sortVersions(items)
		for _, it := range items {
			if exact && it.Key != prefix {
				continue
			}
			it.Bucket, it.Path, it.rel = loc.Bucket, base.child(it.Key).String(), strings.TrimPrefix(it.Key, prefix)
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// sortVersions orders by key, then latest first, then newest first.
func sortVersions(items []ObjectInfo) {
	less := func(a, b ObjectInfo) bool {
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if *a.IsLatest != *b.IsLatest {
			return *a.IsLatest
		}
		return a.LastModified.After(b.LastModified)
	}
	for i := 1; i < len(items); i++ { // insertion sort: pages are small and nearly sorted
		for j := i; j > 0 && less(items[j], items[j-1]); j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}

func trimETag(s string) string { return strings.Trim(s, `"`) }

// walkLocal lists the regular files under root (root itself when it is a
// file), following symlinks to files but not to folders.
func walkLocal(root string, fn func(ObjectInfo) error) error {
	st, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fn(localInfo(root, filepath.Base(root), st))
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		st, err := os.Stat(p) // follows a symlink
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a dangling symlink
		}
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return fn(localInfo(p, filepath.ToSlash(rel), st))
	})
}

func localInfo(p, rel string, st fs.FileInfo) ObjectInfo {
	return ObjectInfo{Type: TypeFile, Path: p, Size: st.Size(), LastModified: st.ModTime(), rel: rel}
}
