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
	"github.com/filesphere/filesphere/storage/drive"
	"github.com/filesphere/filesphere/storage/sse"
	"github.com/prometheus/client_golang/prometheus"
)

// checkChunkRefs checks the reference counts against the namespace: every
// chunk a version (or nothing else) references has a record whose count
// is exactly the number of references, and every other record counts
// zero. It returns the referenced chunks' bytes and the records.
func checkChunkRefs(t testing.TB, e *Engine) (stored int64, records int) {
	t.Helper()
	ctx := context.Background()
	refs := map[string]int64{}
	vents, err := e.kv.List(ctx, meta.PrefixStorage+keyVersion, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range vents {
		bucket, _, _ := strings.Cut(strings.TrimPrefix(ent.Key, meta.PrefixStorage+keyVersion), "\x00")
		var v versionRecord
		if err := decode(ent.Value, &v); err != nil {
			t.Fatal(err)
		}
		if !v.Dedup {
			continue
		}
		pd, err := loadDataFrom(ctx, e.kv, v)
		if err != nil {
			t.Fatal(err)
		}
		var size int64
		for _, c := range pd.Chunks {
			refs[chunkKey(bucket, c.Hash)]++
			size += c.Size
		}
		if size != v.Size {
			t.Fatalf("%s: chunks add up to %d bytes, the version has %d", ent.Key, size, v.Size)
		}
	}
	err = e.scanChunks(ctx, meta.PrefixStorage+keyChunk, func(bucket, h string, _ uint64, c chunkRecord) error {
		k := chunkKey(bucket, h)
		if c.Refs != refs[k] {
			t.Fatalf("chunk %s counts %d references, the versions hold %d", k, c.Refs, refs[k])
		}
		if (c.Refs == 0) != !c.Zero.IsZero() {
			t.Fatalf("chunk %s: %d references, zero since %v", k, c.Refs, c.Zero)
		}
		if c.Refs > 0 {
			stored += c.Data.Size
		}
		delete(refs, k)
		records++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range refs {
		t.Fatalf("%d references to chunk %s, which has no record", n, k)
	}
	return stored, records
}

// shardCount counts the shard files on every drive.
func shardCount(t testing.TB, e *Engine) int {
	t.Helper()
	n := 0
	for _, id := range e.drives.DriveIDs() {
		st, _ := e.drives.Drive(id)
		if err := st.Walk(context.Background(), "", func(drive.ShardInfo) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// waitShards waits for the background deletions to leave want shards.
func waitShards(t testing.TB, e *Engine, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := shardCount(t, e)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d shards on the drives, want %d", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newDedupEngine(t testing.TB, buckets ...string) *Engine {
	t.Helper()
	e := newLifecycleTestEngine(t, nil)
	e.cfg.MinPartSize = 1
	for _, b := range buckets {
		if err := e.CreateBucket(context.Background(), b, CreateBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := e.SetBucketDedup(context.Background(), b, true); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func readVersion(t testing.TB, e *Engine, bucket, key, version string) []byte {
	t.Helper()
	or, err := e.GetObject(context.Background(), bucket, key, GetOptions{VersionID: version})
	if err != nil {
		t.Fatalf("GET %s/%s %s: %v", bucket, key, version, err)
	}
	defer or.Close()
	b, err := io.ReadAll(or)
	if err != nil {
		t.Fatalf("GET %s/%s %s: %v", bucket, key, version, err)
	}
	return b
}

// edit returns a copy of b with a few bytes changed, inserted and
// removed around random places.
func edit(rng *rand.Rand, b []byte) []byte {
	out := append([]byte(nil), b...)
	for range 2 {
		i := rng.IntN(len(out) - 100)
		switch rng.IntN(3) {
		case 0:
			copy(out[i:], []byte("edited!"))
		case 1:
			out = append(out[:i], append([]byte("inserted text"), out[i:]...)...)
		default:
			out = append(out[:i], out[i+50:]...)
		}
	}
	return out
}

// TestDedupVersionsAndNearDuplicates stores versions of a large file with
// small edits and a folder of near-duplicate files in a deduplicating
// bucket, reads everything back identical, checks the stored bytes are a
// fraction of the logical ones, then deletes in random order checking the
// counts after each delete, and that garbage collection frees exactly the
// unreferenced chunks, and their shards.
func TestDedupVersionsAndNearDuplicates(t *testing.T) {
	ctx := context.Background()
	e := newDedupEngine(t, "dedup")
	if err := e.SetBucketVersioning(ctx, "dedup", VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	type stored struct {
		key, version string
		body         []byte
	}
	var all []stored
	put := func(key string, body []byte) {
		t.Helper()
		info, err := e.PutObject(ctx, "dedup", key, bytes.NewReader(body), PutOptions{Size: int64(len(body))})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		if info.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("content hash %s", info.SHA256)
		}
		all = append(all, stored{key, info.VersionID, body})
	}
	file := testBytes(10, 16<<20)
	var logical int64
	for range 6 {
		put("big.bin", file)
		logical += int64(len(file))
		file = edit(rng, file)
	}
	st, err := e.BucketDedup(ctx, "dedup")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("6 versions of a 16 MiB file, 2 small edits each: logical %d MiB, stored %.1f MiB in %d chunks: ratio %.2f",
		st.LogicalBytes>>20, float64(st.StoredBytes)/(1<<20), st.Chunks, st.Ratio)
	// Each edit changes the chunk it falls in (an insertion or deletion
	// too: the cut points after it are found again), about 1 MiB.
	if st.Ratio < 2.5 {
		t.Fatalf("dedup ratio %.2f of versions with small edits", st.Ratio)
	}
	vStored, vLogical := st.StoredBytes, st.LogicalBytes
	base := testBytes(11, 8<<20)
	for i := range 6 {
		f := edit(rng, base)
		put(fmt.Sprintf("dir/near-%d", i), f)
		logical += int64(len(f))
	}
	if st, err = e.BucketDedup(ctx, "dedup"); err != nil {
		t.Fatal(err)
	}
	t.Logf("6 near-duplicates of an 8 MiB file: logical %d MiB, stored %.1f MiB: ratio %.2f",
		(st.LogicalBytes-vLogical)>>20, float64(st.StoredBytes-vStored)/(1<<20), float64(st.LogicalBytes-vLogical)/float64(st.StoredBytes-vStored))
	// Each file differs from the base in two places: about two chunks of
	// its six are its own, more when an edit lands where the bucket's
	// random polynomial cut a short chunk (1 run in 4 stored 0.63).
	if 10*(st.StoredBytes-vStored) > 7*(st.LogicalBytes-vLogical) {
		t.Fatalf("near-duplicates stored %d of %d bytes", st.StoredBytes-vStored, st.LogicalBytes-vLogical)
	}
	storedBytes, records := checkChunkRefs(t, e)
	if st.LogicalBytes != logical || st.StoredBytes != storedBytes || st.Chunks != records || st.PendingGC != 0 {
		t.Fatalf("status %+v; logical %d, stored %d in %d chunks", st, logical, storedBytes, records)
	}
	t.Logf("all: logical %d MiB, stored %.1f MiB in %d chunks: ratio %.2f", logical>>20, float64(storedBytes)/(1<<20), records, st.Ratio)
	for _, s := range all {
		if got := readVersion(t, e, "dedup", s.key, s.version); !bytes.Equal(got, s.body) {
			t.Fatalf("%s %s reads back other bytes", s.key, s.version)
		}
	}
	// Ranges across chunk boundaries.
	last := all[5] // the last version of big.bin
	for _, r := range [][2]int64{{0, 1}, {chunkMin - 10, 20}, {1 << 20, 5 << 20}, {int64(len(last.body)) - 7, 7}} {
		or, err := e.GetObject(ctx, "dedup", last.key, GetOptions{VersionID: last.version, Range: &Range{Start: r[0], End: r[0] + r[1] - 1}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(or)
		or.Close()
		if err != nil || !bytes.Equal(got, last.body[r[0]:r[0]+r[1]]) {
			t.Fatalf("range %v: %v", r, err)
		}
	}
	shardsBefore := shardCount(t, e)
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for i, s := range all {
		if _, err := e.DeleteObject(ctx, "dedup", s.key, DeleteOptions{VersionID: s.version}); err != nil {
			t.Fatal(err)
		}
		checkChunkRefs(t, e)
		for _, rest := range all[i+1:][:min(2, len(all)-i-1)] {
			if got := readVersion(t, e, "dedup", rest.key, rest.version); !bytes.Equal(got, rest.body) {
				t.Fatalf("after deleting %s: %s reads back other bytes", s.key, rest.key)
			}
		}
	}
	st, _ = e.BucketDedup(ctx, "dedup")
	if st.PendingGC != records || st.StoredBytes != 0 || st.LogicalBytes != 0 {
		t.Fatalf("after deleting all: %+v", st)
	}
	// Nothing goes before its grace; then exactly the unreferenced chunks.
	if n, err := e.CollectChunks(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("collected %d before the grace: %v", n, err)
	}
	if shardCount(t, e) != shardsBefore {
		t.Fatal("shards removed before the grace")
	}
	n, err := e.CollectChunks(ctx, 0)
	if err != nil || n != records {
		t.Fatalf("collected %d of %d: %v", n, records, err)
	}
	waitShards(t, e, 0)
	if _, recs := checkChunkRefs(t, e); recs != 0 {
		t.Fatalf("%d chunk records left", recs)
	}
}

// TestDedupGCKeepsReferenced: a chunk unreferenced past its grace but
// referenced again before collection stays; collection takes only the
// chunks whose count is zero, and a new write of their content after
// collection stores them anew.
func TestDedupGCKeepsReferenced(t *testing.T) {
	ctx := context.Background()
	e := newDedupEngine(t, "dedup")
	a, b := testBytes(20, 3<<20), testBytes(21, 2<<20)
	for k, body := range map[string][]byte{"a": a, "b": b} {
		if _, err := e.PutObject(ctx, "dedup", k, bytes.NewReader(body), PutOptions{Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.DeleteObject(ctx, "dedup", "a", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// a's content comes back under another key before the collection.
	if _, err := e.PutObject(ctx, "dedup", "a2", bytes.NewReader(a), PutOptions{Size: int64(len(a))}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DeleteObject(ctx, "dedup", "b", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	st, _ := e.BucketDedup(ctx, "dedup")
	n, err := e.CollectChunks(ctx, 0)
	if err != nil || n != st.PendingGC || n == 0 {
		t.Fatalf("collected %d, %d pending: %v", n, st.PendingGC, err)
	}
	checkChunkRefs(t, e)
	if got := readVersion(t, e, "dedup", "a2", ""); !bytes.Equal(got, a) {
		t.Fatal("a2 lost its chunks")
	}
	if _, err := e.PutObject(ctx, "dedup", "b", bytes.NewReader(b), PutOptions{Size: int64(len(b))}); err != nil {
		t.Fatal(err)
	}
	checkChunkRefs(t, e)
	if got := readVersion(t, e, "dedup", "b", ""); !bytes.Equal(got, b) {
		t.Fatal("b rewritten after collection reads back other bytes")
	}
}

// TestDedupWritePaths: overwrites of the null version, copies, multipart
// completions (chunked across parts, so a single PUT of the same bytes
// stores nothing new), concurrent writers of one content, dedup turned
// off, and SSE-C objects, which are never deduplicated.
func TestDedupWritePaths(t *testing.T) {
	ctx := context.Background()
	keys := newTestKeys()
	e := newDedupEngine(t, "dedup", "other")
	e.cfg.Keys = keys
	body := testBytes(30, 5<<20)
	put := func(b, k string, data []byte, enc *Encryption) ObjectInfo {
		t.Helper()
		info, err := e.PutObject(ctx, b, k, bytes.NewReader(data), PutOptions{Size: int64(len(data)), SSE: enc})
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	for i := range 3 {
		put("dedup", "same", edit(rand.New(rand.NewPCG(uint64(i), 1)), body), nil) // the null version, replaced
	}
	checkChunkRefs(t, e)

	// Multipart: the parts are re-read into chunks at completion.
	id, err := e.CreateMultipartUpload(ctx, "dedup", "mp", PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cps []CompletePart
	for n, part := range [][]byte{body[:2<<20], body[2<<20 : 4<<20], body[4<<20:]} {
		pi, err := e.UploadPart(ctx, "dedup", "mp", id, n+1, bytes.NewReader(part), PartOptions{Size: int64(len(part))})
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, CompletePart{Number: n + 1, ETag: pi.ETag})
	}
	info, err := e.CompleteMultipartUpload(ctx, "dedup", "mp", id, cps, CompleteOptions{})
	sum := sha256.Sum256(body)
	if err != nil || info.SHA256 != hex.EncodeToString(sum[:]) || info.PartsCount != 3 {
		t.Fatalf("complete: %+v %v", info, err)
	}
	if got := readVersion(t, e, "dedup", "mp", ""); !bytes.Equal(got, body) {
		t.Fatal("multipart reads back other bytes")
	}
	or, err := e.GetObject(ctx, "dedup", "mp", GetOptions{PartNumber: 2})
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := io.ReadAll(or)
	or.Close()
	if !bytes.Equal(p2, body[2<<20:4<<20]) {
		t.Fatal("part 2 reads back other bytes")
	}
	before, _ := checkChunkRefs(t, e)
	put("dedup", "single", body, nil)
	if after, _ := checkChunkRefs(t, e); after != before {
		t.Fatalf("a PUT of the multipart object's bytes stored %d new bytes", after-before)
	}
	if _, err := e.CopyObject(ctx, CopySource{Bucket: "dedup", Key: "single"}, "dedup", "copy", CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if after, _ := checkChunkRefs(t, e); after != before {
		t.Fatal("a copy stored new chunks")
	}

	// Writers racing to store the same new content: one stream each is
	// written, one per chunk survives, the rest are removed.
	fresh := testBytes(31, 4<<20)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.PutObject(ctx, "dedup", fmt.Sprintf("race-%d", i), bytes.NewReader(fresh), PutOptions{Size: int64(len(fresh))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkChunkRefs(t, e)
	for i := range 8 {
		if got := readVersion(t, e, "dedup", fmt.Sprintf("race-%d", i), ""); !bytes.Equal(got, fresh) {
			t.Fatalf("race-%d reads back other bytes", i)
		}
	}
	// Every shard on the drives belongs to a record (the losers' are gone).
	refs := map[string]bool{}
	if err := e.walkData(ctx, func(de dataEntry) {
		for _, d := range de.parts {
			if d.DataID != "" {
				refs[d.DataID] = true
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		orphans := 0
		for _, id := range e.drives.DriveIDs() {
			st, _ := e.drives.Drive(id)
			_ = st.Walk(ctx, "", func(si drive.ShardInfo) error {
				if did, _, ok := parseShardID(si.ID); ok && !refs[did] {
					orphans++
				}
				return nil
			})
		}
		if orphans == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d orphaned shards after the race", orphans)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// SSE-S3 objects are chunked in a namespace of their own
	// (dedup_sse_test.go); SSE-C objects and buckets without dedup store
	// streams as ever.
	for _, tc := range []struct {
		bucket string
		enc    *Encryption
		dedup  bool
	}{{"dedup", &Encryption{Type: SSES3}, true}, {"dedup", &Encryption{Type: SSEC, CustomerKey: sse.Key{1}}, false}, {"other", nil, false}} {
		if tc.bucket == "other" {
			if err := e.SetBucketDedup(ctx, "other", false); err != nil {
				t.Fatal(err)
			}
		}
		put(tc.bucket, "plain", body, tc.enc)
		v, _, err := e.resolve(ctx, tc.bucket, "plain", "")
		if err != nil || v.Dedup != tc.dedup {
			t.Fatalf("%s %+v: deduplicated %v (%v)", tc.bucket, tc.enc, v.Dedup, err)
		}
	}
	st, err := e.BucketDedup(ctx, "other")
	if err != nil || st.Enabled || st.Chunks != 0 {
		t.Fatalf("other: %+v %v", st, err)
	}
	// Turning dedup off keeps the stored chunks readable.
	if err := e.SetBucketDedup(ctx, "dedup", false); err != nil {
		t.Fatal(err)
	}
	if got := readVersion(t, e, "dedup", "single", ""); !bytes.Equal(got, body) {
		t.Fatal("single after dedup off")
	}
}

// TestDedupChunksAreRepaired: a chunk's lost shard is rebuilt by a repair
// pass like any stream's, and a read that needed parity queues its heal.
func TestDedupChunksAreRepaired(t *testing.T) {
	ctx := context.Background()
	e := newDedupEngine(t, "dedup")
	body := testBytes(40, 3<<20)
	if _, err := e.PutObject(ctx, "dedup", "k", bytes.NewReader(body), PutOptions{Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	var chunk dataRecord
	if err := e.scanChunks(ctx, chunkPrefix("dedup"), func(_, _ string, _ uint64, c chunkRecord) error {
		if c.Data.DataID != "" {
			chunk = c.Data
		}
		return nil
	}); err != nil || chunk.DataID == "" {
		t.Fatalf("no coded chunk: %v", err)
	}
	st, _ := e.drives.Drive(chunk.Drives[0])
	if err := st.Delete(ctx, shardID(chunk.DataID, 0)); err != nil {
		t.Fatal(err)
	}
	if got := readVersion(t, e, "dedup", "k", ""); !bytes.Equal(got, body) {
		t.Fatal("read with a lost shard")
	}
	rep, err := e.Heal(ctx, HealOptions{})
	if err != nil || rep.ShardsHealed != 1 || rep.Failed != 0 {
		t.Fatalf("heal: %+v %v", rep, err)
	}
	if _, err := st.Stat(ctx, shardID(chunk.DataID, 0)); err != nil {
		t.Fatalf("shard not rebuilt: %v", err)
	}
	// Orphan collection keeps every chunk's shards.
	n, err := e.CollectGarbage(ctx, 0)
	if err != nil || n != 0 {
		t.Fatalf("orphan collection removed %d shards: %v", n, err)
	}
	if got := readVersion(t, e, "dedup", "k", ""); !bytes.Equal(got, body) {
		t.Fatal("read after collection")
	}
	rep2, err := e.Verify(ctx, VerifyOptions{Bucket: "dedup"}, nil)
	if err != nil || rep2.OK != 1 {
		t.Fatalf("verify: %+v %v", rep2, err)
	}
	var nb *BucketNotFoundError
	if err := e.SetBucketDedup(ctx, "nope", true); !errors.As(err, &nb) {
		t.Fatalf("missing bucket: %v", err)
	}
}

// testKeys is a key service for tests: the "sealed" key is the key.
type testKeys struct{}

func newTestKeys() testKeys { return testKeys{} }

func (testKeys) GenerateDataKey(context.Context, string, map[string]string) ([32]byte, []byte, error) {
	k, err := sse.NewKey()
	return k, append([]byte(nil), k[:]...), err
}

func (testKeys) KeyVersion(context.Context, string) (uint32, error) { return 1, nil }

func (testKeys) SealedVersion([]byte) (uint32, error) { return 1, nil }

func (testKeys) Decrypt(_ context.Context, sealed []byte, _ map[string]string) ([32]byte, error) {
	var k [32]byte
	copy(k[:], sealed)
	return k, nil
}

// TestDedupMetrics: status and collection passes set the per-bucket
// gauges; the counters count chunks written, reused and collected.
func TestDedupMetrics(t *testing.T) {
	ctx := context.Background()
	e := newDedupEngine(t, "dedup")
	reg := prometheus.NewRegistry()
	e.dedup.metrics = newDedupMetrics(reg)
	body := testBytes(50, 3<<20)
	for _, k := range []string{"a", "b"} {
		if _, err := e.PutObject(ctx, "dedup", k, bytes.NewReader(body), PutOptions{Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.CollectChunks(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	get := func(name string) float64 { t.Helper(); return metricValue(t, reg, name) }
	if get("filesphere_dedup_ratio") != 2 || get("filesphere_dedup_logical_bytes") != float64(2*len(body)) ||
		get("filesphere_dedup_stored_bytes") != float64(len(body)) || get("filesphere_dedup_chunks_pending_gc") != 0 {
		t.Fatalf("gauges: ratio %v logical %v stored %v", get("filesphere_dedup_ratio"), get("filesphere_dedup_logical_bytes"), get("filesphere_dedup_stored_bytes"))
	}
	written, reused := get("filesphere_dedup_chunks_written_total"), get("filesphere_dedup_chunks_reused_total")
	if written < 2 || reused != written {
		t.Fatalf("written %v, reused %v", written, reused)
	}
	for _, k := range []string{"a", "b"} {
		if _, err := e.DeleteObject(ctx, "dedup", k, DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.BucketDedup(ctx, "dedup"); err != nil {
		t.Fatal(err)
	}
	if get("filesphere_dedup_chunks_pending_gc") != written {
		t.Fatalf("pending %v of %v", get("filesphere_dedup_chunks_pending_gc"), written)
	}
	if n, err := e.CollectChunks(ctx, 0); err != nil || float64(n) != written || get("filesphere_dedup_chunks_collected_total") != written {
		t.Fatalf("collected %d: %v", n, err)
	}
	if get("filesphere_dedup_ratio") != -1 {
		t.Fatal("a bucket without chunks keeps its gauges")
	}
}

// metricValue is the value of reg's first metric called name; -1 if none.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return -1
}

// TestDedupMetricsEncrypted: PUTs into encrypted namespaces (new content,
// then the same again) leave the per-write chunk counters as they were, so
// metrics readers cannot tell whether an encrypted upload deduplicated;
// plaintext PUTs still move them.
func TestDedupMetricsEncrypted(t *testing.T) {
	ctx := context.Background()
	e := newDedupEngine(t, "dedup")
	e.cfg.Keys = newTestKeys()
	reg := prometheus.NewRegistry()
	e.dedup.metrics = newDedupMetrics(reg)
	counters := []string{"filesphere_dedup_chunks_written_total", "filesphere_dedup_chunk_written_bytes_total", "filesphere_dedup_chunks_reused_total"}
	values := func() []float64 {
		var v []float64
		for _, n := range counters {
			v = append(v, metricValue(t, reg, n))
		}
		return v
	}
	body := testBytes(51, 3<<20)
	put := func(k string, enc *Encryption) {
		t.Helper()
		if _, err := e.PutObject(ctx, "dedup", k, bytes.NewReader(body), PutOptions{Size: int64(len(body)), SSE: enc}); err != nil {
			t.Fatal(err)
		}
	}
	for _, enc := range []*Encryption{{Type: SSES3}, {Type: SSEKMS, KMSKeyID: "k"}} {
		for _, k := range []string{"a", "b"} {
			put(string(enc.Type)+k, enc)
		}
	}
	if st, err := e.BucketDedup(ctx, "dedup"); err != nil || st.StoredBytes != 2*int64(len(body)) {
		t.Fatalf("encrypted PUTs were not deduplicated: %+v %v", st, err)
	}
	if v := values(); !slices.Equal(v, []float64{0, 0, 0}) {
		t.Fatalf("encrypted PUTs moved the counters %v: %v", counters, v)
	}
	put("plain-a", nil)
	put("plain-b", nil)
	if v := values(); v[0] < 2 || v[1] != float64(len(body)) || v[2] != v[0] {
		t.Fatalf("plaintext PUTs: counters %v = %v", counters, v)
	}
}
