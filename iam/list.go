package iam

import (
	"context"
	"strings"

	"github.com/filesphere/filesphere/cluster/meta"
)

// ListOptions page through a listing, as the IAM List* calls do.
type ListOptions struct {
	// PathPrefix keeps only entities whose path starts with it ("" = all).
	PathPrefix string
	// Marker continues after the previous page (its returned marker).
	Marker string
	// MaxItems is the page size: 0 means 100, at most 1000.
	MaxItems int
}

const (
	defaultMaxItems = 100
	maxMaxItems     = 1000
	maxMarkerLen    = 320
	listBatch       = 256
)

// listPage returns one page of the records under prefix whose path has
// opt.PathPrefix, in key order, and the marker of the next page ("" when
// this is the last).
func listPage[T any](ctx context.Context, kv meta.KV, prefix string, opt ListOptions, pathOf func(*T) string) ([]T, string, error) {
	limit := opt.MaxItems
	switch {
	case limit == 0:
		limit = defaultMaxItems
	case limit < 0 || limit > maxMaxItems:
		return nil, "", constraint("", "maxItems", "Member must have value between 1 and 1000")
	}
	if len(opt.Marker) > maxMarkerLen {
		return nil, "", constraint(opt.Marker, "marker", "Member must have length less than or equal to 320")
	}
	start := prefix
	if opt.Marker != "" {
		start = prefix + opt.Marker + "\x00" // just after the marker
	}
	var out []T
	var names []string
	for {
		recs, keys, err := list[T](ctx, kv, prefix, start, listBatch)
		if err != nil {
			return nil, "", err
		}
		for i := range recs {
			if strings.HasPrefix(pathOf(&recs[i]), opt.PathPrefix) {
				out = append(out, recs[i])
				names = append(names, nameFromKey(prefix, keys[i]))
			}
			if len(out) > limit {
				return out[:limit], names[limit-1], nil
			}
		}
		if len(recs) < listBatch {
			return out, "", nil
		}
		start = keys[len(keys)-1] + "\x00"
	}
}
