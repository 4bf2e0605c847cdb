package storage_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/storage"
)

func TestGetBucketConfigs(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, 2, 1, 1<<16)
	if err := e.CreateBucket(ctx, "acc", storage.CreateBucketOptions{Owner: "owner-id"}); err != nil {
		t.Fatal(err)
	}
	if err := e.PutBucketConfig(ctx, "acc", storage.ConfigPolicy, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	info, docs, err := e.GetBucketConfigs(ctx, "acc", storage.ConfigPolicy, storage.ConfigACL)
	if err != nil {
		t.Fatal(err)
	}
	if info.Owner != "owner-id" || len(docs) != 2 || string(docs[0].Doc) != `{"v":1}` || docs[0].Revision == 0 ||
		docs[1].Doc != nil || docs[1].Kind != storage.ConfigACL {
		t.Fatalf("got %+v %+v", info, docs)
	}
	rev := docs[0].Revision
	if err := e.PutBucketConfig(ctx, "acc", storage.ConfigPolicy, []byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	_, docs, _ = e.GetBucketConfigs(ctx, "acc", storage.ConfigPolicy)
	if string(docs[0].Doc) != `{"v":2}` || docs[0].Revision <= rev {
		t.Fatalf("after rewrite: %+v (was revision %d)", docs[0], rev)
	}
	var nb *storage.BucketNotFoundError
	if _, _, err := e.GetBucketConfigs(ctx, "none", storage.ConfigPolicy); !errors.As(err, &nb) {
		t.Fatalf("missing bucket: %v", err)
	}
	if _, _, err := e.GetBucketConfigs(ctx, "acc", "website"); !errors.Is(err, storage.ErrInvalidArgument) {
		t.Fatalf("unknown kind: %v", err)
	}
}

// An object's ACL is stored with the version, replaced by SetObjectACL
// (the latest or a named version), never copied by CopyObject, and kept by
// a multipart upload from its start to its completion.
func TestObjectACL(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, 2, 1, 1<<16)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.CreateBucket(ctx, "acl", storage.CreateBucketOptions{}))
	must(e.SetBucketVersioning(ctx, "acl", storage.VersioningEnabled))
	put := func(key, acl string) storage.ObjectInfo {
		t.Helper()
		info, err := e.PutObject(ctx, "acl", key, strings.NewReader("data"), storage.PutOptions{Size: 4, Meta: storage.Metadata{ACL: []byte(acl)}})
		must(err)
		return info
	}
	aclOf := func(key, version string) string {
		t.Helper()
		info, err := e.HeadObject(ctx, "acl", key, storage.GetOptions{VersionID: version})
		must(err)
		return string(info.Meta.ACL)
	}
	v1 := put("k", "one")
	v2 := put("k", "two")
	must(e.SetObjectACL(ctx, "acl", "k", "", []byte("latest")))
	must(e.SetObjectACL(ctx, "acl", "k", v1.VersionID, []byte("first")))
	if got := aclOf("k", ""); got != "latest" {
		t.Errorf("latest: %q", got)
	}
	if got := aclOf("k", v2.VersionID); got != "latest" {
		t.Errorf("latest by id: %q", got)
	}
	if got := aclOf("k", v1.VersionID); got != "first" {
		t.Errorf("first: %q", got)
	}
	if _, err := e.CopyObject(ctx, storage.CopySource{Bucket: "acl", Key: "k"}, "acl", "copy", storage.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := aclOf("copy", ""); got != "" {
		t.Errorf("copy kept the source's ACL %q", got)
	}
	if _, err := e.CopyObject(ctx, storage.CopySource{Bucket: "acl", Key: "k"}, "acl", "copy2", storage.CopyOptions{ACL: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	if got := aclOf("copy2", ""); got != "new" {
		t.Errorf("copy with ACL: %q", got)
	}
	id, err := e.CreateMultipartUpload(ctx, "acl", "mp", storage.PutOptions{Size: -1, Meta: storage.Metadata{ACL: []byte("mp")}})
	must(err)
	p, err := e.UploadPart(ctx, "acl", "mp", id, 1, strings.NewReader("part"), storage.PartOptions{Size: 4})
	must(err)
	_, err = e.CompleteMultipartUpload(ctx, "acl", "mp", id, []storage.CompletePart{{Number: 1, ETag: p.ETag}}, storage.CompleteOptions{})
	must(err)
	if got := aclOf("mp", ""); got != "mp" {
		t.Errorf("multipart: %q", got)
	}
	var nf *storage.ObjectNotFoundError
	if err := e.SetObjectACL(ctx, "acl", "none", "", []byte("x")); !errors.As(err, &nf) {
		t.Errorf("missing key: %v", err)
	}
	var vnf *storage.VersionNotFoundError
	if err := e.SetObjectACL(ctx, "acl", "k", "00000000000000000000000000000000", []byte("x")); !errors.As(err, &vnf) && !errors.Is(err, storage.ErrInvalidVersionID) {
		t.Errorf("missing version: %v", err)
	}
}

// The settings generation moves with every settings change and bucket
// deletion, and only then.
func TestBucketConfigGeneration(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, 2, 1, 1<<16)
	gen := func() uint64 {
		t.Helper()
		g, err := e.BucketConfigGeneration(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	g0 := gen()
	if err := e.CreateBucket(ctx, "gen-bucket", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PutObject(ctx, "gen-bucket", "k", strings.NewReader("x"), storage.PutOptions{Size: 1}); err != nil {
		t.Fatal(err)
	}
	if gen() != g0 {
		t.Fatal("the generation moved without a settings change")
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"put", func() error { return e.PutBucketConfig(ctx, "gen-bucket", storage.ConfigPolicy, []byte("{}")) }},
		{"delete", func() error { return e.DeleteBucketConfig(ctx, "gen-bucket", storage.ConfigPolicy) }},
		{"delete bucket", func() error {
			if _, err := e.DeleteObject(ctx, "gen-bucket", "k", storage.DeleteOptions{}); err != nil {
				return err
			}
			return e.DeleteBucket(ctx, "gen-bucket")
		}},
	}
	last := g0
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if g := gen(); g <= last {
			t.Fatalf("%s: generation %d, was %d", s.name, g, last)
		} else {
			last = g
		}
	}
}
