package s3api

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/filesphere/filesphere/storage"
)

// maxListKeys is S3's page size limit.
const maxListKeys = 1000

// s3URLEncode encodes for encoding-type=url: everything but unreserved
// characters and '/' is percent-encoded, so both plus-decoding and plain
// percent-decoding clients read the key back exactly.
func s3URLEncode(s string) string {
	var b strings.Builder
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// listParams are the parameters V1 and V2 share.
type listParams struct {
	prefix, delimiter, encoding string
	maxKeys                     int
	enc                         func(string) string
}

func parseListParams(req *request) (listParams, error) {
	q := req.URL.Query()
	p := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), encoding: q.Get("encoding-type")}
	switch p.encoding {
	case "":
		p.enc = func(s string) string { return s }
	case "url":
		p.enc = s3URLEncode
	default:
		return p, apiErr(ErrInvalidArgument, "Invalid Encoding Method specified in Request")
	}
	var err error
	p.maxKeys, err = queryInt(q, "max-keys", maxListKeys, maxListKeys)
	return p, err
}

func (p listParams) fill(out *listBucketResult, res storage.ListResult, withOwner bool, o owner) {
	out.Prefix = p.enc(p.prefix)
	out.Delimiter = p.enc(p.delimiter)
	out.MaxKeys = p.maxKeys
	out.EncodingType = p.encoding
	out.IsTruncated = res.IsTruncated
	var po *owner
	if withOwner {
		po = &o // one owner for the page: entries only read it
	}
	if len(res.Objects) > 0 {
		out.Contents = make([]objectEntry, 0, len(res.Objects))
	}
	for _, obj := range res.Objects {
		e := objectEntry{Key: p.enc(obj.Key), LastModified: s3Time(obj.ModTime), ETag: obj.ETag, Size: obj.Size, StorageClass: "STANDARD", Owner: po}
		for _, c := range obj.Checksums {
			e.ChecksumAlgorithm = append(e.ChecksumAlgorithm, string(c.Algorithm))
			e.ChecksumType = c.Type
		}
		out.Contents = append(out.Contents, e)
	}
	out.CommonPrefixes = p.commonPrefixes(res.CommonPrefixes)
}

func (p listParams) commonPrefixes(cps []string) []commonPrefix {
	if len(cps) == 0 {
		return nil
	}
	out := make([]commonPrefix, len(cps))
	for i, cp := range cps {
		out[i] = commonPrefix{Prefix: p.enc(cp)}
	}
	return out
}

func (s *Server) listObjectsV1(ctx context.Context, req *request) (*response, error) {
	p, err := parseListParams(req)
	if err != nil {
		return nil, err
	}
	marker := req.URL.Query().Get("marker")
	res, err := s.backend.ListObjects(ctx, req.route.Bucket, storage.ListOptions{
		Prefix: p.prefix, Delimiter: p.delimiter, Marker: marker, MaxKeys: p.maxKeys,
	})
	if err != nil {
		return nil, err
	}
	m := p.enc(marker)
	out := listBucketResult{NS: s3NS, Name: req.route.Bucket, Marker: &m}
	p.fill(&out, res, true, s.owner())
	if res.IsTruncated {
		out.NextMarker = p.enc(res.NextMarker)
	}
	return &response{xml: out}, nil
}

func (s *Server) listObjectsV2(ctx context.Context, req *request) (*response, error) {
	p, err := parseListParams(req)
	if err != nil {
		return nil, err
	}
	q := req.URL.Query()
	token, startAfter := q.Get("continuation-token"), q.Get("start-after")
	marker := startAfter
	if _, ok := q["continuation-token"]; ok {
		dec, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || token == "" {
			return nil, apiErr(ErrInvalidArgument, "The continuation token provided is incorrect")
		}
		marker = string(dec)
	}
	res, err := s.backend.ListObjects(ctx, req.route.Bucket, storage.ListOptions{
		Prefix: p.prefix, Delimiter: p.delimiter, Marker: marker, MaxKeys: p.maxKeys,
	})
	if err != nil {
		return nil, err
	}
	count := len(res.Objects) + len(res.CommonPrefixes)
	out := listBucketResult{NS: s3NS, Name: req.route.Bucket, KeyCount: &count, ContToken: token, StartAfter: p.enc(startAfter)}
	p.fill(&out, res, q.Get("fetch-owner") == "true", s.owner())
	if res.IsTruncated {
		out.NextContToken = base64.RawURLEncoding.EncodeToString([]byte(res.NextMarker))
	}
	return &response{xml: out}, nil
}

func (s *Server) listObjectVersions(ctx context.Context, req *request) (*response, error) {
	p, err := parseListParams(req)
	if err != nil {
		return nil, err
	}
	q := req.URL.Query()
	km, vm := q.Get("key-marker"), q.Get("version-id-marker")
	if vm != "" && km == "" {
		return nil, apiErr(ErrInvalidArgument, "A version-id marker cannot be specified without a key marker.")
	}
	res, err := s.backend.ListObjectVersions(ctx, req.route.Bucket, storage.ListVersionsOptions{
		Prefix: p.prefix, Delimiter: p.delimiter, KeyMarker: km, VersionIDMarker: vm, MaxKeys: p.maxKeys,
	})
	if err != nil {
		return nil, err
	}
	out := listVersionsResult{NS: s3NS, Name: req.route.Bucket, Prefix: p.enc(p.prefix), KeyMarker: p.enc(km),
		VersionIDMarker: vm, MaxKeys: p.maxKeys, Delimiter: p.enc(p.delimiter), EncodingType: p.encoding, IsTruncated: res.IsTruncated}
	if res.IsTruncated {
		out.NextKeyMarker, out.NextVersionIDMarker = p.enc(res.NextKeyMarker), res.NextVersionIDMarker
	}
	o := s.owner()
	if len(res.Versions) > 0 {
		out.Entries = make([]versionEntry, 0, len(res.Versions))
	}
	sizes := make([]int64, len(res.Versions)) // one allocation for the page's <Size> pointers
	for i, v := range res.Versions {
		id := v.VersionID
		if id == "" {
			id = storage.NullVersionID
		}
		e := versionEntry{Key: p.enc(v.Key), VersionID: id, IsLatest: v.IsLatest, LastModified: s3Time(v.ModTime), Owner: o}
		if v.DeleteMarker {
			e.XMLName.Local = "DeleteMarker"
		} else {
			e.XMLName.Local = "Version"
			sizes[i] = v.Size
			e.Size, e.ETag, e.StorageClass = &sizes[i], v.ETag, "STANDARD"
			for _, c := range v.Checksums {
				e.ChecksumAlgorithm = append(e.ChecksumAlgorithm, string(c.Algorithm))
			}
		}
		out.Entries = append(out.Entries, e)
	}
	out.CommonPrefixes = p.commonPrefixes(res.CommonPrefixes)
	return &response{xml: out}, nil
}
