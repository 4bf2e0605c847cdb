package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestListFoldsAcrossBatches: a delimited listing skips folded prefixes
// inside the entries it read and with a seek past them, whatever their
// size against the read batches (1000, then 32 after a prefix outlasted a
// batch); paging through with every page size yields exactly the model's
// keys and common prefixes, in order.
func TestListFoldsAcrossBatches(t *testing.T) {
	sizes := []int{1, 3, 31, 32, 33, 999, 1000, 1001, 2500, 5, 64, 1}
	var keys []string
	for d, n := range sizes {
		for i := range n {
			keys = append(keys, fmt.Sprintf("d%02d/%05d", d, i))
		}
		keys = append(keys, fmt.Sprintf("d%02d~top", d)) // no delimiter: listed as a key
	}
	slices.Sort(keys)
	e := newListEngine(t, len(keys), func(i int) string { return keys[i] })
	for _, tc := range []struct{ prefix, delim string }{{"", "/"}, {"d0", "/"}, {"d08/", "/"}, {"", "0"}, {"", ""}} {
		var want []string
		for _, k := range keys {
			if !strings.HasPrefix(k, tc.prefix) {
				continue
			}
			if j := strings.Index(k[len(tc.prefix):], tc.delim); tc.delim != "" && j >= 0 {
				k = k[:len(tc.prefix)+j+len(tc.delim)]
			}
			if len(want) == 0 || want[len(want)-1] != k {
				want = append(want, k)
			}
		}
		for _, max := range []int{13, 1000} {
			var got []string
			marker := ""
			for page := 0; ; page++ {
				res, err := e.ListObjects(context.Background(), "big", ListOptions{Prefix: tc.prefix, Delimiter: tc.delim, Marker: marker, MaxKeys: max})
				if err != nil || page > len(keys) {
					t.Fatalf("prefix %q delimiter %q max %d: page %d: %v", tc.prefix, tc.delim, max, page, err)
				}
				var names []string
				for _, o := range res.Objects {
					names = append(names, o.Key)
				}
				names = append(names, res.CommonPrefixes...)
				slices.Sort(names) // a page is keys and prefixes, each sorted
				got = append(got, names...)
				if !res.IsTruncated {
					break
				}
				marker = res.NextMarker
			}
			if !slices.Equal(got, want) {
				t.Fatalf("prefix %q delimiter %q max %d: %d names, want %d (first difference at %d)", tc.prefix, tc.delim, max, len(got), len(want), firstDiff(got, want))
			}
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
