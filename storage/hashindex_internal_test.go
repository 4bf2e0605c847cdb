package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/storage/sse"
)

// checkHashIndex compares the content index with the namespace: exactly
// one entry per version record that has a content hash, with the value
// the record implies, and no other entry. With verify, every version is
// also read back and its bytes hashed.
func checkHashIndex(t testing.TB, e *Engine, verify bool) int {
	t.Helper()
	ctx := context.Background()
	want := map[string]hashEntry{}
	vents, err := e.kv.List(ctx, meta.PrefixStorage+keyVersion, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range vents {
		rest := strings.TrimPrefix(ent.Key, meta.PrefixStorage+keyVersion)
		bucket, rest, _ := strings.Cut(rest, "\x00")
		key, _, _ := strings.Cut(rest, "\x00")
		var v versionRecord
		if err := decode(ent.Value, &v); err != nil {
			t.Fatal(err)
		}
		if v.DeleteMarker {
			continue
		}
		if v.SHA256 == "" {
			t.Fatalf("%s/%s version %s has no content hash", bucket, key, v.VersionID)
		}
		if ent.Key != versionKeyPrefix(bucket, key)+versionOrder(v.ModTime)+v.VersionID {
			t.Fatalf("version key %q does not follow from its record", ent.Key)
		}
		want[v.indexKey(bucket, key)] = hashEntry{Order: versionOrder(v.ModTime), Size: v.Size, ID: v.shownID()}
		if verify {
			got := sha256.New()
			rc, err := e.openVersion(ctx, bucket, key, v, nil, sse.Key{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.Copy(got, rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got.Sum(nil)) != v.SHA256 {
				t.Fatalf("%s/%s version %s: content hashes to %x, record says %s", bucket, key, v.VersionID, got.Sum(nil), v.SHA256)
			}
		}
	}
	idx, err := e.kv.List(ctx, meta.PrefixStorage+keyHash, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range idx {
		w, ok := want[ent.Key]
		if !ok {
			t.Fatalf("index entry %q names no version", ent.Key)
		}
		var got hashEntry
		if err := decode(ent.Value, &got); err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Fatalf("index entry %q is %+v, the version says %+v", ent.Key, got, w)
		}
		delete(want, ent.Key)
	}
	for k := range want {
		t.Fatalf("version %q missing from the index", k)
	}
	return len(idx)
}

// TestHashIndexExact drives random PUTs (a few contents shared by many
// keys), copies, multipart completions, delete markers, version deletes,
// null-version overwrites in suspended buckets, versioning changes and
// lifecycle expiry, and checks after every step that the index is exactly
// the namespace, and that lookups find what the records hold.
func TestHashIndexExact(t *testing.T) {
	ctx := context.Background()
	clk := &testClock{now: time.Date(2030, 1, 1, 7, 0, 0, 0, time.UTC)}
	e := newLifecycleTestEngine(t, clk)
	e.cfg.MinPartSize = 1
	buckets := []string{"plain", "ver", "susp"}
	for _, b := range buckets {
		if err := e.CreateBucket(ctx, b, CreateBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.SetBucketVersioning(ctx, "ver", VersioningEnabled))
	must(e.SetBucketVersioning(ctx, "susp", VersioningEnabled))
	must(e.PutBucketLifecycle(ctx, "ver", Lifecycle{Rules: []LifecycleRule{
		{ID: "exp", Enabled: true, Filter: LifecycleFilter{Prefix: "a"}, Expiration: &LifecycleExpiration{Days: 1}},
		{ID: "nc", Enabled: true, NoncurrentExpiration: &NoncurrentExpiration{Days: 1}},
	}}))
	// Contents: small (inline), and larger than the inline threshold.
	contents := [][]byte{[]byte("alpha"), []byte("beta"), testBytes(1, 40<<10), testBytes(2, 70<<10), {}}
	rng := rand.New(rand.NewPCG(3, 5))
	keys := []string{"a1", "a2", "b1", "b2"}
	for step := range 400 {
		b, k := buckets[rng.IntN(len(buckets))], keys[rng.IntN(len(keys))]
		switch op := rng.IntN(20); {
		case op < 7:
			c := contents[rng.IntN(len(contents))]
			_, err := e.PutObject(ctx, b, k, bytes.NewReader(c), PutOptions{Size: int64(len(c))})
			must(err)
		case op < 9:
			sb, sk := buckets[rng.IntN(len(buckets))], keys[rng.IntN(len(keys))]
			_, err := e.CopyObject(ctx, CopySource{Bucket: sb, Key: sk}, b, k, CopyOptions{ReplaceMeta: true})
			var nf *ObjectNotFoundError
			if !errors.As(err, &nf) {
				must(err)
			}
		case op < 11:
			id, err := e.CreateMultipartUpload(ctx, b, k, PutOptions{})
			must(err)
			var cps []CompletePart
			for n := 1; n <= 1+rng.IntN(3); n++ {
				c := contents[rng.IntN(len(contents)-1)]
				p, err := e.UploadPart(ctx, b, k, id, n, bytes.NewReader(c), PartOptions{Size: int64(len(c))})
				must(err)
				cps = append(cps, CompletePart{Number: n, ETag: p.ETag})
			}
			_, err = e.CompleteMultipartUpload(ctx, b, k, id, cps, CompleteOptions{})
			must(err)
		case op < 13:
			_, err := e.DeleteObject(ctx, b, k, DeleteOptions{})
			must(err)
		case op < 15:
			if vs, _ := e.listKeyVersions(ctx, b, k); len(vs) > 0 {
				_, err := e.DeleteObject(ctx, b, k, DeleteOptions{VersionID: vs[rng.IntN(len(vs))].rec.VersionID})
				must(err)
			}
		case op < 16:
			st := VersioningSuspended
			if rng.IntN(2) == 0 {
				st = VersioningEnabled
			}
			must(e.SetBucketVersioning(ctx, "susp", st))
		case op < 18:
			clk.advance(time.Duration(rng.IntN(20)) * time.Hour)
			_, err := e.RunLifecycle(ctx)
			must(err)
		default:
			checkLookups(t, e, contents)
		}
		checkHashIndex(t, e, step%50 == 0)
		if t.Failed() {
			return
		}
	}
	checkHashIndex(t, e, true)
	checkLookups(t, e, contents)
}

// checkLookups looks every content up and compares with the records.
func checkLookups(t testing.TB, e *Engine, contents [][]byte) {
	t.Helper()
	ctx := context.Background()
	for _, c := range contents {
		sum := sha256.Sum256(c)
		var got []HashMatch
		after := ""
		for {
			res, err := e.FindBySHA256(ctx, strings.ToUpper(hex.EncodeToString(sum[:])), HashFindOptions{After: after, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, res.Matches...)
			if res.Next == "" {
				break
			}
			after = res.Next
		}
		for _, m := range got {
			info, err := e.HeadObject(ctx, m.Bucket, m.Key, GetOptions{VersionID: orNull(m.VersionID)})
			if err != nil {
				t.Fatalf("match %+v: %v", m, err)
			}
			if info.SHA256 != hex.EncodeToString(sum[:]) || info.Size != m.Size || !info.ModTime.Equal(m.ModTime) {
				t.Fatalf("match %+v, the version is %+v", m, info)
			}
			latest, err := e.HeadObject(ctx, m.Bucket, m.Key, GetOptions{})
			isLatest := err == nil && latest.VersionID == m.VersionID && latest.ModTime.Equal(m.ModTime)
			if isLatest != m.IsLatest {
				t.Fatalf("match %+v: latest is %+v (%v)", m, latest, err)
			}
		}
		if !slices.IsSortedFunc(got, func(a, b HashMatch) int {
			return strings.Compare(a.Bucket+"\x00"+a.Key, b.Bucket+"\x00"+b.Key)
		}) {
			t.Fatalf("matches out of order: %+v", got)
		}
	}
}

func orNull(id string) string {
	if id == "" {
		return NullVersionID
	}
	return id
}

// TestHashIndexConcurrent overwrites, deletes and completes the same keys
// from many goroutines in a versioned and an unversioned bucket; the
// index must still be exactly the namespace.
func TestHashIndexConcurrent(t *testing.T) {
	ctx := context.Background()
	e := newLifecycleTestEngine(t, nil)
	e.cfg.MinPartSize = 1
	for _, b := range []string{"plain", "ver"} {
		if err := e.CreateBucket(ctx, b, CreateBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.SetBucketVersioning(ctx, "ver", VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for i := range 40 {
				b := []string{"plain", "ver"}[rng.IntN(2)]
				k := fmt.Sprintf("k%d", rng.IntN(3))
				var err error
				switch rng.IntN(4) {
				case 0, 1:
					c := []byte(fmt.Sprintf("content %d", rng.IntN(4)))
					_, err = e.PutObject(ctx, b, k, bytes.NewReader(c), PutOptions{Size: int64(len(c))})
				case 2:
					_, err = e.DeleteObject(ctx, b, k, DeleteOptions{})
				default:
					var id string
					if id, err = e.CreateMultipartUpload(ctx, b, k, PutOptions{}); err == nil {
						var p PartInfo
						c := testBytes(uint64(i%3), 20<<10)
						if p, err = e.UploadPart(ctx, b, k, id, 1, bytes.NewReader(c), PartOptions{Size: int64(len(c))}); err == nil {
							_, err = e.CompleteMultipartUpload(ctx, b, k, id, []CompletePart{{Number: 1, ETag: p.ETag}}, CompleteOptions{})
						}
					}
				}
				if err != nil && !errors.Is(err, ErrConflict) {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := checkHashIndex(t, e, true); n == 0 {
		t.Fatal("nothing indexed")
	}
}

// TestMultipartWholeSHA256: a multipart version records the SHA-256 of
// all its bytes, not of a part, whatever order the parts came in.
func TestMultipartWholeSHA256(t *testing.T) {
	ctx := context.Background()
	e := newLifecycleTestEngine(t, nil)
	e.cfg.MinPartSize = 1
	if err := e.CreateBucket(ctx, "bkt", CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{testBytes(7, 100<<10), testBytes(8, 3), testBytes(9, 50<<10)}
	id, err := e.CreateMultipartUpload(ctx, "bkt", "k", PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cps := make([]CompletePart, len(parts))
	for _, n := range []int{3, 1, 2} {
		p, err := e.UploadPart(ctx, "bkt", "k", id, n, bytes.NewReader(parts[n-1]), PartOptions{Size: int64(len(parts[n-1]))})
		if err != nil {
			t.Fatal(err)
		}
		cps[n-1] = CompletePart{Number: n, ETag: p.ETag}
	}
	info, err := e.CompleteMultipartUpload(ctx, "bkt", "k", id, cps, CompleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	whole := sha256.Sum256(slices.Concat(parts...))
	if info.SHA256 != hex.EncodeToString(whole[:]) {
		t.Fatalf("completion says %s, content is %x", info.SHA256, whole)
	}
	head, err := e.HeadObject(ctx, "bkt", "k", GetOptions{})
	if err != nil || head.SHA256 != info.SHA256 {
		t.Fatalf("head %+v %v", head, err)
	}
	res, err := e.FindBySHA256(ctx, info.SHA256, HashFindOptions{})
	if err != nil || len(res.Matches) != 1 || res.Matches[0].Key != "k" || !res.Matches[0].IsLatest {
		t.Fatalf("lookup %+v %v", res, err)
	}
	if _, err := e.FindBySHA256(ctx, "abc", HashFindOptions{}); !errors.Is(err, ErrInvalidSHA256) {
		t.Fatalf("bad hash: %v", err)
	}
	var nb *BucketNotFoundError
	if _, err := e.FindBySHA256(ctx, info.SHA256, HashFindOptions{Bucket: "nope"}); !errors.As(err, &nb) {
		t.Fatalf("missing bucket: %v", err)
	}
}

// testBytes is n pseudo-random bytes from seed.
func testBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
