package storage

import (
	"net"
	"strings"
	"unicode/utf8"
)

// ValidBucketName applies S3's general-purpose bucket naming rules.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	first, last := name[0], name[len(name)-1]
	if first == '-' || first == '.' || last == '-' || last == '.' {
		return false
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return false
	}
	// Only digits and dots can spell an IP address here (':' is refused
	// above); parse nothing else, since a failed parse allocates and this
	// runs on every request.
	if strings.Trim(name, "0123456789.") == "" && net.ParseIP(name) != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}

// ValidObjectKey accepts any non-empty UTF-8 key of at most 1024 bytes
// without NUL (NUL separates key parts in the metadata key space).
func ValidObjectKey(key string) bool {
	return key != "" && len(key) <= 1024 && utf8.ValidString(key) && !strings.ContainsRune(key, 0)
}
