package storage

import (
	"encoding/base64"
	"encoding/binary"
)

// The CRC of a concatenation from the CRCs and lengths of its pieces, for
// FULL_OBJECT multipart checksums: no byte is read again. This is the
// GF(2) polynomial method of zlib's crc32_combine (x^(8*len2) mod P times
// crc1, plus crc2), which holds for any reflected CRC with equal initial
// and final xor, so for CRC32, CRC32C and CRC64NVME alike. Go's hash/crc32
// and crc64nvme export no combine, and the one in minio-go is internal.

// crcPoly is one reflected CRC polynomial and its width in bits.
type crcPoly struct {
	poly  uint64
	width uint
	// x2n[k] is x^(2^k) mod poly.
	x2n [64]uint64
}

func newCRCPoly(poly uint64, width uint) *crcPoly {
	p := &crcPoly{poly: poly, width: width}
	p.x2n[0] = 1 << (width - 2) // x^1 in the reflected order
	for k := 1; k < len(p.x2n); k++ {
		p.x2n[k] = p.multmod(p.x2n[k-1], p.x2n[k-1])
	}
	return p
}

// multmod returns a*b mod poly; bit width-1 is x^0.
func (p *crcPoly) multmod(a, b uint64) uint64 {
	m := uint64(1) << (p.width - 1)
	var r uint64
	for {
		if a&m != 0 {
			r ^= b
			if a&(m-1) == 0 {
				return r
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ p.poly
		} else {
			b >>= 1
		}
	}
}

// x8n returns x^(8n) mod poly: the shift of n bytes.
func (p *crcPoly) x8n(n int64) uint64 {
	r := uint64(1) << (p.width - 1)
	for k := 3; n != 0; k++ {
		if n&1 != 0 {
			r = p.multmod(p.x2n[k%len(p.x2n)], r)
		}
		n >>= 1
	}
	return r
}

// combine is the CRC of A||B from crcA, crcB and len(B).
func (p *crcPoly) combine(crcA, crcB uint64, lenB int64) uint64 {
	return p.multmod(p.x8n(lenB), crcA) ^ crcB
}

var crcPolys = map[ChecksumAlgorithm]*crcPoly{
	ChecksumCRC32:     newCRCPoly(0xedb88320, 32),
	ChecksumCRC32C:    newCRCPoly(0x82f63b78, 32),
	ChecksumCRC64NVME: newCRCPoly(0x9a6c9329ac4bc9b5, 64),
}

// CanCombine reports whether alg's checksums of parts combine into the
// checksum of the whole (the CRCs; never the SHA digests).
func CanCombine(alg ChecksumAlgorithm) bool { return crcPolys[alg] != nil }

// crcPiece is one piece's base64 CRC and length.
type crcPiece struct {
	sum  string
	size int64
}

// combineCRCs returns the base64 CRC of the concatenated pieces; ok is
// false for an algorithm that does not combine or a malformed piece.
func combineCRCs(alg ChecksumAlgorithm, pieces []crcPiece) (string, bool) {
	p := crcPolys[alg]
	if p == nil || len(pieces) == 0 {
		return "", false
	}
	n := int(p.width / 8)
	var acc uint64
	for i, pc := range pieces {
		raw, err := base64.StdEncoding.DecodeString(pc.sum)
		if err != nil || len(raw) != n {
			return "", false
		}
		v := binary.BigEndian.Uint64(append(make([]byte, 8-n, 8), raw...))
		if i == 0 {
			acc = v
			continue
		}
		acc = p.combine(acc, v, pc.size)
	}
	out := binary.BigEndian.AppendUint64(nil, acc)
	return base64.StdEncoding.EncodeToString(out[8-n:]), true
}
