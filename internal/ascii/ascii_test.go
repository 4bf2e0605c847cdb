package ascii

import (
	"strings"
	"testing"
)

func TestEqualLower(t *testing.T) {
	for _, tc := range []struct {
		lower, s string
		want     bool
	}{
		{"x-amz-date", "X-Amz-Date", true},
		{"x-amz-date", "x-amz-date", true},
		{"x-amz-date", "X-Amz-Dat", false},
		{"x-amz-date", "X-Amz-Datf", false},
		{"", "", true},
		{"a[", "A[", true},
		{"@", "`", false}, // '@' and '`' differ by the case bit but are not letters
	} {
		if got := EqualLower(tc.lower, tc.s); got != tc.want {
			t.Errorf("EqualLower(%q, %q) = %v", tc.lower, tc.s, got)
		}
		if Is(tc.s) && tc.want != (tc.lower == strings.ToLower(tc.s)) {
			t.Errorf("%q, %q: disagrees with strings.ToLower", tc.lower, tc.s)
		}
	}
	if Is("caf\u00e9") || !Is("cafe") {
		t.Error("Is wrong")
	}
}
