package storage

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/minio/minio-go/v7"
)

func b64Sum(alg ChecksumAlgorithm, b []byte) string {
	h := NewChecksumHash(alg)
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// TestCombineCRCs checks the combined CRC of split data against the CRC of
// the whole, for every combinable algorithm, with empty, tiny and large
// pieces, and against minio-go's full-object checksum of the same parts.
func TestCombineCRCs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	splits := [][]int{
		{len(data)},
		{0, len(data)},
		{1, len(data) - 1},
		{len(data) - 1, 0, 1},
		{5 << 10, 1 << 20, 7, 1<<20 + 3, len(data) - (5<<10 + 1<<20 + 7 + 1<<20 + 3)},
	}
	minioType := map[ChecksumAlgorithm]minio.ChecksumType{
		ChecksumCRC32: minio.ChecksumCRC32, ChecksumCRC32C: minio.ChecksumCRC32C, ChecksumCRC64NVME: minio.ChecksumCRC64NVME,
	}
	for _, alg := range []ChecksumAlgorithm{ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME} {
		if !CanCombine(alg) {
			t.Fatalf("%s does not combine", alg)
		}
		want := b64Sum(alg, data)
		for _, sizes := range splits {
			var pieces []crcPiece
			var parts []minio.ObjectPart
			off := 0
			for i, n := range sizes {
				s := b64Sum(alg, data[off:off+n])
				pieces = append(pieces, crcPiece{sum: s, size: int64(n)})
				p := minio.ObjectPart{PartNumber: i + 1, Size: int64(n)}
				switch alg {
				case ChecksumCRC32:
					p.ChecksumCRC32 = s
				case ChecksumCRC32C:
					p.ChecksumCRC32C = s
				case ChecksumCRC64NVME:
					p.ChecksumCRC64NVME = s
				}
				parts = append(parts, p)
				off += n
			}
			got, ok := combineCRCs(alg, pieces)
			if !ok || got != want {
				t.Errorf("%s %v: combined %q (ok %v), direct %q", alg, sizes, got, ok, want)
			}
			mc, err := minioType[alg].FullObjectChecksum(parts)
			if err != nil || mc.Encoded() != want {
				t.Errorf("%s %v: minio-go says %v (%v), direct %q", alg, sizes, mc, err, want)
			}
		}
	}
}

func TestCombineCRCsRefuses(t *testing.T) {
	for _, tc := range []struct {
		alg    ChecksumAlgorithm
		pieces []crcPiece
	}{
		{ChecksumSHA256, []crcPiece{{b64Sum(ChecksumSHA256, []byte("a")), 1}}},
		{ChecksumSHA1, []crcPiece{{b64Sum(ChecksumSHA1, []byte("a")), 1}}},
		{ChecksumCRC32, nil},
		{ChecksumCRC32, []crcPiece{{"not base64", 1}}},
		{ChecksumCRC32, []crcPiece{{b64Sum(ChecksumCRC64NVME, []byte("a")), 1}}}, // wrong width
	} {
		if got, ok := combineCRCs(tc.alg, tc.pieces); ok {
			t.Errorf("%s %v: combined to %q", tc.alg, tc.pieces, got)
		}
	}
}

func BenchmarkCombineCRCs(b *testing.B) {
	pieces := make([]crcPiece, 10000)
	for i := range pieces {
		pieces[i] = crcPiece{sum: b64Sum(ChecksumCRC32C, []byte{byte(i)}), size: 5 << 20}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := combineCRCs(ChecksumCRC32C, pieces); !ok {
			b.Fatal("not combined")
		}
	}
}
