package storage

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/storage/drive"
)

// flippingPlacement hands out another ring on every call, as if membership
// changed between any two reads of the placement.
type flippingPlacement struct {
	calls atomic.Uint64
	rings []*ring.Ring
}

func (p *flippingPlacement) Placement() Placement {
	return p.rings[p.calls.Add(1)%uint64(len(p.rings))]
}

// TestWriteRecordsOnePlacementSnapshot: a ring change racing a write never
// records a ring version with drives that version did not choose.
func TestWriteRecordsOnePlacementSnapshot(t *testing.T) {
	kv, err := meta.OpenLocal(t.TempDir() + "/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	set := drive.Set{}
	place := &flippingPlacement{}
	byVersion := map[uint64]*ring.Ring{}
	for v, prefix := range map[uint64]string{1: "a", 2: "b"} {
		var ms []ring.Member
		for i := range 3 {
			id := prefix + strconv.Itoa(i)
			set[id] = drive.NewMemory(id)
			ms = append(ms, ring.Member{DriveID: id, NodeID: id})
		}
		r, err := ring.New(v, ms)
		if err != nil {
			t.Fatal(err)
		}
		place.rings, byVersion[v] = append(place.rings, r), r
	}
	cfg := DefaultEngineConfig()
	cfg.DataShards, cfg.ParityShards, cfg.InlineThreshold, cfg.DeleteGrace = 2, 1, 0, 0
	e, err := NewEngine(cfg, kv, set, place)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if err := e.CreateBucket(ctx, "bkt", CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 40<<10)
	for i := range 10 {
		if _, err := e.PutObject(ctx, "bkt", fmt.Sprint("k", i), bytes.NewReader(data), PutOptions{Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
	}

	seen := map[uint64]int{}
	err = e.walkData(ctx, func(ent dataEntry) {
		for _, d := range ent.parts {
			r, ok := byVersion[d.RingVersion]
			if !ok {
				t.Errorf("%s: ring version %d recorded", d.Name, d.RingVersion)
				continue
			}
			want, _ := r.Locate(d.PlaceKey, len(d.Drives))
			if !slices.Equal(d.Drives, want) {
				t.Errorf("%s: recorded ring %d with drives %v; that ring picks %v", d.Name, d.RingVersion, d.Drives, want)
			}
			seen[d.RingVersion]++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen[1] == 0 || seen[2] == 0 {
		t.Fatalf("versions recorded %v: want writes under both rings", seen)
	}
}
