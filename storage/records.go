package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/erasure"
	"github.com/filesphere/filesphere/storage/sse"
)

// The storage key space, all under meta.PrefixStorage. Bucket and object
// key are joined with NUL, which valid keys never contain, so byte order of
// meta keys is byte order of object keys.
const (
	keyBucket  = "b/" // b/<bucket> → bucketRecord
	keyHead    = "o/" // o/<bucket>\0<key> → headRecord (the latest version)
	keyVersion = "v/" // v/<bucket>\0<key>\0<order><version id> → versionRecord
	keyUpload  = "u/" // u/<bucket>\0<key>\0<upload id> → uploadRecord
	keyPart    = "p/" // p/<upload id>/<part number, 5 digits> → dataRecord
	keyData    = "d/" // d/<data key id> → partsRecord of one version
	keyConfig  = "c/" // c/<bucket>\0<kind> → a bucket settings document
	// keyConfigGen's revision changes with every settings document
	// written or deleted (and every bucket deleted): caches of documents
	// are valid while it stays.
	keyConfigGen = "cgen"
	// keyDue is the lifecycle index, ordered by due time so the worker
	// reads only what is due: e/<due>/o/<bucket>\0<key> for a key (the
	// head names it) and e/<due>/u/<bucket>\0<key>\0<upload id> for an
	// upload (the upload record names it). <due> is 16 hex digits of Unix
	// seconds. See lifecycle_index.go.
	keyDue = "e/"
	// keyRescan holds the lifecycle rescans: r/<bucket> → rescanRecord,
	// written with each lifecycle configuration change.
	keyRescan = "r/"
	// keyHash is the content index: h/<sha256 hex>/<bucket>\0<key>\0<version
	// id> → hashEntry for every version with a recorded content hash,
	// written and removed in the transaction of its version record (see
	// hashindex.go).
	keyHash = "h/"
	// keyChunk holds the chunks of deduplicating buckets:
	// k/<bucket>\0<chunk sha256 hex> → chunkRecord (the stream and its
	// reference count), changed in the transactions of the version records
	// that add or drop references (see dedup.go).
	keyChunk = "k/"
	// keyDirty is the repair queue: q/<data record key below s/> →
	// dirtyRecord, the streams of that d/, p/ or k/ record known to need a
	// repair (a write that missed shards, in the write's transaction; a
	// read that had to reconstruct; a repair that could not finish).
	// See dirty.go.
	keyDirty = "q/"
	// keyRepair holds the repair cursors: w/placement → sweepRecord (the
	// placement sweep after a ring change or a wiped drive, sweep.go) and
	// w/scrub → scrubRecord (the scrub cycle, scrub.go).
	keyRepair = "w/"
	// keyDriveSeen is the instance each drive was last seen with:
	// g/<drive id> → driveSeenRecord (drivecheck.go).
	keyDriveSeen = "g/"
)

func bucketKey(b string) string  { return meta.PrefixStorage + keyBucket + b }
func headPrefix(b string) string { return meta.PrefixStorage + keyHead + b + "\x00" }
func headKey(b, k string) string { return headPrefix(b) + k }
func versionPrefix(b string) string {
	return meta.PrefixStorage + keyVersion + b + "\x00"
}
func versionKeyPrefix(b, k string) string { return versionPrefix(b) + k + "\x00" }
func uploadPrefix(b string) string        { return meta.PrefixStorage + keyUpload + b + "\x00" }
func uploadKey(b, k, id string) string    { return uploadPrefix(b) + k + "\x00" + id }
func partPrefix(uploadID string) string   { return meta.PrefixStorage + keyPart + uploadID + "/" }
func dataKey(id string) string            { return meta.PrefixStorage + keyData + id }
func configPrefix(b string) string        { return meta.PrefixStorage + keyConfig + b + "\x00" }
func configKey(b string, k ConfigKind) string {
	return configPrefix(b) + string(k)
}
func rescanKey(b string) string { return meta.PrefixStorage + keyRescan + b }

// dirtyKey is the repair queue entry of the data record at recordKey.
func dirtyKey(recordKey string) string {
	return meta.PrefixStorage + keyDirty + strings.TrimPrefix(recordKey, meta.PrefixStorage)
}

// dirtyRecordKey is the data record a repair queue entry names.
func dirtyRecordKey(key string) string {
	return meta.PrefixStorage + strings.TrimPrefix(key, meta.PrefixStorage+keyDirty)
}

func sweepKey() string              { return meta.PrefixStorage + keyRepair + "placement" }
func scrubKey() string              { return meta.PrefixStorage + keyRepair + "scrub" }
func driveSeenKey(id string) string { return meta.PrefixStorage + keyDriveSeen + id }

// recordKind is a kind of record holding data streams: its index in
// dataPrefixes.
type recordKind int

const (
	kindData  recordKind = iota // d/: a version's part list (partsRecord)
	kindPart                    // p/: an uploaded part (dataRecord)
	kindChunk                   // k/: a deduplicated chunk (chunkRecord)
)

// dataPrefixes are the records holding data streams, in the order the
// repair walks visit them: versions' part lists, uploaded parts, then
// deduplicated chunks.
var dataPrefixes = [...]string{meta.PrefixStorage + keyData, meta.PrefixStorage + keyPart, meta.PrefixStorage + keyChunk}

// kindOf is the kind of the data record at key; ok is false for a key
// that is no data record's.
func kindOf(key string) (k recordKind, ok bool) {
	for i, p := range dataPrefixes {
		if strings.HasPrefix(key, p) {
			return recordKind(i), true
		}
	}
	return 0, false
}

func partKey(uploadID string, n int) string {
	return fmt.Sprintf("%s%05d", partPrefix(uploadID), n)
}

// versionOrder makes newer versions sort first among a key's versions.
func versionOrder(t time.Time) string {
	return fmt.Sprintf("%016x", ^uint64(t.UnixNano()))
}

// prefixEnd returns the smallest string greater than every string that
// starts with p (p never ends in 0xFF: keys are UTF-8).
func prefixEnd(p string) string {
	b := []byte(p)
	b[len(b)-1]++
	return string(b)
}

type bucketRecord struct {
	Name       string          `json:"name"`
	Created    time.Time       `json:"created"`
	Region     string          `json:"region"`
	Owner      string          `json:"owner,omitempty"`
	Versioning VersioningState `json:"versioning,omitempty"`
	// ObjectLock is set once and never cleared: every version delete
	// checks it, so it lives here rather than in a settings document.
	ObjectLock bool `json:"lock,omitempty"`
	Deleting   bool `json:"deleting,omitempty"`
	// LifecycleGen counts lifecycle configuration changes and Lifecycle
	// says one is set; both change in the transaction that writes the
	// document, so every write, which compares this record's revision,
	// plans its lifecycle with the rules in force.
	LifecycleGen uint64 `json:"lcgen,omitempty"`
	Lifecycle    bool   `json:"lc,omitempty"`
	// Dedup: new objects (unencrypted, SSE-S3 or SSE-KMS) are stored as
	// content-defined chunks (dedup.go); plaintext ones cut with the
	// bucket's own polynomial ChunkPol, chosen when dedup was first enabled
	// and kept so boundaries stay stable, encrypted ones with their
	// namespace's (DedupKeys).
	Dedup    bool   `json:"dedup,omitempty"`
	ChunkPol uint64 `json:"cpol,omitempty"`
	// DedupKeys are the sealed secrets of the bucket's encrypted chunk
	// namespaces (dedup_sse.go), one per encryption kind, KMS key and key
	// version; added by compare-and-swap, never changed or removed. They
	// exist only here: a binary without this field would drop them on its
	// next write of the record (a downgrade is unsupported).
	DedupKeys []dedupKey `json:"dkeys,omitempty"`
}

// ECInfo is the erasure geometry and bitrot hash data was written with.
type ECInfo struct {
	Data      int `json:"k"`
	Parity    int `json:"m"`
	BlockSize int `json:"bs"`
	// Bitrot is the frame hash; records written before it was recorded
	// have none, and all of them used SHA-256 (see bitrot()).
	Bitrot erasure.Bitrot `json:"bitrot,omitempty"`
}

// bitrot is the stream's frame hash, SHA-256 for records without one.
func (ec ECInfo) bitrot() erasure.Bitrot {
	if ec.Bitrot == "" {
		return erasure.BitrotSHA256
	}
	return ec.Bitrot
}

// dataRecord locates one erasure-coded (or inline) stream: a whole object
// or one multipart part.
type dataRecord struct {
	Number    int        `json:"n,omitempty"`
	Size      int64      `json:"size"`
	ETag      string     `json:"etag"`
	Checksums []Checksum `json:"sums,omitempty"`
	// SHA256 is the hex SHA-256 of the stream's bytes (none in records
	// written before it was kept).
	SHA256  string    `json:"sha256,omitempty"`
	ModTime time.Time `json:"mtime"`
	// DataID names the shards: shard i is on Drives[i] as shardID(DataID, i).
	DataID string `json:"id,omitempty"`
	// Name is "bucket/key" of the object the data belongs to, so repairs
	// report failures by name.
	Name string `json:"name,omitempty"`
	// PlaceKey is what placement was computed from, so repairs can ask the
	// current ring where the shards belong now.
	PlaceKey    string   `json:"pk,omitempty"`
	EC          ECInfo   `json:"ec"`
	RingVersion uint64   `json:"ring,omitempty"`
	Drives      []string `json:"drives,omitempty"`
	Inline      []byte   `json:"inline,omitempty"`
	// SSE is how an encrypted stream is sealed (its part number and IV);
	// then Size is the plaintext's, Inline and the shards hold ciphertext.
	SSE *sse.Params `json:"sse,omitempty"`
	// repair, never stored, says the stream needs a repair: set by a write
	// that committed fewer than all its shards (and carried from a part's
	// queue entry to its version on completion), so the transaction that
	// records the stream also queues it (dirtyOp).
	repair repairNeed
}

// repairNeed is why a stream needs a repair; the zero value: it does not.
type repairNeed struct {
	need bool
	deep bool // a frame failed its hash: rebuild after verifying every frame
}

// versionRecord is one object version; delete markers have no parts.
type versionRecord struct {
	VersionID    string     `json:"vid"`
	Null         bool       `json:"null,omitempty"`
	DeleteMarker bool       `json:"dm,omitempty"`
	Size         int64      `json:"size"`
	ETag         string     `json:"etag,omitempty"`
	ModTime      time.Time  `json:"mtime"`
	Meta         Metadata   `json:"meta"`
	Checksums    []Checksum `json:"sums,omitempty"`
	// SHA256 is the hex SHA-256 of the whole content (of a multipart
	// version too, hashed at completion); none in records written before
	// it was kept, and those are not in the content index.
	SHA256     string `json:"sha256,omitempty"`
	Multipart  bool   `json:"mp,omitempty"`
	PartsCount int    `json:"np,omitempty"`
	// DataKey names the partsRecord holding where the bytes are; it is kept
	// apart so listings and heads never load part lists or inline data.
	DataKey string `json:"dkey,omitempty"`
	// Parts is loaded from DataKey on demand.
	Parts []dataRecord `json:"-"`
	// Dedup: the content is Chunks (in the parts record), each a counted
	// reference to a chunk of the bucket (dedup.go). fresh are the chunk
	// streams the write made, for the commit to record or discard.
	Dedup  bool       `json:"dd,omitempty"`
	Chunks []chunkRef `json:"-"`
	fresh  map[string]dataRecord
	// Versioned is set when the bucket had versioning configured, so the
	// version id is shown to clients.
	Versioned bool `json:"versioned,omitempty"`
	// UploadID is the multipart upload that made the version, so a
	// repeated CompleteMultipartUpload finds what the first one made.
	UploadID string `json:"uid,omitempty"`
	// Tags and Lock change without rewriting data (see updateVersion).
	Tags []Tag      `json:"tags,omitempty"`
	Lock ObjectLock `json:"lock,omitzero"`
	// expiry is what an Expiration rule says of the version as the
	// current one (x-amz-expiration); computed, never stored.
	expiry *Expiry
	// SSE is the version's encryption; its parts carry their Params.
	SSE *sseRecord `json:"sse,omitempty"`
	// data is the stored parts record of DataKey dataOf, read in the
	// transaction that read the version (resolveLatestView); never stored.
	data   []byte
	dataOf string
}

// partsRecord is where a version's bytes are. A deduplicated version's
// Parts describe its parts (sizes, ETags, checksums) but hold no data;
// Chunks are the content, in order.
type partsRecord struct {
	Parts  []dataRecord `json:"parts"`
	Chunks []chunkRef   `json:"chunks,omitempty"`
}

// headRecord is the per-key head: the latest version plus where the null
// version lives. Every change to a key's versions rewrites it, so its
// revision guards all of them in compare-and-swap transactions.
type headRecord struct {
	Latest    versionRecord `json:"latest"`
	LatestKey string        `json:"lkey"`
	NullKey   string        `json:"nkey,omitempty"`
	// Due is the key's lifecycle index entry (the earliest lifecycle step
	// of any of its versions), changed in the same transaction.
	Due string `json:"due,omitempty"`
}

type uploadRecord struct {
	UploadID          string            `json:"id"`
	Key               string            `json:"key"`
	Initiated         time.Time         `json:"init"`
	Meta              Metadata          `json:"meta"`
	ChecksumAlgorithm ChecksumAlgorithm `json:"calg,omitempty"`
	ChecksumType      string            `json:"ctype,omitempty"`
	// Tags and Lock go to the version the upload completes into.
	Tags []Tag      `json:"tags,omitempty"`
	Lock ObjectLock `json:"lock,omitzero"`
	// Due is the upload's lifecycle index entry (its abort).
	Due string `json:"due,omitempty"`
	// SSE is the upload's encryption: every part is sealed under its one
	// object key, and the completed version takes it.
	SSE *sseRecord `json:"sse,omitempty"`
}

// encode is a record's stored form: its JSON, or for a record holding
// inline stream bytes the binary envelope of envelope.go.
func encode(v any) []byte {
	if s, ok := v.(inlineSplitter); ok {
		if stripped, inl := s.splitInline(); inl != nil {
			return sealEnvelope(marshal(stripped), inl)
		}
	}
	return marshal(v)
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("storage: marshal %T: %v", v, err)) // our own types always marshal
	}
	return b
}

// decode reads a record written by encode, or by any earlier binary (plain
// JSON, inline bytes base64 in it): every record is decoded by it. Inline
// bytes of an envelope share b, which KV values allow (each Get returns
// its own copy). JSON is decoded with goccy/go-json, a drop-in decoder 2-3x
// faster than encoding/json here (BenchmarkListObjectsPage,
// BenchmarkSmallGet). Encoding stays with encoding/json: it honours
// omitzero, so record bytes do not change.
func decode(b []byte, v any) error {
	if len(b) > 0 && b[0] == envelopeV1 {
		return decodeEnvelope(b, v)
	}
	return decodeJSON(b, v)
}

func decodeJSON(b []byte, v any) error {
	if err := gojson.Unmarshal(b, v); err != nil {
		return fmt.Errorf("storage: corrupt metadata record: %w", err)
	}
	return nil
}

// info converts a version record to the domain type.
func (v *versionRecord) info(bucket, key string, latest bool) ObjectInfo {
	id := v.VersionID
	if !v.Versioned && v.Null {
		id = ""
	}
	oi := ObjectInfo{Bucket: bucket, Key: key, VersionID: id, IsLatest: latest, DeleteMarker: v.DeleteMarker,
		Size: v.Size, ETag: v.ETag, ModTime: v.ModTime, Meta: v.Meta, Checksums: v.Checksums, SHA256: v.SHA256,
		Versioned: v.Versioned, StorageClass: "STANDARD", Tags: v.Tags, Lock: v.Lock, Expiration: v.expiry, SSE: v.SSE.info()}
	if v.Multipart {
		oi.PartsCount = v.PartsCount
	}
	return oi
}

// splitVersionKey returns the object key of a v/ or o/ meta key after base.
func splitObjectKey(metaKey, base string) string {
	rest := strings.TrimPrefix(metaKey, base)
	if i := strings.IndexByte(rest, 0); i >= 0 {
		return rest[:i]
	}
	return rest
}

// loadParts reads where a version's bytes are (nothing for delete markers).
func (e *Engine) loadParts(ctx context.Context, v versionRecord) ([]dataRecord, error) {
	return loadPartsFrom(ctx, e.kv, v)
}

func loadPartsFrom(ctx context.Context, kv meta.KV, v versionRecord) ([]dataRecord, error) {
	pr, err := loadDataFrom(ctx, kv, v)
	return pr.Parts, err
}

// loadDataFrom reads a version's parts record (its chunks too).
func loadDataFrom(ctx context.Context, kv meta.KV, v versionRecord) (partsRecord, error) {
	if v.DataKey == "" {
		return partsRecord{Parts: v.Parts, Chunks: v.Chunks}, nil
	}
	raw := v.data
	if raw == nil || v.dataOf != v.DataKey {
		ent, err := kv.Get(ctx, dataKey(v.DataKey))
		if err != nil {
			return partsRecord{}, fmt.Errorf("storage: parts of version %s: %w", v.VersionID, err)
		}
		raw = ent.Value
	}
	var pr partsRecord
	if err := decode(raw, &pr); err != nil {
		return partsRecord{}, err
	}
	return pr, nil
}
