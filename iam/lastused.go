package iam

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
)

// Key uses are noted in memory on the request path and written by the
// background loop every LastUsedFlushInterval, all keys in one Txn per
// batch: at most one write per key per interval per node, none on the
// request path. The records are outside i/gen, so they never empty the
// credential caches.

const (
	maxPendingUses = 100000 // bounds memory: only authenticated keys are noted
	flushBatch     = 128
)

type lastUsed struct {
	mu      sync.Mutex
	pending map[string]lastUsedRecord
}

func (l *lastUsed) init() { l.pending = make(map[string]lastUsedRecord) }

// take empties the pending uses.
func (l *lastUsed) take() map[string]lastUsedRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pending
	l.pending = make(map[string]lastUsedRecord)
	return p
}

// note keeps rec for id unless a later use is already noted.
func (l *lastUsed) note(id string, rec lastUsedRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old, ok := l.pending[id]
	if (ok && !rec.When.After(old.When)) || (!ok && len(l.pending) >= maxPendingUses) {
		return
	}
	l.pending[id] = rec
}

func (l *lastUsed) get(id string) (lastUsedRecord, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.pending[id]
	return r, ok
}

// RecordAccessKeyUse notes that a request signed with a long-term access
// key was authenticated, for GetAccessKeyLastUsed (service: "s3", "iam",
// "sts"). It never blocks on the KV; call it after the signature checked.
func (s *Service) RecordAccessKeyUse(accessKeyID, service, region string) {
	if !strings.HasPrefix(accessKeyID, prefixAccessKey) || !isIAMKeyID(accessKeyID) {
		return
	}
	s.used.note(accessKeyID, lastUsedRecord{When: s.now().UTC(), Service: service, Region: region})
}

// FlushLastUsed writes the noted key uses now (the background loop does
// it every LastUsedFlushInterval and on Close).
func (s *Service) FlushLastUsed(ctx context.Context) { s.flushLastUsed(ctx) }

func (s *Service) flushLastUsed(ctx context.Context) {
	pending := s.used.take()
	ids := make([]string, 0, len(pending))
	for id := range pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for len(ids) > 0 {
		n := min(len(ids), flushBatch)
		if err := s.writeUses(ctx, ids[:n], pending); err != nil {
			s.log.WithError(err).Warn("writing access key last-used times; will retry")
			for _, id := range ids { // keep them for the next flush
				s.used.note(id, pending[id])
			}
			return
		}
		ids = ids[n:]
	}
}

// writeUses writes the uses of ids newer than the stored ones, skipping
// deleted keys, in one Txn; the compares keep a concurrent flush of
// another node from being overwritten with an older time.
func (s *Service) writeUses(ctx context.Context, ids []string, pending map[string]lastUsedRecord) error {
	for attempt := 0; attempt < 3; attempt++ {
		kv := s.kv
		if attempt == 0 {
			kv = s.stale
		}
		t := &txn{ctx: ctx, kv: kv, seen: map[string]uint64{}}
		for _, id := range ids {
			if found, err := t.get(accessKeyKey(id), new(accessKeyRecord)); err != nil || !found {
				if err != nil {
					return err
				}
				delete(t.seen, accessKeyKey(id))
				continue
			}
			var stored lastUsedRecord
			if _, err := t.get(lastUsedKey(id), &stored); err != nil {
				return err
			}
			if use := pending[id]; use.When.After(stored.When) {
				if err := t.put(lastUsedKey(id), use); err != nil {
					return err
				}
			}
		}
		if len(t.ops) == 0 {
			return nil
		}
		tx := meta.Txn{Ops: t.ops}
		for k, rev := range t.seen {
			tx.Compares = append(tx.Compares, meta.Compare{Key: k, Revision: rev})
		}
		_, err := s.kv.Txn(ctx, tx)
		var cf *meta.CompareFailedError
		if !errors.As(err, &cf) {
			return err
		}
	}
	return errors.New("iam: last-used times kept changing")
}

// AccessKeyLastUsed is when and where a key was last used (zero When and
// empty Service when never).
type AccessKeyLastUsed struct {
	UserName string
	When     time.Time
	Service  string
	Region   string
}

// GetAccessKeyLastUsed reports a key's last use: the stored time or a
// later one this node has not written yet.
func (s *Service) GetAccessKeyLastUsed(ctx context.Context, accessKeyID string) (AccessKeyLastUsed, error) {
	if !isIAMKeyID(accessKeyID) || !strings.HasPrefix(accessKeyID, prefixAccessKey) {
		return AccessKeyLastUsed{}, noSuch(EntityAccessKey, printable(accessKeyID))
	}
	var k accessKeyRecord
	found, err := read(ctx, s.kv, accessKeyKey(accessKeyID), &k)
	if err != nil {
		return AccessKeyLastUsed{}, err
	}
	if !found {
		return AccessKeyLastUsed{}, noSuch(EntityAccessKey, accessKeyID)
	}
	var u userRecord
	if _, err := read(ctx, s.kv, userKey(k.User), &u); err != nil {
		return AccessKeyLastUsed{}, err
	}
	var rec lastUsedRecord
	if _, err := read(ctx, s.kv, lastUsedKey(accessKeyID), &rec); err != nil {
		return AccessKeyLastUsed{}, err
	}
	if p, ok := s.used.get(accessKeyID); ok && p.When.After(rec.When) {
		rec = p
	}
	return AccessKeyLastUsed{UserName: u.Name, When: rec.When, Service: rec.Service, Region: rec.Region}, nil
}
