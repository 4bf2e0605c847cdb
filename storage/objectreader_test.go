package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/filesphere/filesphere/erasure"
	"github.com/filesphere/filesphere/storage"
)

// writeRecorder records the size of every Write it gets.
type writeRecorder struct {
	buf    bytes.Buffer
	writes []int
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, len(p))
	return w.buf.Write(p)
}

// TestObjectReaderWriteTo: io.Copy from an ObjectReader writes the
// object in whole chunks (block/k bytes), not in io.Copy's 32 KiB pieces,
// for whole objects and ranges; a block that cannot be verified ends the
// copy with ErrReadQuorum after exactly the verified bytes.
func TestObjectReaderWriteTo(t *testing.T) {
	const block = 256 << 10
	ctx := context.Background()
	fe := newFaultyEngine(t, 2, 2, block)
	if err := fe.CreateBucket(ctx, "bkt", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(12, 5*block+99)
	fe.putObject(t, "obj", data)
	for _, rng := range []*storage.Range{nil, {Start: block/2 + 1, End: 3*block + 7}} {
		or, err := fe.GetObject(ctx, "bkt", "obj", storage.GetOptions{Range: rng})
		if err != nil {
			t.Fatal(err)
		}
		var w writeRecorder
		n, err := io.Copy(&w, or)
		or.Close()
		want := data
		if rng != nil {
			want = data[rng.Start : rng.End+1]
		}
		if err != nil || n != int64(len(want)) || !bytes.Equal(w.buf.Bytes(), want) {
			t.Fatalf("range %v: copied %d, %v, identical %v", rng, n, err, bytes.Equal(w.buf.Bytes(), want))
		}
		for i, sz := range w.writes {
			if sz > block/2 {
				t.Fatalf("write %d of %d bytes, larger than a chunk", i, sz)
			}
		}
		if rng == nil && w.writes[0] != block/2 {
			t.Fatalf("first write %d bytes, want a whole chunk of %d", w.writes[0], block/2)
		}
	}

	rotten := fe.putObject(t, "rotten", data)
	codec, err := erasure.New(2, 2, erasure.WithBlockSize(block))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		flipFileByte(t, rotten[i].path, codec.ShardOffset(2)+erasure.HashSize+9)
	}
	or, err := fe.GetObject(ctx, "bkt", "rotten", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer or.Close()
	var w writeRecorder
	n, err := io.Copy(&w, or)
	if !errors.Is(err, storage.ErrReadQuorum) || n != 2*block || !bytes.Equal(w.buf.Bytes(), data[:2*block]) {
		t.Fatalf("copy past an unreadable block: %d bytes, %v; want the %d verified bytes and ErrReadQuorum", n, err, 2*block)
	}
}
