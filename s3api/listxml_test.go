package s3api

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/filesphere/filesphere/storage"
)

// The hand-written list encoders must produce exactly what xml.Marshal
// produces for the same value: clients have parsed those bytes for years.

// sameAsMarshal encodes doc both ways and fails on any difference. It
// also appends after existing bytes, as render does after the header.
func sameAsMarshal(t *testing.T, what string, doc xmlAppender) {
	t.Helper()
	want, err := xml.Marshal(doc)
	if err != nil {
		t.Fatalf("%s: xml.Marshal: %v", what, err)
	}
	got := doc.appendXML(nil)
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		lo := max(0, i-60)
		t.Fatalf("%s: differs at byte %d (got %d bytes, want %d)\n got: %q\nwant: %q", what, i, len(got), len(want),
			got[lo:min(len(got), i+60)], want[lo:min(len(want), i+60)])
	}
	prefixed := doc.appendXML([]byte(xml.Header))
	if !bytes.Equal(prefixed, append([]byte(xml.Header), want...)) {
		t.Fatalf("%s: appending after the header changed the document", what)
	}
}

// nasty are strings at the edges of what encoding/xml escapes or replaces.
var nasty = []string{
	"", "a", "plain/key.txt", `&<>"'`, "\t\n\r", "a\x00b", "\x01\x08\x0b\x0c\x0e\x1f", "\x7f",
	"]]>", "<![CDATA[x]]>", "&amp;", "&#34;", "%2F%20", "a b+c",
	"\uFFFD", "\xef\xbf\xbd", "\uFFFE", "\uFFFF", "\u00e9\u4e16\U0001F600", "\uD7FF\uE000\U00010000\U0010FFFF",
	"\x80", "\xc0", "\xff", "\xc3", "\xe4\xb8", "\xf0\x9f\x98", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf",
	"ok\xffok", "\u2028\u2029\u0085", strings.Repeat("k", 1024),
}

// pieces builds random keys: runs of safe ASCII between the hard cases.
var pieces = append([]string{"x", "dir/", "0", "-", "~", "."}, nasty...)

func randString(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return ""
	case 1: // arbitrary bytes, mostly not UTF-8
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return string(b)
	case 2: // arbitrary runes, including ones outside XML's range
		var b []byte
		for range r.IntN(12) {
			var c rune
			switch r.IntN(4) {
			case 0:
				c = rune(r.IntN(0x80))
			case 1:
				c = rune(r.IntN(0x10000))
			default:
				c = rune(r.IntN(utf8.MaxRune + 1))
			}
			b = utf8.AppendRune(b, c)
		}
		return string(b)
	}
	var sb strings.Builder
	for range r.IntN(6) + 1 {
		sb.WriteString(pieces[r.IntN(len(pieces))])
	}
	return sb.String()
}

func randTime(r *rand.Rand) s3Time {
	locs := []*time.Location{time.UTC, time.FixedZone("x", -11*3600-1800), time.FixedZone("y", 14*3600)}
	var t time.Time
	switch r.IntN(10) {
	case 0:
		t = time.Time{}
	case 1: // years Format writes other than as four digits
		t = time.Date([]int{-1, -12345, 10000, 99999, 0}[r.IntN(5)], 3, 4, 5, 6, 7, r.IntN(1e9), time.UTC)
	case 2: // the day's edges, in zones that move the UTC date
		t = time.Date(2000+r.IntN(100), time.Month(1+r.IntN(12)), 1+r.IntN(31), []int{0, 23}[r.IntN(2)], 59, 59, 999_999_999, locs[r.IntN(len(locs))])
	default:
		t = time.Unix(r.Int64N(253402300799), r.Int64N(1e9)).In(locs[r.IntN(len(locs))])
	}
	return s3Time(t)
}

func randOwner(r *rand.Rand) owner { return owner{ID: randString(r), DisplayName: randString(r)} }

func randAlgorithms(r *rand.Rand) []string {
	var out []string
	for range r.IntN(3) {
		out = append(out, []string{"CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME", randString(r)}[r.IntN(6)])
	}
	return out
}

func randPrefixes(r *rand.Rand) []commonPrefix {
	var out []commonPrefix
	for range r.IntN(4) {
		out = append(out, commonPrefix{Prefix: randString(r)})
	}
	return out
}

func randBool(r *rand.Rand) bool { return r.IntN(2) == 0 }

func randListBucket(r *rand.Rand) listBucketResult {
	out := listBucketResult{NS: s3NS, Name: randString(r), Prefix: randString(r), NextMarker: randString(r),
		StartAfter: randString(r), ContToken: randString(r), NextContToken: randString(r), MaxKeys: r.IntN(2001) - 1000,
		Delimiter: randString(r), EncodingType: []string{"", "url", randString(r)}[r.IntN(3)], IsTruncated: randBool(r),
		CommonPrefixes: randPrefixes(r)}
	if randBool(r) {
		out.NS = randString(r)
	}
	if randBool(r) {
		m := randString(r)
		out.Marker = &m
	}
	if randBool(r) {
		n := r.IntN(1001)
		out.KeyCount = &n
	}
	for range r.IntN(6) {
		e := objectEntry{Key: randString(r), LastModified: randTime(r), ETag: randString(r), ChecksumAlgorithm: randAlgorithms(r),
			ChecksumType: []string{"", "FULL_OBJECT", "COMPOSITE"}[r.IntN(3)], Size: r.Int64() - r.Int64(), StorageClass: randString(r)}
		if randBool(r) {
			o := randOwner(r)
			e.Owner = &o
		}
		out.Contents = append(out.Contents, e)
	}
	return out
}

func randVersions(r *rand.Rand) listVersionsResult {
	out := listVersionsResult{NS: s3NS, Name: randString(r), Prefix: randString(r), KeyMarker: randString(r),
		VersionIDMarker: randString(r), NextKeyMarker: randString(r), NextVersionIDMarker: randString(r), MaxKeys: r.IntN(1001),
		Delimiter: randString(r), EncodingType: []string{"", "url"}[r.IntN(2)], IsTruncated: randBool(r), CommonPrefixes: randPrefixes(r)}
	for range r.IntN(6) {
		e := versionEntry{Key: randString(r), VersionID: randString(r), IsLatest: randBool(r), LastModified: randTime(r), Owner: randOwner(r)}
		switch r.IntN(8) {
		case 0:
			e.XMLName.Local = "DeleteMarker"
		case 1: // a nameless entry is named after its field
		case 2:
			e.XMLName = xml.Name{Space: randString(r), Local: "Version"}
		default:
			e.XMLName.Local = "Version"
			size := r.Int64N(1 << 40)
			e.Size, e.ETag, e.StorageClass, e.ChecksumAlgorithm = &size, randString(r), "STANDARD", randAlgorithms(r)
		}
		out.Entries = append(out.Entries, e)
	}
	return out
}

func randChecksums(r *rand.Rand) checksumFields {
	pick := func() string {
		if randBool(r) {
			return ""
		}
		return randString(r)
	}
	return checksumFields{ChecksumCRC32: pick(), ChecksumCRC32C: pick(), ChecksumSHA1: pick(), ChecksumSHA256: pick(),
		ChecksumCRC64NVME: pick(), ChecksumType: pick()}
}

func randParts(r *rand.Rand) listPartsResult {
	out := listPartsResult{NS: s3NS, Bucket: randString(r), Key: randString(r), UploadID: randString(r), Initiator: randOwner(r),
		Owner: randOwner(r), StorageClass: "STANDARD", PartNumberMarker: r.IntN(10001), NextPartNumberMarker: r.IntN(10001),
		MaxParts: r.IntN(1001), IsTruncated: randBool(r), ChecksumAlgorithm: []string{"", "CRC32", randString(r)}[r.IntN(3)],
		ChecksumType: []string{"", "COMPOSITE"}[r.IntN(2)]}
	for range r.IntN(5) {
		out.Parts = append(out.Parts, partEntry{PartNumber: r.IntN(10001), LastModified: randTime(r), ETag: randString(r),
			Size: r.Int64N(5 << 30), checksumFields: randChecksums(r)})
	}
	return out
}

func randUploads(r *rand.Rand) listMultipartUploadsResult {
	out := listMultipartUploadsResult{NS: s3NS, Bucket: randString(r), KeyMarker: randString(r), UploadIDMarker: randString(r),
		NextKeyMarker: randString(r), NextUploadIDMarker: randString(r), Prefix: randString(r), Delimiter: randString(r),
		MaxUploads: r.IntN(1001), EncodingType: []string{"", "url"}[r.IntN(2)], IsTruncated: randBool(r), CommonPrefixes: randPrefixes(r)}
	for range r.IntN(5) {
		out.Uploads = append(out.Uploads, uploadEntry{Key: randString(r), UploadID: randString(r), Initiator: randOwner(r),
			Owner: randOwner(r), StorageClass: randString(r), Initiated: randTime(r)})
	}
	return out
}

func TestListXMLMatchesMarshalTable(t *testing.T) {
	empty := ""
	zero := 0
	size := int64(0)
	when := s3Time(time.Date(2024, 2, 29, 23, 59, 59, 999_999_999, time.FixedZone("e", -3600)))
	o := owner{ID: "id&<>", DisplayName: "name\"'"}
	cases := map[string]xmlAppender{
		"v1 empty":       listBucketResult{NS: s3NS, Name: "b", Marker: &empty, MaxKeys: 1000},
		"v2 empty":       listBucketResult{NS: s3NS, Name: "b", KeyCount: &zero, MaxKeys: 0},
		"no namespace":   listBucketResult{Name: "b"},
		"empty slices":   listBucketResult{NS: s3NS, Contents: []objectEntry{}, CommonPrefixes: []commonPrefix{}},
		"zero time":      listBucketResult{NS: s3NS, Contents: []objectEntry{{}}},
		"nil owner only": listBucketResult{NS: s3NS, Contents: []objectEntry{{Key: "k", Owner: &owner{}}}},
		"v2 full": listBucketResult{NS: s3NS, Name: "bucket", Prefix: "p%2F", StartAfter: "s", ContToken: "tok", NextContToken: "next",
			KeyCount: &zero, MaxKeys: 2, Delimiter: "%2F", EncodingType: "url", IsTruncated: true,
			Contents: []objectEntry{
				{Key: "a&b", LastModified: when, ETag: `"0123"`, ChecksumAlgorithm: []string{"CRC32", "SHA256"}, ChecksumType: "FULL_OBJECT", Size: 5, Owner: &o, StorageClass: "STANDARD"},
				{Key: "]]>", LastModified: when, ETag: `"4567-2"`, Size: -1, StorageClass: "STANDARD"},
			},
			CommonPrefixes: []commonPrefix{{Prefix: "dir/"}, {Prefix: ""}}},
		"v1 full": listBucketResult{NS: s3NS, Name: "b", Marker: &empty, NextMarker: "\x00\xff", MaxKeys: 1000, IsTruncated: true,
			Contents: []objectEntry{{Key: "k", Owner: &o}}},
		"versions empty": listVersionsResult{NS: s3NS, Name: "b"},
		"versions": listVersionsResult{NS: s3NS, Name: "b", Prefix: "p", KeyMarker: "km", VersionIDMarker: "null", NextKeyMarker: "nk",
			NextVersionIDMarker: "nv", MaxKeys: 3, Delimiter: "/", EncodingType: "url", IsTruncated: true,
			Entries: []versionEntry{
				{XMLName: xml.Name{Local: "Version"}, Key: "k", VersionID: "v1", IsLatest: true, LastModified: when, ETag: `"e"`,
					ChecksumAlgorithm: []string{"CRC64NVME"}, Size: &size, Owner: o, StorageClass: "STANDARD"},
				{XMLName: xml.Name{Local: "DeleteMarker"}, Key: "k", VersionID: "null", LastModified: when, Owner: o},
				{Key: "nameless"},
				{XMLName: xml.Name{Space: "urn:x&y", Local: "Version"}, Key: "spaced"},
			},
			CommonPrefixes: []commonPrefix{{Prefix: "d/"}}},
		"parts empty": listPartsResult{NS: s3NS},
		"parts": listPartsResult{NS: s3NS, Bucket: "b", Key: "k", UploadID: "u", Initiator: o, Owner: o, StorageClass: "STANDARD",
			PartNumberMarker: 1, NextPartNumberMarker: 3, MaxParts: 2, IsTruncated: true, ChecksumAlgorithm: "CRC32C", ChecksumType: "COMPOSITE",
			Parts: []partEntry{{PartNumber: 2, LastModified: when, ETag: `"p"`, Size: 5 << 20, checksumFields: checksumFields{ChecksumCRC32C: "AAAA==", ChecksumType: "COMPOSITE"}},
				{PartNumber: 3, LastModified: when, ETag: `"q"`, checksumFields: checksumFields{ChecksumCRC32: "a", ChecksumCRC32C: "b", ChecksumSHA1: "c", ChecksumSHA256: "d", ChecksumCRC64NVME: "e"}}}},
		"uploads empty": listMultipartUploadsResult{NS: s3NS},
		"uploads": listMultipartUploadsResult{NS: s3NS, Bucket: "b", KeyMarker: "k", UploadIDMarker: "u", NextKeyMarker: "nk", NextUploadIDMarker: "nu",
			Prefix: "p", Delimiter: "/", MaxUploads: 1000, EncodingType: "url", IsTruncated: true,
			Uploads:        []uploadEntry{{Key: "k\t", UploadID: "u", Initiator: o, Owner: o, StorageClass: "STANDARD", Initiated: when}},
			CommonPrefixes: []commonPrefix{{Prefix: "x/"}}},
	}
	for _, s := range nasty {
		cases["key "+s] = listBucketResult{NS: s3NS, Name: s, Prefix: s, Marker: &s, Contents: []objectEntry{{Key: s, ETag: s, ChecksumAlgorithm: []string{s}, Owner: &owner{s, s}}},
			CommonPrefixes: []commonPrefix{{Prefix: s}}}
		cases["version "+s] = listVersionsResult{NS: s, Entries: []versionEntry{{XMLName: xml.Name{Local: "Version"}, Key: s, VersionID: s, ETag: s, Owner: owner{s, s}}}}
	}
	for name, doc := range cases {
		sameAsMarshal(t, name, doc)
	}
}

func TestListXMLMatchesMarshalRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0x1157))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		sameAsMarshal(t, "ListBucketResult", randListBucket(r))
		sameAsMarshal(t, "ListVersionsResult", randVersions(r))
		sameAsMarshal(t, "ListPartsResult", randParts(r))
		sameAsMarshal(t, "ListMultipartUploadsResult", randUploads(r))
		if t.Failed() {
			t.Fatalf("iteration %d, seed %d", i, seed)
		}
	}
}

// The handlers' own results, including encoding-type=url, go through
// both encoders the same way.
func TestListXMLMatchesMarshalFromHandlers(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	res := storage.ListResult{IsTruncated: true, NextMarker: "next\x00", CommonPrefixes: []string{"a/", "b&c/", "\xff/"}}
	for i := range 50 {
		obj := storage.ObjectInfo{Key: randString(r), ModTime: time.Time(randTime(r)), ETag: `"e"`, Size: int64(i)}
		if i%3 == 0 {
			obj.Checksums = []storage.Checksum{{Algorithm: storage.ChecksumCRC32, Type: "FULL_OBJECT"}, {Algorithm: storage.ChecksumSHA256, Type: "COMPOSITE"}}
		}
		res.Objects = append(res.Objects, obj)
	}
	for _, enc := range []string{"", "url"} {
		p := listParams{prefix: "p&/", delimiter: "/", encoding: enc, maxKeys: 1000, enc: func(s string) string { return s }}
		if enc == "url" {
			p.enc = s3URLEncode
		}
		for _, withOwner := range []bool{false, true} {
			n := len(res.Objects)
			out := listBucketResult{NS: s3NS, Name: "b", KeyCount: &n}
			p.fill(&out, res, withOwner, owner{ID: "o", DisplayName: "d"})
			sameAsMarshal(t, "fill "+enc, out)
		}
	}
}

func TestS3TimeAppendText(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		tm := randTime(r)
		want, _ := tm.MarshalText()
		if got := tm.appendText(nil); !bytes.Equal(got, want) {
			t.Fatalf("%v: got %s, want %s", time.Time(tm), got, want)
		}
	}
}

// FuzzListXMLEscape holds appendEscaped to encoding/xml's escaping of
// arbitrary bytes.
func FuzzListXMLEscape(f *testing.F) {
	for _, s := range nasty {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		if err := xml.EscapeText(&want, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if got := appendEscaped(nil, s); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%q: got %q, want %q", s, got, want.Bytes())
		}
	})
}

// BenchmarkListObjectsXML encodes a ListObjectsV2 page of 1000 keys (with
// owners, as fetch-owner=true and V1 send) the old way and the new way.
func BenchmarkListObjectsXML(b *testing.B) {
	page := benchListPage(1000)
	b.Run("xml.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			body, err := xml.Marshal(page)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
		}
	})
	b.Run("appendXML", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bp := getXMLBuf()
			body := page.appendXML(append((*bp)[:0], xml.Header...))
			b.SetBytes(int64(len(body)))
			putXMLBuf(bp, body)
		}
	})
}

func benchListPage(n int) listBucketResult {
	o := owner{ID: "02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4", DisplayName: "filesphere"}
	count := n
	out := listBucketResult{NS: s3NS, Name: "bench", Prefix: "photos/2024/", KeyCount: &count, MaxKeys: 1000, IsTruncated: true,
		NextContToken: "cGhvdG9zLzIwMjQvaW1nLTAwMDk5OS5qcGc"}
	base := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		out.Contents = append(out.Contents, objectEntry{Key: fmt.Sprintf("photos/2024/img-%06d.jpg", i),
			LastModified: s3Time(base.Add(time.Duration(i) * time.Second)), ETag: `"9b2cf535f27731c974343645a3985328"`,
			Size: int64(100000 + i), Owner: &o, StorageClass: "STANDARD"})
	}
	return out
}
