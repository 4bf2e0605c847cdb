package storage_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/filesphere/filesphere/storage"
)

func TestBucketConfigs(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, 2, 1, 1<<16)
	if err := e.CreateBucket(ctx, "cfg", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	var nf *storage.ConfigNotFoundError
	var nb *storage.BucketNotFoundError
	steps := []struct {
		name string
		run  func() error
		want func(error) bool
	}{
		{"get before put", func() error { _, err := e.GetBucketConfig(ctx, "cfg", storage.ConfigCORS); return err },
			func(err error) bool { return errors.As(err, &nf) && nf.Kind == storage.ConfigCORS }},
		{"put", func() error { return e.PutBucketConfig(ctx, "cfg", storage.ConfigCORS, []byte("<a/>")) }, isNil},
		{"get after put", func() error {
			b, err := e.GetBucketConfig(ctx, "cfg", storage.ConfigCORS)
			if err == nil && !bytes.Equal(b, []byte("<a/>")) {
				t.Errorf("got %q", b)
			}
			return err
		}, isNil},
		{"other kind unset", func() error { _, err := e.GetBucketConfig(ctx, "cfg", storage.ConfigPolicy); return err },
			func(err error) bool { return errors.As(err, &nf) }},
		{"unknown kind", func() error { return e.PutBucketConfig(ctx, "cfg", "website", []byte("x")) },
			func(err error) bool { return errors.Is(err, storage.ErrInvalidArgument) }},
		{"empty document", func() error { return e.PutBucketConfig(ctx, "cfg", storage.ConfigCORS, nil) },
			func(err error) bool { return errors.Is(err, storage.ErrInvalidArgument) }},
		{"missing bucket", func() error { return e.PutBucketConfig(ctx, "nope", storage.ConfigCORS, []byte("x")) },
			func(err error) bool { return errors.As(err, &nb) }},
		{"delete", func() error { return e.DeleteBucketConfig(ctx, "cfg", storage.ConfigCORS) }, isNil},
		{"delete again", func() error { return e.DeleteBucketConfig(ctx, "cfg", storage.ConfigCORS) }, isNil},
		{"gone after delete", func() error { _, err := e.GetBucketConfig(ctx, "cfg", storage.ConfigCORS); return err },
			func(err error) bool { return errors.As(err, &nf) }},
	}
	for _, s := range steps {
		if err := s.run(); !s.want(err) {
			t.Errorf("%s: unexpected error %v", s.name, err)
		}
	}
}

// A bucket's documents go with it: a new bucket of the same name starts
// without them.
func TestBucketConfigsGoWithTheBucket(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, 2, 1, 1<<16)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.CreateBucket(ctx, "gone", storage.CreateBucketOptions{}))
	must(e.PutBucketConfig(ctx, "gone", storage.ConfigPolicy, []byte(`{"Version":"2012-10-17"}`)))
	must(e.PutBucketConfig(ctx, "gone", storage.ConfigCORS, []byte("<c/>")))
	must(e.DeleteBucket(ctx, "gone"))
	must(e.CreateBucket(ctx, "gone", storage.CreateBucketOptions{}))
	for _, k := range []storage.ConfigKind{storage.ConfigPolicy, storage.ConfigCORS} {
		var nf *storage.ConfigNotFoundError
		if _, err := e.GetBucketConfig(ctx, "gone", k); !errors.As(err, &nf) {
			t.Errorf("%s survived the bucket: %v", k, err)
		}
	}
}

func isNil(err error) bool { return err == nil }
