package storage

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// listedShapes are version records of every shape a listing meets.
func listedShapes() map[string]versionRecord {
	mtime := time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.UTC)
	plain := versionRecord{VersionID: NullVersionID, Null: true, Size: 5, ETag: `"5d41402abc4b2a76b9719d911017c592"`,
		ModTime: mtime, SHA256: strings.Repeat("ab", 32), PartsCount: 1, DataKey: "9b0c-data"}
	with := func(f func(v *versionRecord)) versionRecord {
		v := plain
		f(&v)
		return v
	}
	return map[string]versionRecord{
		"plain null version": plain,
		"versioned": with(func(v *versionRecord) {
			v.VersionID, v.Null, v.Versioned = "0a1b2c3d-4e5f", false, true
		}),
		"null version of a versioned bucket": with(func(v *versionRecord) { v.Versioned = true }),
		"delete marker":                      {VersionID: "dm-1", DeleteMarker: true, Versioned: true, ModTime: mtime, Meta: Metadata{}},
		"multipart": with(func(v *versionRecord) {
			v.ETag, v.Multipart, v.PartsCount, v.UploadID = `"c4ca4238a0b923820dcc509a6f75849b-12"`, true, 12, "up-1"
		}),
		"checksums": with(func(v *versionRecord) {
			v.Checksums = []Checksum{{Algorithm: "CRC64NVME", Value: "AAAAAAAAAAA=", Type: "FULL_OBJECT"}, {Algorithm: "SHA256", Value: "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="}}
		}),
		"composite checksum": with(func(v *versionRecord) {
			v.Checksums = []Checksum{{Algorithm: "CRC32C", Value: "yZRlqg==-3", Type: "COMPOSITE"}}
		}),
		"empty checksums": with(func(v *versionRecord) { v.Checksums = []Checksum{} }),
		"metadata tags lock sse": with(func(v *versionRecord) {
			v.Meta = Metadata{ContentType: "text/plain; charset=\"utf-8\"", CacheControl: "no-cache",
				User: map[string]string{"x-amz-meta-name": "grüße \"quoted\" \\ {[,:]} \u2028", "x-amz-meta-e": ""}}
			v.Tags = []Tag{{Key: "k{", Value: "v}"}, {Key: "é", Value: "\x01"}}
			v.Lock = ObjectLock{Mode: "GOVERNANCE", RetainUntil: mtime.Add(time.Hour), LegalHold: "ON"}
			v.SSE = &sseRecord{Type: "aws:kms", KeyID: "key-1", Context: map[string]string{"a": "b"}, Sealed: []byte{0, 1, 2, 0xff}}
		}),
		"dedup": with(func(v *versionRecord) { v.Dedup = true }),
		"large size and odd etag": with(func(v *versionRecord) {
			v.Size, v.ETag = 5<<40, `"a\"b\\c"`
		}),
		"non-ascii etag": with(func(v *versionRecord) { v.ETag = `"é"` }),
		"zero time":      with(func(v *versionRecord) { v.ModTime = time.Time{} }),
		"offset time": with(func(v *versionRecord) {
			v.ModTime = time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("", 5*3600+30*60))
		}),
	}
}

// listedFull is what the full decoders make of a record, as a listing
// shows it: the single source of truth listDecoder must match.
func listedFull(t *testing.T, b []byte, head bool) ObjectInfo {
	t.Helper()
	var v versionRecord
	if head {
		var h headRecord
		if err := decode(b, &h); err != nil {
			t.Fatalf("full decode: %v", err)
		}
		v = h.Latest
	} else if err := decode(b, &v); err != nil {
		t.Fatalf("full decode: %v", err)
	}
	l := v.listed()
	return l.info("b", "k", true)
}

// listedFast is what a listing reads of a record and whether the scan
// (rather than the decoder it falls back on) read it.
func listedFast(t *testing.T, b []byte, head bool) (ObjectInfo, bool) {
	t.Helper()
	var d listDecoder
	var l listedVersion
	var err error
	if head {
		l, err = d.head(b)
	} else {
		l, err = d.version(b)
	}
	if err != nil {
		t.Fatalf("listing decode: %v", err)
	}
	js, _ := recordJSON(b)
	var s listedVersion
	scanned := false
	if head {
		scanned = scanListedHead(js, &s) == nil
	} else {
		scanned = scanListedVersion(js, &s) == nil
	}
	return l.info("b", "k", true), scanned
}

// listedForms are the stored forms a record may have: as encode writes
// it, re-indented, enveloped (decode accepts any record so), and a head
// record as an earlier binary wrote it, with its part list inline.
func listedForms(t *testing.T, v versionRecord) map[string]struct {
	b    []byte
	head bool
} {
	t.Helper()
	h := headRecord{Latest: v, LatestKey: "s/v/b\x00k\x00ffff" + v.VersionID, NullKey: "s/v/b\x00k\x00null", Due: "00000000deadbeef"}
	var indented bytes.Buffer
	if err := json.Indent(&indented, encode(h), "", " \t"); err != nil {
		t.Fatal(err)
	}
	var legacy map[string]any
	if err := json.Unmarshal(encode(h), &legacy); err != nil {
		t.Fatal(err)
	}
	legacy["latest"].(map[string]any)["parts"] = []dataRecord{{Number: 1, Size: 3, ETag: `"x"`, Inline: []byte("abc"),
		EC: ECInfo{Data: 2, Parity: 2, BlockSize: 1 << 20}, Drives: []string{"d0", "d1"}}}
	return map[string]struct {
		b    []byte
		head bool
	}{
		"head":             {encode(h), true},
		"head indented":    {indented.Bytes(), true},
		"head enveloped":   {sealEnvelope(encode(h), [][]byte{[]byte("inline"), nil}), true},
		"head legacy":      {marshal(legacy), true},
		"version":          {encode(v), false},
		"version envelope": {sealEnvelope(encode(v), nil), false},
	}
}

// TestListedMatchesFullDecode: for every record shape and stored form, a
// listing's decode shows what the full decode of the record shows, and
// the records encode writes are read by the scan, not the fallback.
func TestListedMatchesFullDecode(t *testing.T) {
	for name, v := range listedShapes() {
		for form, f := range listedForms(t, v) {
			t.Run(name+"/"+form, func(t *testing.T) {
				want := listedFull(t, f.b, f.head)
				got, scanned := listedFast(t, f.b, f.head)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("listing decode\n%+v\nfull decode\n%+v\nrecord %q", got, want, f.b)
				}
				fastShape := !strings.Contains(name, "non-ascii") // non-ASCII in a listed string falls back
				if fastShape && !scanned {
					t.Fatalf("the scan gave up on %q", f.b)
				}
			})
		}
	}
}

// TestListedOddJSON: JSON the scan does not take exactly as the decoder
// does goes to the decoder; JSON it takes it reads as the decoder does.
func TestListedOddJSON(t *testing.T) {
	const base = `"vid":"v1","size":7,"etag":"\"e\"","mtime":"2025-01-02T03:04:05.5Z"`
	for _, tc := range []struct {
		name, js string
		scanned  bool
	}{
		{"plain", `{"latest":{` + base + `}}`, true},
		{"reordered, spaced", ` { "lkey" : "x" , "latest" : { "mtime" : "2025-01-02T03:04:05.5Z" , "size" : 7 , "etag":"\"e\"", "vid" : "v1" } } `, true},
		{"duplicate key, last wins", `{"latest":{` + base + `,"size":9}}`, true},
		{"duplicate latest merges", `{"latest":{` + base + `},"latest":{"size":9}}`, true},
		{"case-folded key", `{"latest":{` + base + `,"SIZE":9}}`, false},
		{"case-folded latest", `{"LATEST":{` + base + `}}`, false},
		{"escaped key", `{"latest":{` + base + `,"\u0073ize":9}}`, false},
		{"escaped key in skipped object", `{"latest":{` + base + `,"meta":{"\u0073ize":9}}}`, true},
		{"null size", `{"latest":{` + base + `,"size":null}}`, false},
		{"null sums", `{"latest":{` + base + `,"sums":null}}`, false},
		{"null latest", `{"latest":null}`, false},
		{"negative size", `{"latest":{` + base + `,"size":-7}}`, true},
		{"unicode escape in etag", `{"latest":{` + base + `,"etag":"\u0041"}}`, false},
		{"slash escape in vid", `{"latest":{` + base + `,"vid":"a\/b"}}`, false},
		{"skipped values of every kind", `{"x":[1,-2.5e+3,true,false,null,"s\n",{"a":[[]]}],"latest":{` + base + `},"y":{}}`, true},
		{"unknown key in checksum", `{"latest":{` + base + `,"sums":[{"a":"CRC32","v":"x","t":"FULL_OBJECT","z":[1]}]}}`, true},
		{"checksum algorithm only", `{"latest":{` + base + `,"sums":[{"a":"CRC32"},{"t":"COMPOSITE"}]}}`, true},
		{"empty record", `{}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkListedAsDecoder(t, []byte(tc.js), tc.scanned)
		})
	}
}

// checkListedAsDecoder checks a listing reads b as the decoder does (an
// error where it errs) and that the scan took it, or not.
func checkListedAsDecoder(t *testing.T, b []byte, wantScanned bool) {
	t.Helper()
	var h listedHead
	decErr := decode(b, &h)
	var d listDecoder
	l, err := d.head(b)
	js, _ := recordJSON(b)
	var s listedVersion
	if scanned := scanListedHead(js, &s) == nil; scanned != wantScanned {
		t.Fatalf("%q: scanned %v, want %v", b, scanned, wantScanned)
	}
	if (err != nil) != (decErr != nil) {
		t.Fatalf("%q: listing error %v, decoder error %v", b, err, decErr)
	}
	if got, want := l.info("b", "k", true), h.Latest.info("b", "k", true); !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: listing\n%+v\ndecoder\n%+v", b, got, want)
	}
}

// TestListedBrokenRecords: the scan takes no malformed record; a listing
// then reads it as the decoder does (refused, or read by its leniency).
func TestListedBrokenRecords(t *testing.T) {
	good := encode(headRecord{Latest: listedShapes()["checksums"]})
	for _, b := range [][]byte{
		nil, []byte(`{`), []byte(`{"latest":{"size":1}`), []byte(`{"latest":{"size":1}}x`),
		[]byte(`{"latest":{"size":01}}`), []byte(`{"latest":{"vid":"a` + "\x01" + `"}}`),
		[]byte(`{"latest":{"mtime":"yesterday"}}`), []byte(`{"latest":{"dm":tru}}`),
		[]byte(`{"latest":{"x":[1,]}}`), []byte(`{"latest":{"x":{"a"}}}`), []byte(`{"latest":{"x":"\q"}}`),
		[]byte(`{"latest":{"size":7.0}}`), []byte(`{"latest":{"size":7e0}}`), []byte(`{"latest":{"x":-}}`),
		good[:len(good)-1], {envelopeV1, 5, '{', '}'},
	} {
		checkListedAsDecoder(t, b, false)
	}
}

// TestListedRandomized: randomized records decode the same both ways.
func TestListedRandomized(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 1))
	shapes := listedShapes()
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	for i := range 2000 {
		v := shapes[names[r.IntN(len(names))]]
		v.VersionID = randListedString(r)
		v.ETag = randListedString(r)
		v.Null, v.DeleteMarker, v.Versioned = r.IntN(2) == 0, r.IntN(4) == 0, r.IntN(2) == 0
		v.Size = r.Int64N(1<<50) - 10
		v.ModTime = time.Unix(r.Int64N(1<<34)-1<<33, r.Int64N(1e9)).UTC()
		v.Checksums = nil
		for range r.IntN(3) {
			v.Checksums = append(v.Checksums, Checksum{Algorithm: ChecksumAlgorithm(randListedString(r)), Value: randListedString(r), Type: randListedString(r)})
		}
		v.Meta.User = map[string]string{randListedString(r): randListedString(r)}
		for form, f := range listedForms(t, v) {
			want := listedFull(t, f.b, f.head)
			got, _ := listedFast(t, f.b, f.head)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("record %d (%s): listing\n%+v\nfull\n%+v\nrecord %q", i, form, got, want, f.b)
			}
		}
	}
}

// randListedString is a short string of the characters that matter to a
// JSON scanner: quotes, backslashes, controls, braces, non-ASCII.
func randListedString(r *rand.Rand) string {
	const alphabet = "abcXYZ09-_\"\\/{}[],: \x00\x1f\t\n"
	var b strings.Builder
	for range r.IntN(12) {
		switch r.IntN(10) {
		case 0:
			b.WriteString([]string{"é", "\u2028", "😀", "\ufffd", "\xff"}[r.IntN(5)])
		default:
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
	}
	return b.String()
}

// FuzzListScan: whatever bytes the scan takes, the decoder takes too and
// reads the same listed fields from.
func FuzzListScan(f *testing.F) {
	for _, v := range listedShapes() {
		f.Add(encode(headRecord{Latest: v}), true)
		f.Add(encode(v), false)
	}
	f.Add([]byte(`{"latest":{"size":1,"x":[{"a":[1e5,null]}]}}`), true)
	f.Fuzz(func(t *testing.T, b []byte, head bool) {
		var s listedVersion
		var err error
		if head {
			err = scanListedHead(b, &s)
		} else {
			err = scanListedVersion(b, &s)
		}
		if err != nil {
			return
		}
		var h listedHead
		target := any(&h)
		if !head {
			target = &h.Latest
		}
		if err := decodeJSON(b, target); err != nil {
			t.Fatalf("scanned %q, but the decoder refuses it: %v", b, err)
		}
		if got, want := s.info("b", "k", true), h.Latest.info("b", "k", true); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: scan\n%+v\ndecoder\n%+v", b, got, want)
		}
	})
}

// BenchmarkListedDecode is the decode of one head record as a listing
// reads it: the full record, the listed fields by the JSON decoder, and
// the scan.
func BenchmarkListedDecode(b *testing.B) {
	for _, shape := range []string{"plain null version", "checksums", "metadata tags lock sse"} {
		v := listedShapes()[shape]
		rec := encode(headRecord{Latest: v, LatestKey: "s/v/b\x00key\x00ffff" + v.VersionID})
		b.Run(shape+"/full", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var h headRecord
				if err := decode(rec, &h); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(shape+"/listed-decoder", func(b *testing.B) {
			b.ReportAllocs()
			var h listedHead
			for b.Loop() {
				h = listedHead{}
				if err := decode(rec, &h); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(shape+"/listed-scan", func(b *testing.B) {
			b.ReportAllocs()
			var d listDecoder
			for b.Loop() {
				if _, err := d.head(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
