package client

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Cat writes objects to Stdout one after another (versionID: one version
// of a single object).
func (c *Client) Cat(ctx context.Context, paths []string, versionID string) error {
	if len(paths) == 0 {
		return usageErrorf("cat needs a path")
	}
	if versionID != "" && len(paths) > 1 {
		return usageErrorf("cat --version-id takes one object")
	}
	for _, p := range paths {
		loc, err := c.remote(p, true)
		if err != nil {
			return err
		}
		if loc.Key == "" || strings.HasSuffix(loc.Key, "/") {
			return usageErrorf("cat %s: name an object", p)
		}
		k, err := c.conn(ctx, loc.Alias)
		if err != nil {
			return err
		}
		out, err := getObject(ctx, k, loc, versionID)
		if err != nil {
			return opErr("cat", p, err)
		}
		n, err := io.Copy(c.cfg.Stdout, out.Body)
		_ = out.Body.Close()
		if err == nil && out.ContentLength != nil && n != *out.ContentLength {
			err = fmt.Errorf("received %d of %d bytes", n, *out.ContentLength)
		}
		if err != nil {
			return opErr("cat", p, err)
		}
	}
	return nil
}

// StatRecord describes one object or bucket.
type StatRecord struct {
	Type         string            `json:"type"`
	Path         string            `json:"path"`
	Bucket       string            `json:"bucket"`
	Key          string            `json:"key,omitempty"`
	Size         int64             `json:"size"`
	LastModified time.Time         `json:"last_modified,omitzero"`
	ETag         string            `json:"etag,omitempty"`
	ContentType  string            `json:"content_type,omitempty"`
	VersionID    string            `json:"version_id,omitempty"`
	StorageClass string            `json:"storage_class,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	// Checksums maps algorithm (CRC32, CRC32C, CRC64NVME, SHA1, SHA256)
	// to the base64 value the server keeps; ChecksumType is FULL_OBJECT
	// or COMPOSITE.
	Checksums    map[string]string `json:"checksums,omitempty"`
	ChecksumType string            `json:"checksum_type,omitempty"`
	// Buckets: versioning status (Enabled, Suspended or Off) and region.
	Versioning string `json:"versioning,omitempty"`
	Region     string `json:"region,omitempty"`
}

// Stat describes an object (one version with versionID) or a bucket.
func (c *Client) Stat(ctx context.Context, path, versionID string) error {
	loc, err := c.remote(path, true)
	if err != nil {
		return err
	}
	k, err := c.conn(ctx, loc.Alias)
	if err != nil {
		return err
	}
	var rec StatRecord
	if loc.Key == "" {
		rec, err = statBucket(ctx, k, loc)
	} else {
		rec, err = statObject(ctx, k, loc, versionID)
	}
	if err != nil {
		return opErr("stat", path, err)
	}
	return c.out.emit(rec, func() string { return statText(rec) })
}

func statBucket(ctx context.Context, k *conn, loc Location) (StatRecord, error) {
	rec := StatRecord{Type: TypeBucket, Path: loc.String(), Bucket: loc.Bucket}
	if _, err := k.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(loc.Bucket)}); err != nil {
		return rec, err
	}
	v, err := k.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(loc.Bucket)})
	if err != nil {
		return rec, err
	}
	rec.Versioning = versioningText(v.Status)
	if l, err := k.s3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(loc.Bucket)}); err == nil {
		rec.Region = string(l.LocationConstraint)
		if rec.Region == "" {
			rec.Region = "us-east-1"
		}
	}
	return rec, nil
}

func versioningText(s types.BucketVersioningStatus) string {
	if s == "" {
		return "Off"
	}
	return string(s)
}

func statObject(ctx context.Context, k *conn, loc Location, versionID string) (StatRecord, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key), ChecksumMode: types.ChecksumModeEnabled}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	h, err := k.s3.HeadObject(ctx, in)
	if err != nil {
		return StatRecord{}, err
	}
	rec := StatRecord{Type: TypeObject, Path: loc.String(), Bucket: loc.Bucket, Key: loc.Key, Size: aws.ToInt64(h.ContentLength),
		LastModified: aws.ToTime(h.LastModified), ETag: trimETag(aws.ToString(h.ETag)), ContentType: aws.ToString(h.ContentType),
		VersionID: aws.ToString(h.VersionId), StorageClass: string(h.StorageClass), Metadata: h.Metadata,
		Checksums: map[string]string{}, ChecksumType: string(h.ChecksumType)}
	for alg, v := range map[string]*string{"CRC32": h.ChecksumCRC32, "CRC32C": h.ChecksumCRC32C, "CRC64NVME": h.ChecksumCRC64NVME,
		"SHA1": h.ChecksumSHA1, "SHA256": h.ChecksumSHA256} {
		if aws.ToString(v) != "" {
			rec.Checksums[alg] = *v
		}
	}
	if len(rec.Checksums) == 0 {
		rec.Checksums = nil
	}
	return rec, nil
}

func statText(r StatRecord) string {
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-14s %s\n", k+":", v)
		}
	}
	line("Path", r.Path)
	if r.Type == TypeBucket {
		line("Type", "bucket")
		line("Region", r.Region)
		line("Versioning", r.Versioning)
		return strings.TrimSuffix(b.String(), "\n")
	}
	line("Size", fmt.Sprintf("%s (%d bytes)", FormatSize(r.Size), r.Size))
	line("Modified", r.LastModified.UTC().Format(time.RFC3339))
	line("ETag", r.ETag)
	line("Content-Type", r.ContentType)
	line("Version", r.VersionID)
	line("Storage class", r.StorageClass)
	for _, alg := range slices.Sorted(maps.Keys(r.Checksums)) {
		line("Checksum", alg+" "+r.Checksums[alg]+" ("+r.ChecksumType+")")
	}
	for _, m := range slices.Sorted(maps.Keys(r.Metadata)) {
		line("Metadata", m+"="+r.Metadata[m])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// ShareOptions are the flags of share.
type ShareOptions struct {
	// Expire is the URL's lifetime: 1 s to 7 days (SigV4's limit).
	Expire time.Duration
	// Upload presigns a PUT of the key instead of a GET.
	Upload    bool
	VersionID string
}

// ShareRecord is a presigned URL.
type ShareRecord struct {
	Path    string    `json:"path"`
	Method  string    `json:"method"`
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
}

// MaxShareExpiry is the longest a SigV4 presigned URL may live.
const MaxShareExpiry = 7 * 24 * time.Hour

// Share prints a presigned URL: anyone holding it can GET the object (or
// PUT to the key with Upload) until it expires, without credentials. A URL
// signed with temporary credentials stops working when they expire.
func (c *Client) Share(ctx context.Context, path string, o ShareOptions) error {
	if o.Expire < time.Second || o.Expire > MaxShareExpiry {
		return usageErrorf("share --expire %s: between 1s and 7d (the longest a signed URL may live)", o.Expire)
	}
	loc, err := c.remote(path, true)
	if err != nil {
		return err
	}
	if loc.Key == "" || strings.HasSuffix(loc.Key, "/") {
		return usageErrorf("share %s: name an object", path)
	}
	k, err := c.conn(ctx, loc.Alias)
	if err != nil {
		return err
	}
	pc := s3.NewPresignClient(k.s3, s3.WithPresignExpires(o.Expire))
	rec := ShareRecord{Path: loc.String(), Expires: c.cfg.Now().Add(o.Expire).UTC().Truncate(time.Second)}
	if o.Upload {
		req, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)})
		if err != nil {
			return opErr("share", path, err)
		}
		rec.Method, rec.URL = req.Method, req.URL
	} else {
		if _, err := headObject(ctx, k, loc, o.VersionID); err != nil {
			return opErr("share", path, err)
		}
		in := &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)}
		if o.VersionID != "" {
			in.VersionId = aws.String(o.VersionID)
		}
		req, err := pc.PresignGetObject(ctx, in)
		if err != nil {
			return opErr("share", path, err)
		}
		rec.Method, rec.URL = req.Method, req.URL
	}
	return c.out.emit(rec, func() string { return rec.URL })
}

// VersionsOptions are the flags of versions.
type VersionsOptions struct {
	// Enable or Suspend the versioning of a bucket.
	Enable, Suspend bool
}

// Versions lists the versions and delete markers of one object (newest
// first), or shows or changes a bucket's versioning.
func (c *Client) Versions(ctx context.Context, path string, o VersionsOptions) error {
	loc, err := c.remote(path, true)
	if err != nil {
		return err
	}
	if o.Enable && o.Suspend {
		return usageErrorf("versions: --enable or --suspend, not both")
	}
	k, err := c.conn(ctx, loc.Alias)
	if err != nil {
		return err
	}
	if loc.Key == "" {
		rec := BucketRecord{Op: "versions", Path: loc.String(), Bucket: loc.Bucket}
		if o.Enable || o.Suspend {
			st := types.BucketVersioningStatusEnabled
			if o.Suspend {
				st = types.BucketVersioningStatusSuspended
			}
			if err := setVersioning(ctx, k, loc.Bucket, st); err != nil {
				return opErr("versions", path, err)
			}
			rec.Versioning = string(st)
		} else {
			v, err := k.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(loc.Bucket)})
			if err != nil {
				return opErr("versions", path, err)
			}
			rec.Versioning = versioningText(v.Status)
		}
		return c.out.emit(rec, func() string { return rec.Path + ": versioning " + rec.Versioning })
	}
	if o.Enable || o.Suspend {
		return usageErrorf("versions --enable/--suspend take a bucket (ALIAS/bucket)")
	}
	n := 0
	err = walkVersions(ctx, k, loc, loc.Key, true, func(it ObjectInfo) error {
		n++
		return c.out.emit(it, func() string { return lsLine(it, baseName(it.Key)) })
	})
	if err == nil && n == 0 {
		err = ErrNothingMatched
	}
	return opErr("versions", path, err)
}

// Restore makes an old version the current one again: the server copies
// that version onto the key, as a new version (the history is kept).
func (c *Client) Restore(ctx context.Context, path, versionID string) error {
	if versionID == "" {
		return usageErrorf("restore needs --version ID (see filesphere versions %s)", path)
	}
	loc, err := c.remote(path, true)
	if err != nil {
		return err
	}
	if loc.Key == "" {
		return usageErrorf("restore %s: name an object", path)
	}
	k, err := c.conn(ctx, loc.Alias)
	if err != nil {
		return err
	}
	h, err := headObject(ctx, k, loc, versionID)
	if err != nil {
		if se, ok := asS3Error(err); ok && se.Status == http.StatusMethodNotAllowed {
			err = fmt.Errorf("version %s is a delete marker; remove it instead (rm --version-id %s)", versionID, versionID)
		}
		return opErr("restore", path, err)
	}
	start := time.Now()
	rec, err := c.serverCopy(ctx, k, loc, loc, versionID, aws.ToInt64(h.ContentLength), nopFile{})
	if err != nil {
		return opErr("restore", path, err)
	}
	rec.Op, rec.Source, rec.Target, rec.Seconds = "restore", loc.String()+"?versionId="+versionID, loc.String(), time.Since(start).Seconds()
	return c.out.emit(rec, func() string {
		return fmt.Sprintf("restored %s from version %s (new version %s)", rec.Target, versionID, rec.VersionID)
	})
}
