package bench

import (
	"context"
	"sync/atomic"
)

// spread sends each request to the next of several endpoints of one store
// in turn, so a cluster's nodes share the load. Every endpoint must serve
// the same namespace: an object written through one is read through
// another.
type spread struct {
	cs   []Client
	next atomic.Uint64
}

func (s *spread) pick() Client { return s.cs[(s.next.Add(1)-1)%uint64(len(s.cs))] }

func (s *spread) HeadBucket(ctx context.Context, b string) error { return s.pick().HeadBucket(ctx, b) }
func (s *spread) CreateBucket(ctx context.Context, b string) error {
	return s.pick().CreateBucket(ctx, b)
}
func (s *spread) DeleteBucket(ctx context.Context, b string) error {
	return s.pick().DeleteBucket(ctx, b)
}
func (s *spread) PutObject(ctx context.Context, b, k string, body Body) error {
	return s.pick().PutObject(ctx, b, k, body)
}
func (s *spread) GetObject(ctx context.Context, b, k string, buf []byte) (int64, error) {
	return s.pick().GetObject(ctx, b, k, buf)
}
func (s *spread) HeadObject(ctx context.Context, b, k string) (int64, error) {
	return s.pick().HeadObject(ctx, b, k)
}
func (s *spread) DeleteObject(ctx context.Context, b, k string) error {
	return s.pick().DeleteObject(ctx, b, k)
}
func (s *spread) ListObjects(ctx context.Context, b, prefix, token string, maxKeys int) (ListPage, error) {
	return s.pick().ListObjects(ctx, b, prefix, token, maxKeys)
}
func (s *spread) DeleteObjects(ctx context.Context, b string, keys []string) error {
	return s.pick().DeleteObjects(ctx, b, keys)
}

func (s *spread) Close() {
	for _, c := range s.cs {
		c.Close()
	}
}
