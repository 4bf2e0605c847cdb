package client

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// job is one object or file to transfer.
type job struct {
	src, dst  Location
	size      int64
	mtime     time.Time
	etag      string
	versionID string
	// reason says why mirror copies it.
	reason string
}

// TransferRecord is the result of one copied file or object (cp, mv,
// mirror, restore).
type TransferRecord struct {
	Op        string `json:"op"`
	Source    string `json:"source"`
	Target    string `json:"target"`
	Size      int64  `json:"size"`
	ETag      string `json:"etag,omitempty"`
	VersionID string `json:"version_id,omitempty"`
	// SHA256 is the full-object checksum sent with a single-PUT upload.
	SHA256 string `json:"sha256,omitempty"`
	// Multipart uploads: the part count, how many were already on the
	// server from an interrupted run (resumed), and whether a stale
	// upload was abandoned because the source changed (restarted).
	Multipart    bool    `json:"multipart,omitempty"`
	Parts        int     `json:"parts,omitempty"`
	ResumedParts int     `json:"resumed_parts,omitempty"`
	Restarted    bool    `json:"restarted,omitempty"`
	Reason       string  `json:"reason,omitempty"`
	Seconds      float64 `json:"seconds"`
}

// CpOptions are the flags of cp and mv.
type CpOptions struct {
	Recursive bool
	// VersionID copies one version of a single source object.
	VersionID string
}

// Cp copies files and objects: the last argument is the destination.
// Local↔remote and remote↔remote (within one endpoint the server copies;
// between endpoints the bytes stream through). With several sources or
// Recursive the destination is a folder, and a recursive source's
// contents go below it.
func (c *Client) Cp(ctx context.Context, args []string, o CpOptions) error {
	jobs, err := c.plan(ctx, "cp", args, o)
	if err != nil {
		return err
	}
	return c.run(ctx, "cp", jobs, nil)
}

// Mv is Cp that removes each source once it is copied (and, for a local
// folder, the folders left empty).
func (c *Client) Mv(ctx context.Context, args []string, o CpOptions) error {
	jobs, err := c.plan(ctx, "mv", args, o)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.src == j.dst {
			return usageErrorf("mv %s: source and destination are the same", j.src)
		}
	}
	err = c.run(ctx, "mv", jobs, func(ctx context.Context, j *job) error {
		if !j.src.IsRemote() {
			return os.Remove(j.src.Local)
		}
		k, err := c.conn(ctx, j.src.Alias)
		if err != nil {
			return err
		}
		_, err = k.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(j.src.Bucket), Key: aws.String(j.src.Key)})
		return err
	})
	if o.Recursive {
		for _, a := range args[:len(args)-1] {
			if l, perr := c.parse(a); perr == nil && !l.IsRemote() {
				removeEmptyDirs(l.Local)
			}
		}
	}
	return err
}

// removeEmptyDirs removes the folders under root (and root) that are
// empty, deepest first.
func removeEmptyDirs(root string) {
	var dirs []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Remove(dirs[i]) // fails, harmlessly, on a folder still holding something
	}
}

// plan turns cp's arguments into jobs.
func (c *Client) plan(ctx context.Context, op string, args []string, o CpOptions) ([]*job, error) {
	if len(args) < 2 {
		return nil, usageErrorf("%s needs a source and a destination", op)
	}
	dl, err := c.parse(args[len(args)-1])
	if err != nil {
		return nil, err
	}
	if dl.IsRemote() && dl.Bucket == "" {
		return nil, usageErrorf("%s: destination %s: name a bucket (ALIAS/bucket/...)", op, dl)
	}
	srcs := args[:len(args)-1]
	folder := len(srcs) > 1 || o.Recursive || folderTarget(dl)
	if o.VersionID != "" && (len(srcs) > 1 || o.Recursive) {
		return nil, usageErrorf("%s --version-id takes one source object", op)
	}
	var jobs []*job
	for _, s := range srcs {
		sl, err := c.parse(s)
		if err != nil {
			return nil, err
		}
		switch {
		case !sl.IsRemote() && !dl.IsRemote():
			return nil, usageErrorf("%s %s %s: both paths are local; a remote path starts with an alias (see filesphere alias list)", op, s, dl)
		case sl.IsRemote() && sl.Bucket == "":
			return nil, usageErrorf("%s: source %s: name a bucket (ALIAS/bucket/...)", op, s)
		case !sl.IsRemote() && o.VersionID != "":
			return nil, usageErrorf("%s --version-id needs a remote source", op)
		}
		var js []*job
		if sl.IsRemote() {
			js, err = c.planRemote(ctx, sl, dl, folder, o)
		} else {
			js, err = planLocal(sl, dl, folder, o.Recursive)
		}
		if err != nil {
			return nil, opErr(op, s, err)
		}
		jobs = append(jobs, js...)
	}
	return jobs, nil
}

// folderTarget: a bucket, a key ending in "/", or an existing local
// folder.
func folderTarget(l Location) bool {
	if l.IsRemote() {
		return l.Key == "" || strings.HasSuffix(l.Key, "/")
	}
	if strings.HasSuffix(l.Local, "/") || strings.HasSuffix(l.Local, string(filepath.Separator)) {
		return true
	}
	st, err := os.Stat(l.Local)
	return err == nil && st.IsDir()
}

// target is where rel lands below dst (dst itself for rel "").
func target(dst Location, rel string) (Location, error) {
	if rel == "" {
		return dst, nil
	}
	if dst.IsRemote() {
		return dst.child(rel), nil
	}
	p, err := localTarget(dst.Local, rel)
	return Location{Local: p}, err
}

func planLocal(sl, dl Location, folder, recursive bool) ([]*job, error) {
	st, err := os.Stat(sl.Local)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		rel := ""
		if folder {
			rel = filepath.Base(sl.Local)
		}
		t, err := target(dl, rel)
		return []*job{{src: sl, dst: t, size: st.Size(), mtime: st.ModTime()}}, err
	}
	if !recursive {
		return nil, errIsFolder
	}
	var jobs []*job
	err = walkLocal(sl.Local, func(it ObjectInfo) error {
		t, err := target(dl, it.rel)
		if err != nil {
			return err
		}
		jobs = append(jobs, &job{src: Location{Local: it.Path}, dst: t, size: it.Size, mtime: it.LastModified})
		return nil
	})
	return jobs, err
}

func (c *Client) planRemote(ctx context.Context, sl, dl Location, folder bool, o CpOptions) ([]*job, error) {
	k, err := c.conn(ctx, sl.Alias)
	if err != nil {
		return nil, err
	}
	if o.Recursive {
		var jobs []*job
		err := walkRemote(ctx, k, sl, dirPrefix(sl.Key), true, func(it ObjectInfo) error {
			if strings.HasSuffix(it.Key, "/") && !dl.IsRemote() {
				return nil // a folder marker: local folders come with their files
			}
			t, err := target(dl, it.rel)
			if err != nil {
				return err
			}
			jobs = append(jobs, &job{src: Location{Alias: sl.Alias, Bucket: sl.Bucket, Key: it.Key}, dst: t,
				size: it.Size, mtime: it.LastModified, etag: it.ETag})
			return nil
		})
		if err != nil || len(jobs) > 0 || sl.Key == "" || strings.HasSuffix(sl.Key, "/") {
			return jobs, err
		}
		// Not a folder: one object by that name.
	}
	if sl.Key == "" || strings.HasSuffix(sl.Key, "/") {
		return nil, errIsFolder
	}
	head, err := headObject(ctx, k, sl, o.VersionID)
	if IsNotFound(err) && o.VersionID == "" {
		out, lerr := k.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(sl.Bucket), Prefix: aws.String(sl.Key + "/"), MaxKeys: aws.Int32(1)})
		if lerr == nil && len(out.Contents) > 0 {
			return nil, errIsFolder
		}
	}
	if err != nil {
		return nil, err
	}
	rel := ""
	if folder {
		rel = baseName(sl.Key)
	}
	t, err := target(dl, rel)
	return []*job{{src: sl, dst: t, size: aws.ToInt64(head.ContentLength), mtime: aws.ToTime(head.LastModified),
		etag: trimETag(aws.ToString(head.ETag)), versionID: o.VersionID}}, err
}

// run carries out the jobs, Jobs at a time. One failure does not stop the
// others: each is reported on stderr as it happens, and the result says
// how many failed. after (mv's removal of the source) runs after each
// successful copy.
func (c *Client) run(ctx context.Context, op string, jobs []*job, after func(context.Context, *job) error) error {
	var total int64
	for _, j := range jobs {
		total += j.size
	}
	start := time.Now()
	m := c.newMeter(ctx, len(jobs), total)
	var (
		mu             sync.Mutex
		failed, copied int
		bytes          int64
		firstErr       error
		next           = make(chan *job)
		wg             sync.WaitGroup
	)
	for range min(c.cfg.Jobs, max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				rec, err := c.transferOne(ctx, op, j, m)
				if err == nil && after != nil {
					err = after(ctx, j)
				}
				mu.Lock()
				if err != nil {
					failed++
					e := opErr(op, j.src.String(), err)
					if firstErr == nil {
						firstErr = e
					}
					if len(jobs) > 1 && ctx.Err() == nil {
						m.println(c.cfg.Stderr, "filesphere: "+e.Error())
					}
				} else {
					copied++
					bytes += rec.Size
				}
				mu.Unlock()
				if err == nil {
					c.report(m, rec)
				}
			}
		}()
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- j
	}
	close(next)
	wg.Wait()
	m.wait()
	if !c.cfg.JSON && !c.cfg.Quiet && len(jobs) > 1 {
		secs := time.Since(start).Seconds()
		fmt.Fprintf(c.cfg.Stderr, "%s: %d of %d files, %s in %.1fs (%s/s)\n", op, copied, len(jobs), FormatSize(bytes), secs,
			FormatSize(int64(float64(bytes)/max(secs, 0.001))))
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case failed == 1 && len(jobs) == 1:
		return firstErr
	case failed > 0:
		return &FailedError{Op: op, Failed: failed, Total: len(jobs)}
	}
	return nil
}

// report prints one finished transfer.
func (c *Client) report(m meter, rec TransferRecord) {
	if c.cfg.JSON {
		_ = c.out.emit(rec, nil)
		return
	}
	if c.cfg.Quiet {
		return
	}
	line := fmt.Sprintf("%s -> %s (%s)", rec.Source, rec.Target, FormatSize(rec.Size))
	if rec.ResumedParts > 0 {
		line += fmt.Sprintf(", resumed: %d of %d parts were already uploaded", rec.ResumedParts, rec.Parts)
	}
	if rec.Restarted {
		line += ", the interrupted upload was started over"
	}
	m.println(c.cfg.Stdout, line)
}

// transferOne copies one job's bytes.
func (c *Client) transferOne(ctx context.Context, op string, j *job, m meter) (TransferRecord, error) {
	name := j.src.String()
	if !j.src.IsRemote() {
		name = filepath.Base(j.src.Local)
	}
	fm := m.file(name, j.size)
	start := time.Now()
	rec, err := c.transfer(ctx, j, fm)
	fm.done(err)
	rec.Op, rec.Source, rec.Target, rec.Reason, rec.Seconds = op, j.src.String(), j.dst.String(), j.reason, time.Since(start).Seconds()
	return rec, err
}

func (c *Client) transfer(ctx context.Context, j *job, fm fileMeter) (TransferRecord, error) {
	switch {
	case !j.src.IsRemote():
		k, err := c.conn(ctx, j.dst.Alias)
		if err != nil {
			return TransferRecord{}, err
		}
		return c.uploadFile(ctx, k, j, fm)
	case !j.dst.IsRemote():
		k, err := c.conn(ctx, j.src.Alias)
		if err != nil {
			return TransferRecord{}, err
		}
		return c.download(ctx, k, j, fm)
	}
	from, err := c.conn(ctx, j.src.Alias)
	if err != nil {
		return TransferRecord{}, err
	}
	to, err := c.conn(ctx, j.dst.Alias)
	if err != nil {
		return TransferRecord{}, err
	}
	if from.id() == to.id() {
		return c.serverCopy(ctx, from, j.src, j.dst, j.versionID, j.size, fm)
	}
	return c.streamCopy(ctx, from, to, j, fm)
}
