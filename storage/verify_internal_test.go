package storage

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/cluster/meta"
)

// TestVerify: every stored version reads back to its recorded SHA-256;
// a version whose part list points at other bytes (valid frames, wrong
// content: what bitrot checks cannot see) is reported mismatched by
// name, one with too few shards unreadable; a prefix and a bucket
// restrict what is read, and progress is reported per version.
func TestVerify(t *testing.T) {
	ctx := context.Background()
	e := newLifecycleTestEngine(t, nil)
	e.cfg.MinPartSize = 1
	for _, b := range []string{"bkt", "other"} {
		if err := e.CreateBucket(ctx, b, CreateBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(b, k string, data []byte) {
		t.Helper()
		if _, err := e.PutObject(ctx, b, k, bytes.NewReader(data), PutOptions{Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
	}
	put("bkt", "a/small", []byte("tiny"))
	put("bkt", "a/big", testBytes(1, 300<<10))
	put("bkt", "b/big", testBytes(2, 300<<10))
	put("other", "x", testBytes(3, 50<<10))
	if _, err := e.DeleteObject(ctx, "other", "gone", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	id, err := e.CreateMultipartUpload(ctx, "bkt", "a/mp", PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cps []CompletePart
	for n, p := range [][]byte{testBytes(4, 100<<10), testBytes(5, 10)} {
		pi, err := e.UploadPart(ctx, "bkt", "a/mp", id, n+1, bytes.NewReader(p), PartOptions{Size: int64(len(p))})
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, CompletePart{Number: n + 1, ETag: pi.ETag})
	}
	if _, err := e.CompleteMultipartUpload(ctx, "bkt", "a/mp", id, cps, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var seen []VerifyProgress
	rep, err := e.Verify(ctx, VerifyOptions{}, func(p VerifyProgress) { seen = append(seen, p) })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != 5 || rep.OK != 5 || rep.Mismatched+rep.Unreadable != 0 || rep.Bytes != 4+600<<10+50<<10+100<<10+10 || len(seen) != 5 {
		t.Fatalf("healthy: %+v, %d progress calls", rep, len(seen))
	}
	if rep, err := e.Verify(ctx, VerifyOptions{Bucket: "bkt", Prefix: "a/"}, nil); err != nil || rep.Checked != 3 {
		t.Fatalf("prefix a/: %+v %v", rep, err)
	}

	// a/big's record now points at b/big's stream: every frame verifies.
	vb, _, _ := e.resolve(ctx, "bkt", "b/big", "")
	va, _, _ := e.resolve(ctx, "bkt", "a/big", "")
	pb, err := e.loadParts(ctx, vb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(dataKey(va.DataKey), encode(partsRecord{Parts: pb}))}}); err != nil {
		t.Fatal(err)
	}
	// x loses two of its three shards (EC 2+1).
	vx, _, _ := e.resolve(ctx, "other", "x", "")
	px, _ := e.loadParts(ctx, vx)
	for i := range 2 {
		st, _ := e.drives.Drive(px[0].Drives[i])
		if err := st.Delete(ctx, shardID(px[0].DataID, i)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err = e.Verify(ctx, VerifyOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != 5 || rep.OK != 3 || rep.Mismatched != 1 || rep.Unreadable != 1 ||
		!strings.HasPrefix(rep.MismatchedNames[0], "bkt/a/big ") || !strings.HasPrefix(rep.UnreadableNames[0], "other/x ") {
		t.Fatalf("damaged: %+v", rep)
	}
	var nb *BucketNotFoundError
	if _, err := e.Verify(ctx, VerifyOptions{Bucket: "nope"}, nil); !errors.As(err, &nb) {
		t.Fatalf("missing bucket: %v", err)
	}
}
