package storage_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/sse"
)

// encryptions are the three kinds of server-side encryption a write asks for.
func encryptions() map[string]*storage.Encryption {
	return map[string]*storage.Encryption{
		"SSE-S3":  {Type: storage.SSES3},
		"SSE-KMS": {Type: storage.SSEKMS, KMSKeyID: "app-key", Context: map[string]string{"tenant": "blue"}},
		"SSE-C":   {Type: storage.SSEC, CustomerKey: *customer(7)},
	}
}

// readKey is the customer key a read of an object written with enc gives.
func readKey(enc *storage.Encryption) *sse.Key {
	if enc != nil && enc.Type == storage.SSEC {
		k := enc.CustomerKey
		return &k
	}
	return nil
}

// TestSSERoundTripAndRanges: every kind of encryption, for sizes on both
// sides of the inline threshold, the 64 KiB package and the erasure block,
// reads back whole and in ranges that cross package boundaries; HEAD
// reports the encryption; the ETag is the plaintext's MD5 only for SSE-S3.
func TestSSERoundTripAndRanges(t *testing.T) {
	ctx := context.Background()
	keys := newFakeKeys()
	keys.create("app-key")
	te := newSSEEngine(t, keys, 4<<10)
	sizes := []int{0, 1, 4 << 10, 4<<10 + 1, sse.PackageSize - 1, sse.PackageSize, sse.PackageSize + 1, 3*sse.PackageSize + 17, 200 << 10}
	for name, enc := range encryptions() {
		for _, n := range sizes {
			t.Run(name+"/"+strconv.Itoa(n), func(t *testing.T) {
				key := name + "-" + strconv.Itoa(n)
				data := randBytes(uint64(n), n)
				info, err := te.PutObject(ctx, "bkt", key, bytes.NewReader(data), storage.PutOptions{Size: int64(n), SSE: enc})
				if err != nil {
					t.Fatal(err)
				}
				sum := md5.Sum(data)
				plainETag := `"` + hex.EncodeToString(sum[:]) + `"`
				if (info.ETag == plainETag) != (enc.Type == storage.SSES3) {
					t.Errorf("ETag %s, plaintext MD5 %s: only SSE-S3 shows it", info.ETag, plainETag)
				}
				if info.SSE == nil || info.SSE.Type != enc.Type || info.SSE.KMSKeyID != enc.KMSKeyID {
					t.Fatalf("PUT reports encryption %+v, asked %+v", info.SSE, enc)
				}
				head, err := te.HeadObject(ctx, "bkt", key, storage.GetOptions{CustomerKey: readKey(enc)})
				if err != nil || head.SSE == nil || head.SSE.Type != enc.Type || head.Size != int64(n) || head.ETag != info.ETag {
					t.Fatalf("HEAD %+v %v", head, err)
				}
				got, err := readAll(t, te, "bkt", key, storage.GetOptions{CustomerKey: readKey(enc)})
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("GET: %d bytes, %v", len(got), err)
				}
				for _, r := range [][2]int64{{0, 1}, {sse.PackageSize - 3, 7}, {1, int64(n) - 2}, {int64(n) - 1, 1}, {sse.PackageSize, sse.PackageSize + 5}} {
					start, length := r[0], r[1]
					if start < 0 || length <= 0 || start+length > int64(n) {
						continue
					}
					got, err := readAll(t, te, "bkt", key, storage.GetOptions{CustomerKey: readKey(enc),
						Range: &storage.Range{Start: start, End: start + length - 1}})
					if err != nil || !bytes.Equal(got, data[start:start+length]) {
						t.Fatalf("range %d+%d: %d bytes, %v", start, length, len(got), err)
					}
				}
			})
		}
	}
}

// TestSSENoPlaintextOnDisk: objects holding a marker, written with every
// kind of encryption (inline, erasure-coded, multipart, copied, unknown
// length, bucket default), leave neither the marker nor the customer key
// in any file of the drives or the metadata store.
func TestSSENoPlaintextOnDisk(t *testing.T) {
	ctx := context.Background()
	keys := newFakeKeys()
	keys.create("app-key")
	te := newSSEEngine(t, keys, 4<<10)
	marker := "FS-MARKER-6b1f0c2e"
	cust := customer(3)
	for name, enc := range encryptions() {
		for i, n := range []int{100, 300 << 10} {
			body := markerBody(marker, n)
			key := name + "/" + strconv.Itoa(i)
			if _, err := te.PutObject(ctx, "bkt", key, bytes.NewReader(body), storage.PutOptions{Size: int64(n), SSE: enc}); err != nil {
				t.Fatal(err)
			}
			// Unknown length (a chunked body).
			if _, err := te.PutObject(ctx, "bkt", key+"-chunked", iotest.OneByteReader(bytes.NewReader(body)), storage.PutOptions{Size: -1, SSE: enc}); err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, te, "bkt", key+"-chunked", storage.GetOptions{CustomerKey: readKey(enc)})
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("chunked %s: %v", key, err)
			}
			// A copy re-encrypted under an SSE-C key of its own.
			if _, err := te.CopyObject(ctx, storage.CopySource{Bucket: "bkt", Key: key, CustomerKey: readKey(enc)}, "bkt", key+"-copy",
				storage.CopyOptions{SSE: &storage.Encryption{Type: storage.SSEC, CustomerKey: *cust}}); err != nil {
				t.Fatal(err)
			}
		}
		id, err := te.CreateMultipartUpload(ctx, "bkt", name+"-mp", storage.PutOptions{SSE: enc})
		if err != nil {
			t.Fatal(err)
		}
		var parts []storage.CompletePart
		for n := 1; n <= 3; n++ {
			body := markerBody(marker, 70<<10)
			pi, err := te.UploadPart(ctx, "bkt", name+"-mp", id, n, bytes.NewReader(body), storage.PartOptions{Size: int64(len(body)), CustomerKey: readKey(enc)})
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, storage.CompletePart{Number: n, ETag: pi.ETag})
		}
		if _, err := te.CompleteMultipartUpload(ctx, "bkt", name+"-mp", id, parts, storage.CompleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Bucket default encryption: no SSE asked, the object is still sealed.
	if err := te.PutBucketEncryption(ctx, "bkt", storage.BucketEncryption{Type: storage.SSEKMS, KMSKeyID: "app-key"}); err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{100, 300 << 10} {
		info, err := te.PutObject(ctx, "bkt", "default-"+strconv.Itoa(i), bytes.NewReader(markerBody(marker, n)), storage.PutOptions{Size: int64(n)})
		if err != nil || info.SSE == nil || info.SSE.Type != storage.SSEKMS || info.SSE.KMSKeyID != "app-key" {
			t.Fatalf("default-encrypted PUT: %+v %v", info.SSE, err)
		}
	}
	te.Close() // background deletions done, metadata flushed
	if files := scanFor(t, filepath.Dir(te.roots[0]), secretForms([]byte(marker), cust[:], customer(7)[:])...); files < 20 {
		t.Fatalf("scanned only %d files", files)
	}
}

// TestSSECustomerKeyRules: an SSE-C object answers GET and HEAD only with
// its key, as S3 does; a key for an object without one is refused; a copy
// needs the source's key.
func TestSSECustomerKeyRules(t *testing.T) {
	ctx := context.Background()
	te := newSSEEngine(t, newFakeKeys(), 0)
	data := randBytes(1, 1000)
	put := func(key string, enc *storage.Encryption) {
		if _, err := te.PutObject(ctx, "bkt", key, bytes.NewReader(data), storage.PutOptions{Size: 1000, SSE: enc}); err != nil {
			t.Fatal(err)
		}
	}
	put("c", &storage.Encryption{Type: storage.SSEC, CustomerKey: *customer(1)})
	put("s3", &storage.Encryption{Type: storage.SSES3})
	put("plain", nil)
	tests := []struct {
		key  string
		cust *sse.Key
		want error
	}{
		{"c", nil, storage.ErrSSECKeyRequired},
		{"c", customer(2), storage.ErrSSECKeyMismatch},
		{"c", customer(1), nil},
		{"s3", customer(1), storage.ErrSSENotApplicable},
		{"plain", customer(1), storage.ErrSSENotApplicable},
		{"plain", nil, nil},
	}
	for _, tc := range tests {
		_, err := te.HeadObject(ctx, "bkt", tc.key, storage.GetOptions{CustomerKey: tc.cust})
		if !errors.Is(err, tc.want) {
			t.Errorf("HEAD %s: %v, want %v", tc.key, err, tc.want)
		}
		got, err := readAll(t, te, "bkt", tc.key, storage.GetOptions{CustomerKey: tc.cust})
		if !errors.Is(err, tc.want) || err == nil && !bytes.Equal(got, data) {
			t.Errorf("GET %s: %v, want %v", tc.key, err, tc.want)
		}
		_, err = te.CopyObject(ctx, storage.CopySource{Bucket: "bkt", Key: tc.key, CustomerKey: tc.cust}, "bkt", tc.key+"-copy", storage.CopyOptions{})
		if !errors.Is(err, tc.want) {
			t.Errorf("copy of %s: %v, want %v", tc.key, err, tc.want)
		}
	}
}

// TestSSEMultipartOneKey: a multipart upload has one key; parts with
// another customer key, or none, are refused; the object reads back in
// ranges across parts, and a part copied from an SSE-C source is
// re-encrypted under the upload's key.
func TestSSEMultipartOneKey(t *testing.T) {
	ctx := context.Background()
	te := newSSEEngine(t, newFakeKeys(), 0)
	src := randBytes(9, 150<<10)
	if _, err := te.PutObject(ctx, "bkt", "src", bytes.NewReader(src), storage.PutOptions{Size: int64(len(src)),
		SSE: &storage.Encryption{Type: storage.SSEC, CustomerKey: *customer(5)}}); err != nil {
		t.Fatal(err)
	}
	for name, enc := range encryptions() {
		if name == "SSE-KMS" {
			continue // no such key in this service; covered above
		}
		t.Run(name, func(t *testing.T) {
			key := "mp-" + name
			id, err := te.CreateMultipartUpload(ctx, "bkt", key, storage.PutOptions{SSE: enc})
			if err != nil {
				t.Fatal(err)
			}
			up, err := te.ListParts(ctx, "bkt", key, id, storage.ListPartsOptions{})
			if err != nil || up.SSE == nil || up.SSE.Type != enc.Type {
				t.Fatalf("upload encryption %+v %v", up.SSE, err)
			}
			p1 := randBytes(1, 100<<10)
			part := func(n int, body []byte, k *sse.Key) (storage.PartInfo, error) {
				return te.UploadPart(ctx, "bkt", key, id, n, bytes.NewReader(body), storage.PartOptions{Size: int64(len(body)), CustomerKey: k})
			}
			if enc.Type == storage.SSEC {
				if _, err := part(1, p1, nil); !errors.Is(err, storage.ErrSSEUploadKeyRequired) {
					t.Errorf("part without the key: %v", err)
				}
				if _, err := part(1, p1, customer(8)); !errors.Is(err, storage.ErrSSEUploadMismatch) {
					t.Errorf("part with another key: %v", err)
				}
			} else if _, err := part(1, p1, customer(8)); !errors.Is(err, storage.ErrSSEUploadMismatch) {
				t.Errorf("customer key for an %s upload: %v", name, err)
			}
			pi1, err := part(1, p1, readKey(enc))
			if err != nil || pi1.SSE == nil || pi1.SSE.Type != enc.Type {
				t.Fatalf("part 1: %+v %v", pi1, err)
			}
			var dest *storage.Encryption
			if enc.Type == storage.SSEC {
				dest = &storage.Encryption{Type: storage.SSEC, CustomerKey: enc.CustomerKey}
			}
			if _, err := te.UploadPartCopy(ctx, storage.CopySource{Bucket: "bkt", Key: "src"}, "bkt", key, id, 2, storage.CopyOptions{SSE: dest}); !errors.Is(err, storage.ErrSSECKeyRequired) {
				t.Errorf("part copy without the source's key: %v", err)
			}
			pi2, err := te.UploadPartCopy(ctx, storage.CopySource{Bucket: "bkt", Key: "src", CustomerKey: customer(5),
				Range: &storage.Range{Start: 1000, End: 1000 + 80<<10 - 1}}, "bkt", key, id, 2, storage.CopyOptions{SSE: dest})
			if err != nil {
				t.Fatal(err)
			}
			p3 := randBytes(3, 10)
			pi3, err := part(3, p3, readKey(enc))
			if err != nil {
				t.Fatal(err)
			}
			info, err := te.CompleteMultipartUpload(ctx, "bkt", key, id, []storage.CompletePart{{Number: 1, ETag: pi1.ETag},
				{Number: 2, ETag: pi2.ETag}, {Number: 3, ETag: pi3.ETag}}, storage.CompleteOptions{CustomerKey: readKey(enc)})
			if err != nil || info.SSE == nil || info.SSE.Type != enc.Type {
				t.Fatalf("complete: %+v %v", info, err)
			}
			all := bytes.Join([][]byte{p1, src[1000 : 1000+80<<10], p3}, nil)
			got, err := readAll(t, te, "bkt", key, storage.GetOptions{CustomerKey: readKey(enc)})
			if err != nil || !bytes.Equal(got, all) {
				t.Fatalf("GET: %d bytes %v", len(got), err)
			}
			for _, r := range [][2]int64{{100<<10 - 5, 10}, {64 << 10, 110 << 10}, {int64(len(all)) - 12, 12}} {
				got, err := readAll(t, te, "bkt", key, storage.GetOptions{CustomerKey: readKey(enc), Range: &storage.Range{Start: r[0], End: r[0] + r[1] - 1}})
				if err != nil || !bytes.Equal(got, all[r[0]:r[0]+r[1]]) {
					t.Fatalf("range %v: %v", r, err)
				}
			}
			got, err = readAll(t, te, "bkt", key, storage.GetOptions{CustomerKey: readKey(enc), PartNumber: 2})
			if err != nil || !bytes.Equal(got, src[1000:1000+80<<10]) {
				t.Fatalf("part 2: %v", err)
			}
		})
	}
}

// TestSSECopyReencrypts: CopyObject re-encrypts under the destination's
// encryption (never the source's), including onto the object itself, and
// a copy with no encryption asked takes the destination's default.
func TestSSECopyReencrypts(t *testing.T) {
	ctx := context.Background()
	keys := newFakeKeys()
	keys.create("app-key")
	te := newSSEEngine(t, keys, 0)
	data := randBytes(4, 100<<10)
	if _, err := te.PutObject(ctx, "bkt", "o", bytes.NewReader(data), storage.PutOptions{Size: int64(len(data)),
		SSE: &storage.Encryption{Type: storage.SSEC, CustomerKey: *customer(1)}}); err != nil {
		t.Fatal(err)
	}
	// Onto itself without changes is refused; with another encryption it
	// is how an object is re-keyed.
	if _, err := te.CopyObject(ctx, storage.CopySource{Bucket: "bkt", Key: "o", CustomerKey: customer(1)}, "bkt", "o", storage.CopyOptions{}); !errors.Is(err, storage.ErrInvalidCopy) {
		t.Fatalf("self-copy without changes: %v", err)
	}
	steps := []*storage.Encryption{
		{Type: storage.SSEC, CustomerKey: *customer(2)},
		{Type: storage.SSEKMS, KMSKeyID: "app-key"},
		{Type: storage.SSES3},
	}
	prev := customer(1)
	for _, enc := range steps {
		info, err := te.CopyObject(ctx, storage.CopySource{Bucket: "bkt", Key: "o", CustomerKey: prev}, "bkt", "o", storage.CopyOptions{SSE: enc})
		if err != nil || info.SSE == nil || info.SSE.Type != enc.Type {
			t.Fatalf("re-key to %s: %+v %v", enc.Type, info.SSE, err)
		}
		prev = readKey(enc)
		got, err := readAll(t, te, "bkt", "o", storage.GetOptions{CustomerKey: prev})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("after re-key to %s: %v", enc.Type, err)
		}
	}
	if err := te.PutBucketEncryption(ctx, "bkt", storage.BucketEncryption{Type: storage.SSES3}); err != nil {
		t.Fatal(err)
	}
	info, err := te.CopyObject(ctx, storage.CopySource{Bucket: "bkt", Key: "o"}, "bkt", "o2", storage.CopyOptions{})
	if err != nil || info.SSE == nil || info.SSE.Type != storage.SSES3 {
		t.Fatalf("copy into a default-encrypted bucket: %+v %v", info.SSE, err)
	}
}

// TestSSEKeyServiceStates: rotating a key keeps old objects readable;
// disabling it makes its objects unreadable (the service's error, named
// by key) and refuses new writes, until it is enabled again. HEAD needs no
// data key.
func TestSSEKeyServiceStates(t *testing.T) {
	ctx := context.Background()
	keys := newFakeKeys()
	keys.create("k1")
	te := newSSEEngine(t, keys, 0)
	old := randBytes(1, 70<<10)
	kms := &storage.Encryption{Type: storage.SSEKMS, KMSKeyID: "k1"}
	if _, err := te.PutObject(ctx, "bkt", "old", bytes.NewReader(old), storage.PutOptions{Size: int64(len(old)), SSE: kms}); err != nil {
		t.Fatal(err)
	}
	keys.rotate("k1")
	if _, err := te.PutObject(ctx, "bkt", "new", strings.NewReader("new"), storage.PutOptions{Size: 3, SSE: kms}); err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(t, te, "bkt", "old", storage.GetOptions{}); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("old object after rotation: %v", err)
	}
	keys.setDisabled("k1", true)
	var ke *storage.KMSError
	if _, err := readAll(t, te, "bkt", "old", storage.GetOptions{}); !errors.As(err, &ke) || ke.KeyID != "k1" || !errors.Is(err, errFakeDisabled) {
		t.Fatalf("GET under a disabled key: %v", err)
	}
	if _, err := te.PutObject(ctx, "bkt", "x", strings.NewReader("x"), storage.PutOptions{Size: 1, SSE: kms}); !errors.Is(err, errFakeDisabled) {
		t.Fatalf("PUT under a disabled key: %v", err)
	}
	before := keys.decrypts
	if _, err := te.HeadObject(ctx, "bkt", "old", storage.GetOptions{}); err != nil || keys.decrypts != before {
		t.Fatalf("HEAD under a disabled key: %v (decrypts %d → %d)", err, before, keys.decrypts)
	}
	keys.setDisabled("k1", false)
	if got, err := readAll(t, te, "bkt", "new", storage.GetOptions{}); err != nil || string(got) != "new" {
		t.Fatalf("after enable: %q %v", got, err)
	}
	if _, err := te.PutObject(ctx, "bkt", "y", strings.NewReader("y"), storage.PutOptions{Size: 1,
		SSE: &storage.Encryption{Type: storage.SSEKMS, KMSKeyID: "nope"}}); !errors.Is(err, errFakeNotFound) {
		t.Fatalf("PUT under an unknown key: %v", err)
	}
	noKMS := newSSEEngine(t, nil, 0)
	if _, err := noKMS.PutObject(ctx, "bkt", "z", strings.NewReader("z"), storage.PutOptions{Size: 1, SSE: &storage.Encryption{Type: storage.SSES3}}); !errors.Is(err, storage.ErrNoKeyService) {
		t.Fatalf("SSE-S3 without a key service: %v", err)
	}
}

// TestSSECorruptionDetectedAndHealed: a flipped ciphertext byte in a shard
// is caught by the bitrot hashes and served from parity, and a heal pass
// (which needs no key) restores the shard; a flipped byte of inline
// ciphertext in the metadata fails authentication and is never served.
func TestSSECorruptionDetectedAndHealed(t *testing.T) {
	ctx := context.Background()
	te := newSSEEngine(t, newFakeKeys(), 4<<10)
	enc := &storage.Encryption{Type: storage.SSES3}
	data := randBytes(2, 300<<10)
	if _, err := te.PutObject(ctx, "bkt", "big", bytes.NewReader(data), storage.PutOptions{Size: int64(len(data)), SSE: enc}); err != nil {
		t.Fatal(err)
	}
	files := te.shardFiles(t, 0)
	if len(files) != 1 {
		t.Fatalf("drive 0 holds %d shards", len(files))
	}
	flipFileByte(t, files[0], 5000)
	got, err := readAll(t, te, "bkt", "big", storage.GetOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GET with a flipped shard byte: %v", err)
	}
	rep, err := te.Heal(ctx, storage.HealOptions{Deep: true})
	if err != nil || rep.Healed != 1 {
		t.Fatalf("heal %+v %v", rep, err)
	}
	rep, err = te.Heal(ctx, storage.HealOptions{Deep: true})
	if err != nil || rep.Healthy != 1 {
		t.Fatalf("second heal %+v %v", rep, err)
	}

	small := randBytes(3, 1000)
	if _, err := te.PutObject(ctx, "bkt", "small", bytes.NewReader(small), storage.PutOptions{Size: 1000, SSE: enc}); err != nil {
		t.Fatal(err)
	}
	tamperInline(t, te.kv)
	if got, err := readAll(t, te, "bkt", "small", storage.GetOptions{}); !errors.Is(err, sse.ErrAuthentication) {
		t.Fatalf("tampered inline ciphertext: %d bytes, %v", len(got), err)
	}
}

// tamperInline flips one byte of the inline data of every parts record.
func tamperInline(t *testing.T, kv *meta.Local) {
	t.Helper()
	ctx := context.Background()
	ents, err := kv.List(ctx, meta.PrefixStorage+"d/", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ent := range ents {
		var pr map[string][]map[string]any
		if err := json.Unmarshal(storage.LegacyRecord(t, ent.Key, ent.Value), &pr); err != nil {
			t.Fatal(err)
		}
		for _, p := range pr["parts"] {
			s, ok := p["inline"].(string)
			if !ok {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 1
			p["inline"] = base64.StdEncoding.EncodeToString(b)
			n++
		}
		v, _ := json.Marshal(pr)
		if _, err := kv.Txn(ctx, meta.Txn{Ops: []meta.Op{meta.Put(ent.Key, v)}}); err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatal("no inline data to tamper with")
	}
}

// TestSSEBodyLengths: an encrypted body longer or shorter than declared is
// refused and nothing is stored, as for clear bodies.
func TestSSEBodyLengths(t *testing.T) {
	ctx := context.Background()
	te := newSSEEngine(t, newFakeKeys(), 0)
	enc := &storage.Encryption{Type: storage.SSEC, CustomerKey: *customer(1)}
	body := randBytes(5, 100<<10)
	for _, size := range []int64{int64(len(body)) - 1, int64(len(body)) + 1, sse.PackageSize} {
		_, err := te.PutObject(ctx, "bkt", "k", bytes.NewReader(body), storage.PutOptions{Size: size, SSE: enc})
		if !errors.Is(err, storage.ErrIncompleteBody) && !errors.Is(err, storage.ErrInvalidArgument) {
			t.Errorf("declared %d, sent %d: %v", size, len(body), err)
		}
	}
	if _, err := te.HeadObject(ctx, "bkt", "k", storage.GetOptions{CustomerKey: readKey(enc)}); err == nil {
		t.Fatal("a refused body was stored")
	}
}

// TestBucketEncryptionConfig: the default encryption is put, read and
// deleted; it applies to writes after it, and is the engine's own
// document (not writable as an opaque one).
func TestBucketEncryptionConfig(t *testing.T) {
	ctx := context.Background()
	te := newSSEEngine(t, newFakeKeys(), 0)
	var cnf *storage.ConfigNotFoundError
	if _, err := te.GetBucketEncryption(ctx, "bkt"); !errors.As(err, &cnf) {
		t.Fatalf("no configuration: %v", err)
	}
	if err := te.PutBucketEncryption(ctx, "bkt", storage.BucketEncryption{Type: storage.SSES3, KMSKeyID: "x"}); !errors.Is(err, storage.ErrInvalidArgument) {
		t.Fatalf("SSE-S3 with a key id: %v", err)
	}
	if err := te.PutBucketConfig(ctx, "bkt", storage.ConfigEncryption, []byte("{}")); !errors.Is(err, storage.ErrInvalidArgument) {
		t.Fatalf("opaque encryption document: %v", err)
	}
	put := func(key string) *storage.SSEInfo {
		info, err := te.PutObject(ctx, "bkt", key, strings.NewReader("v"), storage.PutOptions{Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		return info.SSE
	}
	if s := put("before"); s != nil {
		t.Fatalf("object before the default: %+v", s)
	}
	cfg := storage.BucketEncryption{Type: storage.SSES3}
	if err := te.PutBucketEncryption(ctx, "bkt", cfg); err != nil {
		t.Fatal(err)
	}
	if got, err := te.GetBucketEncryption(ctx, "bkt"); err != nil || got != cfg {
		t.Fatalf("get: %+v %v", got, err)
	}
	if s := put("after"); s == nil || s.Type != storage.SSES3 {
		t.Fatalf("object after the default: %+v", s)
	}
	if h, err := te.HeadObject(ctx, "bkt", "before", storage.GetOptions{}); err != nil || h.SSE != nil {
		t.Fatalf("older object changed: %+v %v", h.SSE, err)
	}
	if err := te.DeleteBucketEncryption(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	if s := put("later"); s != nil {
		t.Fatalf("object after the delete: %+v", s)
	}
	if err := te.PutBucketEncryption(ctx, "nobucket", cfg); !errors.As(err, new(*storage.BucketNotFoundError)) {
		t.Fatalf("missing bucket: %v", err)
	}
	got, err := readAll(t, te, "bkt", "after", storage.GetOptions{})
	if err != nil || string(got) != "v" {
		t.Fatalf("default-encrypted object: %q %v", got, err)
	}
}
