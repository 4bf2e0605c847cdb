package bench

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Memory is the in-memory twin of an S3 endpoint for tests: buckets of
// object sizes (like a null server, it keeps no bytes; a GET "delivers"
// the stored size). Fail, when set, is asked before every call and its
// error is returned instead, to program faults.
type Memory struct {
	Fail func(op, bucket, key string) error

	mu      sync.Mutex
	buckets map[string]map[string]int64
	sorted  map[string][]string // a bucket's keys in order, until it changes
	calls   map[string]int
}

// NewMemory returns an empty endpoint.
func NewMemory() *Memory {
	return &Memory{buckets: map[string]map[string]int64{}, sorted: map[string][]string{}, calls: map[string]int{}}
}

// Calls returns how often op ("PutObject", "GetObject", ...) was called.
func (m *Memory) Calls(op string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[op]
}

// Buckets returns the names of the existing buckets, sorted.
func (m *Memory) Buckets() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for b := range m.buckets {
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}

// Keys returns the keys in bucket, sorted.
func (m *Memory) Keys(bucket string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.sortedKeys(bucket)...)
}

// sortedKeys are bucket's keys in order (shared; callers copy what they keep).
func (m *Memory) sortedKeys(bucket string) []string {
	if keys, ok := m.sorted[bucket]; ok {
		return keys
	}
	keys := make([]string, 0, len(m.buckets[bucket]))
	for k := range m.buckets[bucket] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m.sorted[bucket] = keys
	return keys
}

// enter counts the call, checks the fault hook and locks; the caller
// unlocks when err is nil.
func (m *Memory) enter(op, bucket, key string) error {
	if m.Fail != nil {
		if err := m.Fail(op, bucket, key); err != nil {
			m.mu.Lock()
			m.calls[op]++
			m.mu.Unlock()
			return err
		}
	}
	m.mu.Lock()
	m.calls[op]++
	return nil
}

func noSuchBucket() error { return &S3Error{Status: http.StatusNotFound, Code: "NoSuchBucket"} }

func (m *Memory) objects(bucket string) (map[string]int64, error) {
	objs, ok := m.buckets[bucket]
	if !ok {
		return nil, noSuchBucket()
	}
	return objs, nil
}

func (m *Memory) HeadBucket(ctx context.Context, bucket string) error {
	if err := m.enter("HeadBucket", bucket, ""); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.buckets[bucket]; !ok {
		return &S3Error{Status: http.StatusNotFound}
	}
	return ctx.Err()
}

func (m *Memory) CreateBucket(ctx context.Context, bucket string) error {
	if err := m.enter("CreateBucket", bucket, ""); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.buckets[bucket]; ok {
		return &S3Error{Status: http.StatusConflict, Code: "BucketAlreadyOwnedByYou"}
	}
	m.buckets[bucket] = map[string]int64{}
	return ctx.Err()
}

func (m *Memory) DeleteBucket(ctx context.Context, bucket string) error {
	if err := m.enter("DeleteBucket", bucket, ""); err != nil {
		return err
	}
	defer m.mu.Unlock()
	objs, err := m.objects(bucket)
	switch {
	case err != nil:
		return err
	case len(objs) > 0:
		return &S3Error{Status: http.StatusConflict, Code: "BucketNotEmpty"}
	}
	delete(m.buckets, bucket)
	delete(m.sorted, bucket)
	return ctx.Err()
}

func (m *Memory) PutObject(ctx context.Context, bucket, key string, body Body) error {
	if err := m.enter("PutObject", bucket, key); err != nil {
		return err
	}
	defer m.mu.Unlock()
	objs, err := m.objects(bucket)
	if err != nil {
		return err
	}
	if _, ok := objs[key]; !ok {
		delete(m.sorted, bucket)
	}
	objs[key] = body.Len()
	return ctx.Err()
}

func (m *Memory) size(op, bucket, key string) (int64, error) {
	if err := m.enter(op, bucket, key); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	objs, err := m.objects(bucket)
	if err != nil {
		return 0, err
	}
	n, ok := objs[key]
	if !ok {
		return 0, &S3Error{Status: http.StatusNotFound, Code: "NoSuchKey"}
	}
	return n, nil
}

func (m *Memory) GetObject(ctx context.Context, bucket, key string, _ []byte) (int64, error) {
	n, err := m.size("GetObject", bucket, key)
	if err != nil {
		return 0, err
	}
	return n, ctx.Err()
}

func (m *Memory) HeadObject(ctx context.Context, bucket, key string) (int64, error) {
	n, err := m.size("HeadObject", bucket, key)
	var s3e *S3Error
	if errors.As(err, &s3e) {
		// A HEAD answer has no body, so no error code.
		return 0, &S3Error{Status: s3e.Status}
	}
	if err != nil {
		return 0, err
	}
	return n, ctx.Err()
}

func (m *Memory) DeleteObject(ctx context.Context, bucket, key string) error {
	if err := m.enter("DeleteObject", bucket, key); err != nil {
		return err
	}
	defer m.mu.Unlock()
	objs, err := m.objects(bucket)
	if err != nil {
		return err
	}
	delete(objs, key)
	delete(m.sorted, bucket)
	return ctx.Err()
}

// ListObjects pages in key order; the continuation token is the last key
// of the previous page.
func (m *Memory) ListObjects(ctx context.Context, bucket, prefix, token string, maxKeys int) (ListPage, error) {
	if err := m.enter("ListObjects", bucket, prefix); err != nil {
		return ListPage{}, err
	}
	defer m.mu.Unlock()
	if _, err := m.objects(bucket); err != nil {
		return ListPage{}, err
	}
	all := m.sortedKeys(bucket)
	i := sort.SearchStrings(all, max(prefix, token))
	if i < len(all) && all[i] == token {
		i++
	}
	var page ListPage
	for ; i < len(all) && strings.HasPrefix(all[i], prefix); i++ {
		if len(page.Keys) == maxKeys {
			page.Next = page.Keys[len(page.Keys)-1]
			break
		}
		page.Keys = append(page.Keys, all[i])
	}
	return page, ctx.Err()
}

func (m *Memory) DeleteObjects(ctx context.Context, bucket string, keys []string) error {
	if err := m.enter("DeleteObjects", bucket, ""); err != nil {
		return err
	}
	defer m.mu.Unlock()
	objs, err := m.objects(bucket)
	if err != nil {
		return err
	}
	for _, k := range keys {
		delete(objs, k)
	}
	delete(m.sorted, bucket)
	return ctx.Err()
}

func (m *Memory) Close() {}
