package storage

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/filesphere/filesphere/erasure"
	"github.com/filesphere/filesphere/storage/sse"
)

// TestDecodeMatchesEncodingJSON: decode (goccy/go-json) reads every record
// shape exactly as encoding/json would, for full and empty records, so
// records written by any earlier binary read back unchanged.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	params, err := sse.NewParams(sse.AES256GCM, 3)
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2026, 12, 2, 5, 6, 7, 891011121, time.UTC)
	part := dataRecord{Number: 2, Size: 4096, ETag: "\"abc\"", Checksums: []Checksum{{Algorithm: "CRC32", Value: "AAAA==", Type: "COMPOSITE"}},
		SHA256: "ff00", ModTime: mtime, DataID: "d-1", Name: "b/k\u00e9\"\\<>&", PlaceKey: "pk",
		EC: ECInfo{Data: 2, Parity: 2, BlockSize: 1 << 20, Bitrot: erasure.BitrotHighwayHash}, RingVersion: 7,
		Drives: []string{"a", "b"}, Inline: []byte{0, 1, 2, 255, '"'}, SSE: &params}
	version := versionRecord{VersionID: "v1", Null: true, Size: 9, ETag: "\"e\"", ModTime: mtime,
		Meta:      Metadata{ContentType: "text/plain", CacheControl: "no", User: map[string]string{"a": "b\u2028c"}, ACL: []byte("<x/>")},
		Checksums: []Checksum{{Algorithm: "SHA256", Value: "x"}}, SHA256: "aa", Multipart: true, PartsCount: 2, DataKey: "dk",
		Dedup: true, Versioned: true, UploadID: "u", Tags: []Tag{{Key: "k", Value: "v"}},
		Lock: ObjectLock{Mode: "GOVERNANCE", RetainUntil: mtime, LegalHold: "ON"},
		SSE:  &sseRecord{Type: "aws:kms", KeyID: "key", Context: map[string]string{"c": "d"}, Sealed: []byte{9, 8}}}
	for _, tc := range []struct {
		name string
		v    any
		new  func() any
	}{
		{"head", headRecord{Latest: version, LatestKey: "lk", NullKey: "nk", Due: "e/1"}, func() any { return new(headRecord) }},
		{"head/empty", headRecord{}, func() any { return new(headRecord) }},
		{"parts", partsRecord{Parts: []dataRecord{part, {}}, Chunks: []chunkRef{{Hash: "h", Size: 3}}}, func() any { return new(partsRecord) }},
		{"part", part, func() any { return new(dataRecord) }},
		{"bucket", bucketRecord{Name: "b", Created: mtime, Region: "r", Owner: "o", Versioning: VersioningEnabled, ObjectLock: true,
			LifecycleGen: 3, Lifecycle: true, Dedup: true, ChunkPol: 99, DedupKeys: []dedupKey{{ID: 1, Type: "AES256", Version: 2, Sealed: []byte{1}}}},
			func() any { return new(bucketRecord) }},
		{"upload", uploadRecord{UploadID: "u", Key: "k", Initiated: mtime, Meta: version.Meta, ChecksumAlgorithm: "CRC32C", ChecksumType: "FULL_OBJECT",
			Tags: version.Tags, Lock: version.Lock, Due: "d", SSE: version.SSE}, func() any { return new(uploadRecord) }},
		{"chunk", chunkRecord{Refs: 2, Zero: mtime}, func() any { return new(chunkRecord) }},
		{"chunk/inline", chunkRecord{Refs: 1, Data: part}, func() any { return new(chunkRecord) }},
		{"parts/coded", partsRecord{Parts: []dataRecord{{Size: 1, DataID: "x", Drives: []string{"a"}}}}, func() any { return new(partsRecord) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// legacy is the record as every earlier binary wrote it (inline
			// bytes base64 in the JSON); encode may envelope it.
			legacy := marshal(tc.v)
			want := tc.new()
			if err := json.Unmarshal(legacy, want); err != nil {
				t.Fatal(err)
			}
			for _, b := range [][]byte{encode(tc.v), legacy} {
				got := tc.new()
				if err := decode(b, got); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("decode differs from encoding/json:\n got %+v\nwant %+v", got, want)
				}
				if !reflect.DeepEqual(reflect.ValueOf(got).Elem().Interface(), tc.v) {
					t.Fatalf("round trip changed the record:\n got %+v\nwant %+v", got, tc.v)
				}
			}
		})
	}
	if err := decode([]byte(`{"parts":[{"size":"x"}]}`), new(partsRecord)); err == nil {
		t.Fatal("a corrupt record decoded without error")
	}
}
