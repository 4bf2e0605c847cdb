package storage

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/storage/drive"
)

func envelopeSample() partsRecord {
	mtime := time.Date(2026, 12, 2, 5, 6, 7, 8, time.UTC)
	return partsRecord{Parts: []dataRecord{
		{Number: 1, Size: 5, ETag: "\"a\"", ModTime: mtime, Inline: []byte("hello"), EC: ECInfo{Data: 2, Parity: 2, BlockSize: 1 << 20}},
		{Number: 2, Size: 3, ETag: "\"b\"", ModTime: mtime, DataID: "id", Drives: []string{"d0", "d1"}, PlaceKey: "pk"},
		{Number: 3, Size: 4, ETag: "\"c\"", ModTime: mtime, Inline: []byte{0, '{', 0xff, envelopeV1}},
	}}
}

// TestEnvelopeForm: records with inline bytes are enveloped with the bytes
// raw (not base64) and their JSON free of them; records without stay the
// plain JSON every earlier binary wrote, byte for byte; encode leaves the
// record it is given unchanged.
func TestEnvelopeForm(t *testing.T) {
	pr := envelopeSample()
	before := envelopeSample()
	b := encode(pr)
	if !reflect.DeepEqual(pr, before) {
		t.Fatal("encode changed its argument")
	}
	if b[0] != envelopeV1 {
		t.Fatalf("record with inline data starts %q", b[0])
	}
	if !bytes.Contains(b, []byte("hello")) || bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString([]byte("hello")))) || bytes.Contains(b, []byte(`"inline"`)) {
		t.Fatalf("inline bytes not raw in the envelope: %q", b)
	}
	if legacy := marshal(pr); len(b) >= len(legacy) {
		t.Fatalf("envelope %d bytes, JSON %d", len(b), len(legacy))
	}
	coded := partsRecord{Parts: []dataRecord{before.Parts[1]}}
	if got, want := encode(coded), marshal(coded); !bytes.Equal(got, want) {
		t.Fatalf("record without inline data changed form:\n got %q\nwant %q", got, want)
	}
	for _, v := range []any{before.Parts[1], chunkRecord{Refs: 1, Data: before.Parts[1]}} {
		if got, want := encode(v), marshal(v); !bytes.Equal(got, want) {
			t.Fatalf("%T without inline data changed form: %q", v, got)
		}
	}
	// A partial view (as the placement sweep decodes) reads the JSON.
	ps := placementOf(b, kindData)
	if len(ps) != 3 || ps[1].ID != "id" || !reflect.DeepEqual(ps[1].Drives, []string{"d0", "d1"}) {
		t.Fatalf("placement of an envelope: %+v", ps)
	}
	if ps := placementOf(encode(before.Parts[0]), kindPart); len(ps) != 1 || ps[0].ID != "" {
		t.Fatalf("placement of an inline part: %+v", ps)
	}
}

// TestEnvelopeDecodeAliasing: decoded inline bytes may share the value but
// an append to one never overwrites what follows it.
func TestEnvelopeDecodeAliasing(t *testing.T) {
	b := encode(envelopeSample())
	var pr partsRecord
	if err := decode(b, &pr); err != nil {
		t.Fatal(err)
	}
	_ = append(pr.Parts[0].Inline, 'X', 'X', 'X', 'X', 'X', 'X', 'X', 'X')
	if want := envelopeSample().Parts[2].Inline; !bytes.Equal(pr.Parts[2].Inline, want) {
		t.Fatalf("part 3 inline = %q after appending to part 1's; want %q", pr.Parts[2].Inline, want)
	}
	if pr.Parts[1].Inline != nil {
		t.Fatalf("coded part decoded with inline %q", pr.Parts[1].Inline)
	}
}

// envelopeOf builds an envelope by hand: JSON, then the strings.
func envelopeOf(js string, inl ...string) []byte {
	b := []byte{envelopeV1}
	b = binary.AppendUvarint(b, uint64(len(js)))
	b = append(b, js...)
	b = binary.AppendUvarint(b, uint64(len(inl)))
	for _, s := range inl {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// TestEnvelopeCorrupt: every truncation and each kind of damage is an
// error, never a panic or a silently different record.
func TestEnvelopeCorrupt(t *testing.T) {
	good := encode(envelopeSample())
	for n := 0; n < len(good); n++ {
		var pr partsRecord
		if err := decode(good[:n], &pr); err == nil {
			t.Fatalf("truncated to %d of %d bytes: decoded %+v", n, len(good), pr)
		}
	}
	huge := []byte{envelopeV1}
	huge = binary.AppendUvarint(huge, 2)
	huge = append(huge, "{}"...)
	huge = binary.AppendUvarint(huge, 1<<62) // count far beyond the value
	overflow := append([]byte{envelopeV1}, bytes.Repeat([]byte{0xff}, 11)...)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"too few strings", envelopeOf(`{"parts":[{},{}]}`, "x")},
		{"too many strings", envelopeOf(`{"parts":[{}]}`, "x", "y")},
		{"bad JSON", envelopeOf(`{"parts":[{"size":"x"}]}`, "x")},
		{"not JSON", envelopeOf(`]`, "x")},
		{"empty", envelopeOf("")},
		{"huge count", huge},
		{"varint overflow", overflow},
		{"length past end", append(envelopeOf(`{"parts":[{}]}`), 1)},
		{"unknown version", append([]byte{0x02}, good[1:]...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pr partsRecord
			err := decode(tc.b, &pr)
			if err == nil {
				t.Fatalf("decoded %+v", pr)
			}
			if !strings.Contains(err.Error(), "corrupt metadata record") {
				t.Fatalf("error %v", err)
			}
		})
	}
	var d dataRecord
	if err := decode(envelopeOf(`{"size":1}`, "a"), &d); err != nil || string(d.Inline) != "a" || d.Size != 1 {
		t.Fatalf("hand-built part envelope: %+v, %v", d, err)
	}
	if _, _, _, err := openEnvelope(envelopeOf(`{}`, "a")[:4]); !errors.Is(err, errEnvelope) {
		t.Fatalf("openEnvelope of a truncation: %v", err)
	}
}

// FuzzDecodeRecord: decode never panics on any value, and a record it
// accepts re-encodes to a value that decodes to a record with the same
// stored form (the JSON itself may differ: [] for null, field order).
func FuzzDecodeRecord(f *testing.F) {
	s := envelopeSample()
	f.Add(encode(s))
	f.Add(marshal(s))
	f.Add(encode(s.Parts[0]))
	f.Add(encode(chunkRecord{Refs: 2, Data: s.Parts[0]}))
	f.Add(envelopeOf(`{"parts":[{}]}`, ""))
	f.Add([]byte(`{"pArts":[{"0000":"00000000000","drives":[]}]}`))
	f.Add([]byte{envelopeV1})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, newRec := range []func() any{func() any { return new(partsRecord) }, func() any { return new(dataRecord) }, func() any { return new(chunkRecord) }} {
			v := newRec()
			if decode(b, v) != nil {
				continue
			}
			once := encode(reflect.ValueOf(v).Elem().Interface())
			again := newRec()
			if err := decode(once, again); err != nil {
				t.Fatalf("re-encoded %T does not decode: %v", v, err)
			}
			if twice := encode(reflect.ValueOf(again).Elem().Interface()); !bytes.Equal(once, twice) {
				t.Fatalf("%T changed on re-encoding:\n %q\n %q", v, once, twice)
			}
		}
	})
}

// TestLegacyInlineRecordsRead: inline objects whose records were written
// the old way (plain JSON, base64 inline bytes) read back, the whole
// object, a range and a part of a multipart object with inline parts; a
// rewrite of the record (a tag change does not touch it, but a heal's
// compare-and-swap would) keeps the content.
func TestLegacyInlineRecordsRead(t *testing.T) {
	e, kv := newInlineTestEngine(t, 1<<10)
	ctx := context.Background()
	if err := e.CreateBucket(ctx, "bkt", CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	small := []byte("small object, stored inline in its parts record")
	if _, err := e.PutObject(ctx, "bkt", "k", bytes.NewReader(small), PutOptions{Size: int64(len(small))}); err != nil {
		t.Fatal(err)
	}
	up, err := e.CreateMultipartUpload(ctx, "bkt", "mp", PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	var parts []CompletePart
	for n := 1; n <= 2; n++ {
		p := bytes.Repeat([]byte{byte('0' + n)}, 100*n)
		want = append(want, p...)
		pi, err := e.UploadPart(ctx, "bkt", "mp", up, n, bytes.NewReader(p), PartOptions{Size: int64(len(p))})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, CompletePart{Number: n, ETag: pi.ETag})
	}
	// The stored part records (p/) are enveloped too while the upload lasts.
	pents, err := kv.List(ctx, partPrefix(up), "", 0)
	if err != nil || len(pents) != 2 {
		t.Fatalf("part records: %d, %v", len(pents), err)
	}
	for _, ent := range pents {
		if ent.Value[0] != envelopeV1 {
			t.Fatalf("inline part record %s is not enveloped: %q", ent.Key, ent.Value)
		}
	}
	if _, err := e.CompleteMultipartUpload(ctx, "bkt", "mp", up, parts, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ents, err := kv.List(ctx, meta.PrefixStorage+keyData, "", 0)
	if err != nil || len(ents) != 2 {
		t.Fatalf("parts records: %d, %v", len(ents), err)
	}
	for _, ent := range ents {
		if ent.Value[0] != envelopeV1 {
			t.Fatalf("inline parts record %s is not enveloped", ent.Key)
		}
		var pr partsRecord
		if err := decode(ent.Value, &pr); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(ent.Key, marshal(pr))}}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(key string, opts GetOptions) []byte {
		t.Helper()
		or, err := e.GetObject(ctx, "bkt", key, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer or.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(or); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if got := read("k", GetOptions{}); !bytes.Equal(got, small) {
		t.Fatalf("legacy inline object = %q", got)
	}
	if got := read("k", GetOptions{Range: &Range{Start: 6, End: 11}}); string(got) != "object" {
		t.Fatalf("legacy inline range = %q", got)
	}
	if got := read("mp", GetOptions{}); !bytes.Equal(got, want) {
		t.Fatalf("legacy inline multipart object: %d bytes", len(got))
	}
	if got := read("mp", GetOptions{PartNumber: 2}); !bytes.Equal(got, want[100:]) {
		t.Fatalf("legacy inline part 2: %d bytes", len(got))
	}
}

// newInlineTestEngine is an engine on memory drives keeping streams of up
// to inline bytes in their records, with its KV.
func newInlineTestEngine(t testing.TB, inline int64) (*Engine, *meta.Local) {
	t.Helper()
	kv, err := meta.OpenLocal(t.TempDir() + "/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	set := drive.Set{}
	var ms []ring.Member
	for _, id := range []string{"d0", "d1", "d2"} {
		set[id] = drive.NewMemory(id)
		ms = append(ms, ring.Member{DriveID: id, NodeID: id})
	}
	rg, err := ring.New(1, ms)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultEngineConfig()
	cfg.DataShards, cfg.ParityShards, cfg.DeleteGrace, cfg.InlineThreshold, cfg.MinPartSize = 2, 1, 0, inline, 1
	e, err := NewEngine(cfg, kv, set, FixedPlacement(rg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, kv
}
