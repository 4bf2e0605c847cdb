package sigv4

import (
	"strings"
	"testing"
)

// scopeService must answer what the split it replaced answered: the
// next-to-last field of at least five.
func TestScopeServiceMatchesSplit(t *testing.T) {
	split := func(cred string) string {
		parts := strings.Split(cred, "/")
		if len(parts) < 5 {
			return ""
		}
		return parts[len(parts)-2]
	}
	for _, cred := range []string{
		"", "/", "////", "/////", "AK/20250101/us-east-1/s3/aws4_request",
		"AK/20250101/us-east-1/iam/aws4_request", "AK/20250101/us-east-1/sts",
		"AK/20250101/us-east-1/s3/aws4_request/extra", "a/b/c/d/", "a/b/c//e",
		"AK/x/y/sts/", "no-slash", "AK/20250101/us-east-1/s3/aws4_request/",
	} {
		if got, want := scopeService(cred), split(cred); got != want {
			t.Errorf("scopeService(%q) = %q, split gives %q", cred, got, want)
		}
	}
}

func FuzzScopeService(f *testing.F) {
	f.Add("AK/20250101/us-east-1/s3/aws4_request")
	f.Fuzz(func(t *testing.T, cred string) {
		parts := strings.Split(cred, "/")
		want := ""
		if len(parts) >= 5 {
			want = parts[len(parts)-2]
		}
		if got := scopeService(cred); got != want {
			t.Errorf("scopeService(%q) = %q, want %q", cred, got, want)
		}
	})
}
