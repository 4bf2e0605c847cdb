package storage_test

import (
	"errors"
	"testing"

	"github.com/filesphere/filesphere/storage"
)

// TestUploadChecksumType: each algorithm's default type and the pairs S3
// refuses.
func TestUploadChecksumType(t *testing.T) {
	for _, tc := range []struct {
		alg  storage.ChecksumAlgorithm
		in   string
		want string // "" with ok false: refused
		ok   bool
	}{
		{"", "", "", true},
		{"", storage.ChecksumFullObject, "", false},
		{storage.ChecksumCRC32, "", storage.ChecksumComposite, true},
		{storage.ChecksumSHA256, "", storage.ChecksumComposite, true},
		{storage.ChecksumCRC64NVME, "", storage.ChecksumFullObject, true},
		{storage.ChecksumCRC64NVME, storage.ChecksumComposite, "", false},
		{storage.ChecksumCRC32C, storage.ChecksumFullObject, storage.ChecksumFullObject, true},
		{storage.ChecksumSHA1, storage.ChecksumFullObject, "", false},
		{storage.ChecksumSHA256, storage.ChecksumComposite, storage.ChecksumComposite, true},
		{storage.ChecksumCRC32, "PARTIAL", "", false},
	} {
		got, err := storage.UploadChecksumType(tc.alg, tc.in)
		if tc.ok != (err == nil) || got != tc.want || err != nil && !errors.Is(err, storage.ErrChecksumMismatch) {
			t.Errorf("%q %q: %q, %v", tc.alg, tc.in, got, err)
		}
	}
}
