package storage_test

import (
	"testing"

	"github.com/filesphere/filesphere/storage"
)

// TestValidBucketNameIPs: names formatted as IP addresses are refused,
// names of digits and dots or with letters that are not one are not.
func TestValidBucketNameIPs(t *testing.T) {
	for name, want := range map[string]bool{
		"192.168.5.4": false, "10.0.0.1": false, "1.2.3.4": false,
		"1.2.3": true, "1.2.3.4.5": true, "256.1.1.1": true, "123": true, "abc.def.1.2": true, "my-bucket": true,
	} {
		if got := storage.ValidBucketName(name); got != want {
			t.Errorf("ValidBucketName(%q) = %v, want %v", name, got, want)
		}
	}
}
