package client

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// FileSphere's content lookup (GET /?x-filesphere-sha256=HEX, README
// "Content addressing"): one signed request per page answers which
// versions hold a content, from the server's index, filtered by what the
// caller may read. Other S3 servers do not have it; find then scans.

// errNoLookup: the server answered something other than a lookup (it is
// not FileSphere, or one from before the extension).
var errNoLookup = errors.New("client: the server has no content lookup")

// lookupResult is the lookup's XML answer.
type lookupResult struct {
	XMLName               xml.Name `xml:"FindBySHA256Result"`
	IsTruncated           bool
	NextContinuationToken string
	Objects               []struct {
		Bucket, Key, VersionId string
		IsLatest               bool
		Size                   int64
		LastModified           time.Time
	} `xml:"Object"`
}

// lookup lists the versions holding the content sum (hex) under bucket
// and prefix (bucket "" = every bucket), calling fn for each; errNoLookup
// when the server has no lookup.
func lookup(ctx context.Context, k *conn, sum, bucket, prefix string, fn func(ObjectInfo) error) error {
	if k.alias.IsAWS() {
		return errNoLookup
	}
	token := ""
	for {
		q := url.Values{"x-filesphere-sha256": {sum}}
		if bucket != "" {
			q.Set("bucket", bucket)
			if prefix != "" {
				q.Set("prefix", prefix)
			}
		}
		if token != "" {
			q.Set("continuation-token", token)
		}
		var page lookupResult
		if err := lookupPage(ctx, k, q, &page); err != nil {
			return err
		}
		for _, o := range page.Objects {
			latest := o.IsLatest
			loc := Location{Alias: k.alias.Name, Bucket: o.Bucket, Key: o.Key}
			it := ObjectInfo{Type: TypeObject, Path: loc.String(), Bucket: o.Bucket, Key: o.Key, Size: o.Size,
				LastModified: o.LastModified, VersionID: o.VersionId, IsLatest: &latest}
			if !latest {
				it.Type = TypeVersion
			}
			if err := fn(it); err != nil {
				return err
			}
		}
		if !page.IsTruncated || page.NextContinuationToken == "" {
			return nil
		}
		token = page.NextContinuationToken
	}
}

// lookupPage sends one signed lookup request.
func lookupPage(ctx context.Context, k *conn, q url.Values, out *lookupResult) error {
	u, err := url.Parse(strings.TrimSuffix(k.alias.URL, "/") + "/")
	if err != nil {
		return err
	}
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	creds, err := k.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return err
	}
	const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, emptySHA256, "s3", k.cfg.Region, time.Now()); err != nil {
		return err
	}
	resp, err := k.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	fileSphere := strings.HasPrefix(resp.Header.Get("Server"), "FileSphere")
	if resp.StatusCode == http.StatusOK {
		if xml.Unmarshal(body, out) != nil {
			// Another server took the request for ListBuckets.
			return errNoLookup
		}
		return nil
	}
	var e struct {
		Code, Message, RequestId string
	}
	_ = xml.Unmarshal(body, &e)
	if !fileSphere || e.Code == "NotImplemented" || e.Code == "MethodNotAllowed" {
		return errNoLookup
	}
	return &S3Error{Status: resp.StatusCode, Code: e.Code, Message: e.Message, RequestID: e.RequestId}
}

// lookupFilter applies find's other filters to lookup matches.
func (c *Client) findByLookup(ctx context.Context, k *conn, loc Location, o FindOptions, sum string) error {
	return lookup(ctx, k, sum, loc.Bucket, loc.Key, func(it ObjectInfo) error {
		if !o.matches(it) {
			return nil
		}
		return c.out.emit(it, func() string {
			if it.IsLatest != nil && !*it.IsLatest {
				return fmt.Sprintf("%s (noncurrent version %s)", it.Path, it.VersionID)
			}
			return it.Path
		})
	})
}
