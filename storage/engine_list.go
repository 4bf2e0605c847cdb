package storage

import (
	"context"
	"sort"
	"strings"

	"github.com/filesphere/filesphere/cluster/meta"
)

// listBatch is how many meta entries a listing reads per round trip.
const listBatch = 1000

// foldBatch is how many a listing reads after a common prefix outlasted a
// whole batch: the next one is likely to fold too, and only its first
// entry would be used.
const foldBatch = 32

// scanner walks a bucket's keys in byte order below base+prefix, folding
// keys that contain the delimiter into common prefixes and skipping past
// each folded prefix (within the entries already read, or with one seek),
// so a page costs O(page) reads however large the bucket is.
type scanner struct {
	kv        meta.KV
	base      string // meta prefix of the bucket's key space
	prefix    string
	delimiter string
	start     string // next meta key to read (inclusive)
	// after, when set, is the last meta key returned: the next read
	// starts just past it. Kept as is so each entry costs no new string.
	after string
	limit int // entries the next read asks for
}

// visit is called for each key (not folded); returning false stops.
type scanItem struct {
	ent meta.Entry
	key string
	cp  string // set when the entry is folded into a common prefix
}

func newScanner(kv meta.KV, base, prefix, delimiter, marker string, markerIsKey bool) *scanner {
	s := &scanner{kv: kv, base: base, prefix: prefix, delimiter: delimiter, start: base + prefix, limit: listBatch}
	if marker != "" {
		after := base + marker
		if markerIsKey {
			after += "\x00"
		}
		if cp := s.commonPrefix(marker); cp != "" && cp == marker {
			after = base + prefixEnd(cp)
		}
		if after > s.start {
			s.start = after
		}
	}
	return s
}

// expect says the caller will take up to n entries (a page and the one
// entry that says the page is truncated): the first read asks for that
// many, up to listBatch+1, so a full page takes one read, not a second
// whole batch for its last entry.
func (s *scanner) expect(n int) { s.limit = max(1, min(n, listBatch+1)) }

// commonPrefix returns the common prefix key folds into, or "".
func (s *scanner) commonPrefix(key string) string {
	if s.delimiter == "" || !strings.HasPrefix(key, s.prefix) {
		return ""
	}
	rest := key[len(s.prefix):]
	i := strings.Index(rest, s.delimiter)
	if i < 0 {
		return ""
	}
	return s.prefix + rest[:i+len(s.delimiter)]
}

// next returns the next item, or ok=false at the end.
func (s *scanner) next(ctx context.Context, buf *[]meta.Entry) (scanItem, bool, error) {
	if len(*buf) == 0 {
		if s.after != "" {
			s.start, s.after = s.after+"\x00", ""
		}
		ents, err := s.kv.List(ctx, s.base+s.prefix, s.start, s.limit)
		if err != nil || len(ents) == 0 {
			return scanItem{}, false, err
		}
		*buf = ents
		s.limit = min(2*s.limit, listBatch)
	}
	ent := (*buf)[0]
	*buf = (*buf)[1:]
	key := splitObjectKey(ent.Key, s.base)
	if cp := s.commonPrefix(key); cp != "" {
		// Skip the buffered entries inside the folded prefix (they are
		// sorted); when it outlasts them, the next read seeks past it and
		// reads little, as it will likely fold again.
		s.start, s.after = s.base+prefixEnd(cp), ""
		rest := *buf
		i := sort.Search(len(rest), func(i int) bool { return rest[i].Key >= s.start })
		if i == len(rest) {
			s.limit = foldBatch
		}
		*buf = rest[i:]
		return scanItem{ent: ent, key: key, cp: cp}, true, nil
	}
	s.after = ent.Key
	return scanItem{ent: ent, key: key}, true, nil
}

// pageCap is the capacity to give a page's entries when the first one is
// added and n more fit: growing a slice of ObjectInfo (a few hundred
// bytes each) to 1000 copied it ten times.
func pageCap(n int) int { return min(n, listBatch) }

// ListObjects implements Objects.
func (e *Engine) ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListResult, error) {
	var res ListResult
	if _, _, err := e.getBucket(ctx, bucket); err != nil {
		return res, err
	}
	if opts.MaxKeys <= 0 {
		return res, nil
	}
	sc := newScanner(e.kv, headPrefix(bucket), opts.Prefix, opts.Delimiter, opts.Marker, true)
	sc.expect(opts.MaxKeys + 1)
	var buf []meta.Entry
	var dec listDecoder
	for {
		it, ok, err := sc.next(ctx, &buf)
		if err != nil || !ok {
			return res, err
		}
		var name string
		var obj *ObjectInfo
		if it.cp != "" {
			name = it.cp
		} else {
			l, err := dec.head(it.ent.Value)
			if err != nil {
				return res, err
			}
			if l.DeleteMarker {
				continue
			}
			info := l.info(bucket, it.key, true)
			name, obj = it.key, &info
		}
		if len(res.Objects)+len(res.CommonPrefixes) == opts.MaxKeys {
			res.IsTruncated = true
			return res, nil
		}
		if obj != nil {
			if res.Objects == nil {
				res.Objects = make([]ObjectInfo, 0, pageCap(opts.MaxKeys-len(res.CommonPrefixes)))
			}
			res.Objects = append(res.Objects, *obj)
		} else {
			res.CommonPrefixes = append(res.CommonPrefixes, name)
		}
		res.NextMarker = name
	}
}

// ListObjectVersions implements Objects.
func (e *Engine) ListObjectVersions(ctx context.Context, bucket string, opts ListVersionsOptions) (ListVersionsResult, error) {
	var res ListVersionsResult
	if _, _, err := e.getBucket(ctx, bucket); err != nil {
		return res, err
	}
	if opts.MaxKeys <= 0 {
		return res, nil
	}
	base := versionPrefix(bucket)
	sc := newScanner(e.kv, base, opts.Prefix, opts.Delimiter, "", false)
	sc.expect(opts.MaxKeys + 1)
	if opts.KeyMarker != "" {
		start, err := e.versionMarker(ctx, bucket, opts.KeyMarker, opts.VersionIDMarker)
		if err != nil {
			return res, err
		}
		if cp := sc.commonPrefix(opts.KeyMarker); cp != "" && cp == opts.KeyMarker {
			start = base + prefixEnd(cp)
		}
		if start > sc.start {
			sc.start = start
		}
	}
	var buf []meta.Entry
	var dec listDecoder
	lastKey := ""
	resumedMidKey := opts.VersionIDMarker != ""
	for {
		it, ok, err := sc.next(ctx, &buf)
		if err != nil || !ok {
			return res, err
		}
		if len(res.Versions)+len(res.CommonPrefixes) == opts.MaxKeys {
			res.IsTruncated = true
			return res, nil
		}
		if it.cp != "" {
			res.CommonPrefixes = append(res.CommonPrefixes, it.cp)
			res.NextKeyMarker, res.NextVersionIDMarker = it.cp, ""
			continue
		}
		v, err := dec.version(it.ent.Value)
		if err != nil {
			return res, err
		}
		if res.Versions == nil {
			res.Versions = make([]ObjectInfo, 0, pageCap(opts.MaxKeys-len(res.CommonPrefixes)))
		}
		latest := it.key != lastKey
		if latest && resumedMidKey && it.key == opts.KeyMarker {
			latest = false // the key's newest version was on an earlier page
		}
		lastKey = it.key
		info := v.info(bucket, it.key, latest)
		info.VersionID = v.VersionID
		res.Versions = append(res.Versions, info)
		res.NextKeyMarker, res.NextVersionIDMarker = it.key, v.VersionID
	}
}

// versionMarker is the meta key to resume a version listing from.
func (e *Engine) versionMarker(ctx context.Context, bucket, key, versionID string) (string, error) {
	if versionID == "" {
		return versionKeyPrefix(bucket, key) + "\xff", nil
	}
	vs, err := e.listKeyVersions(ctx, bucket, key)
	if err != nil {
		return "", err
	}
	for _, v := range vs {
		if v.rec.VersionID == versionID {
			return v.metaKey + "\x00", nil
		}
	}
	// An unknown marker version: resume after the whole key.
	return versionKeyPrefix(bucket, key) + "\xff", nil
}
