package client

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// FindOptions are find's filters; all given must hold.
type FindOptions struct {
	// Name is a glob (path.Match) over the last segment of the key.
	Name string
	// Newer and Older bound the modification time (zero: no bound).
	Newer, Older time.Time
	// Larger and Smaller bound the size in bytes (-1: no bound).
	Larger, Smaller int64
	// SHA256 (hex) keeps objects whose full-object SHA-256 checksum, as
	// the server keeps it (x-amz-checksum-sha256 of a HEAD with checksum
	// mode), is this one. Objects stored without such a checksum (multipart
	// uploads, most other tools' uploads) never match. This is a
	// client-side scan, one HEAD per candidate; a server-side lookup is a
	// later extension.
	SHA256 string
}

// Find lists the objects under a bucket or prefix that pass every filter,
// recursively.
func (c *Client) Find(ctx context.Context, p string, o FindOptions) error {
	loc, err := c.remote(p, true)
	if err != nil {
		return err
	}
	if o.Name != "" {
		if _, err := path.Match(o.Name, ""); err != nil {
			return usageErrorf("find --name %q: %v", o.Name, err)
		}
	}
	var want []byte
	if o.SHA256 != "" {
		if want, err = hex.DecodeString(o.SHA256); err != nil || len(want) != 32 {
			return usageErrorf("find --sha256 %q: want 64 hex digits", o.SHA256)
		}
	}
	k, err := c.conn(ctx, loc.Alias)
	if err != nil {
		return err
	}
	err = walkRemote(ctx, k, loc, dirPrefix(loc.Key), true, func(it ObjectInfo) error {
		if !o.matches(it) {
			return nil
		}
		if want != nil {
			ok, err := hasSHA256(ctx, k, loc, it, want)
			if err != nil || !ok {
				return err
			}
		}
		return c.out.emit(it, func() string { return it.Path })
	})
	return opErr("find", p, err)
}

func (o FindOptions) matches(it ObjectInfo) bool {
	if o.Name != "" {
		if ok, _ := path.Match(o.Name, baseName(it.Key)); !ok {
			return false
		}
	}
	switch {
	case !o.Newer.IsZero() && !it.LastModified.After(o.Newer),
		!o.Older.IsZero() && !it.LastModified.Before(o.Older),
		o.Larger >= 0 && it.Size <= o.Larger,
		o.Smaller >= 0 && it.Size >= o.Smaller:
		return false
	}
	return true
}

// hasSHA256 asks the server for the object's checksums. A listing that
// names the object's algorithms without SHA256 spares the HEAD.
func hasSHA256(ctx context.Context, k *conn, loc Location, it ObjectInfo, want []byte) (bool, error) {
	if len(it.algs) > 0 && !slices.Contains(it.algs, string(types.ChecksumAlgorithmSha256)) {
		return false, nil
	}
	h, err := k.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(it.Key), ChecksumMode: types.ChecksumModeEnabled})
	if IsNotFound(err) {
		return false, nil // removed since the listing
	}
	if err != nil {
		return false, err
	}
	if h.ChecksumType != "" && h.ChecksumType != types.ChecksumTypeFullObject {
		return false, nil // a checksum of part checksums, not of the content
	}
	got, err := base64.StdEncoding.DecodeString(aws.ToString(h.ChecksumSHA256))
	return err == nil && string(got) == string(want) && !strings.Contains(aws.ToString(h.ChecksumSHA256), "-"), nil
}

// DuOptions are the flags of du.
type DuOptions struct {
	// Versions counts every version (noncurrent ones too), not only the
	// current objects.
	Versions bool
	// Depth 1 also prints a line per first-level folder.
	Depth int
}

// DuRecord is the usage of one folder (or the total).
type DuRecord struct {
	Path    string `json:"path"`
	Objects int64  `json:"objects"`
	Size    int64  `json:"size"`
	// Total is set on the last record, the sum of all.
	Total bool `json:"total,omitempty"`
}

// Du sums the objects and bytes under a bucket or prefix.
func (c *Client) Du(ctx context.Context, p string, o DuOptions) error {
	loc, err := c.remote(p, true)
	if err != nil {
		return err
	}
	if o.Depth < 0 || o.Depth > 1 {
		return usageErrorf("du --depth: 0 or 1")
	}
	k, err := c.conn(ctx, loc.Alias)
	if err != nil {
		return err
	}
	prefix := dirPrefix(loc.Key)
	var groups []string
	sums := map[string]*DuRecord{}
	total := &DuRecord{Path: loc.String(), Total: true}
	add := func(it ObjectInfo) error {
		if it.Type == TypeDeleteMarker {
			return nil
		}
		total.Objects++
		total.Size += it.Size
		if o.Depth == 1 {
			g := it.rel
			if i := strings.Index(g, "/"); i >= 0 {
				g = g[:i+1]
			}
			if sums[g] == nil {
				groups = append(groups, g)
				sums[g] = &DuRecord{Path: Location{Alias: loc.Alias, Bucket: loc.Bucket, Key: prefix + g}.String()}
			}
			sums[g].Objects++
			sums[g].Size += it.Size
		}
		return nil
	}
	if o.Versions {
		err = walkVersions(ctx, k, loc, prefix, false, add)
	} else {
		err = walkRemote(ctx, k, loc, prefix, true, add)
	}
	if err != nil {
		return opErr("du", p, err)
	}
	for _, g := range groups {
		r := sums[g]
		if err := c.out.emit(r, func() string { return duLine(r) }); err != nil {
			return err
		}
	}
	return c.out.emit(total, func() string { return duLine(total) })
}

func duLine(r *DuRecord) string {
	return FormatSize(r.Size) + "\t" + itoa64(r.Objects) + " objects\t" + r.Path
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
