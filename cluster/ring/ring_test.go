package ring

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
)

func members(nodes, drivesPerNode int) []Member {
	var ms []Member
	for n := range nodes {
		for d := range drivesPerNode {
			ms = append(ms, Member{DriveID: fmt.Sprintf("n%d-d%d", n, d), NodeID: "n" + strconv.Itoa(n), Weight: 1})
		}
	}
	return ms
}

func TestLocateDistinctNodesAndStable(t *testing.T) {
	r, err := New(7, members(6, 2))
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := New(7, reversed(members(6, 2)))
	for i := range 2000 {
		key := "obj-" + strconv.Itoa(i)
		got, err := r.Locate(key, 4)
		if err != nil {
			t.Fatal(err)
		}
		nodes := map[string]bool{}
		for _, d := range got {
			nodes[d[:2]] = true
		}
		if len(nodes) != 4 {
			t.Fatalf("%s placed on %v: want 4 distinct nodes", key, got)
		}
		again, _ := r2.Locate(key, 4)
		if !slices.Equal(got, again) {
			t.Fatalf("same members in another order gave %v, then %v", got, again)
		}
	}
	if r.Version() != 7 {
		t.Fatalf("version %d", r.Version())
	}
}

func reversed(ms []Member) []Member {
	slices.Reverse(ms)
	return ms
}

func TestLocateFewerNodesSpreadsEvenly(t *testing.T) {
	// Two nodes with three drives each, six shards: three per node.
	r, _ := New(1, members(2, 3))
	for i := range 500 {
		got, err := r.Locate("k"+strconv.Itoa(i), 6)
		if err != nil {
			t.Fatal(err)
		}
		per := map[string]int{}
		for _, d := range got {
			per[d[:2]]++
		}
		if per["n0"] != 3 || per["n1"] != 3 {
			t.Fatalf("placement %v uneven: %v", got, per)
		}
	}
	if _, err := r.Locate("x", 7); err == nil {
		t.Fatal("7 shards on 6 drives accepted")
	}
}

// TestJoinMovesAboutOneOverNPlusOne measures how many shards must move when
// one node joins: about 1/(N+1) of them, not more.
func TestJoinMovesAboutOneOverNPlusOne(t *testing.T) {
	for _, tc := range []struct{ from, shards int }{{4, 2}, {8, 4}} {
		t.Run(fmt.Sprintf("%d->%d", tc.from, tc.from+1), func(t *testing.T) {
			before, _ := New(1, members(tc.from, 1))
			after, _ := New(2, members(tc.from+1, 1))
			const keys = 20000
			moved, total := 0, 0
			for i := range keys {
				k := "object/" + strconv.Itoa(i)
				a, _ := before.Locate(k, tc.shards)
				b, _ := after.Locate(k, tc.shards)
				// A shard moves only if its drive left the key's set: the
				// rebalancer keeps shards whose drive is still chosen.
				total += len(a)
				for _, d := range a {
					if !slices.Contains(b, d) {
						moved++
					}
				}
			}
			frac := float64(moved) / float64(total)
			ideal := 1 / float64(tc.from+1)
			t.Logf("%d->%d nodes: %.3f of shard placements moved (ideal %.3f)", tc.from, tc.from+1, frac, ideal)
			if frac > ideal*1.35 {
				t.Fatalf("%.3f of placements moved, more than 1.35x the ideal %.3f", frac, ideal)
			}
		})
	}
}

func TestWeightsBiasPlacement(t *testing.T) {
	ms := []Member{{DriveID: "big", NodeID: "a", Weight: 3}, {DriveID: "small", NodeID: "b", Weight: 1}}
	r, _ := New(1, ms)
	big := 0
	for i := range 4000 {
		got, _ := r.Locate("k"+strconv.Itoa(i), 1)
		if got[0] == "big" {
			big++
		}
	}
	if big < 2700 || big > 3300 {
		t.Fatalf("weight 3 drive got %d of 4000 first placements, want about 3000", big)
	}
}

func TestDuplicateDriveRefused(t *testing.T) {
	if _, err := New(1, []Member{{DriveID: "a", NodeID: "x"}, {DriveID: "a", NodeID: "y"}}); err == nil {
		t.Fatal("duplicate drive accepted")
	}
}
