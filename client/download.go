package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// getObject opens an object (one version when versionID is set). The SDK
// verifies the object's full-object checksum, where it has one, as the
// body is read.
func getObject(ctx context.Context, k *conn, loc Location, versionID string) (*s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key), ChecksumMode: types.ChecksumModeEnabled}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	return k.s3.GetObject(ctx, in, func(o *s3.Options) {
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	})
}

// download writes an object to a local file: into a temporary file beside
// it, renamed into place once every byte arrived, with the object's
// modification time (so mirror sees it unchanged).
func (c *Client) download(ctx context.Context, k *conn, j *job, fm fileMeter) (TransferRecord, error) {
	out, err := getObject(ctx, k, j.src, j.versionID)
	if err != nil {
		return TransferRecord{}, err
	}
	defer out.Body.Close()
	dir := filepath.Dir(j.dst.Local)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return TransferRecord{}, err
	}
	tmp, err := createTemp(j.dst.Local)
	if err != nil {
		return TransferRecord{}, err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	n, err := io.Copy(&countingWriter{ctx: ctx, w: tmp, m: fm, lim: c.limiter}, out.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && out.ContentLength != nil && n != *out.ContentLength {
		err = fmt.Errorf("received %d of %d bytes", n, *out.ContentLength)
	}
	if err != nil {
		return TransferRecord{}, err
	}
	if err := os.Rename(tmp.Name(), j.dst.Local); err != nil {
		return TransferRecord{}, err
	}
	if lm := aws.ToTime(out.LastModified); !lm.IsZero() {
		_ = os.Chtimes(j.dst.Local, lm, lm)
	}
	return TransferRecord{Size: n, ETag: trimETag(aws.ToString(out.ETag)), VersionID: aws.ToString(out.VersionId)}, nil
}

// createTemp creates a new file beside path with the mode a new file gets
// (0666 less the umask), unlike os.CreateTemp's 0600.
func createTemp(path string) (*os.File, error) {
	for range 100 {
		var b [6]byte
		_, _ = rand.Read(b[:])
		name := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".filesphere-"+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, os.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("cannot create a temporary file beside %s", path)
}

// localTarget is where key rel lands under folder root; a key that would
// leave the folder (an absolute path, "..", an empty segment or a NUL) is
// refused, since keys come from the server.
func localTarget(root, rel string) (string, error) {
	if rel == "" || strings.HasPrefix(rel, "/") || strings.ContainsRune(rel, 0) {
		return "", &UnsafeKeyError{Key: rel}
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." || seg == "." || seg == "" || strings.ContainsRune(seg, filepath.Separator) {
			return "", &UnsafeKeyError{Key: rel}
		}
	}
	return filepath.Join(root, filepath.FromSlash(rel)), nil
}

// UnsafeKeyError is a key that cannot be written below the target folder.
type UnsafeKeyError struct{ Key string }

func (e *UnsafeKeyError) Error() string {
	return fmt.Sprintf("key %q cannot be a file below the target folder (empty, '.' or '..' segments); copy it by its full name", e.Key)
}

var errIsFolder = errors.New("is a folder (use -r)")
