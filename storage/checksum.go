package storage

import (
	"crypto/sha1"
	"hash"
	"hash/crc32"

	"github.com/minio/crc64nvme"
	"github.com/minio/sha256-simd"
)

// NewChecksumHash returns the hash for an S3 checksum algorithm, or nil
// for an unknown one. The protocol layer uses it to verify checksums while
// bytes stream in; the engine to build composite multipart checksums.
func NewChecksumHash(alg ChecksumAlgorithm) hash.Hash {
	switch alg {
	case ChecksumCRC32:
		return crc32.NewIEEE()
	case ChecksumCRC32C:
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case ChecksumSHA1:
		return sha1.New()
	case ChecksumSHA256:
		return sha256.New()
	case ChecksumCRC64NVME:
		return crc64nvme.New()
	}
	return nil
}
