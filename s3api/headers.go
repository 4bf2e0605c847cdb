package s3api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/filesphere/filesphere/storage"
)

// maxUserMetadata is S3's limit on the size of x-amz-meta-* headers.
const maxUserMetadata = 2 << 10

// maxKeyLength is S3's key length limit in bytes.
const maxKeyLength = 1024

// parseMetadata collects content headers and x-amz-meta-* from a request.
func parseMetadata(h http.Header) (storage.Metadata, error) {
	m := storage.Metadata{
		ContentType:        h.Get("Content-Type"),
		ContentEncoding:    stripAWSChunked(h.Get("Content-Encoding")),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage:    h.Get("Content-Language"),
		CacheControl:       h.Get("Cache-Control"),
		Expires:            h.Get("Expires"),
	}
	size := 0
	for k, vs := range h {
		name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-")
		if !ok || name == "" {
			continue
		}
		if m.User == nil {
			m.User = map[string]string{}
		}
		v := strings.Join(vs, ",")
		m.User[name] = v
		size += len(name) + len(v)
	}
	if size > maxUserMetadata {
		return m, apiErr(ErrMetadataTooLarge, "")
	}
	return m, nil
}

// stripAWSChunked removes the content coding "aws-chunked", which
// describes the request framing and must not be stored; the rest of the
// header is kept byte for byte.
func stripAWSChunked(ce string) string {
	parts := strings.Split(ce, ",")
	keep := parts[:0]
	for _, p := range parts {
		if !strings.EqualFold(strings.TrimSpace(p), "aws-chunked") {
			keep = append(keep, p)
		}
	}
	if len(keep) == len(parts) {
		return ce
	}
	return strings.TrimLeft(strings.Join(keep, ","), " \t")
}

// writeMetadata sets the stored content headers and user metadata.
func writeMetadata(h http.Header, m storage.Metadata, one func(string) []string) {
	set := func(k, v string) {
		if v != "" {
			h[k] = one(v)
		}
	}
	ct := m.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	set("Content-Type", ct)
	set("Content-Encoding", m.ContentEncoding)
	set("Content-Disposition", m.ContentDisposition)
	set("Content-Language", m.ContentLanguage)
	set("Cache-Control", m.CacheControl)
	set("Expires", m.Expires)
	for k, v := range m.User {
		h["X-Amz-Meta-"+k] = []string{v}
	}
}

// responseOverrides are the response-* query parameters of GetObject.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

func parseHTTPTime(s string) (time.Time, bool) {
	if s == "" {
		// The common absent header, without ParseTime's three errors.
		return time.Time{}, false
	}
	t, err := http.ParseTime(s)
	return t, err == nil
}

// parseConditions reads If-* headers; prefix is "" or "X-Amz-Copy-Source-".
func parseConditions(h http.Header, prefix string) storage.Conditions {
	c := storage.Conditions{
		IfMatch:     h.Get(prefix + "If-Match"),
		IfNoneMatch: h.Get(prefix + "If-None-Match"),
	}
	// Unparsable dates are ignored, as HTTP (and S3) specify.
	if t, ok := parseHTTPTime(h.Get(prefix + "If-Modified-Since")); ok {
		c.IfModifiedSince = timeRef(t)
	}
	if t, ok := parseHTTPTime(h.Get(prefix + "If-Unmodified-Since")); ok {
		c.IfUnmodifiedSince = timeRef(t)
	}
	return c
}

// timeRef is &t, allocated only when called (taking the address of an
// if-scoped t moves it to the heap on every call, condition met or not).
func timeRef(t time.Time) *time.Time { return &t }

// parseRange parses a single "bytes=" range. ok=false means the header is
// absent or not a syntactically valid single range, which S3 ignores.
func parseRange(v string) (*storage.Range, bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return nil, false
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return nil, false
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return nil, false
		}
		if n == 0 {
			// "bytes=-0" can never be satisfied.
			return &storage.Range{Start: -1, End: -1}, true
		}
		return &storage.Range{Suffix: n}, true
	}
	s, err := strconv.ParseInt(first, 10, 64)
	if err != nil || s < 0 {
		return nil, false
	}
	if last == "" {
		return &storage.Range{Start: s, End: -1}, true
	}
	e, err := strconv.ParseInt(last, 10, 64)
	if err != nil || e < s {
		return nil, false
	}
	return &storage.Range{Start: s, End: e}, true
}

// validateKey applies S3's key rules at the protocol edge.
func validateKey(key string) error {
	if len(key) > maxKeyLength {
		return apiErr(ErrKeyTooLong, "")
	}
	if !utf8.ValidString(key) {
		return apiErr(ErrInvalidArgument, "Object key must be valid UTF-8.")
	}
	return nil
}

// parseCopySource decodes x-amz-copy-source: "bucket/key[?versionId=v]",
// URL-encoded, with an optional leading slash.
func parseCopySource(v string) (bucket, key, version string, err error) {
	path, query, _ := strings.Cut(v, "?")
	dec, uerr := url.PathUnescape(path)
	if uerr != nil {
		return "", "", "", apiErr(ErrInvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.")
	}
	dec = strings.TrimPrefix(dec, "/")
	bucket, key, ok := strings.Cut(dec, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", "", apiErr(ErrInvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.")
	}
	if query != "" {
		q, perr := url.ParseQuery(query)
		if perr != nil {
			return "", "", "", apiErr(ErrInvalidArgument, "Invalid copy source query.")
		}
		version = q.Get("versionId")
	}
	return bucket, key, version, nil
}

// parseCopyRange parses x-amz-copy-source-range, which must be "bytes=a-b".
func parseCopyRange(v string) (*storage.Range, error) {
	if v == "" {
		return nil, nil
	}
	r, ok := parseRange(v)
	if !ok || r.Suffix > 0 || r.End < 0 {
		return nil, apiErr(ErrInvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	}
	return r, nil
}

func contentRange(r *storage.ResolvedRange) string {
	return fmt.Sprintf("bytes %d-%d/%d", r.Start, r.Start+r.Length-1, r.Size)
}

// queryInt reads a non-negative integer query parameter with a default.
func queryInt(q url.Values, name string, def, max int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, apiErr(ErrInvalidArgument, fmt.Sprintf("Provided %s not an integer or within integer range", name))
	}
	if n > max {
		n = max
	}
	return n, nil
}
