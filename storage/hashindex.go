package storage

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
)

// The content index. Every version whose record carries its content hash
// (SHA256) has one entry, h/<sha256>/<bucket>\0<key>\0<version id>, put
// and deleted by the same transactions that put and delete the version
// record (commitVersionIf, removeVersionIf), so the index can never
// disagree with the namespace. Looking a hash up is one range read of
// its entries.

// hashEntry is an index entry's value: enough to answer a lookup without
// reading the version record.
type hashEntry struct {
	// Order is the version key's order part (see versionOrder): the
	// version's modification time, and with it the version record's key.
	Order string `json:"o"`
	Size  int64  `json:"n"`
	// ID is the version id as clients see it ("" for never-versioned).
	ID string `json:"id,omitempty"`
}

func hashPrefix(sum string) string { return meta.PrefixStorage + keyHash + sum + "/" }

func hashIndexKey(sum, bucket, key, versionID string) string {
	return hashPrefix(sum) + bucket + "\x00" + key + "\x00" + versionID
}

// indexed reports whether a version has an index entry.
func (v *versionRecord) indexed() bool { return !v.DeleteMarker && v.SHA256 != "" }

// indexKey is v's index entry key ("" when it has none).
func (v *versionRecord) indexKey(bucket, key string) string {
	if !v.indexed() {
		return ""
	}
	return hashIndexKey(v.SHA256, bucket, key, v.VersionID)
}

// hashIndexOps are the index changes of a transaction that adds version
// added (nil: none) of key and removes the versions in removed. An entry
// both removed and added (a null version replaced by the same content)
// is only rewritten.
func hashIndexOps(bucket, key string, added *versionRecord, removed ...*versionRecord) []meta.Op {
	var ops []meta.Op
	put := ""
	if added != nil {
		put = added.indexKey(bucket, key)
	}
	for _, r := range removed {
		if r == nil {
			continue
		}
		if k := r.indexKey(bucket, key); k != "" && k != put {
			ops = append(ops, meta.Delete(k))
		}
	}
	if put != "" {
		ops = append(ops, meta.Put(put, encode(hashEntry{Order: versionOrder(added.ModTime), Size: added.Size, ID: added.shownID()})))
	}
	return ops
}

// ContentIndex finds object versions by the SHA-256 of their content.
type ContentIndex interface {
	// FindBySHA256 lists the versions whose whole content hashes to sum
	// (64 hex digits), in bucket, key and version id order, a page at a
	// time. It filters nothing by permission: the caller does.
	FindBySHA256(ctx context.Context, sum string, opts HashFindOptions) (HashFindResult, error)
}

// HashFindOptions pages a lookup.
type HashFindOptions struct {
	// Bucket limits the lookup to one bucket ("" = every bucket), and
	// Prefix (with Bucket only) to its keys that start with it.
	Bucket, Prefix string
	// After continues a lookup after the cursor a previous page returned.
	After string
	// Limit is the most matches per page (at most 1000).
	Limit int
}

// HashMatch is one version with the content looked up.
type HashMatch struct {
	Bucket    string
	Key       string
	VersionID string // as clients see it: "" for never-versioned objects
	Size      int64
	ModTime   time.Time
	// IsLatest: the version is the key's current one.
	IsLatest bool
}

// HashFindResult is a page of matches.
type HashFindResult struct {
	Matches []HashMatch
	// Next is the cursor after the last match, "" when there are no more.
	Next string
}

// ErrInvalidSHA256 is a content hash that is not 64 hex digits.
var ErrInvalidSHA256 = errors.New("storage: a SHA-256 is 64 hex digits")

// maxHashPage bounds a lookup page.
const maxHashPage = 1000

// NormalizeSHA256 checks a hex SHA-256 and returns it in lower case.
func NormalizeSHA256(sum string) (string, error) {
	b, err := hex.DecodeString(sum)
	if err != nil || len(b) != 32 {
		return "", fmt.Errorf("%w: %q", ErrInvalidSHA256, sum)
	}
	return hex.EncodeToString(b), nil
}

// FindBySHA256 implements ContentIndex.
func (e *Engine) FindBySHA256(ctx context.Context, sum string, opts HashFindOptions) (HashFindResult, error) {
	var res HashFindResult
	sum, err := NormalizeSHA256(sum)
	if err != nil {
		return res, err
	}
	if opts.Bucket != "" {
		if _, _, err := e.getBucket(ctx, opts.Bucket); err != nil {
			return res, err
		}
	}
	limit := opts.Limit
	if limit <= 0 || limit > maxHashPage {
		limit = maxHashPage
	}
	prefix := hashPrefix(sum)
	if opts.Bucket != "" {
		prefix += opts.Bucket + "\x00" + opts.Prefix
	}
	start := prefix
	if opts.After != "" {
		if after := hashPrefix(sum) + opts.After + "\x00"; after > start {
			start = after
		}
	}
	ents, err := e.kv.List(ctx, prefix, start, limit+1)
	if err != nil {
		return res, err
	}
	more := len(ents) > limit
	if more {
		ents = ents[:limit]
	}
	for _, ent := range ents {
		m, err := e.hashMatch(ctx, strings.TrimPrefix(ent.Key, hashPrefix(sum)), ent.Value)
		if err != nil {
			return res, err
		}
		res.Matches = append(res.Matches, m)
	}
	if more {
		res.Next = strings.TrimPrefix(ents[len(ents)-1].Key, hashPrefix(sum))
	}
	return res, nil
}

// hashMatch reads one index entry (rest is the key after the hash).
func (e *Engine) hashMatch(ctx context.Context, rest string, val []byte) (HashMatch, error) {
	parts := strings.Split(rest, "\x00")
	if len(parts) != 3 {
		return HashMatch{}, fmt.Errorf("storage: corrupt content index key %q", rest)
	}
	var he hashEntry
	if err := decode(val, &he); err != nil {
		return HashMatch{}, err
	}
	m := HashMatch{Bucket: parts[0], Key: parts[1], VersionID: he.ID, Size: he.Size, ModTime: orderTime(he.Order)}
	h, rev, err := e.getHead(ctx, m.Bucket, m.Key)
	if err != nil {
		return m, err
	}
	m.IsLatest = rev != 0 && h.Latest.VersionID == parts[2] && h.LatestKey == versionKeyPrefix(m.Bucket, m.Key)+he.Order+parts[2]
	return m, nil
}

// orderTime is the modification time a versionOrder encodes.
func orderTime(order string) time.Time {
	n, err := strconv.ParseUint(order, 16, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, int64(^n)).UTC()
}
