package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/filesphere/filesphere/cluster/meta"
)

// maxAttempts bounds the retries of a read-modify-write whose compares
// failed (another writer got there first).
const maxAttempts = 8

// txn is one attempt of a read-modify-write: every key read is compared
// at the revision read when the writes commit, so the writes apply only to
// the state fn saw.
type txn struct {
	ctx  context.Context
	kv   meta.KV
	seen map[string]uint64
	ops  []meta.Op
}

// get decodes the record at key into v; false if absent.
func (t *txn) get(key string, v any) (bool, error) {
	e, err := t.kv.Get(t.ctx, key)
	if errors.Is(err, meta.ErrNotFound) {
		t.seen[key] = 0
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("iam: read %s: %w", key, err)
	}
	t.seen[key] = e.Revision
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("iam: corrupt record %s: %w", key, err)
	}
	return true, nil
}

func (t *txn) put(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	t.ops = append(t.ops, meta.Put(key, b))
	return nil
}

// create puts a record that must not exist yet.
func (t *txn) create(key string, v any) error {
	if _, ok := t.seen[key]; !ok {
		t.seen[key] = 0
	}
	return t.put(key, v)
}

func (t *txn) del(key string) { t.ops = append(t.ops, meta.Delete(key)) }

// update runs fn and commits its writes atomically, together with a bump
// of the IAM generation, retrying while another writer interferes. The
// first attempt reads the local replica (the compares catch a stale read);
// an error fn returns is confirmed with leader-confirmed reads before it is
// believed, so a lagging replica never makes an entity look absent.
func (s *Service) update(ctx context.Context, fn func(t *txn) error) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		kv := s.kv
		if attempt == 0 {
			kv = s.stale
		}
		t := &txn{ctx: ctx, kv: kv, seen: map[string]uint64{}}
		if err := fn(t); err != nil {
			if attempt == 0 && s.stale != s.kv {
				continue
			}
			return err
		}
		if len(t.ops) == 0 {
			return nil
		}
		tx := meta.Txn{Ops: append(t.ops, meta.Put(keyGen, nil))}
		for k, rev := range t.seen {
			tx.Compares = append(tx.Compares, meta.Compare{Key: k, Revision: rev})
		}
		rev, err := s.kv.Txn(ctx, tx)
		var cf *meta.CompareFailedError
		if errors.As(err, &cf) {
			continue
		}
		if err != nil {
			return fmt.Errorf("iam: commit: %w", err)
		}
		s.creds.wrote(rev)
		return nil
	}
	return newErr(ErrConcurrentModification, "The request was rejected because multiple requests to change this object were submitted simultaneously. Wait a few minutes and submit your request again.")
}

// read decodes the record at key from kv; false if absent.
func read(ctx context.Context, kv meta.KV, key string, v any) (bool, error) {
	t := &txn{ctx: ctx, kv: kv, seen: map[string]uint64{}}
	return t.get(key, v)
}

// list decodes up to limit records under prefix starting at start.
func list[T any](ctx context.Context, kv meta.KV, prefix, start string, limit int) ([]T, []string, error) {
	es, err := kv.List(ctx, prefix, start, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("iam: list %s: %w", prefix, err)
	}
	out := make([]T, len(es))
	keys := make([]string, len(es))
	for i, e := range es {
		if err := json.Unmarshal(e.Value, &out[i]); err != nil {
			return nil, nil, fmt.Errorf("iam: corrupt record %s: %w", e.Key, err)
		}
		keys[i] = e.Key
	}
	return out, keys, nil
}

func decode(e meta.Entry, v any) error {
	if err := json.Unmarshal(e.Value, v); err != nil {
		return fmt.Errorf("iam: corrupt record %s: %w", e.Key, err)
	}
	return nil
}

func isCompareFailed(err error) bool {
	var cf *meta.CompareFailedError
	return errors.As(err, &cf)
}
