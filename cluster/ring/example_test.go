package ring_test

import (
	"fmt"
	"slices"

	"github.com/filesphere/filesphere/cluster/ring"
)

// A ring over three nodes with two drives each places a 2+1 stream on
// three drives of three different nodes; the same key always lands on the
// same drives for the same ring version.
func ExampleRing_Locate() {
	var members []ring.Member
	for _, node := range []string{"n1", "n2", "n3"} {
		for _, d := range []string{"a", "b"} {
			members = append(members, ring.Member{DriveID: node + "-" + d, NodeID: node})
		}
	}
	r, err := ring.New(7, members)
	if err != nil {
		panic(err)
	}
	drives, err := r.Locate("stream-0001", 3)
	if err != nil {
		panic(err)
	}
	nodes := map[string]bool{}
	for _, d := range drives {
		nodes[d[:2]] = true
	}
	again, _ := r.Locate("stream-0001", 3)
	fmt.Println("ring version:", r.Version())
	fmt.Println("drives:", len(drives), "distinct nodes:", len(nodes))
	fmt.Println("stable:", slices.Equal(drives, again))
	_, err = r.Locate("stream-0001", 7)
	fmt.Println(err)
	// Output:
	// ring version: 7
	// drives: 3 distinct nodes: 3
	// stable: true
	// ring: not enough drives: want 7, have 6
}
