package client

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// MirrorOptions are the flags of mirror.
type MirrorOptions struct {
	// Remove deletes what the destination has and the source has not.
	Remove bool
	// DryRun prints the plan and changes nothing.
	DryRun bool
}

// PlanRecord is one step of a mirror: a copy (with the reason) or a
// removal. A dry run prints only these; a real run prints a
// TransferRecord per copy and a PlanRecord per removal.
type PlanRecord struct {
	Op     string `json:"op"`
	Action string `json:"action"` // copy or remove
	Source string `json:"source,omitempty"`
	Target string `json:"target"`
	Size   int64  `json:"size"`
	// Reason of a copy: new, size, etag or newer (see Mirror).
	Reason string `json:"reason,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
}

// mtimeSlack absorbs the coarser clocks of some endpoints (whole
// seconds).
const mtimeSlack = time.Second

// Mirror makes DST hold what SRC holds (like rclone sync): folders or
// prefixes, local↔remote or remote↔remote. A file is copied when the
// destination lacks it (new), differs in size (size), has another ETag
// where both sides are objects of one kind (etag), or is older than the
// source by more than a second (newer) — unless, where the destination's
// ETag is a plain MD5 (single-part upload), the local file's MD5 shows
// the content equal. Downloads take the object's modification time, so an
// unchanged mirror copies nothing the second time.
func (c *Client) Mirror(ctx context.Context, srcPath, dstPath string, o MirrorOptions) error {
	sl, err := c.parse(srcPath)
	if err != nil {
		return err
	}
	dl, err := c.parse(dstPath)
	if err != nil {
		return err
	}
	switch {
	case !sl.IsRemote() && !dl.IsRemote():
		return usageErrorf("mirror %s %s: both paths are local; a remote path starts with an alias", srcPath, dstPath)
	case sl.IsRemote() && sl.Bucket == "", dl.IsRemote() && dl.Bucket == "":
		return usageErrorf("mirror: name a bucket (ALIAS/bucket[/prefix])")
	}
	if !sl.IsRemote() {
		if st, err := os.Stat(sl.Local); err != nil || !st.IsDir() {
			return usageErrorf("mirror %s: the source must be a folder", srcPath)
		}
	}
	if sl.IsRemote() {
		sl.Key = dirPrefix(sl.Key)
	}
	if dl.IsRemote() {
		dl.Key = dirPrefix(dl.Key)
	}
	src, err := c.tree(ctx, sl, !dl.IsRemote())
	if err != nil {
		return opErr("mirror", srcPath, err)
	}
	dst, err := c.tree(ctx, dl, true)
	if err != nil {
		return opErr("mirror", dstPath, err)
	}
	jobs, removals, err := c.mirrorPlan(sl, dl, src, dst, o)
	if err != nil {
		return opErr("mirror", srcPath, err)
	}
	if o.DryRun {
		for _, j := range jobs {
			rec := PlanRecord{Op: "mirror", Action: "copy", Source: j.src.String(), Target: j.dst.String(), Size: j.size, Reason: j.reason, DryRun: true}
			if err := c.out.emit(rec, func() string { return planLine(rec) }); err != nil {
				return err
			}
		}
		for _, r := range removals {
			if err := c.out.emit(r, func() string { return planLine(r) }); err != nil {
				return err
			}
		}
		if !c.cfg.JSON && !c.cfg.Quiet {
			fmt.Fprintf(c.cfg.Stderr, "mirror (dry run): %d to copy, %d to remove, nothing changed\n", len(jobs), len(removals))
		}
		return nil
	}
	if len(jobs)+len(removals) == 0 && !c.cfg.JSON && !c.cfg.Quiet {
		fmt.Fprintln(c.cfg.Stderr, "mirror: the target is up to date")
	}
	err = c.run(ctx, "mirror", jobs, nil)
	if ctx.Err() != nil || err != nil && len(removals) > 0 {
		return err // never remove after a failed copy
	}
	if rerr := c.mirrorRemove(ctx, dl, removals); rerr != nil {
		return opErr("mirror", dstPath, rerr)
	}
	return err
}

// tree lists a folder or prefix by relative path; folder markers are left
// out when skipMarkers.
func (c *Client) tree(ctx context.Context, l Location, skipMarkers bool) (map[string]ObjectInfo, error) {
	out := map[string]ObjectInfo{}
	if !l.IsRemote() {
		if _, err := os.Stat(l.Local); os.IsNotExist(err) {
			return out, nil // mirror creates it
		}
		return out, walkLocal(l.Local, func(it ObjectInfo) error {
			if strings.Contains(filepath.Base(it.Path), ".filesphere-") && strings.HasPrefix(filepath.Base(it.Path), ".") {
				return nil // an unfinished download
			}
			out[it.rel] = it
			return nil
		})
	}
	k, err := c.conn(ctx, l.Alias)
	if err != nil {
		return nil, err
	}
	return out, walkRemote(ctx, k, l, l.Key, true, func(it ObjectInfo) error {
		if skipMarkers && strings.HasSuffix(it.Key, "/") {
			return nil
		}
		out[it.rel] = it
		return nil
	})
}

func (c *Client) mirrorPlan(sl, dl Location, src, dst map[string]ObjectInfo, o MirrorOptions) ([]*job, []PlanRecord, error) {
	var jobs []*job
	for _, rel := range slices.Sorted(maps.Keys(src)) {
		s := src[rel]
		t, err := target(dl, rel)
		if err != nil {
			return nil, nil, err
		}
		reason := c.changed(s, dst[rel], dst[rel].Type != "")
		if reason == "" {
			continue
		}
		from := Location{Local: s.Path}
		if sl.IsRemote() {
			from = Location{Alias: sl.Alias, Bucket: sl.Bucket, Key: s.Key}
		}
		jobs = append(jobs, &job{src: from, dst: t, size: s.Size, mtime: s.LastModified, etag: s.ETag, reason: reason})
	}
	var removals []PlanRecord
	if o.Remove {
		for _, rel := range slices.Sorted(maps.Keys(dst)) {
			if _, ok := src[rel]; ok {
				continue
			}
			d := dst[rel]
			removals = append(removals, PlanRecord{Op: "mirror", Action: "remove", Target: d.Path, Size: d.Size, DryRun: o.DryRun})
		}
	}
	return jobs, removals, nil
}

// changed says why s must be copied over d ("" when it need not).
func (c *Client) changed(s, d ObjectInfo, exists bool) string {
	switch {
	case !exists:
		return "new"
	case s.Size != d.Size:
		return "size"
	case s.Type == TypeObject && d.Type == TypeObject && s.ETag != "" && d.ETag != "":
		if s.ETag != d.ETag {
			return "etag"
		}
		return ""
	case !s.LastModified.After(d.LastModified.Add(mtimeSlack)):
		return ""
	}
	// The source looks newer; a plain-MD5 ETag on the remote side can
	// still show the bytes equal.
	local, remote := s, d
	if s.Type == TypeObject {
		local, remote = d, s
	}
	if isMD5(remote.ETag) {
		if sum, err := md5File(local.Path); err == nil && sum == remote.ETag {
			return ""
		}
	}
	return "newer"
}

func isMD5(etag string) bool {
	if len(etag) != 32 {
		return false
	}
	for _, r := range etag {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

func md5File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return md5Hex(io.Reader(f))
}

func (c *Client) mirrorRemove(ctx context.Context, dl Location, removals []PlanRecord) error {
	if len(removals) == 0 {
		return nil
	}
	if !dl.IsRemote() {
		for _, r := range removals {
			if err := os.Remove(r.Target); err != nil {
				return err
			}
			if err := c.out.emit(r, func() string { return planLine(r) }); err != nil {
				return err
			}
		}
		removeEmptyDirs(dl.Local)
		return nil
	}
	k, err := c.conn(ctx, dl.Alias)
	if err != nil {
		return err
	}
	prefix := dl.Alias + "/" + dl.Bucket + "/"
	for i := 0; i < len(removals); i += 1000 {
		batch := removals[i:min(i+1000, len(removals))]
		ids := make([]types.ObjectIdentifier, len(batch))
		for j, r := range batch {
			ids[j] = types.ObjectIdentifier{Key: aws.String(strings.TrimPrefix(r.Target, prefix))}
		}
		if err := c.deleteBatch(ctx, k, dl, ids, false); err != nil {
			return err
		}
		for _, r := range batch {
			if err := c.out.emit(r, func() string { return planLine(r) }); err != nil {
				return err
			}
		}
	}
	return nil
}

func planLine(r PlanRecord) string {
	pre := ""
	if r.DryRun {
		pre = "would "
	}
	if r.Action == "remove" {
		return pre + "remove " + r.Target
	}
	return fmt.Sprintf("%scopy %s -> %s (%s, %s)", pre, r.Source, r.Target, r.Reason, FormatSize(r.Size))
}
