package drive

import (
	"fmt"
	"maps"
	"slices"
)

// Set resolves drive ids to stores; it satisfies storage.Drives for the
// drives of one node.
type Set map[string]ShardStore

// Drive returns the store with id.
func (s Set) Drive(id string) (ShardStore, error) {
	d, ok := s[id]
	if !ok {
		return nil, fmt.Errorf("%w: unknown drive %q", ErrOffline, id)
	}
	return d, nil
}

// DriveIDs lists the set's drive ids in order.
func (s Set) DriveIDs() []string {
	return slices.Sorted(maps.Keys(s))
}
