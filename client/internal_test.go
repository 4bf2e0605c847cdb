package client

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestLocalTargetStaysBelowTheFolder(t *testing.T) {
	root := t.TempDir()
	for _, rel := range []string{"a", "a/b c.txt", "ü/..x", "a..b"} {
		p, err := localTarget(root, rel)
		if err != nil || filepath.Dir(p) == "" || !filepathHasPrefix(p, root) {
			t.Errorf("%q: %q %v", rel, p, err)
		}
	}
	for _, rel := range []string{"", "..", "../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", "a/", "x\x00y"} {
		var ue *UnsafeKeyError
		if _, err := localTarget(root, rel); !errors.As(err, &ue) {
			t.Errorf("%q: accepted (%v)", rel, err)
		}
	}
}

func filepathHasPrefix(p, root string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && len(rel) > 0 && rel[0] != '.'
}

func TestPartSize(t *testing.T) {
	tests := []struct{ size, conf, want int64 }{
		{30 << 20, 8 << 20, 8 << 20},
		{80 << 30, 8 << 20, 9 << 20},          // 80 GiB / 10,000 parts, rounded up to MiB
		{5 << 40, 8 << 20, 525 << 20},         // 5 TiB
		{10000 * (8 << 20), 8 << 20, 8 << 20}, // exactly 10,000 parts
	}
	for _, tc := range tests {
		got := partSize(tc.size, tc.conf)
		if got != tc.want || (tc.size+got-1)/got > MaxParts {
			t.Errorf("partSize(%d, %d) = %d, want %d", tc.size, tc.conf, got, tc.want)
		}
	}
}

func TestCopySource(t *testing.T) {
	if got := copySource("b", "dir/a b+c%?#&ü.txt", "v1"); got != "b/dir/a%20b%2Bc%25%3F%23%26%C3%BC.txt?versionId=v1" {
		t.Errorf("copySource = %q", got)
	}
}

func TestParsers(t *testing.T) {
	sizes := map[string]int64{"4096": 4096, "5MiB": 5 << 20, "5m": 5 << 20, "1.5GiB": 3 << 29, "10MB": 10e6, "64KiB": 64 << 10}
	for in, want := range sizes {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "x", "-1", "5XB", "1e30"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
	durs := map[string]time.Duration{"7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute}
	for in, want := range durs {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v %v", in, got, err)
		}
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	if got, _ := ParseAge("2d", now); !got.Equal(now.Add(-48 * time.Hour)) {
		t.Errorf("ParseAge 2d = %v", got)
	}
	if got, _ := ParseAge("2026-01-02", now); !got.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseAge date = %v", got)
	}
	if _, err := ParseAge("yesterday", now); err == nil {
		t.Error("ParseAge accepted yesterday")
	}
}
