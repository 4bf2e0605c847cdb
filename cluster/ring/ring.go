// Package ring is consistent-hash placement: an immutable Ring built from
// cluster membership maps a key to n drives, on distinct nodes whenever
// there are enough nodes. It is pure: same members and version, same answer.
package ring

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// VnodesPerWeight is how many points one unit of weight puts on the ring;
// enough that placement spreads evenly over a handful of drives.
const VnodesPerWeight = 128

// ErrNotEnoughDrives is returned when fewer than n drives exist.
var ErrNotEnoughDrives = errors.New("ring: not enough drives")

// Member is one drive on the ring.
type Member struct {
	DriveID string
	NodeID  string // failure domain
	Weight  int    // relative capacity; 0 counts as 1
}

type point struct {
	hash  uint64
	drive int // index into members
}

// Ring is immutable after New.
type Ring struct {
	version uint64
	members []Member
	points  []point
}

// New builds a ring; members are sorted so input order does not matter.
func New(version uint64, members []Member) (*Ring, error) {
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b Member) int {
		if a.DriveID < b.DriveID {
			return -1
		}
		if a.DriveID > b.DriveID {
			return 1
		}
		return 0
	})
	r := &Ring{version: version, members: ms}
	for i, m := range ms {
		if i > 0 && ms[i-1].DriveID == m.DriveID {
			return nil, fmt.Errorf("ring: duplicate drive %q", m.DriveID)
		}
		w := max(m.Weight, 1)
		for v := range w * VnodesPerWeight {
			r.points = append(r.points, point{hash: xxhash.Sum64String(m.DriveID + "#" + strconv.Itoa(v)), drive: i})
		}
	}
	slices.SortFunc(r.points, func(a, b point) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return a.drive - b.drive
	})
	return r, nil
}

// Version identifies this ring.
func (r *Ring) Version() uint64 { return r.version }

// Members returns the ring's drives.
func (r *Ring) Members() []Member { return slices.Clone(r.members) }

// Locate returns n distinct drives for key, walking the ring clockwise from
// the key's hash. The first pass takes at most one drive per node; if there
// are fewer nodes than n, later passes fill in with other drives so data
// still spreads as evenly as it can.
func (r *Ring) Locate(key string, n int) ([]string, error) {
	if n > len(r.members) {
		return nil, fmt.Errorf("%w: want %d, have %d", ErrNotEnoughDrives, n, len(r.members))
	}
	h := xxhash.Sum64String(key)
	start, _ := slices.BinarySearchFunc(r.points, h, func(p point, t uint64) int {
		switch {
		case p.hash < t:
			return -1
		case p.hash > t:
			return 1
		}
		return 0
	})
	out := make([]string, 0, n)
	taken := make(map[int]bool, n)
	perNode := map[string]int{}
	for limit := 1; len(out) < n; limit++ {
		for i := 0; i < len(r.points) && len(out) < n; i++ {
			p := r.points[(start+i)%len(r.points)]
			m := r.members[p.drive]
			if taken[p.drive] || perNode[m.NodeID] >= limit {
				continue
			}
			taken[p.drive] = true
			perNode[m.NodeID]++
			out = append(out, m.DriveID)
		}
	}
	return out, nil
}
