package storage_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/storage"
)

func TestDigest(t *testing.T) {
	data := randBytes(20, 100_003)
	m, s := md5.Sum(data), sha256.Sum256(data)
	crc := crc32.NewIEEE()
	crc.Write(data)
	wrong := bytes.Repeat([]byte{7}, 32)
	for _, tt := range []struct {
		name          string
		spec          storage.DigestSpec
		md5, sha, sum []byte
	}{
		{name: "nothing", spec: storage.DigestSpec{}},
		{name: "md5", spec: storage.DigestSpec{MD5: true}, md5: m[:]},
		{name: "content", spec: storage.DigestSpec{MD5: true, SHA256: true}, md5: m[:], sha: s[:]},
		{name: "content+crc32", spec: storage.DigestSpec{MD5: true, SHA256: true, Checksum: storage.ChecksumCRC32},
			md5: m[:], sha: s[:], sum: crc.Sum(nil)},
		{name: "sha256 checksum shares", spec: storage.DigestSpec{SHA256: true, Checksum: storage.ChecksumSHA256}, sha: s[:], sum: s[:]},
		// A signed payload's hash is taken as given (the reader below
		// verifies it): a wrong one shows nothing was hashed.
		{name: "signed", spec: storage.DigestSpec{MD5: true, SHA256: true, SignedSHA256: wrong}, md5: m[:], sha: wrong},
		{name: "signed checksum", spec: storage.DigestSpec{Checksum: storage.ChecksumSHA256, SignedSHA256: wrong}, sha: wrong, sum: wrong},
		{name: "signed not asked for", spec: storage.DigestSpec{MD5: true, SignedSHA256: wrong}, md5: m[:]},
		{name: "malformed signed ignored", spec: storage.DigestSpec{SHA256: true, SignedSHA256: wrong[:5]}, sha: s[:]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := storage.NewDigest(tt.spec)
			if _, err := io.Copy(d, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			if d.Len() != int64(len(data)) {
				t.Errorf("Len %d", d.Len())
			}
			if !bytes.Equal(d.MD5(), tt.md5) || !bytes.Equal(d.SHA256(), tt.sha) || !bytes.Equal(d.Checksum(), tt.sum) {
				t.Errorf("md5 %x sha %x sum %x; want %x %x %x", d.MD5(), d.SHA256(), d.Checksum(), tt.md5, tt.sha, tt.sum)
			}
		})
	}
}

// records returns the raw JSON of every meta entry under prefix.
func records(t *testing.T, kv meta.KV, prefix string) []map[string]any {
	t.Helper()
	ents, err := kv.List(context.Background(), meta.PrefixStorage+prefix, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range ents {
		var doc map[string]any
		if err := json.Unmarshal(storage.LegacyRecord(t, e.Key, e.Value), &doc); err != nil {
			t.Fatal(err)
		}
		out = append(out, doc)
	}
	return out
}

func hexSHA(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestEngineRecordsContentSHA256: every stream records its SHA-256, and a
// version made of one stream (PUT, inline or coded, known or unknown size,
// copy) records it for the whole content; a multipart version has it per
// part and, hashed at completion, for the whole content.
func TestEngineRecordsContentSHA256(t *testing.T) {
	ctx := context.Background()
	te := newTestEngineInline(t, 2, 2, 16<<10, 1000)
	if err := te.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		size int
		n    int64
	}{
		{"inline", 500, 500}, {"inline-unknown", 700, -1}, {"coded", 50_000, 50_000}, {"coded-unknown", 40_001, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := randBytes(uint64(tt.size), tt.size)
			key := "k-" + tt.name
			if _, err := te.PutObject(ctx, "bkt", key, bytes.NewReader(data), storage.PutOptions{Size: tt.n}); err != nil {
				t.Fatal(err)
			}
			want := hexSHA(data)
			found := false
			for _, v := range records(t, te.kv, "v/bkt\x00"+key+"\x00") {
				found = true
				if v["sha256"] != want {
					t.Fatalf("version sha256 %v, want %s", v["sha256"], want)
				}
			}
			if !found {
				t.Fatal("no version record")
			}
		})
	}

	data := randBytes(30, 60_000)
	if _, err := te.PutObject(ctx, "bkt", "src", bytes.NewReader(data), storage.PutOptions{Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	if _, err := te.CopyObject(ctx, storage.CopySource{Bucket: "bkt", Key: "src"}, "bkt", "copy", storage.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, v := range records(t, te.kv, "v/bkt\x00copy\x00") {
		if v["sha256"] != hexSHA(data) {
			t.Fatalf("copy sha256 %v", v["sha256"])
		}
	}

	up, err := te.CreateMultipartUpload(ctx, "bkt", "mp", storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	part1, part2 := randBytes(31, 5<<20), randBytes(32, 1234)
	var parts []storage.CompletePart
	for i, p := range [][]byte{part1, part2} {
		pi, err := te.UploadPart(ctx, "bkt", "mp", up, i+1, bytes.NewReader(p), storage.PartOptions{Size: int64(len(p))})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, storage.CompletePart{Number: i + 1, ETag: pi.ETag})
	}
	if _, err := te.CompleteMultipartUpload(ctx, "bkt", "mp", up, parts, storage.CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, v := range records(t, te.kv, "v/bkt\x00mp\x00") {
		if want := hexSHA(append(append([]byte{}, part1...), part2...)); v["sha256"] != want {
			t.Fatalf("multipart version sha256 %v, the whole content's is %s", v["sha256"], want)
		}
		pr := records(t, te.kv, "d/"+v["dkey"].(string))
		got := pr[0]["parts"].([]any)
		if len(got) != 2 || got[0].(map[string]any)["sha256"] != hexSHA(part1) || got[1].(map[string]any)["sha256"] != hexSHA(part2) {
			t.Fatalf("part records %v", got)
		}
	}
}

// TestEngineTakesCallerDigest: with PutOptions.Digest the ETag, content
// hash and an upload's checksum come from the caller's Digest (fed by the
// protocol layer's verifying reader), not from hashing the body again.
// The test feeds the Digest other bytes than the body to show which one
// the engine used.
func TestEngineTakesCallerDigest(t *testing.T) {
	ctx := context.Background()
	te := newTestEngineInline(t, 2, 2, 16<<10, 1000)
	if err := te.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body, other := randBytes(40, 30_000), randBytes(41, 30_000)
	for _, size := range []int64{int64(len(body)), -1} {
		dg := storage.NewDigest(storage.DigestSpec{MD5: true, SHA256: true})
		r := io.TeeReader(bytes.NewReader(body), writerFunc(func(p []byte) { dg.Write(other[dg.Len() : dg.Len()+int64(len(p))]) }))
		info, err := te.PutObject(ctx, "bkt", "k", r, storage.PutOptions{Size: size, Digest: dg})
		if err != nil {
			t.Fatal(err)
		}
		m := md5.Sum(other)
		if info.ETag != `"`+hex.EncodeToString(m[:])+`"` {
			t.Fatalf("size %d: ETag %s is not the caller's digest", size, info.ETag)
		}
		got, err := readAll(t, te, "bkt", "k", storage.GetOptions{})
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("stored bytes differ: %v", err)
		}
	}

	// A Digest without the content hashes is not enough: the engine hashes.
	dg := storage.NewDigest(storage.DigestSpec{Checksum: storage.ChecksumCRC32})
	info, err := te.PutObject(ctx, "bkt", "k2", io.TeeReader(bytes.NewReader(body), dg), storage.PutOptions{Size: int64(len(body)), Digest: dg})
	if m := md5.Sum(body); err != nil || info.ETag != `"`+hex.EncodeToString(m[:])+`"` {
		t.Fatalf("partial digest: %v, ETag %s", err, info.ETag)
	}

	// An upload created with CRC32 takes the part checksum from a caller's
	// Digest of the same algorithm.
	up, err := te.CreateMultipartUpload(ctx, "bkt", "mp", storage.PutOptions{ChecksumAlgorithm: storage.ChecksumCRC32})
	if err != nil {
		t.Fatal(err)
	}
	pdg := storage.NewDigest(storage.DigestSpec{MD5: true, SHA256: true, Checksum: storage.ChecksumCRC32})
	pdg.Write(other)
	pi, err := te.UploadPart(ctx, "bkt", "mp", up, 1, bytes.NewReader(body), storage.PartOptions{Size: int64(len(body)), Digest: pdg})
	if err != nil {
		t.Fatal(err)
	}
	want := base64.StdEncoding.EncodeToString(crc32IEEE(other))
	if len(pi.Checksums) != 1 || pi.Checksums[0].Value != want {
		t.Fatalf("part checksums %+v, want the caller's CRC32 %s", pi.Checksums, want)
	}
	if !strings.HasPrefix(pi.ETag, `"`) {
		t.Fatalf("ETag %q", pi.ETag)
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

func crc32IEEE(b []byte) []byte {
	h := crc32.NewIEEE()
	h.Write(b)
	return h.Sum(nil)
}

// BenchmarkDigest is one PUT body's hashing, per 1 MiB written, for the
// Digest the protocol layer builds: what the engine records (MD5 +
// SHA-256), with a CRC32 checksum, and for a signed payload (SHA-256 taken
// from the signature check); and each algorithm alone, the rates that turn
// a CPU profile's hash time into bytes hashed.
func BenchmarkDigest(b *testing.B) {

	signed := bytes.Repeat([]byte{1}, 32)
	buf := randBytes(50, 1<<20)
	for _, tt := range []struct {
		name string
		spec storage.DigestSpec
	}{
		{"content", storage.DigestSpec{MD5: true, SHA256: true}},
		{"content+crc32", storage.DigestSpec{MD5: true, SHA256: true, Checksum: storage.ChecksumCRC32}},
		{"signed-content", storage.DigestSpec{MD5: true, SHA256: true, SignedSHA256: signed}},
		{"md5", storage.DigestSpec{MD5: true}},
		{"sha256", storage.DigestSpec{SHA256: true}},
		{"crc32", storage.DigestSpec{Checksum: storage.ChecksumCRC32}},
		{"crc32c", storage.DigestSpec{Checksum: storage.ChecksumCRC32C}},
		{"crc64nvme", storage.DigestSpec{Checksum: storage.ChecksumCRC64NVME}},
		{"sha1", storage.DigestSpec{Checksum: storage.ChecksumSHA1}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			d := storage.NewDigest(tt.spec)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				d.Write(buf)
			}
		})
	}
}
